"""First-come booking: the checks, the claims, the fee, in one transaction.

A group books online in the room's first-come window; staff book for a group at the counter,
outside the window but never over a claim. Every check fails with its own error and field;
the claims' unique constraint is the last word on whether a slot is free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.group_facts import GroupFacts
from booking.accounts.groups import FACILITY_CATEGORIES, may_book
from booking.clock import Clock, local_today
from booking.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.inventory.calendar import day_type, usable_day
from booking.inventory.network import FacilityInfo, NetworkSnapshot, RoomInfo
from booking.inventory.policy import (
    Phase,
    ReservationPolicy,
    booking_phase,
    first_come_opens,
    last_booking_day,
)
from booking.notifications.booking_mail import CANCEL_CAUSE, booking_context
from booking.notifications.outbox import enqueue
from booking.reservations.booking_writes import Wanted, insert_booking, read_group
from booking.reservations.claims import taken_as
from booking.reservations.models import Booking, BookingStatus, ClaimKind, PaymentStatus
from booking.reservations.rules import (
    Fee,
    coefficient_key,
    compute_fee,
    consecutive_problem,
    in_day_order,
    registration_problem,
    residency_problem,
)
from booking.settings import Settings

ONLINE = "online"
COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class BookingRequest:
    group_id: int
    room_id: int
    use_date: date
    period_codes: list[str]
    purpose: str
    headcount: int
    event_name: str | None = None
    charges_admission: bool = False

    def __post_init__(self) -> None:
        usable_day(self.use_date, "use_date")


def room_of(snapshot: NetworkSnapshot, room_id: int, field: str = "room_id") -> RoomInfo:
    room = snapshot.room(room_id)
    if room is None:
        raise InvalidInput(f"no room {room_id}", field=field, code="room_not_found")
    return room


def channel_for(principal: Principal, group: GroupFacts, room: RoomInfo) -> str:
    """Online when a member books for their group; counter when staff of the room's facility
    book for a group. Anyone else is refused."""
    if principal.role_in(group.id) is not None:
        return ONLINE
    if principal.staff_for(group) and principal.manages(room.facility_id):
        return COUNTER
    if principal.is_staff:
        raise PermissionDenied(
            f"facility {room.facility_id} is not assigned to you",
            field="room_id",
            code="facility_not_assigned",
        )
    raise NotFound(f"no group {group.id}", field="group_id", code="group_not_found")


def eligibility_problem(group: GroupFacts, facility: FacilityInfo) -> str | None:
    """Facility-specific registrations book only there; children's culture centres and senior
    centres take only groups registered with them (RULES.md "Who may book")."""
    if group.facility_id is not None and group.facility_id != facility.id:
        return "this registration is for another facility"
    if facility.kind in FACILITY_CATEGORIES.values() and group.facility_id != facility.id:
        return f"{facility.name_ja} takes bookings only from groups registered with it"
    return None


def _window_problem(policy: ReservationPolicy, use_date: date, today: date) -> str | None:
    phase = booking_phase(policy, use_date, today)
    if phase is Phase.OPEN:
        return None
    if phase is Phase.LOTTERY:
        return "this date is in its lottery application window; apply for the lottery instead"
    if phase is Phase.NOT_YET_OPEN:
        return f"first-come booking for this date opens on {first_come_opens(policy, use_date)}"
    return (
        f"online booking for this date closed on {last_booking_day(policy, use_date)}; "
        "please ask the facility"
    )


def is_closed(snapshot: NetworkSnapshot, facility: FacilityInfo, use_date: date) -> bool:
    if facility.opens_on and use_date < facility.opens_on:
        return True
    if facility.closes_on and use_date > facility.closes_on:
        return True
    return use_date in snapshot.closed_dates(facility.id, use_date.year)


def check_purpose(snapshot: NetworkSnapshot, room: RoomInfo, purpose: str) -> None:
    if purpose not in snapshot.purposes:
        raise InvalidInput(f"unknown purpose {purpose!r}", field="purpose", code="unknown_purpose")
    if room.purposes is not None and purpose not in room.purposes:
        allowed = ", ".join(sorted(room.purposes))
        raise RuleViolation(
            f"{room.name_ja} does not allow {purpose!r} (allowed: {allowed})",
            field="purpose",
            code="purpose_not_allowed",
        )


@dataclass(frozen=True, slots=True)
class BookingPlan:
    """What `book` will write once every check has passed: no row exists yet."""

    request: BookingRequest
    room: RoomInfo
    facility: FacilityInfo
    group: GroupFacts
    policy: ReservationPolicy
    channel: str
    periods: list[str]
    fee: Fee
    status: BookingStatus
    hold_expires_at: datetime | None
    booking_id: int | None = None  # reserved by `plan` on PostgreSQL (booking_writes.py)


def check_booker(
    today: date,
    room: RoomInfo,
    facility: FacilityInfo,
    policy: ReservationPolicy,
    group: GroupFacts,
    channel: str,
    use_date: date,
) -> None:
    """May this group book this room on this date by this channel? The checks a booking and a
    wait-list line (booking/waitlist/lines.py) share, in the order their errors are said."""
    if not may_book(group, today):
        raise RuleViolation(
            "this registration cannot book: it is not active (pending, suspended or expired)",
            field="group_id",
            code="registration_inactive",
        )
    if problem := eligibility_problem(group, facility):
        raise RuleViolation(problem, field="group_id", code="not_eligible")
    if problem := residency_problem(policy, in_city=group.in_city, lottery=False):
        raise RuleViolation(problem, field="group_id", code="out_of_city")
    if channel == ONLINE and not room.online_bookable:
        raise RuleViolation(
            "this room is booked at the facility's counter only",
            field="room_id",
            code="counter_only",
        )
    if use_date < today:
        raise InvalidInput("the date is in the past", field="use_date", code="past_date")


def check_day(
    snapshot: NetworkSnapshot, facility: FacilityInfo, group: GroupFacts, use_date: date
) -> None:
    """The date itself: the card covers it (every channel: a counter booking, a hold or a move
    too) and the facility is open."""
    if problem := registration_problem(group.valid_until, use_date):
        raise RuleViolation(problem, field="use_date", code="registration_expires")
    if is_closed(snapshot, facility, use_date):
        raise RuleViolation("the facility is closed on this date", field="use_date", code="closed")


def plan_booking(  # noqa: PLR0913 - one check after another, each with its own error
    snapshot: NetworkSnapshot,
    settings: Settings,
    today: date,
    room: RoomInfo,
    group: GroupFacts,
    channel: str,
    request: BookingRequest,
    *,
    hold: bool = False,
) -> BookingPlan:
    """Every check of a booking and its fee, without the database (the claims decide later).

    `book` runs it for one date; a series (reservations/series.py) for each of its dates
    with the group and channel it loaded once."""
    # What applies to the use date, for a booking made now (a revision from a later date, or
    # one entered after a booking was made, leaves that booking alone: inventory/schedules.py).
    policy = room.policy_on(request.use_date)
    if hold and channel != COUNTER:
        raise PermissionDenied("holds are taken by the facility's staff", code="staff_only")
    if hold and not policy.holds.allowed:
        raise RuleViolation("this room takes no holds", field="room_id", code="holds_not_allowed")
    facility = snapshot.facilities[room.facility_id]
    check_booker(today, room, facility, policy, group, channel, request.use_date)
    day_codes = room.grid.codes_by_day_type.get(day_type(request.use_date), ())
    if problem := consecutive_problem(request.period_codes, day_codes):
        raise InvalidInput(problem, field="period_codes", code="bad_periods")
    periods = in_day_order(request.period_codes, day_codes)
    if channel == ONLINE and (problem := _window_problem(policy, request.use_date, today)):
        raise RuleViolation(problem, field="use_date", code="outside_window")
    check_day(snapshot, facility, group, request.use_date)
    if room.capacity is not None and request.headcount > room.capacity:
        raise RuleViolation(
            f"the room holds at most {room.capacity} people",
            field="headcount",
            code="over_capacity",
        )
    check_purpose(snapshot, room, request.purpose)

    table = room.fees_on(request.use_date)
    fee = compute_fee(
        policy.fees,
        table.fees,
        table.all_day_fee,
        periods,
        day_codes,
        day_type(request.use_date),
        coefficient_key(group.category, charges_admission=request.charges_admission),
        in_city=group.in_city,
    )
    needs_approval = channel == ONLINE and policy.requires_approval
    status = BookingStatus.CONFIRMED
    if hold:
        status = BookingStatus.HELD
    elif needs_approval:
        status = BookingStatus.PENDING_APPROVAL
    return BookingPlan(
        request=request,
        room=room,
        facility=facility,
        group=group,
        policy=policy,
        channel=channel,
        periods=periods,
        fee=fee,
        status=status,
        hold_expires_at=hold_deadline(policy, today, settings) if hold else None,
    )


def booking_row(
    plan: BookingPlan, clock: Clock, principal: Principal, series_id: int | None = None
) -> Booking:
    """The booking a plan makes (not yet added to a session)."""
    request = plan.request
    return Booking(
        group_id=plan.group.id,
        room_id=plan.room.id,
        facility_id=plan.facility.id,
        use_date=request.use_date,
        period_codes=plan.periods,
        status=plan.status,
        hold_expires_at=plan.hold_expires_at,
        purpose=request.purpose,
        headcount=request.headcount,
        event_name=request.event_name,
        charges_admission=request.charges_admission,
        fee_total=plan.fee.total,
        fee_breakdown=plan.fee.breakdown,
        payment_status=PaymentStatus.WAIVED if plan.fee.total == 0 else PaymentStatus.UNPAID,
        channel=plan.channel,
        created_at=clock.now(),
        updated_at=clock.now(),
        created_by_user_id=principal.user_id,
        series_id=series_id,
    )


async def plan(  # noqa: PLR0913 - a request context object would carry the first five
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: BookingRequest,
    *,
    hold: bool = False,
    claims_free: bool = False,
) -> BookingPlan:
    """The checks and the fee of a booking (one query: the group), nothing written. With
    `claims_free` the same query finds a wanted slot claimed already, refused after every
    other check and before anything is written (most attempts of an opening rush), and
    reserves the booking's id."""
    room = room_of(snapshot, request.room_id)
    kind = ClaimKind.HOLD if hold else ClaimKind.BOOKING
    wanted = Wanted(room, request.use_date, request.period_codes, kind) if claims_free else None
    found = await read_group(session, request.group_id, wanted)
    channel = channel_for(principal, found.group, room)
    today = local_today(clock, settings.tz)
    planned = plan_booking(
        snapshot, settings, today, room, found.group, channel, request, hold=hold
    )
    if found.taken is not None:
        raise taken_as(room, request.use_date, *found.taken)
    return replace(planned, booking_id=found.booking_id)


async def write(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    planned: BookingPlan,
) -> Booking:
    """The booking, its audit event, its mail and its claims (the last word on the slot)."""
    hold = planned.status is BookingStatus.HELD
    row = booking_row(planned, clock, principal)
    if planned.booking_id is not None:
        row.id = planned.booking_id
    action = "booking.held" if hold else "booking.created"
    kind = ClaimKind.HOLD if hold else ClaimKind.BOOKING
    return await insert_booking(
        session,
        clock,
        row,
        principal.actor,
        action,
        audited(row),
        wanted=Wanted(planned.room, row.use_date, planned.periods, kind),
        mail=lambda b: booking_mail(settings, snapshot, planned.group, b, "booking_confirmed"),
    )


async def book(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: BookingRequest,
    *,
    hold: bool = False,
) -> Booking:
    """Book, or with `hold` take a 仮予約 by phone (staff, where the policy allows holds)."""
    planned = await plan(
        session, clock, settings, snapshot, principal, request, hold=hold, claims_free=True
    )
    return await write(session, clock, settings, snapshot, principal, planned)


def hold_deadline(policy: ReservationPolicy, today: date, settings: Settings) -> datetime:
    """A hold is void unless completed by 17:00 (local) on the third day (policy defaults)."""
    rules = policy.holds
    local = datetime.combine(today + timedelta(days=rules.days), rules.expires_at, settings.tz)
    return local.astimezone(UTC)


def audited(booking: Booking) -> dict[str, object]:
    return {
        "status": booking.status.value,
        "group_id": booking.group_id,
        "room_id": booking.room_id,
        "use_date": booking.use_date.isoformat(),
        "period_codes": list(booking.period_codes),
        "fee_total": booking.fee_total,
        "payment_status": booking.payment_status.value,
        "cancellation_charge": booking.cancellation_charge,
    }


async def notify(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    group: GroupFacts,
    booking: Booking,
    template: str,
    **extra: Any,
) -> None:
    """A mail to the group's contact address about this booking, in this transaction."""
    if mail := booking_mail(settings, snapshot, group, booking, template, **extra):
        await enqueue(session, clock, to=mail[0], template=mail[1], context=mail[2])


def booking_mail(
    settings: Settings,
    snapshot: NetworkSnapshot,
    group: GroupFacts,
    booking: Booking,
    template: str,
    **extra: Any,
) -> tuple[str, str, dict[str, Any]] | None:
    """(to, template, context) of a mail about this booking; None when the group has no
    contact address."""
    if group.email is None:
        return None
    cause_ja, cause_en = CANCEL_CAUSE.get(booking.cancel_cause or "", ("", ""))
    return (
        group.email,
        template,
        booking_context(
            snapshot,
            settings,
            group.name,
            booking,
            fee=booking.fee_total,
            charge=booking.cancellation_charge or 0,
            cause_ja=cause_ja,
            cause_en=cause_en,
            **extra,
        ),
    )
