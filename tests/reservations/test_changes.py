"""A booking's changes through the services (issue 15): who may make each, the refusal each
status gets and what it says, and what every change leaves behind (the booking's fields, the
audit event with its before and after, the group's mail)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.notifications.models import OutboxMessage
from booking.reservations.bookings import book
from booking.reservations.changes import (
    cancel,
    decide,
    get_booking,
    record_no_show,
    set_payment,
)
from booking.reservations.holds import complete_hold
from booking.reservations.listing import group_bookings
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from tests.conftest import DEFAULT_NOW
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_service_boundaries import (
    first_minute_of,
    principal,
    refused,
    request,
    with_policy,
)

LATER = DEFAULT_NOW + timedelta(hours=3)  # each change happens after the booking was made


async def events(session: AsyncSession, booking: Booking) -> dict[str, AuditEvent]:
    found = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "booking", AuditEvent.target_id == str(booking.id))
        .order_by(AuditEvent.id)
    )
    return {event.action: event for event in found}


async def mails(session: AsyncSession, booking: Booking) -> list[OutboxMessage]:
    """The group's mails about this booking, oldest first (each names the booking's number)."""
    found = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [mail for mail in found if f"(No. {booking.id})" in mail.subject]


async def claim_kinds(session: AsyncSession, booking: Booking) -> list[ClaimKind]:
    return list(await session.scalars(select(Claim.kind).where(Claim.owner_id == booking.id)))


# --- who may see and change a booking ---------------------------------------------------------


async def booked(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> tuple[Principal, Principal, Booking]:
    """The group's member, the hall's manager, and the member's confirmed booking of the
    morning period on the hall's day."""
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    slot = request(world, hall.room_id, hall.day, ["10"])
    return member, staff, await book(session, clock, world.settings, hall.snapshot, member, slot)


async def test_a_booking_is_seen_by_its_group_and_the_facility_staff_and_is_missing_to_others(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    booking = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        member,
        request(world, hall.room_id, hall.day, ["10"]),
    )
    for user_id in (
        world.user_ids["member"],
        world.user_ids["representative"],
        hall.manager_id,
        world.user_ids["admin"],
    ):
        seen, group = await get_booking(session, await principal(session, user_id), booking.id)
        assert (seen.id, group.id) == (booking.id, world.group_a)
    # Another group, another facility's manager: the same answer as for no booking at all.
    for role in ("other_representative", "manager_here"):
        stranger = await principal(session, world.user_ids[role])
        error = await refused(
            get_booking(session, stranger, booking.id), NotFound, "booking_not_found"
        )
        assert str(error) == f"no booking {booking.id}"
    error = await refused(
        get_booking(session, member, booking.id + 1), NotFound, "booking_not_found"
    )
    assert str(error) == f"no booking {booking.id + 1}"


async def test_a_member_who_sees_a_booking_may_not_do_the_facility_staff_s_part(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member = await principal(session, world.user_ids["member"])
    booking = await book(
        session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, ["10"])
    )
    staff_only: dict[str, Callable[[], Awaitable[object]]] = {
        "approve": lambda: decide(
            session, clock, settings, snapshot, member, booking.id, approve=True
        ),
        "reject": lambda: decide(
            session, clock, settings, snapshot, member, booking.id, approve=False
        ),
        "payment": lambda: set_payment(
            session, clock, settings, member, booking.id, PaymentStatus.PAID, "cash"
        ),
        "no-show": lambda: record_no_show(session, clock, settings, member, booking.id),
        "complete a hold": lambda: complete_hold(
            session, clock, settings, snapshot, member, booking.id
        ),
    }
    for action, attempt in staff_only.items():
        error = await refused(attempt(), PermissionDenied, "facility_staff_only")
        assert str(error) == "only the facility's staff may do this", action
    # The group cancels its own booking, but not as the facility: neither free of a late
    # charge "for the facility's reasons" nor moved to another slot.
    move = request(world, hall.room_id, hall.day, ["20"])
    for kwargs in ({"facility_cause": True}, {"move_to": move}):
        error = await refused(
            cancel(session, clock, settings, snapshot, member, booking.id, **kwargs),
            PermissionDenied,
            "facility_staff_only",
        )
        assert str(error) == "only the facility's staff cancel for the facility's reasons"
    assert (booking.status, booking.payment_status) == (
        BookingStatus.CONFIRMED,
        PaymentStatus.UNPAID,
    )
    assert list(await events(session, booking)) == ["booking.created"]


# --- a change a status does not allow ----------------------------------------------------------


async def test_each_change_refuses_a_booking_in_the_wrong_status_and_names_the_status(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member, staff, booking = await booked(world, hall, session, clock)
    error = await refused(
        decide(session, clock, settings, snapshot, staff, booking.id, approve=True),
        Conflict,
        "not_pending",
    )
    assert str(error) == "the booking is confirmed, not pending"

    await cancel(session, clock, settings, snapshot, member, booking.id)
    for who in (member, staff):
        error = await refused(
            cancel(session, clock, settings, snapshot, who, booking.id), Conflict, "not_live"
        )
        assert str(error) == "the booking is already cancelled"
    error = await refused(
        decide(session, clock, settings, snapshot, staff, booking.id, approve=False),
        Conflict,
        "not_pending",
    )
    assert str(error) == "the booking is cancelled, not pending"
    clock.set(first_minute_of(hall.day))  # the day has come: a no-show would be in time
    error = await refused(
        record_no_show(session, clock, settings, staff, booking.id), Conflict, "not_confirmed"
    )
    assert str(error) == "the booking is cancelled"
    assert list(await events(session, booking)) == ["booking.created", "booking.cancelled"]


async def test_a_refused_cancellation_or_no_show_says_what_to_do_instead(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member, staff, booking = await booked(world, hall, session, clock)
    error = await refused(
        record_no_show(session, clock, settings, staff, booking.id), RuleViolation, "not_yet"
    )
    assert str(error) == "a no-show is recorded on or after the use date"
    clock.set(first_minute_of(hall.day - timedelta(days=2)))
    error = await refused(
        cancel(session, clock, settings, snapshot, member, booking.id),
        RuleViolation,
        "cancellation_closed",
    )
    assert str(error) == (
        "online cancellation closed 3 days before the use date; please file a cancellation "
        "notice at the facility (the fee is due)"
    )
    clock.set(first_minute_of(hall.day + timedelta(days=1)))
    error = await refused(
        cancel(session, clock, settings, snapshot, staff, booking.id), RuleViolation, "past_date"
    )
    assert str(error) == "the date has passed; record a no-show instead"
    assert booking.status is BookingStatus.CONFIRMED


# --- what each change leaves behind ------------------------------------------------------------


async def test_an_approval_confirms_and_a_rejection_frees_the_slot_each_audited_and_mailed(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings = world.settings
    snapshot = await with_policy(session, clock, [hall.room_id], {"requires_approval": True})
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    approved, rejected = [
        await book(
            session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, [c])
        )
        for c in ("10", "20")
    ]
    assert {approved.status, rejected.status} == {BookingStatus.PENDING_APPROVAL}
    clock.set(LATER)
    await decide(session, clock, settings, snapshot, staff, approved.id, approve=True)
    await decide(session, clock, settings, snapshot, staff, rejected.id, approve=False)

    # Approved: confirmed, on its claim, nothing cancelled.
    assert (approved.status, approved.decided_at, approved.updated_at) == (
        BookingStatus.CONFIRMED,
        LATER,
        LATER,
    )
    assert (approved.cancelled_at, approved.cancel_cause, approved.cancellation_charge) == (
        None,
        None,
        None,
    )
    assert approved.payment_status is PaymentStatus.UNPAID  # the fee is due
    assert await claim_kinds(session, approved) == [ClaimKind.BOOKING]
    # Rejected: cancelled by the manager, nothing owed, its slot free.
    assert (rejected.status, rejected.cancel_cause) == (BookingStatus.CANCELLED, "rejected")
    assert (rejected.decided_at, rejected.cancelled_at, rejected.updated_at) == (
        LATER,
        LATER,
        LATER,
    )
    assert rejected.cancelled_by_user_id == hall.manager_id
    assert (rejected.cancellation_charge, rejected.payment_status) == (0, PaymentStatus.WAIVED)
    assert await claim_kinds(session, rejected) == []

    for booking, action, after in (
        (approved, "booking.approved", ("confirmed", "unpaid", None)),
        (rejected, "booking.rejected", ("cancelled", "waived", 0)),
    ):
        event = (await events(session, booking))[action]
        assert (event.actor_user_id, event.at) == (hall.manager_id, LATER)
        before, after_ = event.before or {}, event.after or {}
        assert (before["status"], before["payment_status"]) == ("pending_approval", "unpaid")
        assert (
            after_["status"],
            after_["payment_status"],
            after_["cancellation_charge"],
        ) == after
        assert list(await events(session, booking)) == ["booking.created", action]

    # The group hears of each: a confirmation, and a cancellation that says why.
    [_, confirmed] = await mails(session, approved)
    assert confirmed.template == "booking_confirmed"
    assert "Status: confirmed" in confirmed.body_text
    [_, cancelled] = await mails(session, rejected)
    assert cancelled.template == "booking_cancelled"
    assert "The facility did not approve the booking; nothing is charged." in cancelled.body_text


async def test_a_payment_is_recorded_with_its_method_and_audited(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    _, staff, booking = await booked(world, hall, session, clock)
    clock.set(LATER)
    paid = await set_payment(
        session, clock, world.settings, staff, booking.id, PaymentStatus.PAID, "counter"
    )
    assert (paid.payment_status, paid.payment_method, paid.updated_at) == (
        PaymentStatus.PAID,
        "counter",
        LATER,
    )
    event = (await events(session, booking))["booking.payment"]
    assert (event.actor_user_id, event.at) == (hall.manager_id, LATER)
    assert (event.before or {})["payment_status"] == "unpaid"
    after = event.after or {}
    assert (after["payment_status"], after["method"]) == ("paid", "counter")


async def test_a_no_show_keeps_the_slot_owes_the_fee_and_is_audited(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    _, staff, booking = await booked(world, hall, session, clock)
    clock.set(first_minute_of(hall.day) + timedelta(hours=20))  # the evening of the day
    await record_no_show(session, clock, settings, staff, booking.id)
    assert (booking.status, booking.cancellation_charge, booking.updated_at) == (
        BookingStatus.NO_SHOW,
        booking.fee_total,
        clock.now(),
    )
    assert booking.payment_status is PaymentStatus.UNPAID  # the fee is still due
    assert await claim_kinds(session, booking) == [ClaimKind.BOOKING]  # the slot stays taken
    event = (await events(session, booking))["booking.no_show"]
    assert (event.actor_user_id, event.at) == (hall.manager_id, clock.now())
    before, after = event.before or {}, event.after or {}
    assert (before["status"], before["cancellation_charge"]) == ("confirmed", None)
    assert (after["status"], after["cancellation_charge"]) == ("no_show", booking.fee_total)
    # A no-show is no longer live: it cannot be cancelled afterwards.
    await refused(
        cancel(session, clock, settings, snapshot, staff, booking.id), Conflict, "not_live"
    )


async def test_a_cancellation_records_who_when_why_and_what_is_still_owed(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    in_time, paid, late = [
        await book(
            session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, [c])
        )
        for c in ("10", "20", "30")
    ]
    await set_payment(session, clock, settings, staff, paid.id, PaymentStatus.PAID, "counter")
    clock.set(LATER)
    for booking in (in_time, paid):
        outcome = await cancel(session, clock, settings, snapshot, member, booking.id)
        assert (outcome.applied, outcome.charge, outcome.cause) == (True, 0, "group")
    # Two days before, the staff take the group's late notice: the fee is charged and due.
    notice = first_minute_of(hall.day - timedelta(days=2))
    clock.set(notice)
    outcome = await cancel(session, clock, settings, snapshot, staff, late.id)
    assert (outcome.charge, outcome.cause) == (late.fee_total, "late")
    assert late.fee_total > 0

    for booking, when, by, cause, charge, payment in (
        (in_time, LATER, world.user_ids["member"], "group", 0, PaymentStatus.WAIVED),
        # What was paid stays paid (a refund is the counter's business).
        (paid, LATER, world.user_ids["member"], "group", 0, PaymentStatus.PAID),
        (late, notice, hall.manager_id, "late", late.fee_total, PaymentStatus.UNPAID),
    ):
        assert booking.status is BookingStatus.CANCELLED
        assert (booking.cancelled_at, booking.updated_at) == (when, when)
        assert (booking.cancelled_by_user_id, booking.cancel_cause) == (by, cause)
        assert (booking.cancellation_charge, booking.payment_status) == (charge, payment)
        assert await claim_kinds(session, booking) == []
        event = (await events(session, booking))["booking.cancelled"]
        assert (event.actor_user_id, event.at) == (by, when)
        before = event.before or {}
        assert (before["status"], before["cancellation_charge"]) == ("confirmed", None)
        assert event.after == {
            **(event.after or {}),
            "status": "cancelled",
            "cancellation_charge": charge,
            "payment_status": payment.value,
            "cause": cause,
            "moved_to": None,
        }
    [*_, mail] = await mails(session, late)
    assert mail.template == "booking_cancelled"
    assert "Cancelled at your request, after the free cancellation deadline." in mail.body_text
    assert f"Cancellation charge: {late.fee_total:,} yen" in mail.body_text


async def test_a_move_is_audited_with_the_new_booking_and_keeps_the_group(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    _, staff, booking = await booked(world, hall, session, clock)
    await session.commit()
    # To another group's name: refused, naming the field, and nothing is cancelled.
    elsewhere = {
        "group_id": world.group_b,
        "room_id": hall.room_id,
        "use_date": hall.day.isoformat(),
        "period_codes": ["20"],
        "purpose": "meeting",
        "headcount": 5,
    }
    response = await client.post(
        f"/api/v1/bookings/{booking.id}/cancel",
        json={"facility_cause": True, "move_to": elsewhere},
        headers=hall.manager,
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_input"
    assert response.json()["errors"] == [
        {"field": "move_to.group_id", "reason": "a move keeps the booking's group"}
    ]
    await session.refresh(booking)
    assert booking.status is BookingStatus.CONFIRMED
    assert await claim_kinds(session, booking) == [ClaimKind.BOOKING]
    # The service refuses before it touches the booking, and a preview is refused alike.
    other_group = replace(request(world, hall.room_id, hall.day, ["20"]), group_id=world.group_b)
    for dry_run in (True, False):
        with pytest.raises(InvalidInput) as refused:
            await cancel(
                session,
                clock,
                settings,
                snapshot,
                staff,
                booking.id,
                facility_cause=True,
                move_to=other_group,
                dry_run=dry_run,
            )
        assert (refused.value.field, refused.value.message) == (
            "move_to.group_id",
            "a move keeps the booking's group",
        )
        assert booking.status is BookingStatus.CONFIRMED
        assert booking.cancelled_at is None

    clock.set(LATER)
    outcome = await cancel(
        session,
        clock,
        settings,
        snapshot,
        staff,
        booking.id,
        facility_cause=True,
        move_to=request(world, hall.room_id, hall.day, ["20"]),
    )
    assert outcome.moved_to is not None
    assert booking.moved_to_booking_id == outcome.moved_to.id
    assert outcome.moved_to.group_id == booking.group_id == world.group_a
    assert await claim_kinds(session, booking) == []  # the old slot is free
    assert await claim_kinds(session, outcome.moved_to) == [ClaimKind.BOOKING]
    after = (await events(session, booking))["booking.cancelled"].after or {}
    assert (after["cause"], after["moved_to"]) == ("facility", outcome.moved_to.id)


# --- a group's view of its bookings ------------------------------------------------------------


async def test_a_group_s_bookings_are_upcoming_from_today_past_before_and_cancelled_any_day(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    before = hall.day
    today = open_weekday(snapshot, hall.facility_id, before + timedelta(days=1))
    after = open_weekday(snapshot, hall.facility_id, today + timedelta(days=1))
    made: dict[str, Booking] = {}
    for name, day, code in (
        ("used", before, "10"),
        ("no-show", before, "20"),
        ("cancelled before", before, "30"),
        ("today", today, "10"),
        ("after", after, "10"),
        ("cancelled after", after, "20"),
    ):
        made[name] = await book(
            session, clock, settings, snapshot, member, request(world, hall.room_id, day, [code])
        )
    for name in ("cancelled before", "cancelled after"):
        await cancel(session, clock, settings, snapshot, member, made[name].id)
    clock.set(first_minute_of(today))
    await record_no_show(session, clock, settings, staff, made["no-show"].id)

    buckets = {
        "used": "past",
        "no-show": "past",
        "cancelled before": "cancelled",
        "today": "upcoming",  # the day itself is still to come
        "after": "upcoming",
        "cancelled after": "cancelled",
    }
    # The group's listing puts each booking where the rule says.
    for bucket in ("upcoming", "past", "cancelled"):
        listed = await group_bookings(session, member, world.group_a, bucket, today)
        assert {b.id for b in listed} == {made[n].id for n, b in buckets.items() if b == bucket}
