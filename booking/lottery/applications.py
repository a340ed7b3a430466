"""Applying for the lottery, withdrawing, confirming a win (RULES.md "The monthly cycle").

Every rule is the room's policy evaluated at the clock's now: the application window (default
17th-23rd of M-4), the quota (default 8 period-slots per group, facility and use month), the
confirmation window (25th-28th).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.groups import get_group, may_book
from booking.accounts.models import Group
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.db.upsert import insert_for
from booking.errors import Conflict, InvalidInput, NotFound, RuleViolation
from booking.inventory.calendar import EARLIEST_DAY, LATEST_DAY, day_type
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import LotteryCycle as CycleDates
from booking.inventory.policy import LotteryRules, Phase, booking_phase, lottery_cycle
from booking.lottery.draw import commitment
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryCycle
from booking.reservations.bookings import (
    ONLINE,
    BookingRequest,
    channel_for,
    check_purpose,
    eligibility_problem,
    is_closed,
    notify,
    room_of,
)
from booking.reservations.models import (
    Booking,
    BookingStatus,
    Claim,
    ClaimKind,
    PaymentStatus,
)
from booking.reservations.rules import (
    coefficient_key,
    compute_fee,
    consecutive_problem,
    in_day_order,
    registration_problem,
    residency_problem,
)
from booking.settings import Settings

LIVE = (ApplicationStatus.APPLIED,)


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def next_use_month(today: date, rules: LotteryRules) -> date:
    """The use month whose applications are open now, or open next (default: M-4)."""
    base = month_of(today) if today.day <= rules.apply_to_day else add_months(month_of(today), 1)
    return add_months(base, rules.months_before)


def parse_month(value: str, field: str = "cycle") -> date:
    """A YYYY-MM month of the usable years: the cycle's dates (M-4, the month after) stay
    inside Python's calendar."""
    try:
        year, month = value.split("-")
        first = date(int(year), int(month), 1)
    except ValueError as exc:
        raise InvalidInput("a month reads YYYY-MM", field=field) from exc
    if not EARLIEST_DAY.year <= first.year <= LATEST_DAY.year:
        raise InvalidInput(f"must be from {EARLIEST_DAY:%Y-%m} to {LATEST_DAY:%Y-%m}", field=field)
    return first


def dates_of(room: RoomInfo, use_month: date, settings: Settings) -> CycleDates:
    """The lottery calendar of a use month, under the room's policy on the month's first day."""
    cycle = lottery_cycle(room.policy_on(use_month), use_month, settings.tz)
    if cycle is None:
        raise RuleViolation("this room has no lottery", field="room_id", code="no_lottery")
    return cycle


async def ensure_cycle(session: AsyncSession, clock: Clock, use_month: date) -> LotteryCycle:
    """The cycle's committed secret, made once (two processes at once make one)."""
    found = await session.get(LotteryCycle, use_month)
    if found is not None:
        return found
    secret = secrets.token_bytes(32)
    insert = insert_for(session)
    await session.execute(
        insert(LotteryCycle)
        .values(
            use_month=use_month,
            secret_hex=secret.hex(),
            commitment=commitment(secret),
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["use_month"])
    )
    return await session.get_one(LotteryCycle, use_month, populate_existing=True)


async def period_slots_applied(
    session: AsyncSession, group_id: int, facility_id: int, use_month: date
) -> int:
    rows = await session.scalars(
        select(LotteryApplication.period_codes).where(
            LotteryApplication.group_id == group_id,
            LotteryApplication.facility_id == facility_id,
            LotteryApplication.use_month == use_month,
            LotteryApplication.status == ApplicationStatus.APPLIED,
        )
    )
    return sum(len(codes) for codes in rows.all())


@dataclass(frozen=True, slots=True)
class QuotaLeft:
    facility_id: int
    use_month: date
    used: int  # period-slots applied for, not withdrawn
    limit: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


async def quota_left(
    session: AsyncSession, snapshot: NetworkSnapshot, group_id: int
) -> list[QuotaLeft]:
    """What a group may still apply for, per facility and use month it has applications
    waiting for the draw in (RULES.md: 8 period-slots per facility and month by default).
    The limit is the one `apply` enforces: the policy of the rooms applied for."""
    rows = await session.execute(
        select(
            LotteryApplication.facility_id,
            LotteryApplication.use_month,
            LotteryApplication.room_id,
            LotteryApplication.period_codes,
        ).where(
            LotteryApplication.group_id == group_id,
            LotteryApplication.status == ApplicationStatus.APPLIED,
        )
    )
    used: dict[tuple[int, date], int] = {}
    limits: dict[tuple[int, date], int] = {}
    for facility_id, use_month, room_id, codes in rows:
        key = (facility_id, use_month)
        used[key] = used.get(key, 0) + len(codes)
        room = snapshot.room(room_id)
        if room is not None:
            limit = room.policy_on(use_month).lottery.quota_per_facility_month
            limits[key] = min(limits.get(key, limit), limit)
    return [
        QuotaLeft(key[0], key[1], used[key], limits[key])
        for key in sorted(used, key=lambda k: (k[1], k[0]))
        if key in limits
    ]


async def apply(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: BookingRequest,
) -> LotteryApplication:
    room = room_of(snapshot, request.room_id)
    group = await get_group(session, request.group_id, for_update=True)  # serialises the quota
    if channel_for(principal, group, room) != ONLINE:
        raise RuleViolation(
            "groups apply for the lottery themselves", field="group_id", code="members_only"
        )
    today = local_today(clock, settings.tz)
    facility = snapshot.facilities[room.facility_id]
    if not may_book(group, today):
        raise RuleViolation(
            "this registration cannot apply: it is not active",
            field="group_id",
            code="registration_inactive",
        )
    if problem := eligibility_problem(group, facility):
        raise RuleViolation(problem, field="group_id", code="not_eligible")
    policy = room.policy_on(request.use_date)  # a revision from the use date on governs it
    if problem := residency_problem(policy, in_city=group.in_city, lottery=True):
        raise RuleViolation(problem, field="group_id", code="out_of_city")
    if not room.online_bookable:
        raise RuleViolation(
            "this room is booked at the facility's counter only",
            field="room_id",
            code="counter_only",
        )
    day_codes = room.grid.codes_by_day_type.get(day_type(request.use_date), ())
    if problem := consecutive_problem(request.period_codes, day_codes):
        raise InvalidInput(problem, field="period_codes", code="bad_periods")
    periods = in_day_order(request.period_codes, day_codes)
    use_month = month_of(request.use_date)
    cycle = dates_of(room, use_month, settings)
    if booking_phase(policy, request.use_date, today) is not Phase.LOTTERY:
        raise RuleViolation(
            f"applications for {use_month:%Y-%m} are taken from {cycle.apply_from} "
            f"to {cycle.apply_to}",
            field="use_date",
            code="outside_application_window",
        )
    if problem := registration_problem(group.valid_until, request.use_date):
        raise RuleViolation(problem, field="use_date", code="registration_expires")
    if is_closed(snapshot, facility, request.use_date):
        raise RuleViolation("the facility is closed on this date", field="use_date", code="closed")
    if room.capacity is not None and request.headcount > room.capacity:
        raise RuleViolation(
            f"the room holds at most {room.capacity} people",
            field="headcount",
            code="over_capacity",
        )
    check_purpose(snapshot, room, request.purpose)
    await _check_not_blocked(session, room, request.use_date, periods)
    await _check_not_twice(session, group.id, room, request.use_date, periods)
    quota = room.policy_on(use_month).lottery.quota_per_facility_month
    used = await period_slots_applied(session, group.id, facility.id, use_month)
    if used + len(periods) > quota:
        raise RuleViolation(
            f"at most {quota} period-slots per facility and month in the lottery; "
            f"{used} already applied for",
            field="period_codes",
            code="over_quota",
        )
    await ensure_cycle(session, clock, use_month)
    application = LotteryApplication(
        use_month=use_month,
        group_id=group.id,
        room_id=room.id,
        facility_id=facility.id,
        use_date=request.use_date,
        period_codes=periods,
        purpose=request.purpose,
        headcount=request.headcount,
        event_name=request.event_name,
        status=ApplicationStatus.APPLIED,
        created_at=clock.now(),
        created_by_user_id=principal.user_id,
    )
    session.add(application)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "lottery.applied",
        ("lottery_application", application.id),
        after={"room_id": room.id, "use_date": request.use_date.isoformat(), "periods": periods},
    )
    return application


async def _check_not_blocked(
    session: AsyncSession, room: RoomInfo, use_date: date, periods: Sequence[str]
) -> None:
    blocked = await session.scalar(
        select(Claim.id)
        .where(
            Claim.unit_id.in_(room.unit_ids),
            Claim.use_date == use_date,
            Claim.period_code.in_(periods),
        )
        .limit(1)
    )
    if blocked is not None:
        raise Conflict(
            "this slot is not available (blocked by the facility or already taken)",
            field="period_codes",
            code="slot_unavailable",
        )


async def _check_not_twice(
    session: AsyncSession, group_id: int, room: RoomInfo, use_date: date, periods: Sequence[str]
) -> None:
    existing = await session.scalars(
        select(LotteryApplication.period_codes).where(
            LotteryApplication.group_id == group_id,
            LotteryApplication.room_id == room.id,
            LotteryApplication.use_date == use_date,
            LotteryApplication.status == ApplicationStatus.APPLIED,
        )
    )
    if any(set(codes) & set(periods) for codes in existing.all()):
        raise Conflict(
            "your group has applied for this slot already",
            field="period_codes",
            code="already_applied",
        )


async def get_application(
    session: AsyncSession, principal: Principal, application_id: int, *, for_update: bool = False
) -> tuple[LotteryApplication, Group]:
    application = await session.get(LotteryApplication, application_id, with_for_update=for_update)
    if application is not None:
        group = await get_group(session, application.group_id)
        if principal.role_in(group.id) is not None or principal.manages(application.facility_id):
            return application, group
    raise NotFound(f"no application {application_id}", code="application_not_found")


async def withdraw(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    application_id: int,
) -> LotteryApplication:
    application, group = await get_application(session, principal, application_id, for_update=True)
    if principal.role_in(group.id) is None:
        raise NotFound(f"no application {application_id}", code="application_not_found")
    if application.status is not ApplicationStatus.APPLIED:
        raise Conflict(f"the application is {application.status.value}", code="not_applied")
    room = room_of(snapshot, application.room_id)
    cycle = dates_of(room, application.use_month, settings)
    if local_today(clock, settings.tz) > cycle.apply_to:
        raise RuleViolation(
            f"withdrawals closed with the application window on {cycle.apply_to}",
            code="window_closed",
        )
    application.status = ApplicationStatus.WITHDRAWN
    application.withdrawn_at = clock.now()
    await record(
        session,
        clock,
        principal.actor,
        "lottery.withdrawn",
        ("lottery_application", application.id),
    )
    return application


async def confirm(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    application_id: int,
) -> Booking:
    """A winner confirms in the confirmation window and gets a confirmed booking with its fee;
    the win's claims pass to the booking in the same transaction."""
    application, group = await get_application(session, principal, application_id, for_update=True)
    if principal.role_in(group.id) is None:
        raise NotFound(f"no application {application_id}", code="application_not_found")
    if application.status is not ApplicationStatus.WON:
        raise Conflict(
            f"only a won application is confirmed; this one is {application.status.value}",
            code="not_won",
        )
    room = room_of(snapshot, application.room_id)
    cycle = dates_of(room, application.use_month, settings)
    today = local_today(clock, settings.tz)
    if not cycle.confirm_from <= today <= cycle.confirm_to:
        raise RuleViolation(
            f"wins are confirmed from {cycle.confirm_from} to {cycle.confirm_to}",
            code="outside_confirmation_window",
        )
    # The registration must still book now (not suspended, not lapsed) and cover the date.
    if not may_book(group, today):
        raise RuleViolation(
            "this registration cannot confirm: it is not active",
            field="group_id",
            code="registration_inactive",
        )
    if problem := registration_problem(group.valid_until, application.use_date):
        raise RuleViolation(problem, field="use_date", code="registration_expires")
    day_codes = room.grid.codes_by_day_type.get(day_type(application.use_date), ())
    # A win is priced by its use date: the fees and fee rules that apply to that date.
    table = room.fees_on(application.use_date)
    fee = compute_fee(
        room.policy_on(application.use_date).fees,
        table.fees,
        table.all_day_fee,
        application.period_codes,
        day_codes,
        day_type(application.use_date),
        coefficient_key(group.category, charges_admission=False),
        in_city=group.in_city,
    )
    booking = Booking(
        group_id=group.id,
        room_id=room.id,
        facility_id=room.facility_id,
        use_date=application.use_date,
        period_codes=list(application.period_codes),
        status=BookingStatus.CONFIRMED,
        purpose=application.purpose,
        headcount=application.headcount,
        event_name=application.event_name,
        charges_admission=False,
        fee_total=fee.total,
        fee_breakdown=fee.breakdown,
        payment_status=PaymentStatus.WAIVED if fee.total == 0 else PaymentStatus.UNPAID,
        channel="lottery",
        created_at=clock.now(),
        updated_at=clock.now(),
        created_by_user_id=principal.user_id,
    )
    session.add(booking)
    await session.flush()
    await session.execute(
        update(Claim)
        .where(Claim.kind == ClaimKind.LOTTERY_WIN, Claim.owner_id == application.id)
        .values(kind=ClaimKind.BOOKING, owner_id=booking.id)
    )
    application.status = ApplicationStatus.CONFIRMED
    application.settled_at = clock.now()
    application.booking_id = booking.id
    await record(
        session,
        clock,
        principal.actor,
        "lottery.confirmed",
        ("lottery_application", application.id),
        after={"booking_id": booking.id},
    )
    # The win is final now: the group hears so in a mail of its own (the win it came from,
    # the fee and how to pay it, the permit: booking_mail.permit_url).
    await notify(
        session,
        clock,
        settings,
        snapshot,
        group,
        booking,
        "lottery_confirmed",
        application_id=application.id,
    )
    return booking


async def group_applications(
    session: AsyncSession, principal: Principal, group_id: int, use_month: date | None
) -> Sequence[LotteryApplication]:
    group = await get_group(session, group_id)
    if principal.role_in(group.id) is None and not principal.staff_for(group):
        raise NotFound(f"no group {group_id}", field="group_id", code="group_not_found")
    stmt = select(LotteryApplication).where(LotteryApplication.group_id == group.id)
    if use_month is not None:
        stmt = stmt.where(LotteryApplication.use_month == use_month)
    stmt = stmt.order_by(LotteryApplication.use_date, LotteryApplication.id)
    return (await session.scalars(stmt)).all()


async def applicant_counts(
    session: AsyncSession, start: date, end: date
) -> dict[tuple[int, date, str], int]:
    """Applications so far per (room, date, period), for availability's `lottery` slots."""
    rows = await session.execute(
        select(
            LotteryApplication.room_id,
            LotteryApplication.use_date,
            LotteryApplication.period_codes,
        ).where(
            LotteryApplication.status == ApplicationStatus.APPLIED,
            LotteryApplication.use_date >= start,
            LotteryApplication.use_date <= end,
        )
    )
    counts: dict[tuple[int, date, str], int] = {}
    for room_id, use_date, codes in rows.all():
        for code in codes:
            key = (room_id, use_date, code)
            counts[key] = counts.get(key, 0) + 1
    return counts
