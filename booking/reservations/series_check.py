"""`booking db check` for series: every occurrence agrees with its series.

An occurrence is an ordinary booking with `series_id`; after a manual repair it might name
another group, room or periods than its series, or a date that is not on the series' pattern
(or one the group skipped). One query over the series' bookings; the pattern's dates are
worked out per series in memory.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import InvalidInput
from booking.reservations.models import Booking, Series
from booking.reservations.series_dates import series_dates


def _dates(series: Series) -> set[date]:
    try:
        skip = [date.fromisoformat(d) for d in series.skip_dates]
        return set(series_dates(series.every, series.first_date, series.last_date, skip))
    except (InvalidInput, ValueError):
        return set()


async def series_problems(session: AsyncSession) -> list[str]:
    """One line per occurrence that disagrees with its series, saying how."""
    rows = await session.execute(
        select(
            Booking.id,
            Booking.group_id,
            Booking.room_id,
            Booking.period_codes,
            Booking.use_date,
            Series,
        )
        .join(Series, Series.id == Booking.series_id)
        .order_by(Series.id, Booking.use_date, Booking.id)
    )
    problems: list[str] = []
    pattern: dict[int, set[date]] = {}
    for booking_id, group_id, room_id, periods, use_date, series in rows.all():
        dates = pattern.get(series.id)
        if dates is None:
            dates = pattern[series.id] = _dates(series)
        what = []
        if group_id != series.group_id:
            what.append(f"group {group_id}, the series' {series.group_id}")
        if room_id != series.room_id:
            what.append(f"room {room_id}, the series' {series.room_id}")
        if list(periods) != list(series.period_codes):
            what.append(f"periods {','.join(periods)}, the series' {','.join(series.period_codes)}")
        if use_date not in dates:
            what.append(f"{use_date.isoformat()} is not a date of the series' pattern")
        if what:
            problems.append(f"booking {booking_id} of series {series.id}: " + "; ".join(what))
    return problems
