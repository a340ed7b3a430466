"""Joining and leaving the wait list (キャンセル待ち), and where a group stands in its lines.

A group joins the line of a taken slot in the first-come window, with the checks a booking of
that slot would pass (registration, eligibility, counter-only rooms, the window, closures), a
cap on its live entries (`policy.waitlist.cap_per_group`), once per slot while live (the
partial unique index `uq_waitlist_entries_live`). The order is join time, then id: the offers
follow it (booking/waitlist/offers.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.groups import get_group
from booking.accounts.models import Group
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.db.errors import constraint_of
from booking.errors import Conflict, InvalidInput, NotFound, RuleViolation
from booking.inventory.calendar import day_type, usable_day
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import Phase, booking_phase, first_come_opens, last_booking_day
from booking.lottery.models import LotteryApplication
from booking.notifications.booking_mail import slot, slot_context
from booking.notifications.outbox import enqueue
from booking.reservations.bookings import (
    channel_for,
    check_booker,
    check_day,
    room_of,
)
from booking.reservations.models import Booking, Claim, ClaimKind
from booking.reservations.rules import (
    consecutive_problem,
    in_day_order,
)
from booking.settings import Settings
from booking.waitlist.models import LIVE_ENTRY, EntryStatus, WaitlistEntry, WaitlistOffer

# The unique index of live entries, as each engine names it (booking/db/errors.py).
LIVE_INDEX = frozenset(
    {
        "uq_waitlist_entries_live",
        (
            "waitlist_entries.group_id, waitlist_entries.room_id, waitlist_entries.use_date, "
            "waitlist_entries.periods_key"
        ),
    }
)


def waitlist_url(settings: Settings) -> str:
    """The group's lines and offers (booking/pages, `/my/waitlist`)."""
    return f"{settings.public_url.rstrip('/')}/my/waitlist"


def entry_audit(entry: WaitlistEntry) -> dict[str, object]:
    return {
        "status": entry.status.value,
        "group_id": entry.group_id,
        "room_id": entry.room_id,
        "use_date": entry.use_date.isoformat(),
        "period_codes": list(entry.period_codes),
    }


def _window_problem(room: RoomInfo, use_date: date, today: date) -> str | None:
    policy = room.policy_on(use_date)
    phase = booking_phase(policy, use_date, today)
    if phase is Phase.OPEN:
        return None
    if phase is Phase.PAST:
        return (
            f"online booking for this date closed on {last_booking_day(policy, use_date)}; "
            "the wait list closes with it"
        )
    if phase is Phase.LOTTERY:
        return "this date is in its lottery application window; apply for the lottery instead"
    return f"first-come booking for this date opens on {first_come_opens(policy, use_date)}"


async def _check_group(  # noqa: PLR0913, PLR0917 - a booking's inputs
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    group_id: int,
    room: RoomInfo,
    use_date: date,
) -> Group:
    """The checks of a booking of this slot that a line must pass too (reservations.bookings)."""
    group = await get_group(session, group_id, for_update=True)  # the cap, one join at a time
    channel = channel_for(principal, group, room)
    policy = room.policy_on(use_date)
    if not policy.waitlist.enabled:
        raise RuleViolation(
            "this room keeps no wait list", field="room_id", code="waitlist_disabled"
        )
    facility = snapshot.facilities[room.facility_id]
    today = local_today(clock, settings.tz)
    check_booker(today, room, facility, policy, group, channel, use_date)
    if problem := _window_problem(room, use_date, today):  # every channel: a line is online's
        raise RuleViolation(problem, field="use_date", code="outside_window")
    check_day(snapshot, facility, group, use_date)
    return group


async def _holders(
    session: AsyncSession, room: RoomInfo, use_date: date, periods: Sequence[str]
) -> set[int]:
    """The groups whose live claims (a booking, a hold, an offer, a lottery win) hold part of
    the slot; a block belongs to no group. Empty: the slot is free."""
    cells = (
        Claim.unit_id.in_(room.unit_ids),
        Claim.use_date == use_date,
        Claim.period_code.in_(periods),
    )
    owners = [
        (ClaimKind.BOOKING, Booking.id, Booking.group_id),
        (ClaimKind.HOLD, Booking.id, Booking.group_id),
        (ClaimKind.OFFER, WaitlistOffer.id, WaitlistOffer.group_id),
        (ClaimKind.LOTTERY_WIN, LotteryApplication.id, LotteryApplication.group_id),
    ]
    found = await session.execute(
        union_all(
            *(
                select(group_of)
                .join(Claim, owner == Claim.owner_id)
                .where(Claim.kind == kind, *cells)
                for kind, owner, group_of in owners
            ),
            select(literal(0)).where(Claim.kind == ClaimKind.BLOCK, *cells),
        )
    )
    return {group_id for (group_id,) in found.all()}


async def join(  # noqa: PLR0913 - the slot's four parts, as a booking's
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    *,
    group_id: int,
    room_id: int,
    use_date: date,
    period_codes: Sequence[str],
) -> WaitlistEntry:
    """Join the line of a taken slot (a member for their group, or the facility's staff)."""
    usable_day(use_date, "use_date")
    room = room_of(snapshot, room_id)
    group = await _check_group(
        session, clock, settings, snapshot, principal, group_id, room, use_date
    )
    day_codes = room.grid.codes_by_day_type.get(day_type(use_date), ())
    if problem := consecutive_problem(list(period_codes), day_codes):
        raise InvalidInput(problem, field="period_codes", code="bad_periods")
    periods = in_day_order(list(period_codes), day_codes)
    holders = await _holders(session, room, use_date, periods)
    if not holders:
        raise RuleViolation(
            "the slot is free: book it instead of waiting",
            field="period_codes",
            code="slot_free",
        )
    if group.id in holders:  # its line could never be served: its own claim is in the way
        raise RuleViolation(
            "your group holds (part of) this slot already",
            field="period_codes",
            code="own_slot",
        )
    live = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(WaitlistEntry.group_id == group.id, WaitlistEntry.status.in_(LIVE_ENTRY))
    )
    cap = room.policy_on(use_date).waitlist.cap_per_group
    if (live or 0) >= cap:
        raise RuleViolation(
            f"a group waits in at most {cap} lines at once; leave one first",
            field="group_id",
            code="waitlist_cap",
        )
    entry = WaitlistEntry(
        group_id=group.id,
        room_id=room.id,
        facility_id=room.facility_id,
        use_date=use_date,
        period_codes=periods,
        periods_key=",".join(periods),
        status=EntryStatus.WAITING,
        joined_at=clock.now(),
        joined_by_user_id=principal.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError as exc:
        if constraint_of(exc) not in LIVE_INDEX:
            raise
        raise Conflict(
            "the group is already in this line", field="period_codes", code="already_waiting"
        ) from exc
    await record(
        session,
        clock,
        principal.actor,
        "waitlist.joined",
        ("waitlist_entry", entry.id),
        after=entry_audit(entry),
    )
    if group.email:
        await enqueue(
            session,
            clock,
            to=group.email,
            template="waitlist_joined",
            context={
                "name": group.name,
                "entry_id": entry.id,
                "url": waitlist_url(settings),
                **slot_context(slot(snapshot, room.id, use_date, periods)),
            },
        )
    return entry


async def get_entry(
    session: AsyncSession, principal: Principal, entry_id: int, *, for_update: bool = False
) -> WaitlistEntry:
    """An entry its group's members and the facility's staff may see; others get 404."""
    entry = await session.get(
        WaitlistEntry, entry_id, with_for_update=for_update, populate_existing=True
    )
    if entry is not None and (
        principal.role_in(entry.group_id) is not None or principal.manages(entry.facility_id)
    ):
        return entry
    raise NotFound(f"no wait-list entry {entry_id}", code="entry_not_found")


async def leave(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    entry_id: int,
) -> WaitlistEntry:
    """Leave a line; with an open offer this declines it (the next in line gets the slot)."""
    from booking.waitlist import offers  # noqa: PLC0415 - offers builds on the lines

    entry = await get_entry(session, principal, entry_id)
    if entry.status is EntryStatus.OFFERED:
        # The offer's lock first, then the entry's: the order accept and decline take them.
        offer = await session.scalar(
            select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id)
        )
        if offer is not None:
            await offers.decline(session, clock, settings, snapshot, principal, offer.id)
            return entry
    entry = await get_entry(session, principal, entry_id, for_update=True)
    if entry.status is not EntryStatus.WAITING:
        raise Conflict(f"the entry is {entry.status.value}, not waiting", code="entry_not_live")
    before = entry_audit(entry)
    entry.status = EntryStatus.LEFT
    entry.ended_at = clock.now()
    await record(
        session,
        clock,
        principal.actor,
        "waitlist.left",
        ("waitlist_entry", entry.id),
        before=before,
        after=entry_audit(entry),
    )
    return entry


@dataclass(frozen=True, slots=True)
class Line:
    """One of a group's live entries: its place in line (1 = next; None while it has an open
    offer) and that offer."""

    entry: WaitlistEntry
    position: int | None
    offer: WaitlistOffer | None


def cells(room: RoomInfo | None, periods: Sequence[str]) -> set[tuple[int, str]]:
    """The (unit, period) pairs a slot of the room occupies."""
    return {(u, p) for u in (room.unit_ids if room else ()) for p in periods}


async def group_lines(
    session: AsyncSession, principal: Principal, snapshot: NetworkSnapshot, group_id: int
) -> list[Line]:
    """The group's live entries, soonest date first, each with its position: 1 + the waiting
    entries that joined before it and want a unit and period of its slot (they are offered a
    freed slot first: offers.hand_on)."""
    group = await get_group(session, group_id)
    if principal.role_in(group.id) is None and not principal.staff_for(group):
        raise NotFound(f"no group {group_id}", field="group_id", code="group_not_found")
    mine = (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.group_id == group.id, WaitlistEntry.status.in_(LIVE_ENTRY))
            .order_by(WaitlistEntry.use_date, WaitlistEntry.joined_at, WaitlistEntry.id)
        )
    ).all()
    if not mine:
        return []
    dates = {e.use_date for e in mine}
    waiting = (
        await session.scalars(
            select(WaitlistEntry).where(
                WaitlistEntry.use_date.in_(dates), WaitlistEntry.status == EntryStatus.WAITING
            )
        )
    ).all()
    open_offers = {
        o.entry_id: o
        for o in await session.scalars(
            select(WaitlistOffer).where(
                WaitlistOffer.entry_id.in_([e.id for e in mine if e.status is EntryStatus.OFFERED])
            )
        )
    }
    rooms = {r.id: r for r in snapshot.rooms}
    lines = []
    for entry in mine:
        if entry.status is EntryStatus.OFFERED:
            lines.append(Line(entry, None, open_offers.get(entry.id)))
            continue
        wanted = cells(rooms.get(entry.room_id), entry.period_codes)
        ahead = sum(
            1
            for other in waiting
            if other.use_date == entry.use_date
            and (other.joined_at, other.id) < (entry.joined_at, entry.id)
            and wanted & cells(rooms.get(other.room_id), other.period_codes)
        )
        lines.append(Line(entry, ahead + 1, None))
    return lines


async def waiting_counts(
    session: AsyncSession, room_ids: Collection[int] | None, start: date, end: date
) -> dict[tuple[int, date, str], int]:
    """Waiting entries per (room, date, period) in the range, in one query: the length of a
    taken slot's line (an entry with an open offer is being served, not counted).

    Counted by the database per slot (`periods_key`, the codes joined by ","): a row per
    distinct slot rather than per entry, and no JSON to decode (availability reads it on every
    request: 93 days with 1,754 entries took 4.3 ms as rows per entry, 2.0 ms so)."""
    stmt = (
        select(
            WaitlistEntry.room_id, WaitlistEntry.use_date, WaitlistEntry.periods_key, func.count()
        )
        .where(
            WaitlistEntry.use_date >= start,
            WaitlistEntry.use_date <= end,
            WaitlistEntry.status == EntryStatus.WAITING,
        )
        .group_by(WaitlistEntry.room_id, WaitlistEntry.use_date, WaitlistEntry.periods_key)
    )
    if room_ids is not None:
        stmt = stmt.where(WaitlistEntry.room_id.in_(list(room_ids)))
    counts: dict[tuple[int, date, str], int] = defaultdict(int)
    for room_id, use_date, key, waiting in (await session.execute(stmt)).all():
        for code in key.split(","):
            counts[(room_id, use_date, code)] += waiting
    return dict(counts)
