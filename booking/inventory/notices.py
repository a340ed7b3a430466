"""お知らせ: a facility's notices, posted by its managers (an administrator's everywhere) and
shown on the facility's page from `starts_on` to `ends_on` (no end: until withdrawn).

A notice is withdrawn, never deleted: the audit trail and the desk's list keep it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_facility
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import Conflict, InvalidInput, NotFound
from booking.inventory.models import Facility, Notice
from booking.settings import Settings
from booking.web.fields import (
    CONTROL_REASON,
    MULTI_LINE_CONTROL_REASON,
    NOTICE_BODY_MAX,
    NOTICE_TITLE_MAX,
    control_characters,
)

# How far ahead a notice may start: beyond it, a mistyped year rather than a notice.
NOTICE_AHEAD_DAYS = 366
STAFF_LIST_MAX = 200


@dataclass(frozen=True, slots=True)
class NoticeText:
    """What a notice says and when: Japanese required, English where given."""

    title_ja: str
    body_ja: str
    starts_on: date
    ends_on: date | None = None
    title_en: str | None = None
    body_en: str | None = None


EDITABLE = frozenset(f.name for f in fields(NoticeText))


def is_current(notice: Notice, today: date) -> bool:
    """Shown today: started, not ended (ends_on is the last day shown), not withdrawn."""
    return (
        notice.withdrawn_at is None
        and notice.starts_on <= today
        and (notice.ends_on is None or today <= notice.ends_on)
    )


def check_notice(text: NoticeText, today: date) -> NoticeText:
    """Every problem at once, each naming its field; blank English is no English."""
    problems: list[tuple[str, str]] = []
    cleaned: dict[str, Any] = {}
    for name, limit, multiline, required in (
        ("title_ja", NOTICE_TITLE_MAX, False, True),
        ("title_en", NOTICE_TITLE_MAX, False, False),
        ("body_ja", NOTICE_BODY_MAX, True, True),
        ("body_en", NOTICE_BODY_MAX, True, False),
    ):
        value = (getattr(text, name) or "").strip()
        cleaned[name] = value or None
        if not value:
            if required:
                problems.append((name, "must not be empty"))
        elif control_characters(value, multiline=multiline):
            problems.append((name, MULTI_LINE_CONTROL_REASON if multiline else CONTROL_REASON))
        elif len(value) > limit:
            problems.append((name, f"at most {limit} characters"))
    if text.ends_on is not None and text.ends_on < text.starts_on:
        problems.append(("ends_on", "must be on or after starts_on"))
    elif text.ends_on is not None and text.ends_on < today:
        problems.append(("ends_on", "has passed: the notice would never be shown"))
    if (text.starts_on - today).days > NOTICE_AHEAD_DAYS:
        problems.append(("starts_on", f"at most {NOTICE_AHEAD_DAYS} days ahead"))
    if problems:
        field, reason = problems[0]
        raise InvalidInput(f"{field}: {reason}", field=field, problems=problems)
    return replace(text, **cleaned)


def _state(notice: Notice) -> dict[str, Any]:
    state = {name: getattr(notice, name) for name in sorted(EDITABLE)}
    state["starts_on"] = notice.starts_on.isoformat()
    state["ends_on"] = notice.ends_on.isoformat() if notice.ends_on else None
    return state


async def post_notice(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    facility_id: int,
    text: NoticeText,
) -> Notice:
    require_facility(principal, facility_id)
    facility = await session.get(Facility, facility_id)
    if facility is None or not facility.active:
        raise NotFound(f"no facility {facility_id}", field="facility_id")
    text = check_notice(text, local_today(clock, settings.tz))
    now = clock.now()
    notice = Notice(
        facility_id=facility_id,
        created_at=now,
        updated_at=now,
        created_by_user_id=principal.user_id,
        **asdict(text),
    )
    session.add(notice)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "notice.posted",
        ("notice", notice.id),
        after=_state(notice),
    )
    return notice


async def _own_notice(session: AsyncSession, principal: Principal, notice_id: int) -> Notice:
    """The notice, locked, if the principal manages its facility; the same 404 otherwise."""
    notice = await session.get(Notice, notice_id, with_for_update=True)
    if notice is None or not principal.manages(notice.facility_id):
        raise NotFound(f"no notice {notice_id}", field="notice_id", code="notice_not_found")
    return notice


async def edit_notice(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    notice_id: int,
    changes: Mapping[str, Any],
) -> Notice:
    """Change some of a notice's fields (the others stay); a withdrawn notice stays as it was."""
    notice = await _own_notice(session, principal, notice_id)
    if unknown := sorted(set(changes) - EDITABLE):
        raise InvalidInput(f"unknown field {unknown[0]}", field=unknown[0])
    if notice.withdrawn_at is not None:
        raise Conflict("the notice has been withdrawn", code="notice_withdrawn")
    before = _state(notice)
    current = NoticeText(**{name: getattr(notice, name) for name in EDITABLE})
    text = check_notice(replace(current, **changes), local_today(clock, settings.tz))
    for name, value in asdict(text).items():
        setattr(notice, name, value)
    after = _state(notice)
    if after != before:
        notice.updated_at = clock.now()
        await record(
            session,
            clock,
            principal.actor,
            "notice.edited",
            ("notice", notice.id),
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return notice


async def withdraw_notice(
    session: AsyncSession, clock: Clock, principal: Principal, notice_id: int
) -> Notice:
    """Take a notice off the facility's page; withdrawing it again changes nothing."""
    notice = await _own_notice(session, principal, notice_id)
    if notice.withdrawn_at is None:
        notice.withdrawn_at = notice.updated_at = clock.now()
        await record(
            session,
            clock,
            principal.actor,
            "notice.withdrawn",
            ("notice", notice.id),
            before={"withdrawn_at": None},
            after={"withdrawn_at": notice.withdrawn_at.isoformat()},
        )
    return notice


async def current_notices(session: AsyncSession, facility_id: int, today: date) -> Sequence[Notice]:
    """What the facility's page shows today, the latest start first."""
    stmt = (
        select(Notice)
        .where(
            Notice.facility_id == facility_id,
            Notice.withdrawn_at.is_(None),
            Notice.starts_on <= today,
            or_(Notice.ends_on.is_(None), Notice.ends_on >= today),
        )
        .order_by(Notice.starts_on.desc(), Notice.id.desc())
    )
    return (await session.scalars(stmt)).all()


async def facility_notices(
    session: AsyncSession, principal: Principal, facility_id: int
) -> Sequence[Notice]:
    """The desk's list: every notice of the facility, withdrawn and ended ones too, newest
    first (the most recent STAFF_LIST_MAX)."""
    require_facility(principal, facility_id)
    stmt = (
        select(Notice)
        .where(Notice.facility_id == facility_id)
        .order_by(Notice.id.desc())
        .limit(STAFF_LIST_MAX)
    )
    return (await session.scalars(stmt)).all()


async def get_notice(session: AsyncSession, principal: Principal, notice_id: int) -> Notice:
    """A notice for its facility's staff (the edit form)."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not principal.manages(notice.facility_id):
        raise NotFound(f"no notice {notice_id}", field="notice_id", code="notice_not_found")
    return notice
