"""Every threshold of the pure booking rules on both sides of its edge (issue 15): the uplift on
each day type, the cancellation deadline and charge steps, period runs, the hold deadline."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from booking.inventory.calendar import DayType, day_type
from booking.inventory.policy import CancellationRules, ChargeStep, FeeRules, effective_policy
from booking.reservations.availability import AvailabilityQuery, SearchTooLarge, search_availability
from booking.reservations.bookings import hold_deadline
from booking.reservations.claims import slot_label
from booking.reservations.rules import (
    cancellation_charge,
    charge_percent,
    compute_fee,
    consecutive_problem,
    in_day_order,
    may_cancel_online,
    registration_problem,
    residency_problem,
)
from booking.settings import Settings
from tests.reservations.memory import ROOMS, room_info, snapshot
from tests.reservations.test_properties import FixedClaims

WEEKDAY_CODES = ("10", "20", "30")
SUNDAY_CODES = ("10", "20")  # no evening on Sundays and holidays
LARGE = {"10": 6740, "20": 7860, "30": 8980}  # Kawasaki's published large meeting room
ALL_DAY = 23570
UPLIFT = FeeRules(weekend_holiday_uplift=0.2)


# --- the weekend and holiday uplift on each day type ------------------------------------------


@pytest.mark.parametrize(
    ("day", "kind", "morning", "all_day"),
    [
        (date(2027, 2, 10), DayType.WEEKDAY, 6740, 23570),  # a Wednesday: no uplift
        (date(2027, 2, 12), DayType.WEEKDAY, 6740, 23570),  # the Friday after a holiday
        # +20%, cut below 10 yen: 6,740 x 1.2 = 8,088 -> 8,080; 23,570 x 1.2 = 28,284 -> 28,280
        (date(2027, 2, 13), DayType.SATURDAY, 8080, 28280),
        (date(2027, 2, 14), DayType.SUNDAY_HOLIDAY, 8080, 28280),  # a Sunday
        (date(2027, 2, 11), DayType.SUNDAY_HOLIDAY, 8080, 28280),  # 建国記念の日, a Thursday
        (date(2027, 1, 11), DayType.SUNDAY_HOLIDAY, 8080, 28280),  # 成人の日, a Monday
        (date(2027, 3, 22), DayType.SUNDAY_HOLIDAY, 8080, 28280),  # 振替休日, a Monday
    ],
)
def test_the_uplift_applies_on_saturdays_sundays_and_holidays_only(
    day: date, kind: DayType, morning: int, all_day: int
) -> None:
    assert day_type(day) is kind
    codes = SUNDAY_CODES if kind is DayType.SUNDAY_HOLIDAY else WEEKDAY_CODES
    one = compute_fee(UPLIFT, LARGE, None, ["10"], codes, kind, "general", in_city=True)
    assert one.total == morning
    assert one.breakdown["uplift"] == (0.0 if kind is DayType.WEEKDAY else 0.2)
    whole = compute_fee(UPLIFT, None, ALL_DAY, codes, codes, kind, "general", in_city=True)
    assert whole.total == all_day
    # Without an uplift in the policy, every day type costs the same.
    plain = compute_fee(FeeRules(), LARGE, None, ["10"], codes, kind, "general", in_city=True)
    assert plain.total == 6740


def test_the_fee_is_cut_below_the_rounding_step_never_rounded_up() -> None:
    # 1,685 x 1.0 = 1,685 -> 1,680 (cut, not 1,690); a 100-yen step cuts 1,685 to 1,600.
    def morning(rules: FeeRules, base: int) -> int:
        return compute_fee(
            rules, {"10": base}, None, ["10"], ("10",), DayType.WEEKDAY, "general", in_city=True
        ).total

    assert morning(FeeRules(), 1685) == 1680
    assert morning(FeeRules(rounding_yen=100), 1685) == 1600
    assert morning(FeeRules(), 1680) == 1680  # a multiple of the step stays as it is


def test_the_all_day_tariff_needs_every_period_of_that_day() -> None:
    # On a Sunday the day is 午前+午後: both together take the all-day tariff.
    sunday = compute_fee(
        FeeRules(),
        LARGE,
        ALL_DAY,
        ["10", "20"],
        SUNDAY_CODES,
        DayType.SUNDAY_HOLIDAY,
        "general",
        in_city=True,
    )
    assert sunday.total == ALL_DAY
    assert sunday.breakdown["lines"] == [{"period": "all_day", "base": ALL_DAY}]
    # On a weekday the same two periods are one short of the day: each period's fee.
    weekday = compute_fee(
        FeeRules(),
        LARGE,
        ALL_DAY,
        ["10", "20"],
        WEEKDAY_CODES,
        DayType.WEEKDAY,
        "general",
        in_city=True,
    )
    assert weekday.total == 6740 + 7860
    assert weekday.breakdown["lines"] == [
        {"period": "10", "base": 6740},
        {"period": "20", "base": 7860},
    ]
    # A room without an all-day tariff charges every period, the whole day too.
    assert (
        compute_fee(
            FeeRules(),
            LARGE,
            None,
            list(WEEKDAY_CODES),
            WEEKDAY_CODES,
            DayType.WEEKDAY,
            "general",
            in_city=True,
        ).total
        == 6740 + 7860 + 8980
    )


# --- cancellation: the online deadline and each step of the schedule -------------------------

USE = date(2027, 2, 10)


@pytest.mark.parametrize(
    ("today", "online", "percent"),
    [
        (date(2027, 2, 6), True, 0),  # 4 days before
        (date(2027, 2, 7), True, 0),  # 3 days before: the last day a group cancels online, free
        (date(2027, 2, 8), False, 100),  # 2 days before: the first day of the full fee
        (date(2027, 2, 9), False, 100),
        (date(2027, 2, 10), False, 100),  # the use date itself
    ],
)
def test_the_default_deadline_three_days_before(today: date, online: bool, percent: int) -> None:
    rules = CancellationRules()
    assert may_cancel_online(rules, USE, today) is online
    assert charge_percent(rules, USE, today) == percent
    assert cancellation_charge(rules, 8000, USE, today, facility_cause=False) == 80 * percent
    # A cancellation the facility causes is free on every day.
    assert cancellation_charge(rules, 8000, USE, today, facility_cause=True) == 0


STEPPED = CancellationRules(
    online_until_days_before=10,
    schedule=(
        ChargeStep(from_days_before=9, charge_percent=30),
        ChargeStep(from_days_before=2, charge_percent=100),
    ),
)


@pytest.mark.parametrize(
    ("days_before", "online", "percent"),
    [
        (11, True, 0),
        (10, True, 0),  # the online deadline's last day
        (9, False, 30),  # the first step's first day
        (3, False, 30),  # the first step's last day
        (2, False, 100),  # the second step's first day
        (0, False, 100),
    ],
)
def test_each_step_of_a_charge_schedule_starts_on_its_day(
    days_before: int, online: bool, percent: int
) -> None:
    today = date.fromordinal(USE.toordinal() - days_before)
    assert may_cancel_online(STEPPED, USE, today) is online
    assert charge_percent(STEPPED, USE, today) == percent


@pytest.mark.parametrize(("days_before", "percent"), [(4, 100), (3, 100), (2, 50), (0, 50)])
def test_past_the_deadline_and_before_the_first_step_the_full_fee_is_due(
    days_before: int, percent: int
) -> None:
    # Online until 5 days before, then "from 2 days before, 50%": on days 4 and 3 no step
    # applies yet, and the default rule of RULES.md holds (later than the deadline: full fee).
    rules = CancellationRules(
        online_until_days_before=5, schedule=(ChargeStep(from_days_before=2, charge_percent=50),)
    )
    today = date.fromordinal(USE.toordinal() - days_before)
    assert not may_cancel_online(rules, USE, today)
    assert charge_percent(rules, USE, today) == percent


def test_a_part_charge_is_cut_to_the_yen() -> None:
    rules = CancellationRules(
        online_until_days_before=5, schedule=(ChargeStep(from_days_before=4, charge_percent=30),)
    )
    # 8,085 x 30% = 2,425.5 -> 2,425
    assert cancellation_charge(rules, 8085, USE, date(2027, 2, 7), facility_cause=False) == 2425


# --- period runs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "codes", "ordered"),
    [
        (["10"], WEEKDAY_CODES, ["10"]),
        (["30"], WEEKDAY_CODES, ["30"]),  # the last period alone
        (["10", "20"], WEEKDAY_CODES, ["10", "20"]),
        (["30", "20"], WEEKDAY_CODES, ["20", "30"]),  # any order, kept in the day's order
        (["20", "30", "10"], WEEKDAY_CODES, ["10", "20", "30"]),  # the whole day
        (["20", "10"], SUNDAY_CODES, ["10", "20"]),  # a Sunday's whole day
    ],
)
def test_one_run_of_consecutive_periods_is_a_booking(
    requested: list[str], codes: tuple[str, ...], ordered: list[str]
) -> None:
    assert consecutive_problem(requested, codes) is None
    assert in_day_order(requested, codes) == ordered


GAP = "the periods of one booking must follow each other (e.g. 午前 and 午後)"


@pytest.mark.parametrize(
    ("requested", "codes", "problem"),
    [
        ([], WEEKDAY_CODES, "give at least one period"),
        (["10", "30"], WEEKDAY_CODES, GAP),
        (["30", "10"], WEEKDAY_CODES, GAP),
        (["30"], SUNDAY_CODES, "period 30 is not a period of this room on that day (10, 20)"),
        (["20", "30"], SUNDAY_CODES, "period 30 is not a period of this room on that day (10, 20)"),
        (
            ["40", "10"],
            WEEKDAY_CODES,
            "period 40 is not a period of this room on that day (10, 20, 30)",
        ),
        (["10", "10"], WEEKDAY_CODES, "a period is given twice"),
        (["10", "20", "20"], WEEKDAY_CODES, "a period is given twice"),
    ],
)
def test_anything_else_is_refused_with_its_reason(
    requested: list[str], codes: tuple[str, ...], problem: str
) -> None:
    assert consecutive_problem(requested, codes) == problem


def test_the_day_order_is_the_grids_not_the_codes_alphabetical_order() -> None:
    # A grid whose codes do not sort as its periods follow each other (a sports day's slots).
    codes = ("9", "11", "13", "15")
    assert consecutive_problem(["11", "9"], codes) is None
    assert in_day_order(["11", "9"], codes) == ["9", "11"]
    assert in_day_order(["15", "13", "11"], codes) == ["11", "13", "15"]
    assert consecutive_problem(["9", "13"], codes) == GAP


# --- the hold deadline --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "holds", "expires"),
    [
        # 17:00 JST on the third day = 08:00 UTC
        (date(2026, 11, 25), {}, datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
        (date(2026, 11, 29), {}, datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),  # into December
        (date(2026, 12, 30), {}, datetime(2027, 1, 2, 8, 0, tzinfo=UTC)),  # into the new year
        (
            date(2026, 11, 25),
            {"days": 0, "expires_at": "12:00"},
            datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        ),
        # 00:30 JST on the 26th is still the 25th in UTC
        (
            date(2026, 11, 25),
            {"days": 1, "expires_at": "00:30"},
            datetime(2026, 11, 25, 15, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_hold_lapses_at_the_policys_local_hour_on_its_day(
    today: date, holds: dict[str, object], expires: datetime, tmp_path: Path
) -> None:
    policy = effective_policy({"holds": {"allowed": True, **holds}})
    found = hold_deadline(policy, today, Settings(database_url=None, data_dir=tmp_path))
    assert found == expires


def test_a_slot_is_named_by_room_date_and_period_name_or_its_code() -> None:
    room = room_info("第1集会室", (1,), 1)
    assert slot_label(room, date(2027, 2, 10), "20") == "第1集会室 2027-02-10 午後"
    # A code the room's grid does not name (data changed since the claim) shows as it is.
    assert slot_label(room, date(2027, 2, 10), "99") == "第1集会室 2027-02-10 99"


# --- what a fee and a refusal say -------------------------------------------------------------


def test_the_fee_breakdown_shows_every_input_of_the_formula() -> None:
    rules = FeeRules(out_of_city_coefficient=1.5, weekend_holiday_uplift=0.2)
    fee = compute_fee(
        rules,
        LARGE,
        ALL_DAY,
        ["20", "10"],
        WEEKDAY_CODES,
        DayType.SATURDAY,
        "commercial",
        in_city=False,
    )
    # (6,740 + 7,860) x 3 x 1.5 x 1.2 = 78,840
    assert fee.breakdown == {
        "lines": [{"period": "20", "base": 7860}, {"period": "10", "base": 6740}],
        "base": 14600,
        "coefficient": "commercial",
        "factor": 3.0,
        "in_city": False,
        "out_of_city_factor": 1.5,
        "uplift": 0.2,
        "rounding_yen": 10,
        "total": 78840,
    }
    assert fee.total == 78840
    # A room without a tariff: each period at 0, free.
    free = compute_fee(
        FeeRules(),
        None,
        None,
        ["10", "20"],
        WEEKDAY_CODES,
        DayType.WEEKDAY,
        "general",
        in_city=True,
    )
    assert free.breakdown["lines"] == [{"period": "10", "base": 0}, {"period": "20", "base": 0}]
    assert (free.breakdown["base"], free.total) == (0, 0)
    # A period the tariff does not price costs nothing; a category the policy has no
    # coefficient for pays the base rate.
    partial = compute_fee(
        FeeRules(coefficients={}),
        {"10": 1680},
        None,
        ["10", "20"],
        WEEKDAY_CODES,
        DayType.WEEKDAY,
        "admission",
        in_city=True,
    )
    assert partial.breakdown["lines"] == [
        {"period": "10", "base": 1680},
        {"period": "20", "base": 0},
    ]
    assert (partial.breakdown["base"], partial.breakdown["factor"]) == (1680, 1.0)
    assert partial.total == 1680


def test_each_refusal_of_residency_and_registration_says_why() -> None:
    no_lottery = effective_policy({"lottery": {"out_of_city_may_apply": False}})
    in_city_only = effective_policy({"out_of_city_may_book": False})
    assert (
        residency_problem(no_lottery, in_city=False, lottery=True)
        == "this room's lottery takes applications only from in-city groups"
    )
    assert (
        residency_problem(in_city_only, in_city=False, lottery=False)
        == "this room is booked only by in-city groups"
    )
    assert registration_problem(date(2027, 3, 31), date(2027, 4, 1)) == (
        "the registration is valid until 2027-03-31: renew it (from 2026-12-01) before booking "
        "or applying for a later date"
    )


# --- the size of one availability request ----------------------------------------------------


def test_an_availability_request_of_exactly_the_limit_answers_one_room_day_more_is_refused() -> (
    None
):
    network = snapshot()
    first = date(2027, 2, 1)
    room = frozenset({ROOMS["room-1"][0]})

    def search(days: int, limit: int) -> object:
        query = AvailabilityQuery(start=first, end=first + timedelta(days=days - 1), room_ids=room)
        return asyncio.run(
            search_availability(
                None,  # type: ignore[arg-type] - FixedClaims needs no session
                network,
                FixedClaims({}),
                query,
                date(2026, 11, 25),
                max_room_days=limit,
            )
        )

    rooms, _ = search(5, 5)  # type: ignore[misc]
    assert len(rooms[0].days) == 5
    with pytest.raises(SearchTooLarge) as raised:
        search(6, 5)
    error = raised.value
    assert (error.rooms, error.days, error.limit, error.field) == (1, 6, 5, "to")
    assert str(error) == (
        "1 rooms × 6 days is more than one request may ask for (at most 5 rooms × days): narrow "
        "it by ward, kind, facility, room or dates"
    )
