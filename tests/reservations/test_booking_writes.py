"""A new booking's INSERT, its audit event, claims and mail (booking/reservations/booking_writes.py)
on both engines: on PostgreSQL one statement writes them all, on SQLite one each; either way the
row holds every column as given, the event says who did what to which booking, the booking is
in the session as if loaded, so a later change is an UPDATE of that row, and a slot claimed
first by another writer is a 409 naming it with nothing of the booking written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.audit.service import Actor
from booking.clock import FrozenClock
from booking.errors import Conflict
from booking.notifications.models import OutboxMessage
from booking.reservations.booking_writes import Mail, Wanted, insert_booking
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
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


def _wanted(hall: Hall) -> Wanted:
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    return Wanted(room, hall.day, ["10", "20"], ClaimKind.BOOKING)


def _no_mail(_: Booking) -> None:
    return None


async def _insert(  # noqa: PLR0917 - insert_booking's, with the hall's slots
    session: AsyncSession,
    clock: FrozenClock,
    row: Booking,
    actor: Actor,
    action: str,
    after: dict[str, object],
    hall: Hall,
    mail: Mail = _no_mail,
) -> Booking:
    return await insert_booking(
        session, clock, row, actor, action, after, wanted=_wanted(hall), mail=mail
    )


async def test_the_row_and_its_event_are_written_and_the_booking_is_in_the_session(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    user_id = world.user_ids["representative"]
    actor = Actor(user_id, "203.0.113.9")
    row = _row(world, hall, user_id)
    booking = await _insert(
        session, clock, row, actor, "booking.created", {"fee_total": 3400}, hall
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
    booking = await _insert(
        session, clock, _row(world, hall, user_id), Actor(user_id), "booking.held", {}, hall
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
    booking = await _insert(session, clock, row, Actor(None), "booking.created", {"a": 1}, hall)
    (event,) = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "booking", AuditEvent.target_id == str(booking.id)
            )
        )
    ).all()
    assert (event.actor_user_id, event.after) == (None, {"a": 1})


async def test_its_claims_and_its_mail_are_written_with_it(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """The mail is rendered once the booking has its id (reserved before the write on
    PostgreSQL), and names it."""
    row = _row(world, hall, world.user_ids["representative"])

    def mail(booking: Booking) -> tuple[str, str, dict[str, object]]:
        context = {"url": f"https://example.jp/bookings/{booking.id}", "expires_days": 3}
        return "group@example.jp", "invitation", context

    booking = await _insert(session, clock, row, Actor(None), "booking.created", {}, hall, mail)
    claims = (
        await session.execute(
            select(Claim.period_code, Claim.kind, Claim.owner_id, Claim.use_date).order_by(
                Claim.period_code
            )
        )
    ).all()
    unit_count = len(_wanted(hall).room.unit_ids)
    assert [tuple(c) for c in claims] == [
        (code, ClaimKind.BOOKING, booking.id, hall.day)
        for code in ("10", "20")
        for _ in range(unit_count)
    ]
    (sent,) = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "group@example.jp")
        )
    ).all()
    assert (sent.to_address, sent.template) == ("group@example.jp", "invitation")
    assert f"/bookings/{booking.id}" in sent.body_text


async def test_a_slot_claimed_first_is_a_409_naming_it_and_nothing_is_written(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """A writer that claimed "20" after this booking's read (its check saw the slot free):
    the claims' unique constraint refuses the booking whole; no row, event, claim or mail
    of it stays, and the request's transaction goes on (a page shows the error)."""
    room = _wanted(hall).room
    session.add_all(
        Claim(
            unit_id=unit_id,
            use_date=hall.day,
            period_code="20",
            kind=ClaimKind.BLOCK,
            owner_id=None,
            created_at=clock.now(),
        )
        for unit_id in room.unit_ids
    )
    await session.commit()
    tables = (Booking, AuditEvent, OutboxMessage)
    before = [await session.scalar(select(func.count()).select_from(t)) for t in tables]

    def mail(_: Booking) -> tuple[str, str, dict[str, object]]:
        return "group@example.jp", "invitation", {"url": "https://example.jp/x", "expires_days": 3}

    row = _row(world, hall, world.user_ids["representative"])
    with pytest.raises(Conflict) as refused:
        await _insert(session, clock, row, Actor(None), "booking.created", {}, hall, mail)
    assert refused.value.code == "slot_taken"
    assert "blocked by the facility" in str(refused.value)
    after = [await session.scalar(select(func.count()).select_from(t)) for t in tables]
    assert after == before
    kept = (await session.execute(select(Claim.period_code, Claim.kind))).all()
    assert {tuple(c) for c in kept} == {("20", ClaimKind.BLOCK)}
