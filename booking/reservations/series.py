"""Recurring bookings (定期利用): preview, book, read and cancel a series.

Each occurrence is an ordinary booking (reservations/bookings.py: the same checks and fee by
`plan_booking`, its claims, audit event and permit) carrying `series_id`. A series is checked
with a fixed number of queries whatever its length (the group, one claims lookup over all its
dates, one count of the group's series bookings for the cap) and written in batches: the
bookings together, their claims in one savepoint, one mail for the whole series.

Online a group books a series only with every occurrence in the first-come window; the
facility's staff at the counter up to the end of the fiscal year (policy `series`). The cap
counts the group's live series occurrences at the facility per use month, earlier occurrences
of the same request included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.groups import get_group
from booking.accounts.models import Group
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import BookingError, Conflict, InvalidInput, NotFound
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import Phase, booking_phase
from booking.reservations.bookings import (
    ONLINE,
    BookingPlan,
    BookingRequest,
    audited,
    booking_row,
    channel_for,
    plan_booking,
    room_of,
)
from booking.reservations.claims import insert_claim_batches, slot_label
from booking.reservations.models import (
    Booking,
    BookingStatus,
    Claim,
    ClaimKind,
    Series,
    SeriesPattern,
)
from booking.reservations.series_dates import fiscal_year_end, series_dates
from booking.reservations.series_mail import notify_series
from booking.settings import Settings

FREE = "free"
TAKEN = "taken"
BLOCKED = "blocked"
OUTSIDE_WINDOW = "outside_window"
OVER_CAP = "over_cap"
NOT_ONLINE = "not_online"
# Checks of `plan_booking` that do not depend on the date: the whole series is refused.
SERIES_WIDE = frozenset(
    {
        "staff_only",
        "holds_not_allowed",
        "registration_inactive",
        "not_eligible",
        "counter_only",
        "unknown_purpose",
        "purpose_not_allowed",
        "over_capacity",
    }
)
LIVE = (BookingStatus.CONFIRMED, BookingStatus.PENDING_APPROVAL, BookingStatus.HELD)
Mode = Literal["all", "free"]


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    group_id: int
    room_id: int
    period_codes: list[str]
    purpose: str
    headcount: int
    first_date: date
    last_date: date
    every: SeriesPattern
    skip_dates: list[date] = field(default_factory=list)
    event_name: str | None = None
    charges_admission: bool = False

    def on(self, use_date: date) -> BookingRequest:
        return BookingRequest(
            group_id=self.group_id,
            room_id=self.room_id,
            use_date=use_date,
            period_codes=list(self.period_codes),
            purpose=self.purpose,
            headcount=self.headcount,
            event_name=self.event_name,
            charges_admission=self.charges_admission,
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One date of a series: `state` free (bookable now) or why not, with its `reason`."""

    use_date: date
    state: str
    reason: str | None = None
    fee: int | None = None  # what it costs when booked (None where a check refused it)
    plan: BookingPlan | None = None
    booking_id: int | None = None


@dataclass(frozen=True, slots=True)
class SeriesPreview:
    request: SeriesRequest
    room: RoomInfo
    group: Group
    channel: str
    occurrences: list[Occurrence]

    @property
    def free(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.state == FREE]

    @property
    def fee_total(self) -> int:
        return sum(o.fee or 0 for o in self.free)


@dataclass(frozen=True, slots=True)
class SeriesOutcome:
    series: Series
    bookings: list[Booking]
    occurrences: list[Occurrence]  # every date of the request, booked ones with booking_id


def _series_window(room: RoomInfo, channel: str, use_date: date, today: date) -> str | None:
    """Beyond what `plan_booking` checks (online: the first-come window): the policy may take
    series at the counter only; the counter books a series to the end of the fiscal year
    (policy), else only within the first-come window."""
    policy = room.policy_on(use_date)
    rules = policy.series
    if channel == ONLINE:
        return None if rules.online else "this room takes series at the facility's counter only"
    if rules.counter_to_fiscal_year_end:
        end = fiscal_year_end(today)
        if use_date > end:
            return f"a series is booked at most to {end.isoformat()}, the end of this fiscal year"
        return None
    if booking_phase(policy, use_date, today) is not Phase.OPEN:
        return "a series is booked only within the first-come window"
    return None


def _checked(
    snapshot: NetworkSnapshot,
    settings: Settings,
    today: date,
    room: RoomInfo,
    group: Group,
    channel: str,
    wanted: BookingRequest,
) -> Occurrence:
    """One date through the series' window, then every check of a single booking."""
    if problem := _series_window(room, channel, wanted.use_date, today):
        return Occurrence(
            wanted.use_date, NOT_ONLINE if channel == ONLINE else OUTSIDE_WINDOW, problem
        )
    try:
        plan = plan_booking(snapshot, settings, today, room, group, channel, wanted)
    except BookingError as exc:
        if exc.code in SERIES_WIDE:
            raise
        return Occurrence(wanted.use_date, exc.code, exc.message)
    return Occurrence(wanted.use_date, FREE, None, plan.fee.total, plan)


async def _claimed(
    session: AsyncSession, room: RoomInfo, dates: Sequence[date], periods: Sequence[str]
) -> dict[date, ClaimKind]:
    """One lookup over all dates: per date, block when a block is among its claims, else the
    kind of one of them."""
    rows = await session.execute(
        select(Claim.use_date, Claim.kind).where(
            Claim.unit_id.in_(room.unit_ids),
            Claim.use_date.in_(dates),
            Claim.period_code.in_(periods),
        )
    )
    found: dict[date, ClaimKind] = {}
    for use_date, kind in rows.all():
        if found.get(use_date) is not ClaimKind.BLOCK:
            found[use_date] = kind
    return found


async def _series_counts(
    session: AsyncSession, group_id: int, facility_id: int, first: date, last: date
) -> Counter[tuple[int, int]]:
    """The group's live series occurrences at the facility per (year, month)."""
    rows = await session.scalars(
        select(Booking.use_date).where(
            Booking.group_id == group_id,
            Booking.facility_id == facility_id,
            Booking.series_id.is_not(None),
            Booking.status.in_(LIVE),
            Booking.use_date >= first.replace(day=1),
            Booking.use_date <= last,
        )
    )
    return Counter((d.year, d.month) for d in rows.all())


async def preview_series(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: SeriesRequest,
    *,
    lock_group: bool = False,
) -> SeriesPreview:
    """Each occurrence's state and fee, nothing written (three queries whatever the length).

    `lock_group` (booking): the group's row FOR UPDATE once the person may act for it, so two
    series of one group at once are counted against the cap one after the other."""
    dates = series_dates(request.every, request.first_date, request.last_date, request.skip_dates)
    room = room_of(snapshot, request.room_id)
    group = await get_group(session, request.group_id)
    channel = channel_for(principal, group, room)
    if lock_group:
        group = await get_group(session, request.group_id, for_update=True)
    today = local_today(clock, settings.tz)
    if request.first_date < today:
        raise InvalidInput("the first date is in the past", field="first_date", code="past_date")
    checked = [
        _checked(snapshot, settings, today, room, group, channel, request.on(day)) for day in dates
    ]
    if all(o.state == "bad_periods" for o in checked):
        raise InvalidInput(checked[0].reason or "", field="period_codes", code="bad_periods")
    periods = next((o.plan.periods for o in checked if o.plan), request.period_codes)
    claimed = await _claimed(session, room, dates, periods)
    counts = await _series_counts(session, group.id, room.facility_id, dates[0], dates[-1])
    occurrences = []
    for occurrence in checked:
        day = occurrence.use_date
        if occurrence.state != FREE:
            occurrences.append(occurrence)
        elif (kind := claimed.get(day)) is not None:
            blocked = kind is ClaimKind.BLOCK
            reason = "blocked by the facility" if blocked else "already taken"
            occurrences.append(
                Occurrence(day, BLOCKED if blocked else TAKEN, reason, occurrence.fee)
            )
        elif _over_cap(occurrence, counts):
            occurrences.append(Occurrence(day, OVER_CAP, _cap_reason(occurrence), occurrence.fee))
        else:
            counts[(day.year, day.month)] += 1
            occurrences.append(occurrence)
    return SeriesPreview(request, room, group, channel, occurrences)


def _over_cap(occurrence: Occurrence, counts: Counter[tuple[int, int]]) -> bool:
    assert occurrence.plan is not None  # noqa: S101 - a free occurrence has its plan
    cap = occurrence.plan.policy.series.cap_per_facility_month
    day = occurrence.use_date
    return cap is not None and counts[(day.year, day.month)] >= cap


def _cap_reason(occurrence: Occurrence) -> str:
    assert occurrence.plan is not None  # noqa: S101
    cap = occurrence.plan.policy.series.cap_per_facility_month
    return f"a group holds at most {cap} series bookings per facility and month"


def _refused(preview: SeriesPreview, mode: Mode) -> Conflict | None:
    blocking = [o for o in preview.occurrences if o.state != FREE]
    if mode == "all" and blocking:
        listed = "; ".join(f"{o.use_date.isoformat()}: {o.state}" for o in blocking)
        return Conflict(
            f"not every date of the series can be booked ({listed})",
            field="occurrences",
            code="series_not_free",
            problems=[(f"occurrences.{o.use_date.isoformat()}", o.state) for o in blocking],
        )
    if not preview.free:
        return Conflict(
            "no date of the series can be booked", field="occurrences", code="series_none_free"
        )
    return None


async def book_series(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    request: SeriesRequest,
    *,
    mode: Mode = "all",
) -> SeriesOutcome:
    """Book all the occurrences or none (`all`), or the free ones (`free`), in this
    transaction: the series, a booking per occurrence, their audit events and claims, one
    mail. A slot taken meanwhile by a concurrent writer fails the whole series (409 naming
    the slot)."""
    preview = await preview_series(
        session, clock, settings, snapshot, principal, request, lock_group=True
    )
    if (refusal := _refused(preview, mode)) is not None:
        raise refusal
    room, group = preview.room, preview.group
    now = clock.now()
    series = Series(
        group_id=group.id,
        room_id=room.id,
        facility_id=room.facility_id,
        period_codes=preview.free[0].plan.periods if preview.free[0].plan else [],
        every=request.every,
        first_date=request.first_date,
        last_date=request.last_date,
        skip_dates=sorted(d.isoformat() for d in set(request.skip_dates)),
        purpose=request.purpose,
        headcount=request.headcount,
        event_name=request.event_name,
        charges_admission=request.charges_admission,
        channel=preview.channel,
        created_at=now,
        created_by_user_id=principal.user_id,
    )
    session.add(series)
    await session.flush()
    planned = [o.plan for o in preview.free if o.plan is not None]
    bookings = [booking_row(plan, clock, principal, series.id) for plan in planned]
    session.add_all(bookings)
    await session.flush()
    for booking in bookings:
        await record(
            session,
            clock,
            principal.actor,
            "booking.created",
            ("booking", booking.id),
            after={**audited(booking), "series_id": series.id},
        )
    await record(
        session,
        clock,
        principal.actor,
        "series.created",
        ("series", series.id),
        after=series_audited(series, bookings),
    )
    not_booked = [(o.use_date, o.state) for o in preview.occurrences if o.state != FREE]
    await notify_series(
        session, clock, settings, snapshot, group, series, bookings, not_booked=not_booked
    )
    await session.flush()
    await _claim_all(session, clock, room, bookings)
    by_date = {b.use_date: b.id for b in bookings}
    occurrences = [
        Occurrence(o.use_date, o.state, o.reason, o.fee, booking_id=by_date.get(o.use_date))
        for o in preview.occurrences
    ]
    return SeriesOutcome(series, bookings, occurrences)


def series_audited(series: Series, bookings: Sequence[Booking]) -> dict[str, object]:
    return {
        "group_id": series.group_id,
        "room_id": series.room_id,
        "period_codes": list(series.period_codes),
        "every": series.every.value,
        "first_date": series.first_date.isoformat(),
        "last_date": series.last_date.isoformat(),
        "skip_dates": list(series.skip_dates),
        "bookings": [b.id for b in bookings],
    }


async def _claim_all(
    session: AsyncSession, clock: Clock, room: RoomInfo, bookings: Sequence[Booking]
) -> None:
    """Every occurrence's claims in one savepoint; a lost race names the slot it lost."""
    now = clock.now()
    dates = [b.use_date for b in bookings]
    periods = sorted({code for b in bookings for code in b.period_codes})

    async def taken() -> Conflict | None:
        found = (
            await session.execute(
                select(Claim.use_date, Claim.period_code, Claim.kind)
                .where(
                    Claim.unit_id.in_(room.unit_ids),
                    Claim.use_date.in_(dates),
                    Claim.period_code.in_(periods),
                )
                .order_by(Claim.use_date, Claim.period_code)
                .limit(1)
            )
        ).first()
        if found is None:
            return None
        what = "blocked by the facility" if found[2] is ClaimKind.BLOCK else "already taken"
        return Conflict(
            f"{slot_label(room, found[0], found[1])} is {what}",
            field="period_codes",
            code="slot_taken",
        )

    claims = [
        Claim(
            unit_id=unit_id,
            use_date=booking.use_date,
            period_code=code,
            kind=ClaimKind.BOOKING,
            owner_id=booking.id,
            created_at=now,
        )
        for booking in sorted(bookings, key=lambda b: b.use_date)
        for unit_id in room.unit_ids
        for code in booking.period_codes
    ]
    page = session.get_bind().dialect.insertmanyvalues_page_size
    await insert_claim_batches(session, month_batches(claims, page), taken)


def month_batches(claims: Sequence[Claim], page: int) -> list[list[Claim]]:
    """The claims (in date order) in batches of whole use months, each at most `page` rows
    where a month fits one: a batch is one INSERT statement (SQLAlchemy pages an insert of
    more rows than `insertmanyvalues_page_size`).

    Until migration 0017 each INSERT locked the version rows (claim_months) of its months at
    its end, until commit, and a month split between two statements deadlocked a single
    booking of that month (the first statement held the month, the single booking took its
    slot and waited for the month, the second statement waited for the single booking's
    slot). Versions are now a change log that takes no lock (reservations/claim_versions.py);
    whole months per statement cost nothing and also log each month once a statement."""
    batches: list[list[Claim]] = []
    for _, rows in groupby(claims, key=lambda c: (c.use_date.year, c.use_date.month)):
        month = list(rows)
        if batches and len(batches[-1]) + len(month) <= page:
            batches[-1].extend(month)
        else:
            batches.append(month)
    return batches


async def get_series(
    session: AsyncSession, principal: Principal, series_id: int, *, for_update: bool = False
) -> tuple[Series, Group, list[Booking]]:
    """A series and its occurrences (by date) for its group's members and the facility's
    staff; others get 404, as for a booking."""
    series = await session.get(Series, series_id, with_for_update=for_update)
    if series is not None:
        group = await get_group(session, series.group_id)
        if principal.role_in(group.id) is not None or principal.manages(series.facility_id):
            bookings = await session.scalars(
                select(Booking)
                .where(Booking.series_id == series.id)
                .order_by(Booking.use_date, Booking.id)
            )
            return series, group, list(bookings.all())
    raise NotFound(f"no series {series_id}", code="series_not_found")
