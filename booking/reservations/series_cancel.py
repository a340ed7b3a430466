"""Cancelling the rest of a series from a date on, or saying first what it would cost.

Each occurrence is cancelled by `changes.cancel`, as a single booking is (its charge by the
cancellation schedule it was booked under, its claims released, its audit event); the group
gets one mail for all of them. A group cancels online those still before the online deadline;
the others are listed as needing the facility's counter. The facility's staff cancel all of
them, each with its charge, or free of charge for the facility's own reasons (`facility_cause`:
a renovation, the hall needed for an election), as a single booking's facility cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import Conflict, PermissionDenied, RuleViolation
from booking.inventory.network import NetworkSnapshot
from booking.notifications.booking_mail import CANCEL_CAUSE, date_en, date_ja
from booking.reservations import changes
from booking.reservations.bookings import room_of
from booking.reservations.models import Booking, Series
from booking.reservations.rules import cancellation_charge
from booking.reservations.series import LIVE, get_series
from booking.reservations.series_mail import notify_series
from booking.settings import Settings


@dataclass(frozen=True, slots=True)
class OccurrenceCancel:
    booking: Booking
    charge: int  # by the schedule the booking was made under
    cause: str | None  # group | late | facility; None where it needs the counter
    applied: bool
    needs_counter: bool = False  # past the online deadline: only the facility's staff


@dataclass(frozen=True, slots=True)
class SeriesCancelOutcome:
    series: Series
    occurrences: list[OccurrenceCancel]
    applied: bool

    @property
    def charge_total(self) -> int:
        return sum(o.charge for o in self.occurrences if not o.needs_counter)


def _counter_charge(snapshot: NetworkSnapshot, booking: Booking, today: date) -> int:
    """What the facility's counter would charge for a booking past the online deadline."""
    room = room_of(snapshot, booking.room_id)
    rules = room.policy_on(booking.use_date, booking.created_at).cancellation
    return cancellation_charge(
        rules, booking.fee_total, booking.use_date, today, facility_cause=False
    )


async def cancel_series(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    series_id: int,
    from_date: date,
    *,
    facility_cause: bool = False,
    dry_run: bool = False,
) -> SeriesCancelOutcome:
    """Cancel every live occurrence on or after `from_date` (and today) that this person may
    cancel, or with `dry_run` say what each would cost; one mail for the series.

    `facility_cause` (the facility's staff only, as for a single booking): each is cancelled
    free for the facility's reasons."""
    series, group, bookings = await get_series(
        session, principal, series_id, for_update=not dry_run
    )
    if facility_cause and not principal.manages(series.facility_id):
        raise PermissionDenied(
            "only the facility's staff cancel for the facility's reasons",
            code="facility_staff_only",
        )
    today = local_today(clock, settings.tz)
    start = max(from_date, today)
    rest = [b for b in bookings if b.status in LIVE and b.use_date >= start]
    if not rest:
        raise Conflict(
            f"the series has no live booking from {start.isoformat()} on",
            field="from_date",
            code="series_nothing_to_cancel",
        )
    outcomes: list[OccurrenceCancel] = []
    for booking in rest:
        try:
            done = await changes.cancel(
                session,
                clock,
                settings,
                snapshot,
                principal,
                booking.id,
                facility_cause=facility_cause,
                dry_run=dry_run,
                mail=False,
            )
        except RuleViolation as exc:
            if exc.code != "cancellation_closed":
                raise
            charge = _counter_charge(snapshot, booking, today)
            outcomes.append(
                OccurrenceCancel(booking, charge, None, applied=False, needs_counter=True)
            )
            continue
        outcomes.append(OccurrenceCancel(booking, done.charge, done.cause, done.applied))
    if dry_run:
        return SeriesCancelOutcome(series, outcomes, applied=False)
    cancelled = [o for o in outcomes if o.applied]
    await record(
        session,
        clock,
        principal.actor,
        "series.cancelled",
        ("series", series.id),
        after={
            "from_date": start.isoformat(),
            "cause": "facility" if facility_cause else None,
            "cancelled": [o.booking.id for o in cancelled],
            "charges": [o.charge for o in cancelled],
            "needs_counter": [o.booking.id for o in outcomes if o.needs_counter],
        },
    )
    if cancelled:
        await notify_series(
            session,
            clock,
            settings,
            snapshot,
            group,
            series,
            [o.booking for o in cancelled],
            template="series_cancelled",
            cancelled=[_line(o) for o in cancelled],
            at_counter=[_line(o) for o in outcomes if o.needs_counter],
            charge_total=sum(o.charge for o in cancelled),
            # the facility's reasons said as a single booking's mail says them
            cause_ja=CANCEL_CAUSE["facility"][0] if facility_cause else "",
            cause_en=CANCEL_CAUSE["facility"][1] if facility_cause else "",
        )
    return SeriesCancelOutcome(series, outcomes, applied=True)


def _line(outcome: OccurrenceCancel) -> dict[str, object]:
    day = outcome.booking.use_date
    return {
        "date_ja": date_ja(day),
        "date_en": date_en(day),
        "booking_id": outcome.booking.id,
        "charge": outcome.charge,
    }
