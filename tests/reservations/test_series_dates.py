"""The dates of a series' pattern (pure): weeks, fortnights, the nth weekday of a month with
months that have no 5th, year and fiscal-year ends, skipped dates and every refusal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from booking.errors import InvalidInput
from booking.inventory.calendar import LATEST_DAY
from booking.reservations.models import SeriesPattern
from booking.reservations.series_dates import (
    MAX_OCCURRENCES,
    fiscal_year_end,
    nth_weekday,
    series_dates,
)

WEEK, TWO_WEEKS, MONTHLY = (
    SeriesPattern.WEEK,
    SeriesPattern.TWO_WEEKS,
    SeriesPattern.MONTH_WEEKDAY,
)


def test_every_week_over_the_new_year_keeps_the_weekday() -> None:
    dates = series_dates(WEEK, date(2026, 12, 15), date(2027, 1, 12))
    assert dates == [date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29),
                     date(2027, 1, 5), date(2027, 1, 12)]  # fmt: skip
    assert {d.weekday() for d in dates} == {1}


def test_every_other_week_and_the_last_date_inclusive_or_not_on_the_pattern() -> None:
    assert series_dates(TWO_WEEKS, date(2027, 3, 2), date(2027, 3, 30)) == [
        date(2027, 3, 2), date(2027, 3, 16), date(2027, 3, 30)
    ]  # fmt: skip
    # A last date between two occurrences ends the series at the one before it.
    assert series_dates(TWO_WEEKS, date(2027, 3, 2), date(2027, 3, 29))[-1] == date(2027, 3, 16)


def test_a_year_of_weeks_is_53_occurrences_and_one_day_more_is_refused() -> None:
    first = date(2027, 4, 6)
    dates = series_dates(WEEK, first, first + timedelta(days=364))
    assert len(dates) == MAX_OCCURRENCES
    # 366 days (a leap year's) are the longest span, one more is refused.
    assert len(series_dates(WEEK, first, first + timedelta(days=366))) == MAX_OCCURRENCES
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, first, first + timedelta(days=367))
    assert (raised.value.field, raised.value.code) == ("last_date", "series_too_long")


def test_the_second_tuesday_of_each_month_across_the_fiscal_year_end() -> None:
    dates = series_dates(MONTHLY, date(2027, 1, 12), date(2027, 5, 31))
    assert dates == [date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9),
                     date(2027, 4, 13), date(2027, 5, 11)]  # fmt: skip
    assert all(d.weekday() == 1 and 8 <= d.day <= 14 for d in dates)


def test_a_fifth_weekday_has_no_occurrence_in_a_month_without_one() -> None:
    # 29 Dec 2026 is December's 5th Tuesday. January 2027's Tuesdays are 5, 12, 19, 26 and
    # February's 2-23, April's and May's four each: no occurrence; March 30, June 29 are 5th.
    dates = series_dates(MONTHLY, date(2026, 12, 29), date(2027, 6, 30))
    assert dates == [date(2026, 12, 29), date(2027, 3, 30), date(2027, 6, 29)]
    assert nth_weekday(date(2027, 2, 1), 1, 5) is None
    assert nth_weekday(date(2027, 3, 1), 1, 5) == date(2027, 3, 30)


def test_skipped_dates_are_left_out_and_must_be_dates_of_the_series() -> None:
    first, last = date(2027, 1, 5), date(2027, 2, 2)
    assert series_dates(WEEK, first, last, [date(2027, 1, 19)]) == [
        date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 26), date(2027, 2, 2)
    ]  # fmt: skip
    for skip, code in (
        (date(2027, 2, 9), "skip_date_outside"),
        (date(2027, 1, 4), "skip_date_outside"),
        (date(2027, 1, 6), "skip_date_not_in_series"),
    ):
        with pytest.raises(InvalidInput) as raised:
            series_dates(WEEK, first, last, [skip])
        assert (raised.value.field, raised.value.code) == ("skip_dates", code)


def test_a_reversed_range_and_a_series_with_nothing_left_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, date(2027, 2, 2), date(2027, 1, 5))
    assert (raised.value.field, raised.value.code) == ("last_date", "series_dates_reversed")
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, date(2027, 1, 5), date(2027, 1, 11), [date(2027, 1, 5)])
    assert (raised.value.field, raised.value.code) == ("skip_dates", "series_empty")
    assert str(raised.value) == "the series has no date left to book"
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, date(1899, 12, 26), date(1900, 1, 2))
    assert raised.value.field == "first_date"
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, LATEST_DAY - timedelta(days=7), LATEST_DAY + timedelta(days=1))
    assert raised.value.field == "last_date"


def test_a_reversed_range_says_so_in_words() -> None:
    with pytest.raises(InvalidInput) as raised:
        series_dates(WEEK, date(2027, 2, 2), date(2027, 1, 5))
    assert str(raised.value) == "the last date is before the first"


def test_the_nth_weekday_is_counted_from_the_first_date_on_the_6th_and_7th() -> None:
    """The 6th and 7th of a month are still its first such weekday; the 8th its second."""
    # the first Saturday of each month
    assert series_dates(MONTHLY, date(2027, 3, 6), date(2027, 5, 31)) == [
        date(2027, 3, 6), date(2027, 4, 3), date(2027, 5, 1)
    ]  # fmt: skip
    assert series_dates(MONTHLY, date(2027, 1, 7), date(2027, 2, 28))[-1] == date(2027, 2, 4)
    assert series_dates(MONTHLY, date(2027, 1, 8), date(2027, 2, 28))[-1] == date(2027, 2, 12)


def test_a_monthly_series_includes_its_last_date_even_on_the_1st_of_a_month() -> None:
    # The first Saturday: 1 May 2027 is one, and the last date.
    assert series_dates(MONTHLY, date(2027, 3, 6), date(2027, 5, 1))[-1] == date(2027, 5, 1)
    # The second Tuesday, ending on one.
    assert series_dates(MONTHLY, date(2027, 1, 12), date(2027, 3, 9))[-1] == date(2027, 3, 9)


def test_the_last_date_itself_may_be_skipped() -> None:
    assert series_dates(WEEK, date(2027, 1, 5), date(2027, 1, 19), [date(2027, 1, 19)]) == [
        date(2027, 1, 5), date(2027, 1, 12)
    ]  # fmt: skip


def test_the_fiscal_year_ends_on_31_march() -> None:
    assert fiscal_year_end(date(2026, 11, 25)) == date(2027, 3, 31)
    assert fiscal_year_end(date(2027, 3, 31)) == date(2027, 3, 31)
    assert fiscal_year_end(date(2027, 4, 1)) == date(2028, 3, 31)
