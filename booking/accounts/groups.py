"""Registrations: register a group or an individual, activate with a card, suspend, renew.

A registration starts pending; staff check identity documents at a counter and activate it,
which issues a random 7-digit card number and a validity to the end of the fiscal year.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import (
    Principal,
    require_administer_group,
    require_facility,
    require_manage_roster,
    require_staff,
    require_view_group,
)
from booking.accounts.group_facts import GroupFacts
from booking.accounts.login import issue_password_link
from booking.accounts.models import (
    Group,
    GroupCategory,
    GroupStatus,
    Member,
    MemberRole,
    TokenPurpose,
    User,
    UserStatus,
)
from booking.accounts.passwords import hash_password
from booking.accounts.people import clean_email, find_or_invite, user_by_email
from booking.accounts.rules import (
    RosterEntry,
    birth_date_problem,
    fiscal_year_end,
    is_in_city,
    password_problem,
    registration_problems,
    renewal_opens,
    renewed_until,
)
from booking.accounts.schemas import GroupPatch, MemberIn, RegistrationIn
from booking.audit.service import Actor, record
from booking.clock import Clock, local_today
from booking.errors import Conflict, InvalidInput, NotFound, RuleViolation
from booking.inventory.models import Facility, FacilityKind
from booking.notifications.outbox import enqueue
from booking.settings import Settings

# The facility kind a facility-specific registration belongs to.
FACILITY_CATEGORIES = {
    GroupCategory.CHILDREN_CENTRE: "children_centre",
    GroupCategory.SENIOR_CIVIC: "senior_centre",
}
_CARD_ATTEMPTS = 20


def effective_status(group: GroupFacts, today: date) -> str:
    """What the registration allows today: an active card past its validity has expired."""
    if group.status is GroupStatus.ACTIVE and group.valid_until and group.valid_until < today:
        return "expired"
    return group.status.value


def may_book(group: GroupFacts, today: date) -> bool:
    """Only an active, unexpired registration books or applies (RULES.md)."""
    return effective_status(group, today) == GroupStatus.ACTIVE.value


def snapshot(group: Group) -> dict[str, Any]:
    """The audited state of a registration (no personal data beyond the name)."""
    return {
        "status": group.status.value,
        "card_number": group.card_number,
        "valid_until": group.valid_until.isoformat() if group.valid_until else None,
        "name": group.name,
        "category": group.category.value,
        "facility_id": group.facility_id,
        "in_city": group.in_city,
    }


def check_member_fields(member: MemberIn, field: str, today: date) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if reason := birth_date_problem(member.birth_date, today):
        problems.append((f"{field}.birth_date", reason))
    if member.email is not None:
        try:
            member.email = clean_email(member.email, f"{field}.email")
        except InvalidInput as exc:
            problems.append((f"{field}.email", exc.message))
    return problems


def _check_input(data: RegistrationIn, today: date) -> None:
    problems = check_member_fields(data.representative, "representative", today)
    seen: dict[str, str] = {}
    if data.representative.email:
        seen[data.representative.email] = "representative"
    for index, member in enumerate(data.members):
        field = f"members[{index}]"
        problems += check_member_fields(member, field, today)
        if member.email and member.email in seen:
            problems.append((f"{field}.email", f"the same e-mail as {seen[member.email]}"))
        elif member.email:
            seen[member.email] = field
    if data.email is not None:
        try:
            data.email = clean_email(data.email, "email")
        except InvalidInput as exc:
            problems.append(("email", exc.message))
    if problems:
        raise InvalidInput(problems[0][1], field=problems[0][0], problems=problems)


async def _check_facility(
    session: AsyncSession, actor: Principal | None, data: RegistrationIn
) -> None:
    wanted_kind = FACILITY_CATEGORIES.get(data.category)
    if data.facility_id is None:
        if wanted_kind:
            raise RuleViolation(
                f"a {data.category.value} registration belongs to one {wanted_kind}",
                field="facility_id",
            )
        return
    kind = await session.scalar(
        select(FacilityKind.key)
        .join(Facility, Facility.kind_id == FacilityKind.id)
        .where(Facility.id == data.facility_id, Facility.active)
    )
    if kind is None:
        raise InvalidInput(f"no facility {data.facility_id}", field="facility_id")
    if kind != wanted_kind:
        where = f"belongs to a {wanted_kind}" if wanted_kind else "is city-wide: leave it out"
        raise RuleViolation(
            "only children's culture centres and senior recreation centres keep their own "
            f"registrations, and a {data.category.value} one {where}",
            field="facility_id",
        )
    if actor is not None and actor.is_staff:
        require_facility(actor, data.facility_id)


async def _representative_user(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Principal | None,
    data: RegistrationIn,
    password_hash: str | None = None,
) -> tuple[User, bool]:
    """Who the representative is as a user, and whether to send them an invitation."""
    rep = data.representative
    if actor is None:  # the address is proven: the representative's login is made now
        email, password = online_credentials(data)
        if await user_by_email(session, email) is not None:
            # Told only to whoever proved they own the address (the mailed link).
            raise Conflict(
                "this e-mail address is already registered: log in, then register the group",
                field="representative.email",
                code="email_taken",
            )
        user = User(
            email=email,
            name=rep.name,
            phone=rep.phone,
            # The hash made when the registration was asked for: no hashing in here, where
            # the transaction holds SQLite's write lock.
            password_hash=password_hash or await hash_password(settings, password),
            status=UserStatus.ACTIVE,
            created_at=clock.now(),
            password_changed_at=clock.now(),
        )
        session.add(user)
        await session.flush()
        return user, False
    if rep.password is not None:
        raise InvalidInput("a password is set only by its owner", field="representative.password")
    if actor.is_staff:  # at the counter: the person gets an invitation to set a password
        if rep.email is None:
            raise InvalidInput(
                "an e-mail address is needed for the representative's login",
                field="representative.email",
            )
        return await find_or_invite(session, clock, rep.email, rep.name, rep.phone)
    # A logged-in person registers a (further) group of which they are the representative.
    if rep.email is not None and rep.email != actor.email:
        raise InvalidInput(
            "the representative is you: leave the e-mail empty or give your own",
            field="representative.email",
        )
    return await session.get_one(User, actor.user_id), False


def online_credentials(data: RegistrationIn) -> tuple[str, str]:
    """The e-mail address and password an online registration needs, checked."""
    rep = data.representative
    if rep.email is None or rep.password is None:
        field = "representative.email" if rep.email is None else "representative.password"
        raise InvalidInput("required to register online", field=field)
    if reason := password_problem(rep.password, rep.email):
        raise InvalidInput(reason, field="representative.password", code="weak_password")
    return rep.email, rep.password


async def check_registration(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Principal | None,
    data: RegistrationIn,
) -> None:
    """Every check of the input and the rules, before anything is written or mailed."""
    today = local_today(clock, settings.tz)
    _check_input(data, today)
    roster = [data.representative, *data.members]
    problems = registration_problems(
        data.kind,
        data.category,
        RosterEntry(data.representative.birth_date, data.representative.residency),
        len(roster),
        data.guardian_consent,
        today,
    )
    if problems:
        raise RuleViolation(problems[0][1], field=problems[0][0], problems=problems)
    await _check_facility(session, actor, data)
    if actor is None:
        online_credentials(data)


async def register(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Principal | None,
    data: RegistrationIn,
    address: str | None,
    *,
    password_hash: str | None = None,
) -> Group:
    """Register now. Without an actor the representative's address must have been proven
    first (accounts/registrations.py: the mailed link); HTTP never calls this anonymously.
    `password_hash`: the representative's password, hashed already (the online case)."""
    await check_registration(session, clock, settings, actor, data)
    rep_user, invite_rep = await _representative_user(
        session, clock, settings, actor, data, password_hash
    )
    people = [data.representative, *data.members]

    group = Group(
        kind=data.kind,
        category=data.category,
        name=data.name,
        name_kana=data.name_kana,
        facility_id=data.facility_id,
        status=GroupStatus.PENDING,
        in_city=is_in_city([RosterEntry(m.birth_date, m.residency) for m in people]),
        email=data.email or rep_user.email,
        phone=data.phone or data.representative.phone,
        guardian_consent=data.guardian_consent,
        created_at=clock.now(),
    )
    session.add(group)
    await session.flush()
    session.add(_member(group.id, rep_user.id, MemberRole.REPRESENTATIVE, data.representative))
    invites: list[User] = [rep_user] if invite_rep else []
    for entry in data.members:
        user_id = None
        if entry.email:
            user, created = await find_or_invite(
                session, clock, entry.email, entry.name, entry.phone
            )
            user_id = user.id
            if created:
                invites.append(user)
        session.add(_member(group.id, user_id, MemberRole.MEMBER, entry))
    await session.flush()
    for user in invites:
        await issue_password_link(session, clock, settings, user, TokenPurpose.INVITE)
    actor_ref = actor.actor if actor else Actor(rep_user.id, address)
    await record(
        session, clock, actor_ref, "group.registered", ("group", group.id), after=snapshot(group)
    )
    # The group's contact address is typed by the registrant and nobody has proven it: only
    # staff's registrations mail it; others mail the representative's own (proven) address.
    to = group.email if actor is not None and actor.is_staff else rep_user.email
    if to:
        await enqueue(
            session,
            clock,
            to=to,
            template="registration_received",
            context={"name": group.name, "url": settings.public_url},
        )
    return group


def _member(group_id: int, user_id: int | None, role: MemberRole, entry: MemberIn) -> Member:
    return Member(
        group_id=group_id,
        user_id=user_id,
        role=role,
        name=entry.name,
        birth_date=entry.birth_date,
        residency=entry.residency,
        email=entry.email,
        phone=entry.phone,
    )


async def get_group(session: AsyncSession, group_id: int, *, for_update: bool = False) -> Group:
    group = await session.get(Group, group_id, with_for_update=for_update)
    if group is None:
        raise NotFound(f"no group {group_id}", code="group_not_found")
    return group


async def view_group(session: AsyncSession, principal: Principal, group_id: int) -> Group:
    group = await get_group(session, group_id)
    require_view_group(principal, group)
    return group


async def roster(session: AsyncSession, group_id: int) -> Sequence[Member]:
    stmt = select(Member).where(Member.group_id == group_id).order_by(Member.role.desc(), Member.id)
    return (await session.scalars(stmt)).all()


async def member_counts(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    stmt = (
        select(Member.group_id, func.count())
        .where(Member.group_id.in_(group_ids))
        .group_by(Member.group_id)
    )
    return {gid: int(count) for gid, count in (await session.execute(stmt)).all()}


@dataclass(frozen=True, slots=True)
class GroupQuery:
    status: GroupStatus | None = None
    facility_id: int | None = None
    card_number: str | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0


def in_scope(principal: Principal) -> ColumnElement[bool] | None:
    """The registrations staff serve: a manager the city-wide ones and those of their own
    facilities, an administrator all (None: no condition)."""
    if principal.is_admin:
        return None
    return or_(Group.facility_id.is_(None), Group.facility_id.in_(principal.facility_ids))


async def list_groups(
    session: AsyncSession, principal: Principal, query: GroupQuery
) -> Sequence[Group]:
    """Staff search registrations at the counter; a manager sees the city-wide ones and those
    of their own facilities, and asking for another facility's list is refused."""
    require_staff(principal)
    stmt = select(Group).order_by(Group.id).limit(query.limit).offset(query.offset)
    if query.facility_id is not None:
        require_facility(principal, query.facility_id)
        stmt = stmt.where(Group.facility_id == query.facility_id)
    elif (scope := in_scope(principal)) is not None:
        stmt = stmt.where(scope)
    if query.status is not None:
        stmt = stmt.where(Group.status == query.status)
    if query.card_number:
        stmt = stmt.where(Group.card_number == query.card_number)
    if query.q:
        stmt = stmt.where(
            or_(
                Group.name.icontains(query.q, autoescape=True),
                Group.name_kana.icontains(query.q, autoescape=True),
            )
        )
    return (await session.scalars(stmt)).all()


async def update_group(
    session: AsyncSession, clock: Clock, principal: Principal, group_id: int, patch: GroupPatch
) -> Group:
    group = await get_group(session, group_id, for_update=True)
    require_manage_roster(principal, group)
    before: dict[str, object] = {
        "name": group.name,
        "name_kana": group.name_kana,
        "email": group.email,
        "phone": group.phone,
    }
    if patch.email is not None:
        group.email = clean_email(patch.email, "email")
    for name in ("name", "name_kana", "phone"):
        value = getattr(patch, name)
        if value is not None:
            setattr(group, name, value)
    after: dict[str, object] = {
        "name": group.name,
        "name_kana": group.name_kana,
        "email": group.email,
        "phone": group.phone,
    }
    # The use-date reminders (issue 18) join the record only when they change, so a contact
    # change reads as it always has.
    if patch.use_reminders is not None and patch.use_reminders != group.use_reminders:
        before["use_reminders"] = group.use_reminders
        group.use_reminders = patch.use_reminders
        after["use_reminders"] = group.use_reminders
    if after != before:
        await record(
            session,
            clock,
            principal.actor,
            "group.updated",
            ("group", group.id),
            before=before,
            after=after,
        )
    return group


async def _new_card_number(session: AsyncSession) -> str:
    """Seven random digits, not guessable from a neighbour's card; never starting with 0
    so that spreadsheets and phones keep all seven."""
    for _ in range(_CARD_ATTEMPTS):
        number = str(secrets.randbelow(9_000_000) + 1_000_000)
        taken = await session.scalar(select(Group.id).where(Group.card_number == number))
        if taken is None:
            return number
    raise Conflict("no free card number found; try again", code="card_numbers_exhausted")


async def activate(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    group_id: int,
    card_number: str | None,
) -> Group:
    group = await get_group(session, group_id, for_update=True)
    require_administer_group(principal, group)
    if group.status is not GroupStatus.PENDING:
        raise Conflict(f"the registration is {group.status.value}, not pending", code="not_pending")
    if card_number is not None:
        if await session.scalar(select(Group.id).where(Group.card_number == card_number)):
            raise Conflict(
                "this card number is already in use", field="card_number", code="card_taken"
            )
    else:
        card_number = await _new_card_number(session)
    before = snapshot(group)
    today = local_today(clock, settings.tz)
    group.status = GroupStatus.ACTIVE
    group.card_number = card_number
    group.valid_until = fiscal_year_end(today)
    group.activated_at = clock.now()
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "group.activated",
        ("group", group.id),
        before=before,
        after=snapshot(group),
    )
    if group.email:
        await enqueue(
            session,
            clock,
            to=group.email,
            template="registration_activated",
            context={
                "name": group.name,
                "card_number": card_number,
                "valid_until": group.valid_until,
                "url": settings.public_url,
            },
        )
    return group


async def suspend(
    session: AsyncSession, clock: Clock, principal: Principal, group_id: int, reason: str
) -> Group:
    """A suspended registration may not book or change its roster; its members still log in."""
    group = await get_group(session, group_id, for_update=True)
    require_administer_group(principal, group)
    if group.status is GroupStatus.SUSPENDED:
        return group
    before = snapshot(group)
    group.status = GroupStatus.SUSPENDED
    group.suspended_reason = reason
    await record(
        session,
        clock,
        principal.actor,
        "group.suspended",
        ("group", group.id),
        before=before,
        after={**snapshot(group), "reason": reason},
    )
    return group


async def reinstate(
    session: AsyncSession, clock: Clock, principal: Principal, group_id: int
) -> Group:
    group = await get_group(session, group_id, for_update=True)
    require_administer_group(principal, group)
    if group.status is not GroupStatus.SUSPENDED:
        raise Conflict("the registration is not suspended", code="not_suspended")
    before = snapshot(group)
    group.status = GroupStatus.ACTIVE if group.card_number else GroupStatus.PENDING
    group.suspended_reason = None
    await record(
        session,
        clock,
        principal.actor,
        "group.reinstated",
        ("group", group.id),
        before=before,
        after=snapshot(group),
    )
    return group


async def renew(
    session: AsyncSession, clock: Clock, settings: Settings, principal: Principal, group_id: int
) -> Group:
    """Renewal opens on 1 December for a card valid to 31 March (rules.renewal_opens) and
    stays open after it lapsed."""
    group = await get_group(session, group_id, for_update=True)
    require_administer_group(principal, group)
    if group.status is not GroupStatus.ACTIVE or group.valid_until is None:
        raise Conflict("only an active registration is renewed", code="not_active")
    today = local_today(clock, settings.tz)
    if today < renewal_opens(group.valid_until):
        raise RuleViolation(
            f"renewal opens on {renewal_opens(group.valid_until).isoformat()}",
            code="renewal_not_open",
        )
    before = snapshot(group)
    group.valid_until = renewed_until(group.valid_until, today)
    await record(
        session,
        clock,
        principal.actor,
        "group.renewed",
        ("group", group.id),
        before=before,
        after=snapshot(group),
    )
    return group
