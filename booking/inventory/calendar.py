"""Japanese public holidays, the day types that choose a period grid, the dates usable (pure)."""

from __future__ import annotations

import enum
from datetime import date
from functools import lru_cache

import holidays

from booking.errors import InvalidInput

# Dates a person may mean (year 1 or 9999 is a typo): the services' calendar arithmetic
# (two weeks after, the month before, the lottery's M-4) must stay inside Python's years 1
# to 9999. The API, the pages' forms and the lottery's months all take dates in this range.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2199, 12, 31)


def usable_day(day: date, field: str) -> date:
    """The day itself, or InvalidInput naming the field when it is outside the usable range."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput(
            f"must be from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}", field=field
        )
    return day


class DayType(enum.StrEnum):
    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY_HOLIDAY = "sunday_holiday"


@lru_cache(maxsize=64)
def holidays_of_year(year: int) -> dict[date, str]:
    """Japan's public holidays of a year, named in Japanese, from the `holidays` library."""
    return dict(holidays.country_holidays("JP", years=year, language="ja"))


def holiday_name(day: date) -> str | None:
    return holidays_of_year(day.year).get(day)


def is_holiday(day: date) -> bool:
    return day in holidays_of_year(day.year)


def day_type(day: date) -> DayType:
    """Sundays and public holidays share a grid; Saturdays have their own (RULES.md: periods)."""
    if day.weekday() == 6 or is_holiday(day):
        return DayType.SUNDAY_HOLIDAY
    if day.weekday() == 5:
        return DayType.SATURDAY
    return DayType.WEEKDAY
