"""The pure rules of a booking: periods, fees and cancellation charges (RULES.md)."""

from __future__ import annotations

from datetime import date

from booking.accounts.models import GroupCategory
from booking.inventory.calendar import DayType
from booking.inventory.policy import CancellationRules, ChargeStep, FeeRules
from booking.reservations.rules import (
    cancellation_charge,
    charge_percent,
    coefficient_key,
    compute_fee,
    consecutive_problem,
    may_cancel_online,
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


def fee(periods: list[str], coefficient: str = "general", **rules: object) -> int:
    return compute_fee(
        FeeRules(**rules),  # type: ignore[arg-type]
        LARGE,
        23570,
        periods,
        DAY,
        DayType.SATURDAY,
        coefficient,
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
    free = compute_fee(FeeRules(), None, None, ["10"], DAY, DayType.WEEKDAY, "general")
    assert free.total == 0


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
