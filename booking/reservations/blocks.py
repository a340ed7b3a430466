"""Blocks (保守日・主催事業) and closures by managers: slots taken out of use, never over a
booking. A booking in the way is reported, with its group, and nothing is changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_facility
from booking.accounts.groups import get_group
from booking.audit.service import record
from booking.clock import Clock
from booking.errors import Conflict, InvalidInput, NotFound
from booking.inventory.calendar import day_type, usable_day
from booking.inventory.models import ClosureRule
from booking.inventory.network import NetworkSnapshot, RoomInfo, SnapshotCache
from booking.inventory.services import bump_revision
from booking.notifications.booking_mail import booking_context
from booking.notifications.outbox import enqueue
from booking.reservations.bookings import is_closed, room_of
from booking.reservations.claims import insert_claims, release_claims, slot_label
from booking.reservations.models import Block, Booking, BookingStatus, Claim, ClaimKind
from booking.settings import Settings
from booking.waitlist.offers import hand_on

MAX_BLOCK_DAYS = 366
REASONS = ("maintenance", "event")


def block_slots(
    snapshot: NetworkSnapshot,
    room: RoomInfo,
    start: date,
    end: date,
    periods: Sequence[str] | None,
) -> list[tuple[date, str]]:
    """Every (date, period) of the range the room has and the facility is open on."""
    facility = snapshot.facilities[room.facility_id]
    slots = []
    day = start
    while day <= end:
        if not is_closed(snapshot, facility, day):
            codes = room.grid.codes_by_day_type.get(day_type(day), ())
            slots += [(day, code) for code in codes if periods is None or code in periods]
        day += timedelta(days=1)
    return slots


async def _in_the_way(
    session: AsyncSession, room: RoomInfo, slots: list[tuple[date, str]]
) -> list[tuple[str, str]]:
    wanted = set(slots)
    dates = sorted({d for d, _ in slots})
    rows = (
        await session.execute(
            select(Claim.use_date, Claim.period_code, Claim.kind, Claim.owner_id).where(
                Claim.unit_id.in_(room.unit_ids),
                Claim.use_date >= dates[0],
                Claim.use_date <= dates[-1],
            )
        )
    ).all()
    problems: list[tuple[str, str]] = []
    for use_date, code, kind, owner_id in rows:
        if (use_date, code) not in wanted:
            continue
        label = slot_label(room, use_date, code)
        if kind in (ClaimKind.BOOKING, ClaimKind.HOLD, ClaimKind.LOTTERY_WIN):
            booking = await session.get(Booking, owner_id)
            group = await get_group(session, booking.group_id) if booking else None
            who = f"booking {owner_id} of {group.name}" if group else f"claim of {owner_id}"
            problems.append(("bookings", f"{label}: {who}"))
        else:
            problems.append(("bookings", f"{label}: block {owner_id}"))
    return problems


@dataclass(frozen=True, slots=True)
class BlockRequest:
    room_id: int
    start_date: date
    end_date: date
    period_codes: list[str] | None
    reason: str
    note: str | None = None

    def __post_init__(self) -> None:
        usable_day(self.start_date, "start_date")
        usable_day(self.end_date, "end_date")


async def create_block(
    session: AsyncSession,
    clock: Clock,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: BlockRequest,
) -> Block:
    room = room_of(snapshot, request.room_id)
    require_facility(principal, room.facility_id)
    if request.end_date < request.start_date:
        raise InvalidInput("end_date is before start_date", field="end_date")
    if (request.end_date - request.start_date).days >= MAX_BLOCK_DAYS:
        raise InvalidInput(f"at most {MAX_BLOCK_DAYS} days", field="end_date")
    if request.reason not in REASONS:
        raise InvalidInput(f"reason is one of {', '.join(REASONS)}", field="reason")
    slots = block_slots(snapshot, room, request.start_date, request.end_date, request.period_codes)
    if not slots:
        raise InvalidInput("no open period of the room in this range", field="period_codes")

    async def in_the_way() -> Conflict | None:
        if problems := await _in_the_way(session, room, slots):
            return Conflict(
                f"{len(problems)} slot(s) in the range are taken; nothing was blocked",
                code="slots_taken",
                problems=problems,
            )
        return None

    if (conflict := await in_the_way()) is not None:
        raise conflict
    block = Block(
        facility_id=room.facility_id,
        room_id=room.id,
        start_date=request.start_date,
        end_date=request.end_date,
        period_codes=request.period_codes or [],
        reason=request.reason,
        note=request.note,
        created_at=clock.now(),
        created_by_user_id=principal.user_id,
    )
    session.add(block)
    await session.flush()
    now = clock.now()
    await insert_claims(
        session,
        (
            Claim(
                unit_id=unit_id,
                use_date=day,
                period_code=code,
                kind=ClaimKind.BLOCK,
                owner_id=block.id,
                created_at=now,
            )
            for unit_id in room.unit_ids
            for day, code in slots
        ),
        in_the_way,
    )
    await record(
        session,
        clock,
        principal.actor,
        "block.created",
        ("block", block.id),
        after={
            "room_id": room.id,
            "from": request.start_date.isoformat(),
            "to": request.end_date.isoformat(),
            "slots": len(slots),
            "reason": request.reason,
        },
    )
    return block


async def release_block(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    block_id: int,
    settings: Settings | None = None,
    snapshot: NetworkSnapshot | None = None,
) -> Block:
    """Release a block; its slots go to their wait lists first (waitlist/offers.py)."""
    block = await session.get(Block, block_id, with_for_update=True)
    if block is None or not principal.manages(block.facility_id):
        raise NotFound(f"no block {block_id}", code="block_not_found")
    if block.released_at is None:
        released = await release_claims(session, [ClaimKind.BLOCK], block.id)
        block.released_at = clock.now()
        await record(
            session,
            clock,
            principal.actor,
            "block.released",
            ("block", block.id),
            after={"claims_released": len(released)},
        )
        if released:
            snapshot = snapshot or await SnapshotCache().get(session)
            await hand_on(session, clock, settings or Settings(), snapshot, released)
    return block


async def live_blocks(
    session: AsyncSession, principal: Principal, facility_id: int, today: date
) -> Sequence[Block]:
    """The facility's blocks in place that have not ended, first first."""
    require_facility(principal, facility_id)
    stmt = (
        select(Block)
        .where(
            Block.facility_id == facility_id,
            Block.released_at.is_(None),
            Block.end_date >= today,
        )
        .order_by(Block.start_date, Block.id)
    )
    return (await session.scalars(stmt)).all()


async def live_bookings_on(
    session: AsyncSession, principal: Principal, facility_id: int, start: date, end: date
) -> list[Booking]:
    """The facility's live bookings (confirmed, waiting for approval, held) on those dates:
    the ones a closure affects."""
    require_facility(principal, facility_id)
    live = [BookingStatus.CONFIRMED, BookingStatus.PENDING_APPROVAL, BookingStatus.HELD]
    stmt = (
        select(Booking)
        .where(
            Booking.facility_id == facility_id,
            Booking.use_date >= start,
            Booking.use_date <= end,
            Booking.status.in_(live),
        )
        .order_by(Booking.use_date, Booking.id)
    )
    return list((await session.scalars(stmt)).all())


async def close_dates(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    facility_id: int,
    *,
    start: date,
    end: date,
    note: str | None,
) -> list[Booking]:
    """A one-off closure by the facility (臨時休館). Live bookings on those dates stay, and
    their groups are told: staff then move or cancel them, free (facility cause)."""
    require_facility(principal, facility_id)
    usable_day(start, "from")
    usable_day(end, "to")
    if end < start:
        raise InvalidInput("to is before from", field="to")
    if (end - start).days >= MAX_BLOCK_DAYS:
        raise InvalidInput(f"at most {MAX_BLOCK_DAYS} days", field="to")
    rule = ClosureRule(
        facility_id=facility_id,
        spec={"type": "dates", "from": start.isoformat(), "to": end.isoformat()},
        note=note,
        origin="manager",
    )
    session.add(rule)
    await session.flush()
    await bump_revision(session, clock.now())
    affected = await live_bookings_on(session, principal, facility_id, start, end)
    # The names of places and periods for the mails (a closure changes none of them).
    snapshot = await SnapshotCache().get(session) if affected else None
    for booking in affected:
        group = await get_group(session, booking.group_id)
        if snapshot and group.email:
            await enqueue(
                session,
                clock,
                to=group.email,
                template="closure_notice",
                context=booking_context(snapshot, settings, group.name, booking),
            )
    await record(
        session,
        clock,
        principal.actor,
        "closure.created",
        ("facility", facility_id),
        after={**rule.spec, "affected_bookings": [b.id for b in affected]},
    )
    return affected
