"""Boundaries of the inventory rules: the nth weekday at month and year ends, holiday shifts
onto weekends and across month and year ends, the day types that choose a grid (and the
weekend uplift), closure ranges at their first and last day, policy windows at their edges,
and the limits of every rule's fields (the last value accepted, the first refused)."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from booking.errors import InvalidInput
from booking.inventory.calendar import (
    EARLIEST_DAY,
    LATEST_DAY,
    DayType,
    day_type,
    holiday_name,
    usable_day,
)
from booking.inventory.closures import (
    WEEKDAYS,
    HolidayShift,
    MonthlyClosure,
    closed_dates,
    closure_spec_adapter,
    nth_weekday,
    shift_for_holiday,
)
from booking.inventory.policy import (
    DEFAULT_POLICY,
    FeeRules,
    Phase,
    booking_phase,
    effective_policy,
    first_come_opens,
    last_booking_day,
    lottery_cycle,
    months_back,
)
from booking.reservations.rules import compute_fee

TOKYO = ZoneInfo("Asia/Tokyo")
NONE, NEXT_DAY, NEXT_WEEKDAY = HolidayShift.NONE, HolidayShift.NEXT_DAY, HolidayShift.NEXT_WEEKDAY


def d(text: str) -> date:
    return date.fromisoformat(text)


def monthly(nth: int, weekday: str, shift: HolidayShift = NONE, **more: object) -> MonthlyClosure:
    return MonthlyClosure.model_validate(
        {"type": "monthly", "nth": nth, "weekday": weekday, "holiday_shift": shift, **more}
    )


def closed(spec: object, start: str, end: str) -> list[date]:
    rule = spec if isinstance(spec, MonthlyClosure) else closure_spec_adapter.validate_python(spec)
    return sorted(closed_dates([rule], d(start), d(end)))


# --- the nth weekday ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "weekday", "nth", "expected"),
    [
        (2027, 1, "fri", 1, "2027-01-01"),  # the 1st of January is the first Friday
        (2027, 1, "fri", 5, "2027-01-29"),  # a fifth Friday exists
        (2027, 1, "fri", -1, "2027-01-29"),  # ... and is the last
        (2027, 1, "thu", 4, "2027-01-28"),  # January 2027 has four Thursdays
        (2027, 1, "thu", 5, None),  # ... so no fifth
        (2027, 1, "thu", -1, "2027-01-28"),  # and the last is the fourth
        (2027, 12, "fri", 5, "2027-12-31"),  # the last day of the year is a fifth Friday
        (2027, 12, "fri", -1, "2027-12-31"),
        (2027, 12, "sat", 5, None),  # December 2027 has four Saturdays
        (2027, 12, "sat", -1, "2027-12-25"),
        (2026, 12, "thu", 5, "2026-12-31"),
        (2026, 2, "mon", 4, "2026-02-23"),
        (2026, 2, "mon", 5, None),  # a 28-day February never has a fifth of anything
        (2026, 2, "mon", -1, "2026-02-23"),
        (2024, 2, "thu", 5, "2024-02-29"),  # a leap day is a fifth Thursday
        (2028, 2, "tue", 5, "2028-02-29"),
        (2026, 3, "sun", 1, "2026-03-01"),  # the first of the month on a Sunday
        (2026, 3, "mon", 1, "2026-03-02"),  # ... pushes the first Monday to the 2nd
        (2026, 3, "sat", 1, "2026-03-07"),  # ... and the first Saturday to the 7th
    ],
)
def test_nth_weekday_at_month_and_year_ends(year, month, weekday, nth, expected):
    found = nth_weekday(year, month, WEEKDAYS.index(weekday), nth)
    assert found == (d(expected) if expected else None)


def test_a_fifth_weekday_rule_closes_only_the_months_that_have_one():
    # 5th Friday: 29 January, 30 April, 30 July, 29 October and 31 December 2027.
    assert closed(monthly(5, "fri"), "2027-01-01", "2027-12-31") == [
        d("2027-01-29"),
        d("2027-04-30"),
        d("2027-07-30"),
        d("2027-10-29"),
        d("2027-12-31"),
    ]


@pytest.mark.parametrize(
    ("rule", "start", "end", "expected"),
    [
        # The last Friday of December 2027 is the 31st: a range ending on it shows it...
        (monthly(-1, "fri"), "2027-12-31", "2027-12-31", ["2027-12-31"]),
        # ... and one starting on 1 January 2028 shows only January's (the 28th).
        (monthly(-1, "fri"), "2028-01-01", "2028-01-31", ["2028-01-28"]),
        (monthly(-1, "fri"), "2027-12-30", "2028-01-27", ["2027-12-31"]),
        # 1st Friday of January 2027 is New Year's Day: unshifted, shifted to Saturday the 2nd,
        # or past the weekend to Monday the 4th.
        (monthly(1, "fri"), "2027-01-01", "2027-01-31", ["2027-01-01"]),
        (monthly(1, "fri", NEXT_DAY), "2027-01-01", "2027-01-31", ["2027-01-02"]),
        (monthly(1, "fri", NEXT_WEEKDAY), "2027-01-01", "2027-01-31", ["2027-01-04"]),
        # The shifted day at the edges of the range: in on its own day, out the day before.
        (monthly(1, "fri", NEXT_WEEKDAY), "2027-01-04", "2027-01-04", ["2027-01-04"]),
        (monthly(1, "fri", NEXT_WEEKDAY), "2027-01-01", "2027-01-03", []),
        # A rule limited to December, seen over the year end: only December's day.
        (monthly(-1, "fri", months=(12,)), "2027-11-01", "2028-02-29", ["2027-12-31"]),
        (monthly(1, "mon", months=(1,)), "2026-12-01", "2027-01-31", ["2027-01-04"]),
        # A range that starts in February or March (the month before it is looked at too).
        (monthly(-1, "mon"), "2026-02-01", "2026-03-31", ["2026-02-23", "2026-03-30"]),
        (monthly(-1, "mon"), "2026-03-01", "2026-04-26", ["2026-03-30"]),
        # A range that ends on the 1st of a month sees a closure on that 1st.
        (monthly(1, "fri"), "2026-12-05", "2027-01-01", ["2027-01-01"]),
        (monthly(1, "fri"), "2027-01-01", "2027-01-01", ["2027-01-01"]),
        (monthly(1, "fri"), "2027-01-02", "2027-02-04", []),
    ],
)
def test_monthly_rules_across_the_year_end(rule, start, end, expected):
    assert closed(rule, start, end) == [d(x) for x in expected]


# --- holiday shifts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "shift", "expected"),
    [
        # No shift: a holiday stays a closure day.
        ("2026-09-21", NONE, "2026-09-21"),
        # A day that is not a holiday never moves, whatever the shift, a weekend included.
        ("2026-11-24", NEXT_DAY, "2026-11-24"),  # Tuesday
        ("2026-11-24", NEXT_WEEKDAY, "2026-11-24"),
        ("2027-12-25", NEXT_WEEKDAY, "2027-12-25"),  # Saturday
        ("2027-12-26", NEXT_WEEKDAY, "2027-12-26"),  # Sunday
        ("2027-12-26", NEXT_DAY, "2027-12-26"),
        # Friday holiday (春分の日): onto the Saturday, or over the weekend to Monday.
        ("2026-03-20", NEXT_DAY, "2026-03-21"),
        ("2026-03-20", NEXT_WEEKDAY, "2026-03-23"),
        # Saturday holiday (昭和の日 2028): onto the Sunday, or to Monday 1 May (next month).
        ("2028-04-29", NEXT_DAY, "2028-04-30"),
        ("2028-04-29", NEXT_WEEKDAY, "2028-05-01"),
        # Sunday holiday (昭和の日 2029) then a 振替休日 on Monday 30 April: 1 May either way.
        ("2029-04-29", NEXT_DAY, "2029-05-01"),
        ("2029-04-29", NEXT_WEEKDAY, "2029-05-01"),
        ("2029-04-30", NEXT_DAY, "2029-05-01"),  # the substitute holiday itself moves
        # Golden Week 2026: 3 (Sunday), 4, 5 and 6 (振替休日) May are holidays: Thursday 7.
        ("2026-05-03", NEXT_DAY, "2026-05-07"),
        ("2026-05-04", NEXT_WEEKDAY, "2026-05-07"),
        # 敬老の日, 国民の休日, 秋分の日 (21-23 Sep 2026): Thursday 24.
        ("2026-09-21", NEXT_DAY, "2026-09-24"),
        # New Year's Day: on a Friday (2027), a Saturday (2028), a Sunday with Monday 2 January
        # its substitute holiday (2023).
        ("2027-01-01", NEXT_DAY, "2027-01-02"),
        ("2027-01-01", NEXT_WEEKDAY, "2027-01-04"),
        ("2028-01-01", NEXT_DAY, "2028-01-02"),
        ("2028-01-01", NEXT_WEEKDAY, "2028-01-03"),
        ("2023-01-01", NEXT_DAY, "2023-01-03"),
        ("2023-01-01", NEXT_WEEKDAY, "2023-01-03"),
    ],
)
def test_holiday_shift(day, shift, expected):
    assert shift_for_holiday(d(day), shift) == d(expected)


def test_a_weekend_rule_with_next_weekday_stays_on_its_weekend_days():
    # "Last Saturday, moved to the next weekday when a holiday": Saturdays that are not
    # holidays stay closure days (25 Dec 2027, 29 Jan 2028); 29 Apr 2028 (昭和の日, the last
    # Saturday of April) moves to Monday 1 May.
    rule = monthly(-1, "sat", NEXT_WEEKDAY)
    assert closed(rule, "2027-12-01", "2028-01-31") == [d("2027-12-25"), d("2028-01-29")]
    assert closed(rule, "2028-04-01", "2028-05-31") == [d("2028-05-01"), d("2028-05-27")]


# --- day types (the grid, and the weekend and holiday uplift) -----------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-11-23", DayType.SUNDAY_HOLIDAY),  # Monday, 勤労感謝の日
        ("2026-11-24", DayType.WEEKDAY),  # Tuesday
        ("2026-11-27", DayType.WEEKDAY),  # Friday
        ("2026-11-28", DayType.SATURDAY),
        ("2026-11-29", DayType.SUNDAY_HOLIDAY),  # Sunday
        ("2028-04-29", DayType.SUNDAY_HOLIDAY),  # Saturday and 昭和の日: the holiday wins
        ("2026-05-06", DayType.SUNDAY_HOLIDAY),  # Wednesday, 振替休日 (substitute holiday)
        ("2026-05-07", DayType.WEEKDAY),  # the day after it
        ("2026-09-22", DayType.SUNDAY_HOLIDAY),  # Tuesday, 国民の休日 (between two holidays)
        ("2026-12-31", DayType.WEEKDAY),  # Thursday: the year end is a closure, not a holiday
        ("2027-01-01", DayType.SUNDAY_HOLIDAY),  # Friday, 元日
        ("2027-01-02", DayType.SATURDAY),  # not a public holiday
        ("2023-01-02", DayType.SUNDAY_HOLIDAY),  # Monday, 振替休日 for 元日 on a Sunday
        ("2023-01-03", DayType.WEEKDAY),
    ],
)
def test_day_type_of_each_kind_of_day(day, expected):
    assert day_type(d(day)) is expected


@pytest.mark.parametrize(
    ("day", "fee"),
    [
        ("2026-11-24", 6740),  # Tuesday: no uplift
        ("2026-11-27", 6740),  # Friday
        ("2026-11-28", 8080),  # Saturday: 6,740 x 1.2 = 8,088, cut to 8,080
        ("2026-11-29", 8080),  # Sunday
        ("2026-11-23", 8080),  # Monday holiday (勤労感謝の日)
        ("2026-05-06", 8080),  # Wednesday substitute holiday (振替休日)
        ("2026-09-22", 8080),  # Tuesday 国民の休日
        ("2026-12-31", 6740),  # Thursday 31 December: not a public holiday
    ],
)
def test_weekend_and_holiday_uplift_on_each_day_type(day, fee):
    """RULES.md: "optionally +20% on Saturdays, Sundays and holidays", as the calendar
    classifies the day."""
    rules = FeeRules(weekend_holiday_uplift=0.2)
    codes = ["10", "20", "30"]
    charged = compute_fee(
        rules, {"10": 6740}, None, ["10"], codes, day_type(d(day)), "general", in_city=True
    )
    assert charged.total == fee


def test_substitute_and_citizens_holidays_are_named():
    assert holiday_name(d("2026-05-06")) == "振替休日"
    assert holiday_name(d("2026-09-22")) == "国民の休日"
    assert holiday_name(d("2026-12-31")) is None


# --- annual and one-off closures at their first and last day -------------------------------

YEAR_END = {"type": "annual", "from": "12-29", "to": "01-03"}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-12-28", "2026-12-28", []),  # the day before it opens
        ("2026-12-29", "2026-12-29", ["2026-12-29"]),  # its first day
        ("2027-01-03", "2027-01-03", ["2027-01-03"]),  # its last day
        ("2027-01-04", "2027-01-04", []),  # the day after
        ("2026-12-31", "2027-01-01", ["2026-12-31", "2027-01-01"]),  # over the year end
        ("2027-01-03", "2027-12-29", ["2027-01-03", "2027-12-29"]),  # the ends of two closures
        ("2027-01-04", "2027-12-28", []),  # the year between them
    ],
)
def test_year_end_closure_at_its_edges(start, end, expected):
    assert closed(YEAR_END, start, end) == [d(x) for x in expected]


def test_year_end_closure_is_six_days_every_year():
    days = closed(YEAR_END, "2026-01-01", "2035-12-31")
    # 1-3 January 2026, then six days a year for nine years, then 29-31 December 2035.
    assert len(days) == 3 + 6 * 9 + 3
    for year in range(2026, 2035):
        run = [d(f"{year}-12-{x}") for x in (29, 30, 31)] + [
            d(f"{year + 1}-01-0{x}") for x in (1, 2, 3)
        ]
        assert set(run) <= set(days)
        assert d(f"{year}-12-28") not in days
        assert d(f"{year + 1}-01-04") not in days


@pytest.mark.parametrize(
    ("spec", "start", "end", "expected"),
    [
        # A summer closure that does not wrap: its first and last day, not a day more.
        ({"from": "08-13", "to": "08-16"}, "2027-08-12", "2027-08-17", ["13", "14", "15", "16"]),
        # One day a year (from = to): that day only, never the whole year until the next one.
        ({"from": "12-31", "to": "12-31"}, "2027-01-01", "2027-12-31", ["12-31"]),
        ({"from": "01-01", "to": "01-01"}, "2027-01-01", "2027-12-31", ["01-01"]),
        # 29 February: the 28th in a common year, the 29th in a leap year.
        ({"from": "02-29", "to": "03-01"}, "2027-02-01", "2027-03-31", ["02-28", "03-01"]),
        ({"from": "02-29", "to": "03-01"}, "2028-02-01", "2028-03-31", ["02-29", "03-01"]),
        # Wrapping from 31 December to 1 January: two days at each year end.
        ({"from": "12-31", "to": "01-01"}, "2027-01-01", "2027-12-31", ["01-01", "12-31"]),
    ],
)
def test_annual_closure_edges(spec, start, end, expected):
    days = closed({"type": "annual", **spec}, start, end)
    year = start[:4] if len(expected[0]) == 5 else start[:7]
    assert days == [d(f"{year}-{x}") for x in expected]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-05-01", "2026-05-03", ["2026-05-01", "2026-05-02", "2026-05-03"]),
        ("2026-04-30", "2026-05-01", ["2026-05-01"]),  # the range ends on its first day
        ("2026-05-03", "2026-05-04", ["2026-05-03"]),  # the range starts on its last day
        ("2026-04-01", "2026-04-30", []),
        ("2026-05-04", "2026-05-31", []),
    ],
)
def test_one_off_closure_at_its_first_and_last_day(start, end, expected):
    spec = {"type": "dates", "from": "2026-05-01", "to": "2026-05-03"}
    assert closed(spec, start, end) == [d(x) for x in expected]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-09-21", "2026-09-21", ["2026-09-21"]),  # a range of the holiday alone
        ("2026-09-21", "2027-09-19", ["2026-09-21"]),  # starting on it
        ("2026-09-22", "2027-09-20", ["2027-09-20"]),  # ending on next year's
        ("2026-09-22", "2027-09-19", []),
        ("2026-12-31", "2027-01-01", []),  # over a year end, no 敬老の日
    ],
)
def test_named_holiday_closure_at_the_edges_of_the_range(start, end, expected):
    rule = {"type": "holiday", "name_ja": "敬老の日"}
    assert closed(rule, start, end) == [d(x) for x in expected]


def test_a_one_day_closure_over_the_year_end():
    spec = {"type": "dates", "from": "2026-12-31", "to": "2027-01-01"}
    assert closed(spec, "2026-12-31", "2026-12-31") == [d("2026-12-31")]
    assert closed(spec, "2027-01-01", "2027-01-31") == [d("2027-01-01")]


# --- the limits of closure rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        ({"type": "monthly", "nth": -1, "weekday": "mon"}, True),
        ({"type": "monthly", "nth": 1, "weekday": "sun"}, True),
        ({"type": "monthly", "nth": 5, "weekday": "mon"}, True),
        ({"type": "monthly", "nth": 0, "weekday": "mon"}, False),
        ({"type": "monthly", "nth": 6, "weekday": "mon"}, False),
        ({"type": "monthly", "nth": -2, "weekday": "mon"}, False),
        ({"type": "monthly", "nth": 1, "weekday": "mon", "months": [1, 12]}, True),
        ({"type": "monthly", "nth": 1, "weekday": "mon", "months": [0]}, False),
        ({"type": "monthly", "nth": 1, "weekday": "mon", "months": [13]}, False),
        ({"type": "monthly", "nth": 1, "weekday": "mon", "months": []}, False),
        ({"type": "annual", "from": "01-01", "to": "12-31"}, True),
        ({"type": "annual", "from": "02-29", "to": "02-29"}, True),
        ({"type": "annual", "from": "02-30", "to": "03-01"}, False),
        ({"type": "annual", "from": "04-31", "to": "05-01"}, False),
        ({"type": "annual", "from": "00-10", "to": "01-01"}, False),
        ({"type": "annual", "from": "12-00", "to": "01-01"}, False),
        ({"type": "annual", "from": "1-01", "to": "01-01"}, False),
        ({"type": "annual", "from": "12-29", "to": "01-03x"}, False),
        ({"type": "dates", "from": "2026-05-01", "to": "2026-05-01"}, True),
        ({"type": "dates", "from": "2026-05-01", "to": "2026-04-30"}, False),
        ({"type": "holiday", "name_ja": "敬老の日"}, True),
        ({"type": "holiday", "name_ja": ""}, False),
        ({"type": "dates", "from": "2026-05-01", "to": "2026-05-01", "name_ja": ""}, False),
        ({"type": "dates", "from": "2026-05-01", "to": "2026-05-01", "name_en": "x" * 201}, False),
        ({"type": "dates", "from": "2026-05-01", "to": "2026-05-01", "name_en": "x" * 200}, True),
    ],
)
def test_closure_rule_limits(spec, valid):
    if valid:
        closure_spec_adapter.validate_python(spec)
    else:
        with pytest.raises(ValidationError):
            closure_spec_adapter.validate_python(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "monthly", "nth": 0, "weekday": "mon"}, "must be 1 to 5, or -1 for the last"),
        (
            {"type": "monthly", "nth": 1, "weekday": "mon", "months": [13]},
            "must list months from 1 to 12",
        ),
        ({"type": "annual", "from": "1-01", "to": "01-03"}, "must be MM-DD"),
        ({"type": "annual", "from": "02-30", "to": "01-03"}, "no such day of the year"),
        ({"type": "dates", "from": "2026-05-02", "to": "2026-05-01"}, "'to' is before 'from'"),
    ],
)
def test_a_bad_closure_rule_says_exactly_what_is_wrong(spec, message):
    # The message a manager reads in `booking facilities validate`.
    with pytest.raises(ValidationError) as caught:
        closure_spec_adapter.validate_python(spec)
    assert [e["msg"] for e in caught.value.errors()] == [f"Value error, {message}"]


@pytest.mark.parametrize("shift", ["none", "next_day", "next_weekday"])
def test_the_data_spells_each_holiday_shift_as_the_readme_does(shift):
    rule = closure_spec_adapter.validate_python(
        {"type": "monthly", "nth": 3, "weekday": "mon", "holiday_shift": shift}
    )
    assert isinstance(rule, MonthlyClosure)
    # 敬老の日 2026 (21 Sep), then 国民の休日 and 秋分の日: unmoved, or Thursday 24 September.
    expected = "2026-09-21" if shift == "none" else "2026-09-24"
    assert closed(rule, "2026-09-01", "2026-09-30") == [d(expected)]


# --- usable days ---------------------------------------------------------------------------


def test_usable_days_from_1900_to_2199():
    assert usable_day(EARLIEST_DAY, "from") == date(1900, 1, 1)
    assert usable_day(LATEST_DAY, "to") == date(2199, 12, 31)
    for day, field in [(EARLIEST_DAY - timedelta(days=1), "from"), (date(2200, 1, 1), "to")]:
        with pytest.raises(InvalidInput) as caught:
            usable_day(day, field)
        assert caught.value.field == field
        assert caught.value.message == "must be from 1900-01-01 to 2199-12-31"


# --- policy windows at their edges ---------------------------------------------------------


@pytest.mark.parametrize(
    ("use_month", "apply_from", "apply_to", "draw", "confirm_to", "first_come"),
    [
        # January use: M-4 is September of the year before.
        ("2027-01-01", "2026-09-17", "2026-09-23", "2026-09-24", "2026-09-28", "2026-09-29"),
        # April use: M-4 is December; first-come from 29 December (the year-end closure does
        # not move a booking window).
        ("2027-04-01", "2026-12-17", "2026-12-23", "2026-12-24", "2026-12-28", "2026-12-29"),
        # May use: M-4 is January of the same year.
        ("2027-05-01", "2027-01-17", "2027-01-23", "2027-01-24", "2027-01-28", "2027-01-29"),
        # June use: M-4 is February: the 29th exists only in a leap year.
        ("2027-06-01", "2027-02-17", "2027-02-23", "2027-02-24", "2027-02-28", "2027-03-01"),
        ("2028-06-01", "2028-02-17", "2028-02-23", "2028-02-24", "2028-02-28", "2028-02-29"),
        # December use: M-4 is August.
        ("2026-12-01", "2026-08-17", "2026-08-23", "2026-08-24", "2026-08-28", "2026-08-29"),
    ],
)
def test_lottery_calendar_across_year_ends(
    use_month, apply_from, apply_to, draw, confirm_to, first_come
):
    cycle = lottery_cycle(DEFAULT_POLICY, d(use_month) + timedelta(days=14), TOKYO)
    assert cycle is not None
    assert cycle.use_month == d(use_month)
    assert (cycle.apply_from, cycle.apply_to) == (d(apply_from), d(apply_to))
    assert cycle.draw_at.date() == d(draw)
    assert cycle.draw_at.time() == time(9, 0)
    assert cycle.confirm_from == d(draw) + timedelta(days=1)
    assert cycle.confirm_to == d(confirm_to)
    assert cycle.first_come_from == d(first_come)
    assert first_come_opens(DEFAULT_POLICY, d(use_month) + timedelta(days=27)) == d(first_come)


@pytest.mark.parametrize(
    ("month", "back", "expected"),
    [
        ("2027-01-01", 1, "2026-12-01"),
        ("2027-04-01", 4, "2026-12-01"),
        ("2027-05-01", 4, "2027-01-01"),
        ("2027-12-01", 12, "2026-12-01"),
        ("2027-12-01", 11, "2027-01-01"),
        ("2027-03-01", 0, "2027-03-01"),
        ("2027-03-01", 24, "2025-03-01"),
    ],
)
def test_months_back_at_year_ends(month, back, expected):
    assert months_back(d(month), back) == d(expected)


@pytest.mark.parametrize(
    ("today", "phase"),
    [
        ("2026-12-16", Phase.NOT_YET_OPEN),  # the day before the lottery applications
        ("2026-12-17", Phase.LOTTERY),  # their first day
        ("2026-12-23", Phase.LOTTERY),  # their last day
        ("2026-12-24", Phase.NOT_YET_OPEN),  # the draw
        ("2026-12-28", Phase.NOT_YET_OPEN),  # the last day to confirm
        ("2026-12-29", Phase.OPEN),  # first-come opens
        ("2027-04-06", Phase.OPEN),  # the last day to book 9 April (3 days before)
        ("2027-04-07", Phase.PAST),  # the first day refused
        ("2027-04-09", Phase.PAST),  # the day itself
    ],
)
def test_phase_of_9_april_at_each_edge(today, phase):
    assert booking_phase(DEFAULT_POLICY, d("2027-04-09"), d(today)) is phase


def test_booking_until_the_day_itself_when_the_policy_closes_zero_days_before():
    policy = effective_policy({"first_come_closes_days_before": 0, "lottery": {"enabled": False}})
    use = d("2027-04-09")
    assert last_booking_day(policy, use) == use
    assert booking_phase(policy, use, use) is Phase.OPEN
    assert booking_phase(policy, use, use + timedelta(days=1)) is Phase.PAST


def test_the_lottery_window_wins_over_first_come_on_a_shared_day():
    # A policy whose first-come opening falls on the last day of the applications: that day
    # is still the lottery's; first-come starts the day after.
    policy = effective_policy({"first_come_opens_day": 23})
    use = d("2027-04-09")
    assert booking_phase(policy, use, d("2026-12-23")) is Phase.LOTTERY
    assert booking_phase(policy, use, d("2026-12-24")) is Phase.OPEN


def test_a_lottery_window_on_a_past_use_date_is_past():
    # Applications in the window for a use date only days away (months_before = 0): the
    # booking deadline comes first.
    policy = effective_policy(
        {"lottery": {"months_before": 0}, "first_come_opens_months_before": 0}
    )
    use = d("2027-04-20")  # applications 17-23 April; online booking until the 17th
    assert booking_phase(policy, use, d("2027-04-17")) is Phase.LOTTERY
    assert booking_phase(policy, use, d("2027-04-18")) is Phase.PAST


@pytest.mark.parametrize(
    ("layer", "valid"),
    [
        ({"first_come_opens_months_before": 0}, True),
        ({"first_come_opens_months_before": 24}, True),
        ({"first_come_opens_months_before": 25}, False),
        ({"first_come_opens_months_before": -1}, False),
        ({"first_come_opens_day": 1}, True),
        ({"first_come_opens_day": 31}, True),
        ({"first_come_opens_day": 32}, False),
        ({"first_come_closes_days_before": 0}, True),
        ({"first_come_closes_days_before": -1}, False),
        ({"lottery": {"months_before": 0}}, True),
        ({"lottery": {"months_before": 24}}, True),
        ({"lottery": {"months_before": 25}}, False),
        ({"lottery": {"months_before": -1}}, False),
        ({"lottery": {"draw_hour": 0}}, True),
        ({"lottery": {"draw_hour": 23}}, True),
        ({"lottery": {"draw_hour": 24}}, False),
        ({"lottery": {"draw_hour": -1}}, False),
        ({"lottery": {"quota_per_facility_month": 0}}, True),
        ({"lottery": {"quota_per_facility_month": -1}}, False),
        ({"lottery": {"winners_per_slot": 1}}, True),
        ({"lottery": {"winners_per_slot": 0}}, False),
        ({"lottery": {"win_cap": 1}}, True),
        ({"lottery": {"win_cap": 0}}, False),
        ({"lottery": {"win_cap": None}}, True),
        # The lottery's days may be equal, never go backwards: each pair in turn.
        ({"lottery": {"apply_from_day": 23, "apply_to_day": 23}}, True),
        ({"lottery": {"apply_from_day": 24, "apply_to_day": 23}}, False),
        ({"lottery": {"draw_day": 23}}, True),
        ({"lottery": {"draw_day": 22}}, False),
        ({"lottery": {"confirm_from_day": 24}}, True),
        ({"lottery": {"confirm_from_day": 23}}, False),
        ({"lottery": {"confirm_to_day": 25}}, True),
        ({"lottery": {"confirm_to_day": 24}}, False),
        ({"lottery": {"apply_from_day": 1, "apply_to_day": 31, "draw_day": 31}}, False),
        ({"lottery": {"apply_from_day": 0}}, False),
        ({"lottery": {"confirm_to_day": 31}}, True),
        ({"lottery": {"confirm_to_day": 32}}, False),
        ({"fees": {"out_of_city_coefficient": 0.0}}, True),
        ({"fees": {"out_of_city_coefficient": 10.0}}, True),
        ({"fees": {"out_of_city_coefficient": 10.01}}, False),
        ({"fees": {"weekend_holiday_uplift": 0.0}}, True),
        ({"fees": {"weekend_holiday_uplift": 10.0}}, True),
        ({"fees": {"weekend_holiday_uplift": 10.01}}, False),
        ({"fees": {"weekend_holiday_uplift": -0.01}}, False),
        ({"fees": {"rounding_yen": 1}}, True),
        ({"fees": {"rounding_yen": 0}}, False),
        ({"cancellation": {"online_until_days_before": 0}}, True),
        ({"cancellation": {"online_until_days_before": -1}}, False),
        ({"cancellation": {"schedule": [{"from_days_before": 0, "charge_percent": 100}]}}, True),
        ({"cancellation": {"schedule": [{"from_days_before": 0, "charge_percent": 0}]}}, True),
        ({"cancellation": {"schedule": [{"from_days_before": 0, "charge_percent": 101}]}}, False),
        ({"cancellation": {"schedule": [{"from_days_before": -1, "charge_percent": 50}]}}, False),
        ({"holds": {"days": 0}}, True),
        ({"holds": {"days": -1}}, False),
    ],
)
def test_policy_limits(layer, valid):
    if valid:
        effective_policy(layer)
    else:
        with pytest.raises(ValidationError):
            effective_policy(layer)


def test_policy_defaults_are_the_rules():
    """RULES.md: lottery 17th-23rd of M-4, draw on the 24th at 9:00, confirm 25th-28th, 8 slots
    per group, facility and month, one winner; first-come from the 29th of M-4 until 3 days
    before; fees x1.0 (commercial and admission x3.0, exempt free), rounded to 10 yen; free
    online cancellation until 3 days before, then 100% from 2 days before; holds void at
    17:00 three days later, and not allowed unless a policy says so."""
    p = DEFAULT_POLICY
    assert (p.online, p.requires_approval, p.out_of_city_may_book) == (True, False, True)
    assert (p.first_come_opens_months_before, p.first_come_opens_day) == (4, 29)
    assert p.first_come_closes_days_before == 3
    lottery = p.lottery
    assert (lottery.enabled, lottery.months_before) == (True, 4)
    assert (lottery.apply_from_day, lottery.apply_to_day, lottery.draw_day) == (17, 23, 24)
    assert (lottery.draw_hour, lottery.confirm_from_day, lottery.confirm_to_day) == (9, 25, 28)
    assert (lottery.quota_per_facility_month, lottery.winners_per_slot) == (8, 1)
    assert lottery.win_cap is None
    assert p.fees.coefficients == {
        "general": 1.0,
        "exempt": 0.0,
        "commercial": 3.0,
        "admission": 3.0,
    }
    assert (p.fees.weekend_holiday_uplift, p.fees.rounding_yen) == (0.0, 10)
    assert p.cancellation.online_until_days_before == 3
    assert [(s.from_days_before, s.charge_percent) for s in p.cancellation.schedule] == [(2, 100)]
    assert (p.holds.allowed, p.holds.days, p.holds.expires_at) == (False, 3, time(17, 0))
