"""Japanese public holidays and the day types that choose a period grid (pure)."""

from __future__ import annotations

import enum
from datetime import date
from functools import lru_cache

import holidays


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
