"""Closure rules against a day-by-day brute force (Hypothesis).

The oracle below is written plainly, without the module's helpers: it reads Japan's holidays
from the `holidays` library itself, finds the nth weekday by arithmetic on the day of the
month, and walks every day of the window (up to ten years) asking whether a rule closes it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import cache

import holidays
from hypothesis import given
from hypothesis import strategies as st

from booking.inventory.closures import (
    WEEKDAYS,
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

# Windows from 2010 to 2050: forty years of holidays, each computed once per run.
FIRST, LAST = date(2010, 1, 1), date(2050, 12, 31)
TEN_YEARS = 3652


@cache
def national_holidays(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("JP", years=year, language="ja"))


def holiday(day: date) -> bool:
    return day in national_holidays(day.year)


HOLIDAY_NAMES = sorted(
    {name for year in (2019, 2020, 2026) for name in national_holidays(year).values()}
)


# --- the oracle ----------------------------------------------------------------------------


def is_nth_weekday(day: date, weekday: int, nth: int) -> bool:
    if day.weekday() != weekday:
        return False
    if nth == -1:
        return (day + timedelta(days=7)).month != day.month  # no same weekday later this month
    return (day.day - 1) // 7 + 1 == nth


def shifted(day: date, shift: HolidayShift) -> date:
    if shift is HolidayShift.NONE or not holiday(day):
        return day
    day += timedelta(days=1)
    while holiday(day) or (shift is HolidayShift.NEXT_WEEKDAY and day.weekday() >= 5):
        day += timedelta(days=1)
    return day


@cache
def month_day(year: int, text: str) -> date:
    month, day = int(text[:2]), int(text[3:])
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))  # 29 Feb -> 28 Feb


def oracle(rules: list, start: date, end: date) -> set[date]:
    window = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    closed: set[date] = set()
    for rule in rules:
        if isinstance(rule, MonthlyClosure):
            closed |= monthly_oracle(rule, start, end)
        elif isinstance(rule, AnnualClosure):
            closed |= {day for day in window if in_annual(rule, day)}
        elif isinstance(rule, DatesClosure):
            closed |= {day for day in window if rule.from_ <= day <= rule.to}
        elif isinstance(rule, HolidayClosure):
            closed |= {
                day for day in window if national_holidays(day.year).get(day) == rule.name_ja
            }
    return closed


def monthly_oracle(rule: MonthlyClosure, start: date, end: date) -> set[date]:
    """Every day that is the rule's nth weekday (from two months early, since a shift carries
    a closure forward), moved off holidays as the rule says, if inside the window."""
    closed: set[date] = set()
    weekday = WEEKDAYS.index(rule.weekday)
    day = start - timedelta(days=62)
    while day <= end:
        if (rule.months is None or day.month in rule.months) and is_nth_weekday(
            day, weekday, rule.nth
        ):
            moved = shifted(day, rule.holiday_shift)
            if start <= moved <= end:
                closed.add(moved)
        day += timedelta(days=1)
    return closed


def in_annual(rule: AnnualClosure, day: date) -> bool:
    first, last = month_day(day.year, rule.from_), month_day(day.year, rule.to)
    if (rule.to[:2], rule.to[3:]) < (rule.from_[:2], rule.from_[3:]):  # wraps the year end
        return day >= first or day <= last
    return first <= day <= last


# --- random rules --------------------------------------------------------------------------


@st.composite
def month_days(draw: st.DrawFn) -> str:
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(2024, month)[1]))
    return f"{month:02d}-{day:02d}"


days = st.dates(FIRST, LAST)
annual = st.builds(lambda f, t: {"type": "annual", "from": f, "to": t}, month_days(), month_days())
year_end_like = st.builds(
    lambda f, t: {"type": "annual", "from": f"12-{f:02d}", "to": f"01-{t:02d}"},
    st.integers(20, 31),
    st.integers(1, 10),
)
monthly = st.builds(
    lambda nth, weekday, months, shift: {
        "type": "monthly",
        "nth": nth,
        "weekday": weekday,
        "months": months,
        "holiday_shift": shift,
    },
    st.sampled_from([-1, 1, 2, 3, 4, 5]),
    st.sampled_from(WEEKDAYS),
    st.none() | st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True),
    st.sampled_from(list(HolidayShift)),
)
named_holiday = st.builds(
    lambda name: {"type": "holiday", "name_ja": name}, st.sampled_from(HOLIDAY_NAMES)
)
one_off = st.builds(
    lambda first, length: {"type": "dates", "from": first, "to": first + timedelta(days=length)},
    st.dates(FIRST, date(2050, 10, 31)),
    st.integers(0, 60),
)
rules = st.lists(
    st.one_of(annual, year_end_like, monthly, named_holiday, one_off), min_size=1, max_size=4
).map(lambda specs: [closure_spec_adapter.validate_python(spec) for spec in specs])
lengths = st.one_of(st.just(TEN_YEARS), st.integers(0, TEN_YEARS))


@given(rules=rules, start=st.dates(FIRST, date(2040, 12, 31)), length=lengths)
def test_closed_dates_match_a_day_by_day_brute_force(rules, start, length):
    end = start + timedelta(days=length)
    assert closed_dates(rules, start, end) == oracle(rules, start, end)


@given(rules=rules, start=st.dates(FIRST, date(2040, 12, 31)), cut=st.integers(0, 400))
def test_a_window_split_in_two_closes_the_same_days(rules, start, cut):
    # What a page shows month by month is what a year's view shows.
    end = start + timedelta(days=400)
    middle = start + timedelta(days=cut)
    whole = closed_dates(rules, start, end)
    parts = closed_dates(rules, start, middle) | closed_dates(
        rules, middle + timedelta(days=1), end
    )
    assert whole == parts
    assert all(start <= day <= end for day in whole)


@given(day=days, shift=st.sampled_from(list(HolidayShift)))
def test_a_shift_lands_on_the_first_day_it_allows(day, shift):
    moved = shift_for_holiday(day, shift)
    assert moved == shifted(day, shift)
    if shift is HolidayShift.NONE or not holiday(day):
        assert moved == day
    else:
        # Every day skipped was a holiday (or, for next_weekday, a weekend day); the day it
        # lands on is neither.
        assert moved > day
        assert not holiday(moved)
        assert shift is HolidayShift.NEXT_DAY or moved.weekday() < 5
        skipped = [day + timedelta(days=i) for i in range((moved - day).days)]
        assert all(
            holiday(x) or (shift is HolidayShift.NEXT_WEEKDAY and x.weekday() >= 5) for x in skipped
        )


@given(
    year=st.integers(1900, 2199),
    month=st.integers(1, 12),
    weekday=st.integers(0, 6),
    nth=st.sampled_from([-1, 1, 2, 3, 4, 5]),
)
def test_nth_weekday_is_the_only_day_of_the_month_that_is_it(year, month, weekday, nth):
    matches = [
        date(year, month, x)
        for x in range(1, calendar.monthrange(year, month)[1] + 1)
        if is_nth_weekday(date(year, month, x), weekday, nth)
    ]
    assert len(matches) <= 1
    assert nth_weekday(year, month, weekday, nth) == (matches[0] if matches else None)
