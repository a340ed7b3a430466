"""Holds through the services (issue 15): the reminder's window on both edges, what completion
and expiry record, and what a lapsed hold owes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import Conflict
from booking.inventory.network import NetworkSnapshot
from booking.notifications.models import OutboxMessage
from booking.reservations.bookings import book
from booking.reservations.changes import set_payment
from booking.reservations.holds import complete_hold, expire_holds, remind_holds
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from tests.people import World
from tests.places import Hall
from tests.reservations.test_service_boundaries import principal, refused, request, with_policy

TAKEN = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 10:00 JST on the 25th
LAPSES = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # 17:00 JST on the 28th


async def holds(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, codes: list[str]
) -> list[Booking]:
    """Holds taken by the hall's staff now, the room's policy allowing them."""
    snapshot = hall.snapshot.derived.get("holds allowed")
    if not isinstance(snapshot, NetworkSnapshot):
        snapshot = await with_policy(session, clock, [hall.room_id], {"holds": {"allowed": True}})
        hall.snapshot.derived["holds allowed"] = snapshot
    staff = await principal(session, hall.manager_id)
    return [
        await book(
            session,
            clock,
            world.settings,
            snapshot,
            staff,
            request(world, hall.room_id, hall.day, [code]),
            hold=True,
        )
        for code in codes
    ]


async def reminders(session: AsyncSession) -> list[OutboxMessage]:
    found = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "hold_expiring")
    )
    return list(found.all())


async def test_a_hold_is_reminded_from_a_day_before_it_lapses_until_it_lapses(
    world: World,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    early, completed = await holds(world, hall, session, clock, ["10", "30"])
    # A completed hold keeps its deadline but is no longer a hold: never reminded.
    staff = await principal(session, hall.manager_id)
    await complete_hold(session, clock, world.settings, hall.snapshot, staff, completed.id)
    clock.set(TAKEN + timedelta(days=1))  # a second hold taken a day later lapses a day later
    late = (await holds(world, hall, session, clock, ["20"]))[0]
    assert (early.hold_expires_at, late.hold_expires_at) == (LAPSES, LAPSES + timedelta(days=1))

    clock.set(LAPSES - timedelta(hours=24, minutes=1))
    assert await remind_holds(sessionmaker, clock, world.settings) == 0
    clock.set(LAPSES - timedelta(hours=24))
    assert await remind_holds(sessionmaker, clock, world.settings) == 1
    assert await remind_holds(sessionmaker, clock, world.settings) == 0  # once
    [mail] = await reminders(session)
    assert mail.to_address == "rep-a@example.jp"
    # The local deadline, in both languages.
    assert "2026年11月28日（土） 17:00 までに" in mail.body_text
    assert "unless completed by Sat 28 Nov 2026, 17:00 (Japan time)." in mail.body_text
    await session.refresh(early)
    assert early.hold_reminded_at == LAPSES - timedelta(hours=24)

    # The later hold: at its lapsing instant it is too late to remind, a minute before it is not.
    clock.set(LAPSES + timedelta(days=1))
    assert await remind_holds(sessionmaker, clock, world.settings) == 0
    clock.set(LAPSES + timedelta(days=1) - timedelta(minutes=1))
    assert await remind_holds(sessionmaker, clock, world.settings) == 1
    assert len(await reminders(session)) == 2
    await session.refresh(late)
    assert late.hold_reminded_at == clock.now()


async def test_completion_and_expiry_are_recorded_and_a_paid_lapsed_hold_stays_paid(
    world: World,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    completed, unpaid, paid = await holds(world, hall, session, clock, ["10", "20", "30"])
    staff = await principal(session, hall.manager_id)
    await set_payment(session, clock, world.settings, staff, paid.id, PaymentStatus.PAID, "counter")
    # Owners are numbered per kind: a block with the hold's number keeps its claims as they are.
    [unit] = next(r for r in hall.snapshot.rooms if r.id == hall.room_id).unit_ids
    session.add(
        Claim(
            unit_id=unit,
            use_date=hall.day + timedelta(days=7),
            period_code="10",
            kind=ClaimKind.BLOCK,
            owner_id=completed.id,
            created_at=clock.now(),
        )
    )
    await session.flush()
    clock.set(TAKEN + timedelta(hours=2))
    done = await complete_hold(session, clock, world.settings, hall.snapshot, staff, completed.id)
    kinds = await session.execute(
        select(Claim.use_date, Claim.kind).where(Claim.owner_id == completed.id)
    )
    assert sorted(kinds.all()) == [
        (hall.day, ClaimKind.BOOKING),
        (hall.day + timedelta(days=7), ClaimKind.BLOCK),
    ]
    assert (done.status, done.decided_at, done.updated_at) == (
        BookingStatus.CONFIRMED,
        clock.now(),
        clock.now(),
    )
    again = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "booking.hold_completed")
    )
    [event] = again.all()
    assert (event.target_type, event.target_id) == ("booking", str(completed.id))
    assert event.actor_user_id == hall.manager_id
    assert (event.before or {})["status"] == "held"
    assert (event.after or {})["status"] == "confirmed"
    twice = complete_hold(session, clock, world.settings, hall.snapshot, staff, completed.id)
    await refused(twice, Conflict, "not_held")

    clock.set(LAPSES)
    assert await expire_holds(sessionmaker, clock) == 2
    for booking in (unpaid, paid):
        await session.refresh(booking)
        assert (booking.status, booking.cancel_cause) == (BookingStatus.CANCELLED, "expired")
        assert (booking.cancelled_at, booking.updated_at) == (LAPSES, LAPSES)
        assert booking.cancellation_charge == 0
    # Nothing is owed for a hold never completed; what was paid stays paid (a refund is the
    # counter's business).
    assert unpaid.payment_status is PaymentStatus.WAIVED
    assert paid.payment_status is PaymentStatus.PAID
    expired = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "booking.hold_expired")
        .order_by(AuditEvent.id)
    )
    events = expired.all()
    assert [e.target_id for e in events] == [str(unpaid.id), str(paid.id)]
    assert all(e.actor_user_id is None for e in events)  # the system
    assert [e.target_type for e in events] == ["booking", "booking"]
    assert [(e.before or {})["status"] for e in events] == ["held", "held"]
    assert [(e.after or {})["status"] for e in events] == ["cancelled", "cancelled"]
