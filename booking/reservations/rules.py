"""Pure rules of a booking: periods, fees, cancellation charges (RULES.md "Fees",
"Cancellation, no-shows, holds"). Numbers come from the room's policy, never from here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from booking.accounts.models import GroupCategory
from booking.accounts.rules import renewal_opens
from booking.inventory.calendar import DayType
from booking.inventory.policy import CancellationRules, FeeRules, ReservationPolicy


def consecutive_problem(requested: Sequence[str], day_codes: Sequence[str]) -> str | None:
    """Periods must be periods of that day's grid, without repeats, one consecutive run."""
    if not requested:
        return "give at least one period"
    unknown = [code for code in requested if code not in day_codes]
    if unknown:
        return (
            f"period {unknown[0]} is not a period of this room on that day ({', '.join(day_codes)})"
        )
    if len(set(requested)) != len(requested):
        return "a period is given twice"
    positions = sorted(day_codes.index(code) for code in requested)
    if positions != list(range(positions[0], positions[0] + len(positions))):
        return "the periods of one booking must follow each other (e.g. 午前 and 午後)"
    return None


def in_day_order(requested: Sequence[str], day_codes: Sequence[str]) -> list[str]:
    return sorted(requested, key=day_codes.index)


def coefficient_key(category: GroupCategory, *, charges_admission: bool) -> str:
    """Which coefficient of the fee rules applies: an event charging admission pays like
    commercial use; exempt groups pay nothing; other civic groups pay the general rate."""
    if category is GroupCategory.EXEMPT:
        return "exempt"
    if category is GroupCategory.COMMERCIAL:
        return "commercial"
    return "admission" if charges_admission else "general"


@dataclass(frozen=True, slots=True)
class Fee:
    total: int
    breakdown: dict[str, Any]


def compute_fee(  # noqa: PLR0913 - the formula's inputs
    rules: FeeRules,
    base_fees: Mapping[str, int] | None,
    all_day_fee: int | None,
    periods: Sequence[str],
    day_codes: Sequence[str],
    day_type: DayType,
    coefficient: str,
    *,
    in_city: bool,
) -> Fee:
    """fee = base x coefficient x the out-of-city coefficient (an out-of-city group only)
    (+ weekend/holiday uplift), below 10 yen cut (10円未満切り捨て).

    A room with no fee table is free (children's culture centres). The all-day tariff applies
    when the booking takes every period of the day and the room has one.
    """
    factor = rules.coefficients.get(coefficient, 1.0)
    residency = 1.0 if in_city else rules.out_of_city_coefficient
    uplift = rules.weekend_holiday_uplift if day_type is not DayType.WEEKDAY else 0.0
    whole_day = all_day_fee is not None and sorted(periods) == sorted(day_codes)
    if not base_fees and not whole_day:
        lines = [{"period": code, "base": 0} for code in periods]
        base = 0
    elif whole_day:
        assert all_day_fee is not None  # noqa: S101 - narrowed by whole_day
        lines = [{"period": "all_day", "base": all_day_fee}]
        base = all_day_fee
    else:
        fees = base_fees or {}
        lines = [{"period": code, "base": int(fees.get(code, 0))} for code in periods]
        base = sum(int(fees.get(code, 0)) for code in periods)
    raw = base * factor * residency * (1 + uplift)
    step = rules.rounding_yen
    total = int(raw // step * step)
    return Fee(
        total,
        {
            "lines": lines,
            "base": base,
            "coefficient": coefficient,
            "factor": factor,
            "in_city": in_city,
            "out_of_city_factor": residency,
            "uplift": uplift,
            "rounding_yen": step,
            "total": total,
        },
    )


def residency_problem(policy: ReservationPolicy, *, in_city: bool, lottery: bool) -> str | None:
    """An out-of-city group may book or apply only where the policy lets it (RULES.md: in-city
    is an eligibility key; the defaults let everyone)."""
    if in_city:
        return None
    if lottery and not policy.lottery.out_of_city_may_apply:
        return "this room's lottery takes applications only from in-city groups"
    if not lottery and not policy.out_of_city_may_book:
        return "this room is booked only by in-city groups"
    return None


def registration_problem(valid_until: date | None, use_date: date) -> str | None:
    """A registration books or applies only for dates it is still valid on (to 31 March);
    later dates wait for the renewal, which opens on 1 December."""
    if valid_until is None or use_date <= valid_until:
        return None
    return (
        f"the registration is valid until {valid_until.isoformat()}: renew it (from "
        f"{renewal_opens(valid_until).isoformat()}) before booking or applying for a later date"
    )


def may_cancel_online(rules: CancellationRules, use_date: date, today: date) -> bool:
    """A group cancels online itself until the deadline (default 3 days before), free."""
    return (use_date - today).days >= rules.online_until_days_before


def charge_percent(rules: CancellationRules, use_date: date, today: date) -> int:
    """The schedule's step for this many days before use; none applies before the deadline.

    Steps read "from N days before, P percent": the step with the smallest N that is still at
    least the days left applies.
    """
    days_left = (use_date - today).days
    if may_cancel_online(rules, use_date, today):
        return 0
    steps = [s for s in rules.schedule if s.from_days_before >= days_left]
    if not steps:
        return 100
    return min(steps, key=lambda s: s.from_days_before).charge_percent


def cancellation_charge(
    rules: CancellationRules, fee_total: int, use_date: date, today: date, *, facility_cause: bool
) -> int:
    """A facility-caused cancellation is free; otherwise the schedule's share of the fee."""
    if facility_cause:
        return 0
    return fee_total * charge_percent(rules, use_date, today) // 100
