"""Properties of booking (issue 15), pure: no database.

- Availability against a naive oracle: random claims (bookings, holds, blocks, lottery wins) on
  the units of a partitioned room, random closures and service dates, random policies, filters
  and clocks; each slot's state, worked out one slot at a time from the rules in the module's
  docstring, must be what `search_availability` answers, with lottery applicants and wait-list
  lengths (on taken slots only). Two requests per example share the snapshot (and so the memo
  of rows and days across requests) with different claims.
- Fees never go down with more periods or with a larger coefficient, out-of-city coefficient or
  uplift, and are always a multiple of the rounding step within one step below the exact price.

CI runs the "ci" profile (60 examples); HYPOTHESIS_PROFILE=long runs 5000 by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from booking.inventory.calendar import DayType, day_type
from booking.inventory.closures import AnnualClosure, DatesClosure
from booking.inventory.network import NetworkSnapshot
from booking.inventory.policy import (
    DEFAULT_POLICY,
    FeeRules,
    Phase,
    ReservationPolicy,
    booking_phase,
    effective_policy,
)
from booking.reservations.availability import AvailabilityQuery, SlotState, search_availability
from booking.reservations.claims_cache import ClaimsCache, MonthClaims, months_between
from booking.reservations.models import ClaimKind
from booking.reservations.rules import compute_fee
from tests.reservations.memory import GRID, ROOMS, snapshot

# --- availability ----------------------------------------------------------------------------

POLICIES = [
    DEFAULT_POLICY,  # lottery 4 months ahead, first-come from the 29th, closes 3 days before
    effective_policy(  # a counter-style policy: no lottery, 1 month ahead, closes 14 days before
        {
            "first_come_opens_months_before": 1,
            "first_come_opens_day": 1,
            "first_come_closes_days_before": 14,
            "lottery": {"enabled": False},
        }
    ),
]
PHASE_STATE = {
    Phase.OPEN: SlotState.OPEN,
    Phase.LOTTERY: SlotState.LOTTERY,
    Phase.NOT_YET_OPEN: SlotState.NOT_YET_OPEN,
    Phase.PAST: SlotState.PAST,
}
UNITS = sorted({unit for _, units in ROOMS.values() for unit in units})
CODES = ("10", "20", "30")
ROOM_IDS = sorted(room_id for room_id, _ in ROOMS.values())


@dataclass(frozen=True)
class World:
    today: date
    start: date
    end: date
    policy: ReservationPolicy
    ranges: tuple[tuple[date, date], ...]  # one-off closures, inclusive
    year_end: bool  # closed 29 December - 3 January
    opens_on: date | None
    closes_on: date | None

    def snapshot(self) -> NetworkSnapshot:
        closures: list[Any] = [
            DatesClosure.model_validate({"type": "dates", "from": first, "to": last})
            for first, last in self.ranges
        ]
        if self.year_end:
            closures.append(
                AnnualClosure.model_validate({"type": "annual", "from": "12-29", "to": "01-03"})
            )
        return snapshot(
            closures, opens_on=self.opens_on, closes_on=self.closes_on, policy=self.policy
        )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    today = draw(st.dates(date(2026, 1, 1), date(2028, 12, 28)))
    if draw(st.booleans()):  # in a lottery window (17th-23rd) for the month four ahead
        today = today.replace(day=draw(st.integers(17, 23)))
        fourth = (today.replace(day=1) + timedelta(days=4 * 31)).replace(day=1)
        start = fourth + timedelta(days=draw(st.integers(-5, 20)))
    else:
        start = today + timedelta(days=draw(st.integers(-20, 160)))
    end = start + timedelta(days=draw(st.integers(0, 20)))

    def near() -> date:
        return start + timedelta(days=draw(st.integers(-5, (end - start).days + 5)))

    ranges = []
    for _ in range(draw(st.integers(0, 3))):
        first = near()
        ranges.append((first, first + timedelta(days=draw(st.integers(0, 4)))))
    return World(
        today=today,
        start=start,
        end=end,
        policy=draw(st.sampled_from(POLICIES)),
        ranges=tuple(ranges),
        year_end=draw(st.booleans()),
        opens_on=near() if draw(st.booleans()) else None,
        closes_on=near() if draw(st.booleans()) else None,
    )


Claims = dict[tuple[int, date, str], str]  # (unit, day, period) -> claim kind


def claims_in(world: World, hot: list[date]) -> st.SearchStrategy[Claims]:
    """Claims on whole months around the range, as the cache holds them, most of them on a few
    "hot" days so that the units of the combined room often meet on one slot."""
    first = world.start.replace(day=1)
    last = (world.end.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return st.dictionaries(
        st.tuples(
            st.sampled_from(UNITS),
            st.sampled_from(hot) | st.dates(first, last),
            st.sampled_from(CODES),
        ),
        st.sampled_from([kind.value for kind in ClaimKind]),
        max_size=30,
    )


class FixedClaims(ClaimsCache):
    """The cache's answer for a range, from given claims (what fetch_month builds)."""

    def __init__(self, claims: Claims) -> None:
        super().__init__()
        self.claims = claims

    async def months(self, session: Any, start: date, end: date) -> list[MonthClaims]:
        result = []
        for month in months_between(start, end):
            parts: dict[tuple[int, date], list[str]] = {}
            for (unit, day, code), kind in self.claims.items():
                if day.replace(day=1) == month:
                    parts.setdefault((unit, day), []).append(f"{code}:{kind}")
            grouped: MonthClaims = {}
            for (unit, day), items in parts.items():
                grouped.setdefault(unit, {})[day] = ",".join(sorted(items))
            result.append(grouped)
        return result


Slot = tuple[str, SlotState, int | None, int | None]  # period, state, applicants, waiting
Counts = Mapping[tuple[int, date, str], int]
Answer = list[tuple[int, list[tuple[str, list[Slot]]]]]


def oracle(
    world: World,
    claims: Claims,
    applicants: Counts,
    waiting: Counts,
    periods: frozenset[str],
    states: frozenset[SlotState],
    room_ids: frozenset[int],
) -> Answer:
    """Each slot on its own, straight from the rules: closed, blocked, booked, the phase."""
    answer: Answer = []
    for room_id, units in ROOMS.values():
        if room_ids and room_id not in room_ids:
            continue
        days = []
        day = world.start
        while day <= world.end:
            closed = (
                (world.opens_on is not None and day < world.opens_on)
                or (world.closes_on is not None and day > world.closes_on)
                or any(first <= day <= last for first, last in world.ranges)
                or (world.year_end and not (1, 3) < (day.month, day.day) < (12, 29))
            )
            slots: list[Slot] = []
            for code in GRID.codes_by_day_type[day_type(day)]:
                if periods and code not in periods:
                    continue
                kinds = {claims.get((unit, day, code)) for unit in units} - {None}
                waits = None
                if closed:
                    state, count = SlotState.CLOSED, None
                elif ClaimKind.BLOCK.value in kinds:
                    state, count = SlotState.BLOCKED, None
                elif kinds:
                    state, count = SlotState.BOOKED, None
                    waits = waiting.get((room_id, day, code)) or None
                else:
                    state = PHASE_STATE[booking_phase(world.policy, day, world.today)]
                    count = (
                        applicants.get((room_id, day, code), 0)
                        if state is SlotState.LOTTERY
                        else None
                    )
                if not states or state in states:
                    slots.append((code, state, count, waits))
            if slots:
                days.append((day.isoformat(), slots))
            day += timedelta(days=1)
        if days:
            answer.append((room_id, days))
    return answer


def answered(
    world: World,
    snap: NetworkSnapshot,
    claims: Claims,
    applicants: Counts,
    waiting: Counts,
    query: AvailabilityQuery,
) -> Answer:
    rooms, count = asyncio.run(
        search_availability(
            None,  # type: ignore[arg-type] - FixedClaims needs no session
            snap,
            FixedClaims(claims),
            query,
            world.today,
            applicants,
            waiting=waiting,
        )
    )
    for room in rooms:  # each room's header is the snapshot's
        info = snap.room(room.room_id)
        assert info is not None
        assert (room.capacity, room.online_bookable, room.room_name_ja, room.facility_id) == (
            info.capacity,
            info.online_bookable,
            info.name_ja,
            info.facility_id,
        )
    answer = [
        (
            room.room_id,
            [
                (d.date, [(s.period, s.state, s.applicants, s.waiting) for s in d.slots])
                for d in room.days
            ],
        )
        for room in rooms
    ]
    assert count == sum(len(slots) for _, days in answer for _, slots in days)
    return answer


@given(data=st.data(), world=worlds())
def test_availability_is_the_naive_oracle_on_random_claims_blocks_and_closures(
    data: st.DataObject, world: World
) -> None:
    snap = world.snapshot()
    periods = data.draw(st.frozensets(st.sampled_from(CODES), max_size=2), label="periods")
    states = data.draw(st.frozensets(st.sampled_from(list(SlotState)), max_size=3), label="states")
    room_ids = data.draw(st.frozensets(st.sampled_from(ROOM_IDS), max_size=2), label="rooms")
    query = AvailabilityQuery(
        start=world.start, end=world.end, periods=periods, states=states, room_ids=room_ids
    )
    span = (world.end - world.start).days
    in_range = st.builds(lambda n: world.start + timedelta(days=n), st.integers(0, span))
    hot = data.draw(st.lists(in_range, min_size=1, max_size=3), label="hot days")
    # Applicants on most slots of the hot days, so that they meet claims, closures and every
    # phase (0: nobody applied for that slot).
    slots = [(room, day, code) for room in ROOM_IDS for day in sorted(set(hot)) for code in CODES]
    counts = data.draw(
        st.lists(st.integers(0, 3), min_size=len(slots), max_size=len(slots)), label="applicants"
    )
    applicants = {slot: count for slot, count in zip(slots, counts, strict=True) if count}
    # And groups in line on most of them, shown where the slot is taken (and nowhere else).
    lines = data.draw(
        st.lists(st.integers(0, 3), min_size=len(slots), max_size=len(slots)), label="waiting"
    )
    waiting = {slot: count for slot, count in zip(slots, lines, strict=True) if count}
    # Two requests on one snapshot: the second must not see the first one's claims.
    for label in ("first", "second"):
        claims = data.draw(claims_in(world, hot), label=f"{label} claims")
        expected = oracle(world, claims, applicants, waiting, periods, states, room_ids)
        assert answered(world, snap, claims, applicants, waiting, query) == expected


# --- fees ------------------------------------------------------------------------------------

WEEKDAY_CODES = ("10", "20", "30")
RUNS = [["10"], ["20"], ["30"], ["10", "20"], ["20", "30"], ["10", "20", "30"]]
base_fees = st.fixed_dictionaries({code: st.integers(0, 30_000) for code in WEEKDAY_CODES})
factors = st.floats(0.0, 5.0, allow_nan=False).map(lambda x: round(x, 2))


def exact(base: int, *factors: float) -> Fraction:
    value = Fraction(base)
    for factor in factors:
        value *= Fraction(str(factor))
    return value


@given(
    fees=base_fees,
    all_day_extra=st.none() | st.integers(0, 10_000),
    multipliers=st.tuples(factors, factors, factors),
    kind=st.sampled_from(list(DayType)),
    rounding=st.sampled_from([1, 10, 100]),
    in_city=st.booleans(),
)
def test_a_fee_never_goes_down_with_more_periods(
    fees: dict[str, int],
    all_day_extra: int | None,
    multipliers: tuple[float, float, float],
    kind: DayType,
    rounding: int,
    in_city: bool,
) -> None:
    # An all-day tariff, where there is one, is at least any two periods together (as the
    # published ones: ¥23,570 against ¥7,860 + ¥8,980).
    coefficient, residency, uplift = multipliers
    pairs = max(fees["10"] + fees["20"], fees["20"] + fees["30"])
    all_day = None if all_day_extra is None else pairs + all_day_extra
    rules = FeeRules(
        coefficients={"general": coefficient},
        out_of_city_coefficient=residency,
        weekend_holiday_uplift=uplift,
        rounding_yen=rounding,
    )

    def fee(run: list[str]) -> int:
        return compute_fee(
            rules, fees, all_day, run, WEEKDAY_CODES, kind, "general", in_city=in_city
        ).total

    for small in RUNS:
        for large in RUNS:
            if set(small) < set(large):
                assert fee(small) <= fee(large), (small, large)
    for run in RUNS:
        total = fee(run)
        whole = all_day is not None and len(run) == len(WEEKDAY_CODES)
        base = all_day if whole and all_day is not None else sum(fees[c] for c in run)
        price = exact(
            base,
            coefficient,
            1.0 if in_city else residency,
            1.0 + (0.0 if kind is DayType.WEEKDAY else uplift),
        )
        assert total % rounding == 0
        # Cut to the step below the exact price (a float's last bit aside).
        assert total <= price + Fraction(1, 1000)
        assert price - total < rounding + Fraction(1, 1000)


@given(
    fees=base_fees,
    run=st.sampled_from(RUNS),
    low=st.tuples(factors, factors, factors),
    raise_by=st.tuples(factors, factors, factors),
    kind=st.sampled_from(list(DayType)),
    in_city=st.booleans(),
)
def test_a_fee_never_goes_down_with_a_larger_coefficient_or_uplift(
    fees: dict[str, int],
    run: list[str],
    low: tuple[float, float, float],
    raise_by: tuple[float, float, float],
    kind: DayType,
    in_city: bool,
) -> None:
    def fee(coefficient: float, residency: float, uplift: float) -> int:
        rules = FeeRules(
            coefficients={"general": coefficient},
            out_of_city_coefficient=residency,
            weekend_holiday_uplift=uplift,
        )
        return compute_fee(
            rules, fees, None, run, WEEKDAY_CODES, kind, "general", in_city=in_city
        ).total

    before = fee(*low)
    # Each factor raised on its own, then all together.
    for i in range(3):
        raised = list(low)
        raised[i] = round(low[i] + raise_by[i], 2)
        assert fee(*raised) >= before, (i, raised)
    assert fee(*(round(a + b, 2) for a, b in zip(low, raise_by, strict=True))) >= before
