"""The dates a statistic covers: a fiscal year (April to March) or any range of at most 2 years."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from booking.errors import InvalidInput
from booking.inventory.calendar import EARLIEST_DAY, LATEST_DAY, usable_day
from booking.reservations.claims_cache import months_between

# Two years: a fiscal year beside the one before it, the widest comparison a report makes.
MAX_DAYS = 731
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = EARLIEST_DAY.year, LATEST_DAY.year - 1


@dataclass(frozen=True, slots=True)
class Span:
    start: date
    end: date  # inclusive

    @classmethod
    def fiscal_year(cls, year: int) -> Span:
        """年度: 1 April of `year` to 31 March of the next (FY2026 ends in March 2027)."""
        return cls(date(year, 4, 1), date(year + 1, 3, 31))

    def months(self) -> list[date]:
        """The first day of every month the span touches."""
        return months_between(self.start, self.end)


def month_end(month: date) -> date:
    """The last day of the month that starts on `month`."""
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def checked_fiscal_year(year: int, field: str = "fiscal_year") -> int:
    if not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
        raise InvalidInput(
            f"must be a year from {FIRST_FISCAL_YEAR} to {LAST_FISCAL_YEAR}", field=field
        )
    return year


def span_from_query(
    start: date | None, end: date | None, fiscal_year: int | None, *, today: date
) -> Span:
    """`fiscal_year`, or `from` and `to` (both), or, given neither, the current fiscal year."""
    if fiscal_year is not None:
        if start is not None or end is not None:
            raise InvalidInput("give fiscal_year or from and to, not both", field="fiscal_year")
        return Span.fiscal_year(checked_fiscal_year(fiscal_year))
    if start is None and end is None:
        return Span.fiscal_year(fiscal_year_of(today))
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise InvalidInput("a range needs both from and to", field=missing)
    usable_day(start, "from")
    usable_day(end, "to")
    if end < start:
        raise InvalidInput("must not be before from", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a range covers at most {MAX_DAYS} days (2 years)", field="to")
    return Span(start, end)
