"""Fees and policies from a date (issue 16 §2): a room's fee schedules and a policy's revisions.

The rule, for both: a change from `effective_from` governs bookings for use dates on or after
that date **made after it was entered** (`created_at`). Bookings for earlier use dates, and
bookings already made, keep what they were made under: a booking stores its fee
(bookings.fee_total / fee_breakdown), and its policy is read as of its own `created_at`
(network.RoomInfo.policy_on). Fees are set by city ordinance, so administrators enter both;
the data files' revisions arrive through the loader (origin 'data', see load_*_revisions).

Each change is checked with the data files' rules (data_format's FeeRevisionData and
PolicyRevisionData, datafiles.fee_code_problems, policy.policy_problems), audited with before
and after, and bumps the inventory revision so every process resolves it at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_admin
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import Conflict, InvalidInput, NotFound
from booking.inventory.calendar import usable_day
from booking.inventory.data_format import FeeRevisionData, PolicyRevisionData
from booking.inventory.datafiles import fee_code_problems
from booking.inventory.models import (
    Facility,
    FacilityKind,
    Period,
    PeriodGrid,
    Policy,
    PolicyRevision,
    Room,
    RoomFeeSchedule,
)
from booking.inventory.policy import policy_problems
from booking.inventory.services import bump_revision

DATA = "data"
STAFF = "staff"


# --- fee schedules -------------------------------------------------------------------------


async def fee_schedules(session: AsyncSession, room_id: int) -> list[RoomFeeSchedule]:
    """The room's fee schedules, earliest first (an unknown room is NotFound)."""
    await _room(session, room_id)
    rows = await session.scalars(
        select(RoomFeeSchedule)
        .where(RoomFeeSchedule.room_id == room_id)
        .order_by(RoomFeeSchedule.effective_from)
    )
    return list(rows.all())


async def set_fee_schedule(  # noqa: PLR0913 - the schedule's fields
    session: AsyncSession,
    clock: Clock,
    tz: ZoneInfo,
    principal: Principal,
    room_id: int,
    *,
    effective_from: date,
    fees: Mapping[str, int] | None,
    all_day_fee: int | None,
) -> RoomFeeSchedule:
    """Set the room's fees from `effective_from` (today or later): a new schedule, or the one
    already from that date replaced while it is not yet in effect. Administrators only."""
    require_admin(principal)
    room = await _room(session, room_id)
    checked = await _checked_fees(session, room, effective_from, fees, all_day_fee)
    _not_in_effect(effective_from, local_today(clock, tz))
    found = await _schedule(session, room_id, effective_from)
    if found is not None and (found.fees, found.all_day_fee, found.origin) == (
        checked.fees,
        checked.all_day_fee,
        STAFF,
    ):
        return found  # the same again: no change, no event
    before = _fee_audit(found) if found else None
    if found is None:
        found = RoomFeeSchedule(room_id=room_id, effective_from=effective_from)
        session.add(found)
    found.fees = dict(checked.fees) if checked.fees is not None else None
    found.all_day_fee = checked.all_day_fee
    found.origin = STAFF
    found.created_at = clock.now()
    found.created_by_user_id = principal.user_id
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "room.fee_schedule_replaced" if before else "room.fee_schedule_added",
        ("room", room_id),
        before=before,
        after=_fee_audit(found),
    )
    await bump_revision(session, clock.now())
    return found


async def delete_fee_schedule(
    session: AsyncSession,
    clock: Clock,
    tz: ZoneInfo,
    principal: Principal,
    room_id: int,
    effective_from: date,
) -> None:
    """Withdraw a schedule not yet in effect; one in effect is history (enter a new one)."""
    require_admin(principal)
    await _room(session, room_id)
    found = await _schedule(session, room_id, effective_from)
    if found is None:
        raise NotFound(
            f"room {room_id} has no fee schedule from {effective_from}", field="effective_from"
        )
    _not_in_effect(effective_from, local_today(clock, tz))
    before = _fee_audit(found)
    await session.delete(found)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "room.fee_schedule_deleted",
        ("room", room_id),
        before=before,
    )
    await bump_revision(session, clock.now())


async def load_fee_revisions(
    session: AsyncSession, room_id: int, revisions: Sequence[FeeRevisionData], now: datetime
) -> list[date]:
    """The data files' fee revisions of a room, for the loader (already validated there).

    Data-origin schedules follow the file (added, changed, removed); a schedule staff entered
    is never overwritten: its date is returned as a conflict for the load to report. The caller
    bumps the revision once for the whole load.
    """
    rows = {row.effective_from: row for row in await _schedules_of(session, room_id)}
    wanted = {revision.effective_from: revision for revision in revisions}
    conflicts: list[date] = []
    for day, row in rows.items():
        if row.origin == DATA and day not in wanted:
            await session.delete(row)
    for day, revision in sorted(wanted.items()):
        fees = dict(revision.fees) if revision.fees is not None else None
        found = rows.get(day)
        if found is not None and (found.fees, found.all_day_fee) == (fees, revision.all_day_fee):
            continue
        if found is not None and found.origin != DATA:
            conflicts.append(day)
            continue
        if found is None:
            found = RoomFeeSchedule(room_id=room_id, effective_from=day)
            session.add(found)
        found.fees, found.all_day_fee, found.origin = fees, revision.all_day_fee, DATA
        found.created_at, found.created_by_user_id = now, None
    await session.flush()
    return conflicts


def fee_revisions_data(rows: Sequence[RoomFeeSchedule]) -> list[dict[str, Any]]:
    """A room's schedules as the data files write them (`fee_revisions`), for the export."""
    return [
        {
            "effective_from": row.effective_from,
            **({"fees": dict(row.fees)} if row.fees is not None else {}),
            **({"all_day_fee": row.all_day_fee} if row.all_day_fee is not None else {}),
        }
        for row in sorted(rows, key=lambda row: row.effective_from)
    ]


async def _checked_fees(
    session: AsyncSession,
    room: Room,
    effective_from: date,
    fees: Mapping[str, int] | None,
    all_day_fee: int | None,
) -> FeeRevisionData:
    """The schedule as the data files' rules accept it, or InvalidInput naming each field."""
    usable_day(effective_from, "effective_from")
    try:
        checked = FeeRevisionData(
            effective_from=effective_from,
            fees=dict(fees) if fees is not None else None,
            all_day_fee=all_day_fee,
        )
    except ValidationError as exc:
        problems = [
            (".".join(map(str, error["loc"])) or "fees", error["msg"]) for error in exc.errors()
        ]
        raise InvalidInput(problems[0][1], field=problems[0][0], problems=problems) from exc
    grid_key, codes = await _grid_codes(session, room)
    reasons = fee_code_problems(checked.fees, codes, grid_key)
    if reasons:
        raise InvalidInput(
            reasons[0], field="fees", problems=[("fees", reason) for reason in reasons]
        )
    return checked


async def _grid_codes(session: AsyncSession, room: Room) -> tuple[str, list[str]]:
    facility = await session.get_one(Facility, room.facility_id)
    kind = await session.get_one(FacilityKind, facility.kind_id)
    grid_id = room.period_grid_id or facility.period_grid_id or kind.period_grid_id
    grid = await session.get_one(PeriodGrid, grid_id)
    codes = await session.scalars(select(Period.code).where(Period.grid_id == grid_id))
    return grid.key, list(codes.all())


def _not_in_effect(effective_from: date, today: date) -> None:
    if effective_from < today:
        raise InvalidInput(
            f"a change takes effect from today ({today}) or later: what was booked before it "
            "keeps what it was booked under",
            field="effective_from",
            code="effective_date_past",  # worded by the pages: the message carries the date
        )


async def _room(session: AsyncSession, room_id: int) -> Room:
    room = await session.get(Room, room_id)
    if room is None or not room.active:
        raise NotFound(f"no room {room_id}", field="room_id", code="room_not_found")
    return room


async def _schedules_of(session: AsyncSession, room_id: int) -> list[RoomFeeSchedule]:
    rows = await session.scalars(select(RoomFeeSchedule).where(RoomFeeSchedule.room_id == room_id))
    return list(rows.all())


async def _schedule(
    session: AsyncSession, room_id: int, effective_from: date
) -> RoomFeeSchedule | None:
    found: RoomFeeSchedule | None = await session.scalar(
        select(RoomFeeSchedule).where(
            RoomFeeSchedule.room_id == room_id, RoomFeeSchedule.effective_from == effective_from
        )
    )
    return found


def _fee_audit(row: RoomFeeSchedule) -> dict[str, Any]:
    return {
        "effective_from": row.effective_from.isoformat(),
        "fees": dict(row.fees) if row.fees is not None else None,
        "all_day_fee": row.all_day_fee,
        "origin": row.origin,
    }


# --- policy revisions ----------------------------------------------------------------------


async def all_policies(session: AsyncSession) -> list[tuple[Policy, list[PolicyRevision]]]:
    """Every policy with its revisions, earliest first, by key."""
    revisions: dict[int, list[PolicyRevision]] = {}
    rows = await session.scalars(select(PolicyRevision).order_by(PolicyRevision.effective_from))
    for row in rows.all():
        revisions.setdefault(row.policy_id, []).append(row)
    policies = await session.scalars(select(Policy).order_by(Policy.key))
    return [(policy, revisions.get(policy.id, [])) for policy in policies.all()]


async def policy_revisions(session: AsyncSession, policy_id: int) -> list[PolicyRevision]:
    """The policy's revisions, earliest first (an unknown policy is NotFound)."""
    await _policy(session, policy_id)
    return await _revisions_of(session, policy_id)


async def add_policy_revision(
    session: AsyncSession,
    clock: Clock,
    tz: ZoneInfo,
    principal: Principal,
    policy_id: int,
    *,
    effective_from: date,
    settings: Mapping[str, Any],
) -> PolicyRevision:
    """Change a policy from `effective_from` (today or later). Administrators only.

    `settings` is a partial override like the policy's own settings, merged over them and over
    the earlier revisions; the policy must stay valid on every date from this one on. A
    revision is never rewritten (bookings made under it keep it): a second one from the same
    date is a Conflict; enter the correction from a later date.
    """
    require_admin(principal)
    policy = await _policy(session, policy_id)
    usable_day(effective_from, "effective_from")
    try:
        checked = PolicyRevisionData(effective_from=effective_from, settings=dict(settings))
    except ValidationError as exc:
        raise InvalidInput("give at least one setting", field="settings") from exc
    _not_in_effect(effective_from, local_today(clock, tz))
    revisions = await _revisions_of(session, policy_id)
    if any(revision.effective_from == effective_from for revision in revisions):
        raise Conflict(
            f"the policy already has a revision from {effective_from}",
            field="effective_from",
            code="revision_exists",
        )
    problems = _revision_problems(policy, revisions, checked)
    if problems:
        raise InvalidInput(problems[0][1], field=problems[0][0], problems=problems)
    revision = PolicyRevision(
        policy_id=policy_id,
        effective_from=effective_from,
        settings=checked.settings,
        origin=STAFF,
        created_at=clock.now(),
        created_by_user_id=principal.user_id,
    )
    session.add(revision)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "policy.revision_added",
        ("policy", policy_id),
        before={"settings": policy.settings, "revisions": _revisions_audit(revisions)},
        after={"settings": policy.settings, "revisions": _revisions_audit([*revisions, revision])},
    )
    await bump_revision(session, clock.now())
    return revision


async def load_policy_revisions(
    session: AsyncSession, policy_id: int, revisions: Sequence[PolicyRevisionData], now: datetime
) -> list[date]:
    """The data files' revisions of a policy, for the loader (already validated there); staff
    revisions are kept and a differing file entry for their date is returned as a conflict."""
    rows = {row.effective_from: row for row in await _revisions_of(session, policy_id)}
    wanted = {revision.effective_from: revision for revision in revisions}
    conflicts: list[date] = []
    for day, row in rows.items():
        if row.origin == DATA and day not in wanted:
            await session.delete(row)
    for day, revision in sorted(wanted.items()):
        found = rows.get(day)
        if found is not None and found.settings == revision.settings:
            continue
        if found is not None and found.origin != DATA:
            conflicts.append(day)
            continue
        if found is None:
            found = PolicyRevision(policy_id=policy_id, effective_from=day)
            session.add(found)
        found.settings, found.origin = dict(revision.settings), DATA
        found.created_at, found.created_by_user_id = now, None
    await session.flush()
    return conflicts


def policy_revisions_data(rows: Sequence[PolicyRevision]) -> list[dict[str, Any]]:
    """A policy's revisions as the data files write them (`revisions`), for the export."""
    return [
        {"effective_from": row.effective_from, "settings": dict(row.settings)}
        for row in sorted(rows, key=lambda row: row.effective_from)
    ]


def _revision_problems(
    policy: Policy, revisions: Sequence[PolicyRevision], new: PolicyRevisionData
) -> list[tuple[str, str]]:
    """The policy as it would stand from the new date and from each later revision's date."""
    dated = sorted(
        [(r.effective_from, r.settings) for r in revisions] + [(new.effective_from, new.settings)],
        key=lambda item: item[0],
    )
    for index, (day, _) in enumerate(dated):
        if day < new.effective_from:
            continue
        layers = [policy.settings, *(settings for _, settings in dated[: index + 1])]
        if problems := policy_problems(*layers):
            return [(f"settings.{where}" if where else "settings", why) for where, why in problems]
    return []


async def _policy(session: AsyncSession, policy_id: int) -> Policy:
    policy = await session.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"no policy {policy_id}", field="policy_id")
    return policy


async def _revisions_of(session: AsyncSession, policy_id: int) -> list[PolicyRevision]:
    rows = await session.scalars(
        select(PolicyRevision)
        .where(PolicyRevision.policy_id == policy_id)
        .order_by(PolicyRevision.effective_from)
    )
    return list(rows.all())


def _revisions_audit(rows: Sequence[PolicyRevision]) -> list[dict[str, Any]]:
    return [
        {"effective_from": row.effective_from.isoformat(), "settings": row.settings}
        for row in sorted(rows, key=lambda row: row.effective_from)
    ]
