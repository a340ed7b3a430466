"""A new booking's INSERT and its audit event (booking/reservations/booking_writes.py) on both
engines: on PostgreSQL one statement writes both, on SQLite two; either way the row holds every
column as given, the event says who did what to which booking, and the booking is in the
session as if loaded, so a later change is an UPDATE of that row."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.audit.service import Actor
from booking.clock import FrozenClock
from booking.reservations.booking_writes import insert_booking
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from tests.people import World
from tests.places import Hall

MADE = datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)


def _row(world: World, hall: Hall, user_id: int) -> Booking:
    return Booking(
        group_id=world.group_a,
        room_id=hall.room_id,
        facility_id=hall.facility_id,
        use_date=hall.day,
        period_codes=["10", "20"],
        status=BookingStatus.CONFIRMED,
        purpose="meeting",
        headcount=12,
        event_name="定例会",
        charges_admission=True,
        fee_total=3400,
        fee_breakdown={"10": 1700, "20": 1700},
        payment_status=PaymentStatus.UNPAID,
        channel="online",
        created_at=MADE,
        updated_at=MADE,
        created_by_user_id=user_id,
    )


async def test_the_row_and_its_event_are_written_and_the_booking_is_in_the_session(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    user_id = world.user_ids["representative"]
    actor = Actor(user_id, "203.0.113.9")
    row = _row(world, hall, user_id)
    booking = await insert_booking(
        session, clock, row, actor, "booking.created", {"fee_total": 3400}
    )
    assert booking is row
    assert booking.id > 0
    assert booking in session
    assert booking.sequence == 1
    stored = (
        await session.execute(
            select(Booking.__table__).where(Booking.__table__.c.id == booking.id)  # type: ignore[arg-type]
        )
    ).one()
    assert stored._mapping["period_codes"] == ["10", "20"]
    assert stored._mapping["fee_breakdown"] == {"10": 1700, "20": 1700}
    assert (
        stored._mapping["group_id"],
        stored._mapping["room_id"],
        stored._mapping["facility_id"],
        stored._mapping["use_date"],
        stored._mapping["status"],
        stored._mapping["purpose"],
        stored._mapping["headcount"],
        stored._mapping["event_name"],
        stored._mapping["charges_admission"],
        stored._mapping["fee_total"],
        stored._mapping["payment_status"],
        stored._mapping["channel"],
        stored._mapping["created_at"],
        stored._mapping["updated_at"],
        stored._mapping["created_by_user_id"],
        stored._mapping["sequence"],
    ) == (
        world.group_a,
        hall.room_id,
        hall.facility_id,
        hall.day,
        BookingStatus.CONFIRMED,
        "meeting",
        12,
        "定例会",
        True,
        3400,
        PaymentStatus.UNPAID,
        "online",
        MADE,
        MADE,
        user_id,
        1,
    )
    (event,) = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "booking", AuditEvent.target_id == str(booking.id)
            )
        )
    ).all()
    assert (event.at, event.actor_user_id, event.action, event.address) == (
        clock.now(),
        user_id,
        "booking.created",
        "203.0.113.9",
    )
    assert event.after == {"fee_total": 3400}
    assert event.before is None


async def test_a_later_change_is_an_update_of_the_same_row(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """Every column is loaded (none read lazily later) and the version counter is 1, so the
    first change writes sequence 2 (a calendar's SEQUENCE) to this row and no other."""
    user_id = world.user_ids["representative"]
    booking = await insert_booking(
        session, clock, _row(world, hall, user_id), Actor(user_id), "booking.held", {}
    )
    assert booking.hold_expires_at is None  # loaded: no lazy load (which would fail here)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = MADE
    await session.flush()
    assert booking.sequence == 2
    found = (
        await session.execute(
            select(Booking.id, Booking.status, Booking.sequence, Booking.cancelled_at).where(
                Booking.group_id == world.group_a, Booking.use_date == hall.day
            )
        )
    ).all()
    assert [tuple(r) for r in found] == [(booking.id, BookingStatus.CANCELLED, 2, MADE)]
    (event,) = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "booking.held"))
    ).all()
    assert (event.target_id, event.actor_user_id, event.address, event.after) == (
        str(booking.id),
        user_id,
        None,
        {},
    )


async def test_a_system_booking_has_no_actor(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    row = _row(world, hall, world.user_ids["representative"])
    booking = await insert_booking(session, clock, row, Actor(None), "booking.created", {"a": 1})
    (event,) = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "booking", AuditEvent.target_id == str(booking.id)
            )
        )
    ).all()
    assert (event.actor_user_id, event.after) == (None, {"a": 1})
