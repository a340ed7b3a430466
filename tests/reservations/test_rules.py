"""The pure rules of a booking: periods, fees and cancellation charges (RULES.md)."""

from __future__ import annotations

from datetime import date

from booking.accounts.models import GroupCategory
from booking.inventory.calendar import DayType
from booking.inventory.policy import (
    DEFAULT_POLICY,
    CancellationRules,
    ChargeStep,
    FeeRules,
    effective_policy,
)
from booking.reservations.rules import (
    cancellation_charge,
    charge_percent,
    coefficient_key,
    compute_fee,
    consecutive_problem,
    may_cancel_online,
    registration_problem,
    residency_problem,
)

DAY = ("10", "20", "30")
LARGE = {"10": 6740, "20": 7860, "30": 8980}  # Kawasaki's published large meeting room


def test_periods_must_be_one_consecutive_run_of_the_days_grid() -> None:
    assert consecutive_problem(["10", "20"], DAY) is None
    assert consecutive_problem(["30", "20", "10"], DAY) is None
    assert consecutive_problem(["10", "30"], DAY) is not None
    assert consecutive_problem(["40"], DAY) is not None
    assert consecutive_problem(["10", "10"], DAY) is not None
    assert consecutive_problem([], DAY) is not None


def fee(
    periods: list[str], coefficient: str = "general", *, in_city: bool = True, **rules: object
) -> int:
    return compute_fee(
        FeeRules(**rules),  # type: ignore[arg-type]
        LARGE,
        23570,
        periods,
        DAY,
        DayType.SATURDAY,
        coefficient,
        in_city=in_city,
    ).total


def test_fee_formula() -> None:
    assert fee(["10"]) == 6740
    assert fee(["10", "20"]) == 14600
    assert fee(["10", "20", "30"]) == 23570  # the all-day tariff
    assert fee(["10"], "commercial") == 20220  # x3
    assert fee(["10"], "exempt") == 0
    # +20% on Saturdays, cut below 10 yen: 6,740 x 1.2 = 8,088 -> 8,080
    assert fee(["10"], weekend_holiday_uplift=0.2) == 8080


def test_a_room_without_a_tariff_is_free() -> None:
    free = compute_fee(
        FeeRules(), None, None, ["10"], DAY, DayType.WEEKDAY, "general", in_city=False
    )
    assert free.total == 0


def test_the_out_of_city_coefficient_prices_out_of_city_groups_only() -> None:
    # The default (no published figure) changes nothing.
    assert fee(["10"], in_city=False) == fee(["10"]) == 6740
    # A facility charging out-of-city groups x1.5: 6,740 x 1.5 = 10,110.
    assert fee(["10"], in_city=False, out_of_city_coefficient=1.5) == 10110
    assert fee(["10"], in_city=True, out_of_city_coefficient=1.5) == 6740
    # It multiplies with the category and the uplift: 6,740 x 3 x 1.5 x 1.2 = 36,396 -> 36,390.
    assert (
        fee(
            ["10"],
            "commercial",
            in_city=False,
            out_of_city_coefficient=1.5,
            weekend_holiday_uplift=0.2,
        )
        == 36390
    )
    assert fee(["10"], "exempt", in_city=False, out_of_city_coefficient=1.5) == 0
    # The breakdown says which applied.
    breakdown = compute_fee(
        FeeRules(out_of_city_coefficient=2.0),
        LARGE,
        None,
        ["20"],
        DAY,
        DayType.WEEKDAY,
        "general",
        in_city=False,
    ).breakdown
    assert breakdown["in_city"] is False
    assert breakdown["out_of_city_factor"] == 2.0
    assert breakdown["total"] == 15720


def test_out_of_city_groups_apply_and_book_where_the_policy_lets_them() -> None:
    # The defaults let everyone (no published rule excludes out-of-city groups).
    for lottery in (True, False):
        assert residency_problem(DEFAULT_POLICY, in_city=False, lottery=lottery) is None
    no_lottery = effective_policy({"lottery": {"out_of_city_may_apply": False}})
    assert residency_problem(no_lottery, in_city=False, lottery=True) is not None
    assert residency_problem(no_lottery, in_city=True, lottery=True) is None
    assert residency_problem(no_lottery, in_city=False, lottery=False) is None  # first-come
    in_city_only = effective_policy({"out_of_city_may_book": False})
    assert residency_problem(in_city_only, in_city=False, lottery=False) is not None
    assert residency_problem(in_city_only, in_city=False, lottery=True) is None
    assert residency_problem(in_city_only, in_city=True, lottery=False) is None


def test_a_registration_books_only_dates_it_is_valid_on() -> None:
    valid_until = date(2027, 3, 31)
    assert registration_problem(valid_until, date(2027, 3, 31)) is None
    problem = registration_problem(valid_until, date(2027, 4, 1))
    assert problem is not None
    assert "2027-03-31" in problem
    assert registration_problem(None, date(2030, 1, 1)) is None  # not issued: refused elsewhere


def test_coefficients_by_category() -> None:
    assert coefficient_key(GroupCategory.GENERAL, charges_admission=False) == "general"
    assert coefficient_key(GroupCategory.GENERAL, charges_admission=True) == "admission"
    assert coefficient_key(GroupCategory.EXEMPT, charges_admission=True) == "exempt"
    assert coefficient_key(GroupCategory.COMMERCIAL, charges_admission=False) == "commercial"


def test_cancellation_schedule() -> None:
    rules = CancellationRules()  # online until 3 days before; from 2 days before, 100%
    use = date(2027, 2, 10)
    assert may_cancel_online(rules, use, date(2027, 2, 7))
    assert not may_cancel_online(rules, use, date(2027, 2, 8))
    assert cancellation_charge(rules, 8000, use, date(2027, 2, 7), facility_cause=False) == 0
    assert cancellation_charge(rules, 8000, use, date(2027, 2, 8), facility_cause=False) == 8000
    assert cancellation_charge(rules, 8000, use, date(2027, 2, 10), facility_cause=True) == 0
    stepped = CancellationRules(
        online_until_days_before=10,
        schedule=(
            ChargeStep(from_days_before=9, charge_percent=30),
            ChargeStep(from_days_before=2, charge_percent=100),
        ),
    )
    assert charge_percent(stepped, use, date(2027, 1, 25)) == 0
    assert charge_percent(stepped, use, date(2027, 2, 5)) == 30
    assert charge_percent(stepped, use, date(2027, 2, 9)) == 100
