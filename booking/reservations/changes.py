"""What happens to a booking after it is made: cancellation (with its charge, or a move),
approval, payment, no-shows. Every change releases or keeps claims in its own transaction and
leaves an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.groups import get_group
from booking.accounts.models import Group
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.documents.receipts import payment_document
from booking.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.inventory.network import NetworkSnapshot
from booking.reservations.bookings import (
    BookingRequest,
    audited,
    book,
    notify,
    room_of,
)
from booking.reservations.claims import release_claims
from booking.reservations.models import Booking, BookingStatus, ClaimKind, PaymentStatus
from booking.reservations.rules import cancellation_charge, may_cancel_online
from booking.settings import Settings
from booking.waitlist.offers import hand_on

LIVE = (BookingStatus.CONFIRMED, BookingStatus.PENDING_APPROVAL, BookingStatus.HELD)
LIVE_CLAIMS = (ClaimKind.BOOKING, ClaimKind.HOLD)


async def get_booking(
    session: AsyncSession, principal: Principal, booking_id: int, *, for_update: bool = False
) -> tuple[Booking, Group]:
    """A booking its group's members and the facility's staff may see; others get 404."""
    booking = await session.get(Booking, booking_id, with_for_update=for_update)
    if booking is not None:
        group = await get_group(session, booking.group_id)
        if principal.role_in(group.id) is not None or principal.manages(booking.facility_id):
            return booking, group
    raise NotFound(f"no booking {booking_id}", code="booking_not_found")


def require_facility_staff(principal: Principal, booking: Booking) -> None:
    if not principal.manages(booking.facility_id):
        raise PermissionDenied("only the facility's staff may do this", code="facility_staff_only")


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    booking: Booking
    charge: int
    cause: str
    applied: bool
    moved_to: Booking | None = None


async def cancel(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
    *,
    facility_cause: bool = False,
    move_to: BookingRequest | None = None,
    dry_run: bool = False,
    mail: bool = True,
) -> CancelOutcome:
    """Cancel a live booking, or say what it would cost (`dry_run`).

    A group cancels online, free, until the policy's deadline (default 3 days before); later
    only the facility's staff can, and the schedule's charge applies (default the full fee).
    A facility-caused cancellation is free and may move the booking to another free slot in
    the same transaction. Without `mail` the caller tells the group (a series: one mail).
    """
    booking, group = await get_booking(session, principal, booking_id, for_update=not dry_run)
    if booking.status not in LIVE:
        raise Conflict(f"the booking is already {booking.status.value}", code="not_live")
    staff = principal.manages(booking.facility_id)
    room = room_of(snapshot, booking.room_id)
    today = local_today(clock, settings.tz)
    # The cancellation schedule the booking was made under: a revision entered later, or
    # from a later use date, does not reach it (inventory/schedules.py).
    rules = room.policy_on(booking.use_date, booking.created_at).cancellation
    if (facility_cause or move_to) and not staff:
        raise PermissionDenied(
            "only the facility's staff cancel for the facility's reasons",
            code="facility_staff_only",
        )
    if move_to is not None and move_to.group_id != booking.group_id:
        raise InvalidInput("a move keeps the booking's group", field="move_to.group_id")
    if not staff and not may_cancel_online(rules, booking.use_date, today):
        raise RuleViolation(
            f"online cancellation closed {rules.online_until_days_before} days before the use "
            "date; please file a cancellation notice at the facility (the fee is due)",
            code="cancellation_closed",
        )
    if booking.use_date < today:
        raise RuleViolation("the date has passed; record a no-show instead", code="past_date")
    charge = cancellation_charge(
        rules, booking.fee_total, booking.use_date, today, facility_cause=facility_cause
    )
    cause = "facility" if facility_cause else ("late" if charge else "group")
    if dry_run:
        return CancelOutcome(booking, charge, cause, applied=False)
    before = audited(booking)
    freed = await release_claims(session, LIVE_CLAIMS, booking.id)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = booking.updated_at = clock.now()
    booking.cancelled_by_user_id = principal.user_id
    booking.cancel_cause = cause
    booking.cancellation_charge = charge
    if charge == 0 and booking.payment_status is PaymentStatus.UNPAID:
        booking.payment_status = PaymentStatus.WAIVED
    moved = None
    if move_to is not None:
        moved = await book(session, clock, settings, snapshot, principal, move_to)
        booking.moved_to_booking_id = moved.id
    await record(
        session,
        clock,
        principal.actor,
        "booking.cancelled",
        ("booking", booking.id),
        before=before,
        after={**audited(booking), "cause": cause, "moved_to": moved.id if moved else None},
    )
    if mail:
        await notify(session, clock, settings, snapshot, group, booking, "booking_cancelled")
    # The freed slots go to their wait lists before anyone else (after a move took its own).
    await hand_on(session, clock, settings, snapshot, freed)
    return CancelOutcome(booking, charge, cause, applied=True, moved_to=moved)


async def decide(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
    *,
    approve: bool,
) -> Booking:
    """A manager approves a pending booking (it stays on its claims) or rejects it (released)."""
    booking, group = await get_booking(session, principal, booking_id, for_update=True)
    require_facility_staff(principal, booking)
    if booking.status is not BookingStatus.PENDING_APPROVAL:
        raise Conflict(f"the booking is {booking.status.value}, not pending", code="not_pending")
    before = audited(booking)
    booking.decided_at = booking.updated_at = clock.now()
    freed = []
    if approve:
        booking.status = BookingStatus.CONFIRMED
    else:
        freed = await release_claims(session, LIVE_CLAIMS, booking.id)
        booking.status = BookingStatus.CANCELLED
        booking.cancel_cause = "rejected"
        booking.cancelled_at = clock.now()
        booking.cancelled_by_user_id = principal.user_id
        booking.cancellation_charge = 0
        booking.payment_status = PaymentStatus.WAIVED
    action = "booking.approved" if approve else "booking.rejected"
    await record(
        session,
        clock,
        principal.actor,
        action,
        ("booking", booking.id),
        before=before,
        after=audited(booking),
    )
    template = "booking_confirmed" if approve else "booking_cancelled"
    await notify(session, clock, settings, snapshot, group, booking, template)
    await hand_on(session, clock, settings, snapshot, freed)  # a rejection frees its slots
    return booking


async def set_payment(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    booking_id: int,
    status: PaymentStatus,
    method: str | None,
) -> Booking:
    """Record the payment status; a receipt, refund or waiver is issued with it in this
    transaction (booking/documents/receipts.py says which, and which changes are refused)."""
    booking, _ = await get_booking(session, principal, booking_id, for_update=True)
    require_facility_staff(principal, booking)
    before = audited(booking)
    await payment_document(session, clock, settings, principal, booking, status, method)
    booking.payment_status = status
    booking.payment_method = method
    booking.updated_at = clock.now()
    await record(
        session,
        clock,
        principal.actor,
        "booking.payment",
        ("booking", booking.id),
        before=before,
        after={**audited(booking), "method": method},
    )
    return booking


async def record_no_show(
    session: AsyncSession, clock: Clock, settings: Settings, principal: Principal, booking_id: int
) -> Booking:
    """A no-show without notice owes the full fee; recorded on or after the use date.

    The booking keeps its claims: the slot was the group's and is paid for, like a booking
    that was used (`consistency.HOLDING`); only cancellation releases a slot."""
    booking, _ = await get_booking(session, principal, booking_id, for_update=True)
    require_facility_staff(principal, booking)
    if booking.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"the booking is {booking.status.value}", code="not_confirmed")
    if booking.use_date > local_today(clock, settings.tz):
        raise RuleViolation("a no-show is recorded on or after the use date", code="not_yet")
    before = audited(booking)
    booking.status = BookingStatus.NO_SHOW
    booking.cancellation_charge = booking.fee_total
    booking.updated_at = clock.now()
    await record(
        session,
        clock,
        principal.actor,
        "booking.no_show",
        ("booking", booking.id),
        before=before,
        after=audited(booking),
    )
    return booking
