"""Reservation policies: their defaults (RULES.md), layering, and the windows they open (pure).

Where RULES.md names a key but the city publishes no figure (out-of-city groups: their fee
coefficient, whether they may apply or book), the default changes nothing and says so.

A policy row holds a *partial* override. The effective policy of a room is the defaults, then
its facility kind's policy, then its facility's, then its own: later layers win key by key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Every number of a policy is bounded (staff enter revisions): no window reaches further back
# than the 24 months a calendar opens ahead, no count past what a facility could mean.
MAX_DAYS_BEFORE = 800
MAX_COUNT = 1_000


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LotteryRules(_Part):
    """The monthly lottery (抽選): apply 17th-23rd of M-4, draw 24th, confirm 25th-28th."""

    enabled: bool = True
    months_before: int = Field(default=4, ge=0, le=24)
    apply_from_day: int = Field(default=17, ge=1, le=31)
    apply_to_day: int = Field(default=23, ge=1, le=31)
    draw_day: int = Field(default=24, ge=1, le=31)
    draw_hour: int = Field(default=9, ge=0, le=23)
    confirm_from_day: int = Field(default=25, ge=1, le=31)
    confirm_to_day: int = Field(default=28, ge=1, le=31)
    quota_per_facility_month: int = Field(default=8, ge=0, le=MAX_COUNT)
    winners_per_slot: int = Field(default=1, ge=1, le=MAX_COUNT)
    # At most this many wins per group per facility and use month; None: no cap.
    win_cap: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    out_of_city_may_apply: bool = Field(
        default=True,
        description="Whether an out-of-city group (fewer than half its members live, work or "
        "study in the city) may apply. No rule is published: the default, true, changes nothing.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LotteryRules:
        days = (
            self.apply_from_day,
            self.apply_to_day,
            self.draw_day,
            self.confirm_from_day,
            self.confirm_to_day,
        )
        if list(days) != sorted(days):
            raise ValueError("lottery days must not go backwards: apply, draw, confirm")
        return self


class FeeRules(_Part):
    """fee = base x coefficient of the user category x the out-of-city coefficient (for an
    out-of-city group) (+ uplift on weekends/holidays), rounded."""

    coefficients: dict[str, Annotated[float, Field(ge=0.0, le=10.0)]] = Field(
        default_factory=lambda: {"general": 1.0, "exempt": 0.0, "commercial": 3.0, "admission": 3.0}
    )
    out_of_city_coefficient: float = Field(
        default=1.0,
        ge=0.0,
        le=10.0,
        description="The fee of an out-of-city group is multiplied by this (RULES.md: in-city "
        "is a pricing key). No figure is published: the default, 1.0, changes nothing.",
    )
    weekend_holiday_uplift: float = Field(default=0.0, ge=0.0, le=10.0)
    rounding_yen: int = Field(default=10, ge=1, le=10_000)


class ChargeStep(_Part):
    from_days_before: int = Field(ge=0, le=MAX_DAYS_BEFORE)
    charge_percent: int = Field(ge=0, le=100)


class CancellationRules(_Part):
    """Online cancellation is free until 3 days before; later only the facility cancels, at the
    full fee."""

    online_until_days_before: int = Field(default=3, ge=0, le=MAX_DAYS_BEFORE)
    schedule: tuple[ChargeStep, ...] = Field(
        default=(ChargeStep(from_days_before=2, charge_percent=100),), max_length=50
    )


class HoldRules(_Part):
    """Holds (仮予約) by phone, void unless completed by 17:00 three days later."""

    allowed: bool = False
    days: int = Field(default=3, ge=0, le=MAX_DAYS_BEFORE)
    expires_at: time = time(17, 0)


class SeriesRules(_Part):
    """Recurring bookings (定期利用). No rule is published; the defaults are ours: a group
    books a series online with every occurrence in the first-come window, staff at the counter
    up to the end of the fiscal year (March), and a group holds at most 8 series occurrences per
    facility and use month (RULES.md's lottery quota), so a series cannot hoard a room."""

    online: bool = True
    counter_to_fiscal_year_end: bool = True
    cap_per_facility_month: int | None = Field(default=8, ge=1, le=MAX_COUNT)


class WaitlistRules(_Part):
    """The wait list (キャンセル待ち). No rule is published; the defaults are ours: an offer
    stands 24 hours (never past the online booking deadline), a group waits in at most 10
    lines at once."""

    enabled: bool = True
    offer_hours: int = Field(default=24, ge=1, le=24 * 14)
    cap_per_group: int = Field(default=10, ge=1, le=MAX_COUNT)


class ReservationPolicy(_Part):
    online: bool = True
    out_of_city_may_book: bool = Field(
        default=True,
        description="Whether an out-of-city group may book first-come (online, at the counter "
        "or a hold). No rule is published: the default, true, changes nothing.",
    )
    first_come_opens_months_before: int = Field(default=4, ge=0, le=24)
    first_come_opens_day: int = Field(default=29, ge=1, le=31)
    first_come_closes_days_before: int = Field(default=3, ge=0, le=MAX_DAYS_BEFORE)
    requires_approval: bool = False
    lottery: LotteryRules = LotteryRules()
    fees: FeeRules = FeeRules()
    cancellation: CancellationRules = CancellationRules()
    holds: HoldRules = HoldRules()
    series: SeriesRules = SeriesRules()
    waitlist: WaitlistRules = WaitlistRules()


DEFAULT_POLICY = ReservationPolicy()


def merge_layers(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Merge partial policies key by key, nested tables included; later layers win."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            _deep_merge(merged, layer)
    return merged


def _deep_merge(into: dict[str, Any], layer: dict[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        elif isinstance(value, dict):
            into[key] = {}
            _deep_merge(into[key], value)
        else:
            into[key] = value


def effective_policy(*layers: dict[str, Any] | None) -> ReservationPolicy:
    return ReservationPolicy.model_validate(merge_layers(*layers))


def policy_problems(*layers: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Why these partial policies make no ReservationPolicy: (dotted key, reason) each, none
    when they do. The data files' check and the staff's revisions use this one rule."""
    try:
        effective_policy(*layers)
    except ValidationError as exc:
        return [(".".join(map(str, error["loc"])), error["msg"]) for error in exc.errors()]
    return []


# --- windows --------------------------------------------------------------------------------


class Phase(enum.StrEnum):
    """Where a use date stands in its booking cycle at a given day."""

    NOT_YET_OPEN = "not_yet_open"
    LOTTERY = "lottery"
    OPEN = "open"
    PAST = "past"


@dataclass(frozen=True, slots=True)
class LotteryCycle:
    use_month: date  # the first of the month of use
    apply_from: date
    apply_to: date
    draw_at: datetime  # local time
    confirm_from: date
    confirm_to: date  # wins not confirmed by the end of this day lapse
    first_come_from: date


def months_back(month_start: date, months: int) -> date:
    """The first of the month `months` before the month of month_start."""
    index = month_start.year * 12 + month_start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def day_of(month_start: date, day: int) -> date:
    """The `day`th day counted from the first of the month; past the month's end it rolls into
    the next month, so "from the 29th" of a 28-day February is 1 March."""
    return month_start + timedelta(days=day - 1)


def first_come_opens(policy: ReservationPolicy, use_date: date) -> date:
    """First-come booking for a use date opens on the 29th of month M-4 (by default)."""
    base = months_back(use_date.replace(day=1), policy.first_come_opens_months_before)
    return day_of(base, policy.first_come_opens_day)


def last_booking_day(policy: ReservationPolicy, use_date: date) -> date:
    """The last day on which the use date can be booked (default: 3 days before)."""
    return use_date - timedelta(days=policy.first_come_closes_days_before)


def lottery_cycle(policy: ReservationPolicy, use_month: date, tz: ZoneInfo) -> LotteryCycle | None:
    """The lottery calendar for a use month, or None when the policy runs no lottery.

    Worked example (RULES.md): for August use, apply 17-23 April, draw 24 April, confirm
    25-28 April, first-come from 29 April.
    """
    rules = policy.lottery
    if not rules.enabled:
        return None
    month = use_month.replace(day=1)
    base = months_back(month, rules.months_before)
    return LotteryCycle(
        use_month=month,
        apply_from=day_of(base, rules.apply_from_day),
        apply_to=day_of(base, rules.apply_to_day),
        draw_at=datetime.combine(day_of(base, rules.draw_day), time(rules.draw_hour), tzinfo=tz),
        confirm_from=day_of(base, rules.confirm_from_day),
        confirm_to=day_of(base, rules.confirm_to_day),
        first_come_from=first_come_opens(policy, month),
    )


def booking_phase(policy: ReservationPolicy, use_date: date, today: date) -> Phase:
    """The phase of a use date on `today` (both local dates), before closures and claims."""
    if use_date < today or today > last_booking_day(policy, use_date):
        return Phase.PAST
    rules = policy.lottery
    if rules.enabled:
        base = months_back(use_date.replace(day=1), rules.months_before)
        if day_of(base, rules.apply_from_day) <= today <= day_of(base, rules.apply_to_day):
            return Phase.LOTTERY
    if today >= first_come_opens(policy, use_date):
        return Phase.OPEN
    return Phase.NOT_YET_OPEN
