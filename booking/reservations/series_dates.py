"""The dates of a recurring booking's pattern (pure: no session, no clock).

Every week, every other week, or the nth weekday of each month as on the first date (a month
without a 5th such weekday has no occurrence). The span is at most a year (366 days: a weekly
series from a date to the same date a year later is 53 occurrences), skipped dates must be
dates of the pattern.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from booking.errors import InvalidInput
from booking.inventory.calendar import usable_day
from booking.reservations.models import SeriesPattern

MAX_SPAN_DAYS = 366
MAX_OCCURRENCES = 53
STEP_DAYS = {SeriesPattern.WEEK: 7, SeriesPattern.TWO_WEEKS: 14}


def nth_weekday(month_start: date, weekday: int, nth: int) -> date | None:
    """The nth (1-5) given weekday of the month of month_start, or None when it has none."""
    first = month_start + timedelta(days=(weekday - month_start.weekday()) % 7)
    day = first + timedelta(days=7 * (nth - 1))
    return day if day.month == month_start.month else None


def _month_weekdays(first: date, last: date) -> list[date]:
    nth = (first.day - 1) // 7 + 1
    found = []
    month = first.replace(day=1)
    while month <= last:
        day = nth_weekday(month, first.weekday(), nth)
        if day is not None and first <= day <= last:
            found.append(day)
        month = (month + timedelta(days=32)).replace(day=1)
    return found


def pattern_dates(every: SeriesPattern, first: date, last: date) -> list[date]:
    """Every date of the pattern from first to last (both inclusive), skips not applied."""
    if every is SeriesPattern.MONTH_WEEKDAY:
        return _month_weekdays(first, last)
    step = timedelta(days=STEP_DAYS[every])
    found, day = [], first
    while day <= last:
        found.append(day)
        day += step
    return found


def series_dates(
    every: SeriesPattern, first: date, last: date, skip: Collection[date] = ()
) -> list[date]:
    """The occurrences of a series: the pattern's dates without the skipped ones.

    Refused (InvalidInput naming the field): a last date before the first, a span over a
    year, a skipped date outside the span or not on the pattern, nothing left to book."""
    usable_day(first, "first_date")
    usable_day(last, "last_date")
    if last < first:
        raise InvalidInput(
            "the last date is before the first", field="last_date", code="series_dates_reversed"
        )
    if (last - first).days > MAX_SPAN_DAYS:
        raise InvalidInput(
            f"a series spans at most {MAX_SPAN_DAYS} days (a year)",
            field="last_date",
            code="series_too_long",
        )
    dates = pattern_dates(every, first, last)
    skipped = set(skip)
    for day in sorted(skipped):
        if not first <= day <= last:
            raise InvalidInput(
                f"{day.isoformat()} is outside the series ({first.isoformat()} to "
                f"{last.isoformat()})",
                field="skip_dates",
                code="skip_date_outside",
            )
        if day not in dates:
            raise InvalidInput(
                f"{day.isoformat()} is not a date of the series' pattern",
                field="skip_dates",
                code="skip_date_not_in_series",
            )
    left = [day for day in dates if day not in skipped]
    if not left:
        raise InvalidInput(
            "the series has no date left to book", field="skip_dates", code="series_empty"
        )
    return left


def fiscal_year_end(today: date) -> date:
    """31 March of the fiscal year (April to March) containing today."""
    return date(today.year + 1 if today.month >= 4 else today.year, 3, 31)
