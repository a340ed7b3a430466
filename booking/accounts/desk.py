"""The registration desk: the queue of registrations waiting for a check, the counter's search,
what to check on each, and a registration's history from the audit trail.

A manager serves the city-wide registrations and those of their own facilities; an
administrator all of them (the same scope as groups.list_groups).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_staff, require_view_group
from booking.accounts.groups import get_group, in_scope
from booking.accounts.models import (
    Group,
    GroupCategory,
    GroupKind,
    GroupStatus,
    Member,
    MemberRole,
    Residency,
)
from booking.accounts.people import names_of
from booking.accounts.rules import ADULT_AGE, age_on
from booking.audit.models import AuditEvent
from booking.audit.service import AuditQuery, list_events
from booking.errors import InvalidInput
from booking.web.fields import CARD_NUMBER_MAX, CONTROL_REASON, SEARCH_MAX, control_characters

PAGE_SIZE = 25  # a counter's screenful; rendering, not the query, is most of a page's time
MAX_PAGE = 10_000  # 500,000 registrations deep: far past any city's
HISTORY_MAX = 200
_FULL_TO_HALF = str.maketrans("０１２３４５６７８９－＋（）　＠", "0123456789-+() @")
_PHONE_LIKE = re.compile(r"[0-9+()\- ]{4,20}")
_CARD = re.compile(rf"[0-9]{{{CARD_NUMBER_MAX}}}")
_PHONE_PUNCTUATION = ("-", " ", "(", ")", "+")
PHONE_MIN_DIGITS = 4  # fewer digits are part of a name ("会員2"), not a phone number

# A literal in the SQL, not a parameter: the partial index of pending registrations (migration
# 0011) serves only a plan that knows the value, which a prepared statement's generic plan
# does not.
_PENDING = bindparam("pending", GroupStatus.PENDING, type_=Group.status.type, literal_execute=True)

# What the clerk checks before activating (RULES.md "Who may book"), in the order shown.
IDENTITY = "identity"  # the representative's identity document
ROSTER = "roster"  # the member list: 5 or more people, 10 for a senior centre's civic group
IN_CITY = "in_city"  # proof that the members said to live, work or study in the city do
GUARDIAN_CONSENT = "guardian_consent"  # a representative under 18: a guardian's consent
EXEMPTION = "exemption"  # the ground of the fee exemption (e.g. a disability group's papers)
CIVIC_ACTIVITY = "civic_activity"  # a civic-activity group: no hobby, profit, politics, religion
CENTRE_FORM = "centre_form"  # a children's culture centre's own registration form


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """No `q`: the pending registrations (the queue). A `q`: every registration it finds by card
    number, name or kana, phone, e-mail or a member's name, whatever its status."""

    q: str | None = None
    page: int = 1
    page_size: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class QueueRow:
    group: Group
    members: int
    in_city_members: int
    documents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    action: str  # the audit event's action without "group.": "activated", "suspended"...
    actor: str | None  # the acting user's name; None for the system or the registrant online
    status_before: str | None
    status_after: str | None
    reason: str | None  # a suspension's


class RosterFacts(Protocol):
    """What the documents depend on: a Member, or a row of just these columns."""

    @property
    def role(self) -> MemberRole: ...
    @property
    def birth_date(self) -> date: ...
    @property
    def residency(self) -> Residency: ...


def documents_to_check(group: Group, roster: Sequence[RosterFacts], today: date) -> tuple[str, ...]:
    """The papers a counter asks for before activating this registration."""
    documents = [IDENTITY]
    if group.kind is GroupKind.GROUP:
        documents.append(ROSTER)
    if any(m.residency is not Residency.NONE for m in roster):
        documents.append(IN_CITY)
    representative = next((m for m in roster if m.role is MemberRole.REPRESENTATIVE), None)
    if representative is not None and age_on(representative.birth_date, today) < ADULT_AGE:
        documents.append(GUARDIAN_CONSENT)
    if group.category is GroupCategory.EXEMPT:
        documents.append(EXEMPTION)
    if group.category is GroupCategory.SENIOR_CIVIC:
        documents.append(CIVIC_ACTIVITY)
    if group.category is GroupCategory.CHILDREN_CENTRE:
        documents.append(CENTRE_FORM)
    return tuple(documents)


def clean_search(q: str | None) -> str | None:
    """The search text as typed on a Japanese keyboard, made half-width and trimmed; refused
    when it has control characters or is longer than a search field takes."""
    if q is None:
        return None
    text = q.translate(_FULL_TO_HALF).strip()
    if control_characters(text):
        raise InvalidInput(CONTROL_REASON, field="q")
    if len(text) > SEARCH_MAX:
        raise InvalidInput(f"at most {SEARCH_MAX} characters", field="q")
    return text or None


def _digits(column: Any) -> Any:
    """A phone column without its punctuation, to match 044-200-1234 and 0442001234 alike."""
    for mark in _PHONE_PUNCTUATION:
        column = func.replace(column, mark, "")
    return column


def _contains(column: Any, q: str) -> ColumnElement[bool]:
    """`%q%`, ignoring case only where the text has case: lower() on every row of the roster
    costs more than the match itself, and Japanese has none."""
    if q.lower() == q.upper():
        return column.contains(q, autoescape=True)  # type: ignore[no-any-return]
    return column.icontains(q, autoescape=True)  # type: ignore[no-any-return]


def _matches(q: str) -> ColumnElement[bool]:
    """What the text typed finds, by its shape: seven digits are a card number (typed whole),
    an @ an e-mail address, other digits and hyphens a phone number, anything else a name or
    its reading, the group's or a member's."""
    members = select(Member.group_id)
    if _CARD.fullmatch(q):
        return Group.card_number == q
    if "@" in q:
        email = q.lower()  # stored lower-cased (people.clean_email)
        return or_(
            Group.email.contains(email, autoescape=True),
            Group.id.in_(members.where(Member.email.contains(email, autoescape=True))),
        )
    if _PHONE_LIKE.fullmatch(q) and sum(c.isdigit() for c in q) >= PHONE_MIN_DIGITS:
        digits = "".join(c for c in q if c.isdigit())
        return or_(
            _digits(Group.phone).contains(digits),
            Group.id.in_(members.where(_digits(Member.phone).contains(digits))),
        )
    # One set of ids from the three matches: each can use an index of its own (a trigram
    # index, where the database has one), and the registrations are read once by id.
    named = union(
        select(Group.id).where(_contains(Group.name, q)),
        select(Group.id).where(_contains(Group.name_kana, q)),
        members.where(_contains(Member.name, q)),
    )
    return Group.id.in_(named)


async def registration_queue(
    session: AsyncSession, principal: Principal, query: QueueQuery, today: date
) -> QueuePage:
    """Oldest first: the registrations waiting longest are checked first."""
    require_staff(principal)
    if not 1 <= query.page <= MAX_PAGE:
        raise InvalidInput(f"a page from 1 to {MAX_PAGE}", field="page")
    if not 1 <= query.page_size <= PAGE_SIZE:
        raise InvalidInput(f"from 1 to {PAGE_SIZE} a page", field="page_size")
    q = clean_search(query.q)
    stmt = select(Group).order_by(Group.created_at, Group.id)
    if (scope := in_scope(principal)) is not None:
        stmt = stmt.where(scope)
    stmt = stmt.where(_matches(q)) if q else stmt.where(Group.status == _PENDING)
    offset = (query.page - 1) * query.page_size
    found = list((await session.scalars(stmt.limit(query.page_size + 1).offset(offset))).all())
    shown = found[: query.page_size]
    rosters: dict[int, list[RosterFacts]] = {g.id: [] for g in shown}
    if shown:  # the columns the rows need, not whole members: a page reads a few hundred
        members = await session.execute(
            select(Member.group_id, Member.role, Member.birth_date, Member.residency).where(
                Member.group_id.in_(rosters)
            )
        )
        for member in members:
            rosters[member.group_id].append(member)
    rows = [
        QueueRow(
            group,
            len(rosters[group.id]),
            sum(m.residency is not Residency.NONE for m in rosters[group.id]),
            documents_to_check(group, rosters[group.id], today),
        )
        for group in shown
    ]
    return QueuePage(rows, query.page, len(found) > query.page_size)


async def registration_history(
    session: AsyncSession, principal: Principal, group_id: int
) -> list[HistoryEntry]:
    """The registration's audited changes, newest first: its status history among them."""
    require_view_group(principal, await get_group(session, group_id))
    events: Sequence[AuditEvent] = await list_events(
        session,
        AuditQuery(
            action="group.", target_type="group", target_id=str(group_id), limit=HISTORY_MAX
        ),
    )
    names = await names_of(session, (e.actor_user_id for e in events))
    return [
        HistoryEntry(
            at=event.at,
            action=event.action.removeprefix("group."),
            actor=names.get(event.actor_user_id) if event.actor_user_id else None,
            status_before=(event.before or {}).get("status"),
            status_after=(event.after or {}).get("status"),
            reason=(event.after or {}).get("reason"),
        )
        for event in events
    ]
