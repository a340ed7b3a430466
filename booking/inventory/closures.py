"""Closure rules (休館日) and the dates they close (pure).

The same models validate facilities_data and the JSON stored in closure_rules.spec.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from booking.inventory.calendar import holidays_of_year, is_holiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class HolidayShift(enum.StrEnum):
    NONE = "none"
    NEXT_DAY = "next_day"  # the next day that is not a public holiday
    NEXT_WEEKDAY = "next_weekday"  # the next Monday-Friday that is not a public holiday


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    # What the pages and the API call the closure (年末年始 / Year-end and New Year holidays);
    # `note` is a remark about it (a manager's reason, a source's wording), never shown as a name.
    name_ja: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = None


def _check_month_day(value: str) -> str:
    match = _MONTH_DAY.match(value)
    if not match:
        raise ValueError("must be MM-DD")
    month, day = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2024, month)[1]:
        raise ValueError("no such day of the year")
    return value


class AnnualClosure(_Rule):
    """Closed every year from one month-day to another, wrapping the year end (29 Dec-3 Jan)."""

    type: Literal["annual"]
    from_: str = Field(alias="from")
    to: str

    _valid = field_validator("from_", "to")(_check_month_day)

    def dates(self, start: date, end: date) -> Iterable[date]:
        fm, fd = (int(x) for x in self.from_.split("-"))
        tm, td = (int(x) for x in self.to.split("-"))
        for year in range(start.year - 1, end.year + 1):
            first = _safe_date(year, fm, fd)
            last = _safe_date(year + 1 if (tm, td) < (fm, fd) else year, tm, td)
            yield from _clip(first, last, start, end)


class MonthlyClosure(_Rule):
    """The nth weekday of a month (e.g. 3rd Monday), optionally only some months, shifted when
    that day is a public holiday."""

    type: Literal["monthly"]
    nth: int = Field(description="1-5, or -1 for the last")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    months: tuple[int, ...] | None = None
    holiday_shift: HolidayShift = HolidayShift.NONE

    @field_validator("nth")
    @classmethod
    def _nth(cls, value: int) -> int:
        if value not in (-1, 1, 2, 3, 4, 5):
            raise ValueError("must be 1 to 5, or -1 for the last")
        return value

    @field_validator("months")
    @classmethod
    def _months(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and (not value or any(not 1 <= m <= 12 for m in value)):
            raise ValueError("must list months from 1 to 12")
        return value

    def dates(self, start: date, end: date) -> Iterable[date]:
        year, month = start.year, start.month
        # A shift can carry the closure into the next month, so start a month early.
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        while date(year, month, 1) <= end:
            if self.months is None or month in self.months:
                day = nth_weekday(year, month, WEEKDAYS.index(self.weekday), self.nth)
                if day is not None:
                    day = shift_for_holiday(day, self.holiday_shift)
                    if start <= day <= end:
                        yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


class HolidayClosure(_Rule):
    """Closed on a named public holiday (e.g. senior centres on 敬老の日)."""

    type: Literal["holiday"]
    # The holiday's own name, as the `holidays` library has it; it is the closure's name too.
    name_ja: str = Field(min_length=1, max_length=200)

    def dates(self, start: date, end: date) -> Iterable[date]:
        for year in range(start.year, end.year + 1):
            for day, name in holidays_of_year(year).items():
                if name == self.name_ja and start <= day <= end:
                    yield day


class DatesClosure(_Rule):
    """Closed on a one-off range of dates (works, elections, a manager's closure)."""

    type: Literal["dates"]
    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> DatesClosure:
        if self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        return self

    def dates(self, start: date, end: date) -> Iterable[date]:
        return _clip(self.from_, self.to, start, end)


ClosureSpec = Annotated[
    AnnualClosure | MonthlyClosure | HolidayClosure | DatesClosure, Field(discriminator="type")
]
closure_spec_adapter: TypeAdapter[ClosureSpec] = TypeAdapter(ClosureSpec)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (1-5, or -1 = last) given weekday (0 = Monday) of a month, if it exists."""
    days = [
        date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if nth <= len(days) else None


def shift_for_holiday(day: date, shift: HolidayShift) -> date:
    """Move a closure off a public holiday: "when that day is a holiday it moves to the next
    weekday" (RULES.md), or to the next non-holiday day (e.g. プラザ橘). A day that is not a
    holiday stays, a Saturday or Sunday included."""
    if shift is HolidayShift.NONE or not is_holiday(day):
        return day
    while is_holiday(day) or (shift is HolidayShift.NEXT_WEEKDAY and day.weekday() >= 5):
        day += timedelta(days=1)
    return day


def closed_dates(rules: Iterable[ClosureSpec], start: date, end: date) -> frozenset[date]:
    """Every date from start to end (inclusive) on which any of the rules closes the facility."""
    for year in range(start.year, end.year + 2):
        holidays_of_year(year)  # warm the cache outside the per-rule loops
    closed: set[date] = set()
    for rule in rules:
        closed.update(rule.dates(start, end))
    return frozenset(closed)


def _safe_date(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _clip(first: date, last: date, start: date, end: date) -> Iterable[date]:
    day, stop = max(first, start), min(last, end)
    while day <= stop:
        yield day
        day += timedelta(days=1)
