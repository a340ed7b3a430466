"""Issue 19: the dates a statistic covers. A fiscal year (年度) runs 1 April to 31 March; a range
is at most 2 years (731 days); a bad query is refused naming its field; no query at all is the
current fiscal year by the clock, in Tokyo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.clock import FrozenClock, local_today
from booking.errors import InvalidInput
from booking.statistics.span import Span, fiscal_year_of, span_from_query

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2026, 11, 25)


def refused(
    start: date | None, end: date | None, fiscal_year: int | None, today: date = TODAY
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        span_from_query(start, end, fiscal_year, today=today)
    return caught.value


def test_a_fiscal_year_is_april_to_march() -> None:
    assert Span.fiscal_year(2026) == Span(date(2026, 4, 1), date(2027, 3, 31))
    assert span_from_query(None, None, 2026, today=TODAY) == Span(
        date(2026, 4, 1), date(2027, 3, 31)
    )
    assert [m.month for m in Span.fiscal_year(2026).months()] == [4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                                  1, 2, 3]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 3, 31), 2025),
        (date(2026, 4, 1), 2026),
        (date(2027, 3, 31), 2026),
        (date(2027, 4, 1), 2027),
        (date(2027, 1, 1), 2026),
    ],
)
def test_the_fiscal_year_of_a_day(day: date, year: int) -> None:
    assert fiscal_year_of(day) == year


def test_a_range_of_731_days_is_taken_and_732_refused_naming_to() -> None:
    # fiscal 2027 (29 February 2028: 366 days) and fiscal 2028 (365): 731 days, ends included
    start = date(2027, 4, 1)
    assert span_from_query(start, date(2029, 3, 31), None, today=TODAY) == Span(
        start, date(2029, 3, 31)
    )
    assert refused(start, date(2029, 4, 1), None).field == "to"
    # two years without a leap day are 730 days, and a day more is still taken
    assert span_from_query(date(2025, 4, 1), date(2027, 4, 1), None, today=TODAY).end == date(
        2027, 4, 1
    )


def test_one_day_is_a_range() -> None:
    assert span_from_query(TODAY, TODAY, None, today=TODAY) == Span(TODAY, TODAY)


def test_a_span_of_one_month_or_one_day_touches_that_month() -> None:
    may = date(2026, 5, 1)
    assert Span(may, may).months() == [may]
    assert Span(date(2026, 5, 31), date(2026, 6, 1)).months() == [may, date(2026, 6, 1)]


def test_to_before_from_is_refused_naming_to() -> None:
    error = refused(date(2026, 5, 2), date(2026, 5, 1), None)
    assert (error.field, error.message) == ("to", "must not be before from")


def test_half_a_range_is_refused_naming_what_is_missing() -> None:
    error = refused(date(2026, 5, 1), None, None)
    assert (error.field, error.message) == ("to", "a range needs both from and to")
    assert refused(None, date(2026, 5, 1), None).field == "from"


def test_a_day_outside_the_calendar_is_refused_naming_its_end() -> None:
    assert refused(date(1899, 12, 31), date(2026, 5, 1), None).field == "from"
    assert refused(date(2026, 5, 1), date(2200, 1, 1), None).field == "to"


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 5, 1), date(2026, 6, 1)), (date(2026, 5, 1), None), (None, date(2026, 6, 1))],
)
def test_a_fiscal_year_with_a_range_is_refused_naming_fiscal_year(
    start: date | None, end: date | None
) -> None:
    error = refused(start, end, 2026)
    assert (error.field, error.message) == (
        "fiscal_year",
        "give fiscal_year or from and to, not both",
    )


@pytest.mark.parametrize("year", [0, -1, 1899, 2199, 10_000])
def test_a_fiscal_year_out_of_range_is_refused(year: int) -> None:
    assert refused(None, None, year).field == "fiscal_year"


def test_the_first_and_the_last_fiscal_year_of_the_calendar_are_taken() -> None:
    # The calendar runs 1 January 1900 to 31 December 2199: FY2198 ends in March 2199
    assert span_from_query(None, None, 1900, today=TODAY) == Span.fiscal_year(1900)
    assert span_from_query(None, None, 2198, today=TODAY) == Span.fiscal_year(2198)


@pytest.mark.parametrize(
    ("now", "year"),
    [
        # 31 March 2027 23:59 in Tokyo: still fiscal 2026
        (datetime(2027, 3, 31, 14, 59, tzinfo=UTC), 2026),
        # 1 April 2027 00:00 in Tokyo (31 March in UTC): fiscal 2027
        (datetime(2027, 3, 31, 15, 0, tzinfo=UTC), 2027),
        (datetime(2026, 11, 25, 1, 0, tzinfo=UTC), 2026),
    ],
)
def test_no_query_is_the_current_fiscal_year_by_the_clock(now: datetime, year: int) -> None:
    clock = FrozenClock(now)
    assert span_from_query(None, None, None, today=local_today(clock, TOKYO)) == Span.fiscal_year(
        year
    )
