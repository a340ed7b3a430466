"""Closure rules: the year end, "3rd Monday, moved on holidays", named holidays, one-offs."""

from datetime import date

import pytest
from pydantic import ValidationError

from booking.inventory.closures import (
    AnnualClosure,
    DatesClosure,
    HolidayClosure,
    HolidayShift,
    MonthlyClosure,
    closed_dates,
    closure_spec_adapter,
    nth_weekday,
    shift_for_holiday,
)

YEAR_END = closure_spec_adapter.validate_python({"type": "annual", "from": "12-29", "to": "01-03"})


def test_year_end_closure_wraps_the_new_year():
    closed = closed_dates([YEAR_END], date(2026, 12, 1), date(2027, 1, 31))
    assert sorted(closed) == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
        date(2027, 1, 3),
    ]


def test_year_end_closure_seen_from_early_january():
    closed = closed_dates([YEAR_END], date(2027, 1, 1), date(2027, 1, 10))
    assert sorted(closed) == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]


def test_nth_weekday_and_last():
    assert nth_weekday(2026, 9, 0, 3) == date(2026, 9, 21)
    assert nth_weekday(2026, 11, 0, -1) == date(2026, 11, 30)
    assert nth_weekday(2026, 2, 0, 5) is None  # February 2026 has four Mondays


def test_third_monday_moves_to_next_weekday_when_a_holiday():
    # 21 Sep 2026 is 敬老の日, 22 Sep 国民の休日, 23 Sep 秋分の日: the closure lands on Thursday 24.
    rule = MonthlyClosure(
        type="monthly", nth=3, weekday="mon", holiday_shift=HolidayShift.NEXT_WEEKDAY
    )
    assert sorted(closed_dates([rule], date(2026, 9, 1), date(2026, 9, 30))) == [date(2026, 9, 24)]
    # October 2026: 3rd Monday is 19 Oct, an ordinary day.
    assert sorted(closed_dates([rule], date(2026, 10, 1), date(2026, 10, 31))) == [
        date(2026, 10, 19)
    ]


def test_holiday_shift_without_moving():
    rule = MonthlyClosure(type="monthly", nth=3, weekday="mon")
    assert date(2026, 9, 21) in closed_dates([rule], date(2026, 9, 1), date(2026, 9, 30))


def test_next_day_shift_skips_only_holidays():
    # 2nd Monday of January 2026 is 成人の日 (12 Jan): the next day, Tuesday 13.
    assert shift_for_holiday(date(2026, 1, 12), HolidayShift.NEXT_DAY) == date(2026, 1, 13)
    # 4 May 2026 (Monday, みどりの日) is followed by 5 May (こどもの日) and 6 May (振替休日):
    # next_day skips all three holidays and lands on Thursday 7 May.
    assert shift_for_holiday(date(2026, 5, 4), HolidayShift.NEXT_DAY) == date(2026, 5, 7)
    # A Friday holiday, 20 Mar 2026 (春分の日), moves to Saturday 21 with next_day (a Saturday
    # is not a holiday) and to Monday 23 with next_weekday (the weekend is skipped too).
    friday_holiday = date(2026, 3, 20)
    assert friday_holiday.weekday() == 4
    assert shift_for_holiday(friday_holiday, HolidayShift.NEXT_DAY) == date(2026, 3, 21)
    assert shift_for_holiday(friday_holiday, HolidayShift.NEXT_WEEKDAY) == date(2026, 3, 23)
    # A Friday that is not a holiday (16 Jul 2027) stays where it is.
    assert shift_for_holiday(date(2027, 7, 16), HolidayShift.NEXT_WEEKDAY) == date(2027, 7, 16)


def test_shift_can_cross_into_the_next_month():
    # 29 Apr 2029 (昭和の日) is a Sunday, so Monday 30 April is a 振替休日: the last Monday of
    # April is a holiday at the month's end, and the shift carries the closure to Tuesday 1 May.
    for shift in (HolidayShift.NEXT_DAY, HolidayShift.NEXT_WEEKDAY):
        rule = MonthlyClosure(
            type="monthly", nth=-1, weekday="mon", months=(4,), holiday_shift=shift
        )
        assert closed_dates([rule], date(2029, 4, 1), date(2029, 5, 31)) == {date(2029, 5, 1)}
        # Seen from May alone (the rule's month is before the range), the closure is still there.
        assert closed_dates([rule], date(2029, 5, 1), date(2029, 5, 31)) == {date(2029, 5, 1)}
        # And a range that ends on 30 April does not show it.
        assert closed_dates([rule], date(2029, 4, 1), date(2029, 4, 30)) == frozenset()


def test_monthly_rule_only_in_its_months():
    rule = MonthlyClosure(type="monthly", nth=4, weekday="mon", months=(2, 4, 6, 8, 10, 12))
    closed = closed_dates([rule], date(2026, 1, 1), date(2026, 6, 30))
    assert sorted(closed) == [date(2026, 2, 23), date(2026, 4, 27), date(2026, 6, 22)]


def test_named_holiday_closure():
    rule = HolidayClosure(type="holiday", name_ja="敬老の日")
    assert closed_dates([rule], date(2026, 1, 1), date(2027, 12, 31)) == {
        date(2026, 9, 21),
        date(2027, 9, 20),
    }


def test_one_off_dates():
    rule = DatesClosure.model_validate({"type": "dates", "from": "2026-05-01", "to": "2026-05-03"})
    assert closed_dates([rule], date(2026, 5, 2), date(2026, 5, 31)) == {
        date(2026, 5, 2),
        date(2026, 5, 3),
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "annual", "from": "13-01", "to": "01-03"}, "no such day"),
        ({"type": "annual", "from": "12-29"}, "Field required"),
        ({"type": "monthly", "nth": 6, "weekday": "mon"}, "1 to 5"),
        ({"type": "monthly", "nth": 1, "weekday": "funday"}, "Input should be"),
        ({"type": "monthly", "nth": 1, "weekday": "mon", "months": [13]}, "months from 1 to 12"),
        ({"type": "dates", "from": "2026-05-03", "to": "2026-05-01"}, "before"),
        ({"type": "weekly"}, "does not match any of the expected tags"),
    ],
)
def test_bad_rules_are_rejected(spec, message):
    with pytest.raises(ValidationError, match=message):
        closure_spec_adapter.validate_python(spec)


def test_annual_rule_accepts_leap_day():
    rule = AnnualClosure.model_validate({"type": "annual", "from": "02-29", "to": "02-29"})
    assert closed_dates([rule], date(2027, 2, 1), date(2027, 3, 1)) == {date(2027, 2, 28)}
