"""Policy windows from a set clock, and the layering of partial policies."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from booking.inventory.policy import (
    DEFAULT_POLICY,
    Phase,
    booking_phase,
    day_of,
    effective_policy,
    first_come_opens,
    last_booking_day,
    lottery_cycle,
    merge_layers,
    months_back,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def test_august_worked_example_of_the_rules():
    """Rooms used in August: apply 17-23 April, draw 24 April, confirm 25-28 April,
    first-come from 29 April; 10 August can be booked online until 7 August."""
    cycle = lottery_cycle(DEFAULT_POLICY, date(2026, 8, 1), TOKYO)
    assert cycle is not None
    assert (cycle.apply_from, cycle.apply_to) == (date(2026, 4, 17), date(2026, 4, 23))
    assert cycle.draw_at.date() == date(2026, 4, 24)
    assert cycle.draw_at.tzinfo == TOKYO
    assert (cycle.confirm_from, cycle.confirm_to) == (date(2026, 4, 25), date(2026, 4, 28))
    assert cycle.first_come_from == date(2026, 4, 29)
    assert last_booking_day(DEFAULT_POLICY, date(2026, 8, 10)) == date(2026, 8, 7)


@pytest.mark.parametrize(
    ("today", "phase"),
    [
        (date(2026, 4, 16), Phase.NOT_YET_OPEN),
        (date(2026, 4, 17), Phase.LOTTERY),
        (date(2026, 4, 23), Phase.LOTTERY),
        (date(2026, 4, 24), Phase.NOT_YET_OPEN),  # the draw
        (date(2026, 4, 28), Phase.NOT_YET_OPEN),  # confirmation
        (date(2026, 4, 29), Phase.OPEN),
        (date(2026, 8, 7), Phase.OPEN),
        (date(2026, 8, 8), Phase.PAST),
        (date(2026, 8, 11), Phase.PAST),
    ],
)
def test_phase_of_10_august_over_time(today, phase):
    assert booking_phase(DEFAULT_POLICY, date(2026, 8, 10), today) is phase


def test_first_come_from_the_29th_of_a_short_february_rolls_to_march():
    # June 2027 use: M-4 is February 2027 (28 days): "from the 29th" is 1 March.
    assert first_come_opens(DEFAULT_POLICY, date(2027, 6, 15)) == date(2027, 3, 1)
    # In a leap year the 29th exists.
    assert first_come_opens(DEFAULT_POLICY, date(2028, 6, 15)) == date(2028, 2, 29)


def test_months_back_crosses_years():
    assert months_back(date(2027, 2, 1), 4) == date(2026, 10, 1)
    assert months_back(date(2027, 2, 1), 12) == date(2026, 2, 1)
    assert day_of(date(2026, 4, 1), 31) == date(2026, 5, 1)


def test_layers_merge_key_by_key():
    merged = merge_layers(
        {"lottery": {"quota_per_facility_month": 8, "draw_hour": 9}},
        None,
        {"lottery": {"quota_per_facility_month": 4}, "online": False},
    )
    assert merged == {"lottery": {"quota_per_facility_month": 4, "draw_hour": 9}, "online": False}
    policy = effective_policy(
        {"lottery": {"enabled": False}}, {"first_come_closes_days_before": 14}
    )
    assert not policy.lottery.enabled
    assert policy.first_come_closes_days_before == 14
    assert policy.lottery.quota_per_facility_month == 8  # default kept


def test_out_of_city_keys_default_to_no_change_and_layer_like_every_key():
    # No published figure: out-of-city groups pay x1.0, apply and book like everyone.
    assert DEFAULT_POLICY.fees.out_of_city_coefficient == 1.0
    assert DEFAULT_POLICY.lottery.out_of_city_may_apply
    assert DEFAULT_POLICY.out_of_city_may_book
    policy = effective_policy(
        {"fees": {"out_of_city_coefficient": 1.5}},  # the kind
        {"lottery": {"out_of_city_may_apply": False}},  # the facility
        {"fees": {"out_of_city_coefficient": 2.0}, "out_of_city_may_book": False},  # the room
    )
    assert policy.fees.out_of_city_coefficient == 2.0
    assert policy.fees.coefficients["commercial"] == 3.0  # the rest of the table kept
    assert not policy.lottery.out_of_city_may_apply
    assert policy.lottery.quota_per_facility_month == 8
    assert not policy.out_of_city_may_book


def test_large_hall_counter_lottery_a_year_ahead():
    hall = effective_policy(
        {
            "online": False,
            "first_come_opens_months_before": 12,
            "first_come_opens_day": 2,
            "first_come_closes_days_before": 14,
            "lottery": {
                "months_before": 12,
                "apply_from_day": 1,
                "apply_to_day": 1,
                "draw_day": 1,
                "confirm_from_day": 1,
                "confirm_to_day": 1,
            },
        }
    )
    use = date(2027, 11, 20)
    assert booking_phase(hall, use, date(2026, 10, 31)) is Phase.NOT_YET_OPEN
    assert booking_phase(hall, use, date(2026, 11, 1)) is Phase.LOTTERY
    assert booking_phase(hall, use, date(2026, 11, 2)) is Phase.OPEN
    assert booking_phase(hall, use, date(2027, 11, 6)) is Phase.OPEN
    assert booking_phase(hall, use, date(2027, 11, 7)) is Phase.PAST


def test_no_lottery_means_no_lottery_phase():
    policy = effective_policy({"lottery": {"enabled": False}})
    assert lottery_cycle(policy, date(2026, 8, 1), TOKYO) is None
    assert booking_phase(policy, date(2026, 8, 10), date(2026, 4, 20)) is Phase.NOT_YET_OPEN


@pytest.mark.parametrize(
    "layer",
    [
        {"lottery": {"apply_from_day": 24, "apply_to_day": 17}},
        {"first_come_opens_day": 0},
        {"onlin": True},
        {"fees": {"rounding_yen": 0}},
        {"fees": {"out_of_city_coefficient": -1}},
        {"lottery": {"out_of_city_may_apply": "maybe"}},
        {"holds": {"expires_at": "25:00"}},
    ],
)
def test_bad_policies_are_rejected(layer):
    with pytest.raises(ValidationError):
        effective_policy(layer)


def test_merging_layers_leaves_each_layer_as_it_was():
    # The kind's row is shared by every facility of the kind: a facility's override merged on
    # top of it must not leak into the kind's layer (and so into the other facilities).
    kind = {"lottery": {"quota_per_facility_month": 6}, "fees": {"coefficients": {"general": 1.0}}}
    facility = {"lottery": {"draw_hour": 10}, "fees": {"coefficients": {"general": 2.0}}}
    merged = merge_layers(kind, facility)
    assert merged == {
        "lottery": {"quota_per_facility_month": 6, "draw_hour": 10},
        "fees": {"coefficients": {"general": 2.0}},
    }
    assert kind == {
        "lottery": {"quota_per_facility_month": 6},
        "fees": {"coefficients": {"general": 1.0}},
    }
    assert facility == {"lottery": {"draw_hour": 10}, "fees": {"coefficients": {"general": 2.0}}}
    assert merge_layers(kind) == kind
    assert merge_layers(kind) is not kind
