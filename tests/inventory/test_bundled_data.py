"""The bundled facilities_data/ read as data, through the project's own loader: what a person
relies on (RULES.md, facilities_data/README.md). Every facility closes 29 December-3 January;
senior centres close on 敬老の日; each kind's periods on each day type lie in its opening hours;
the booking and lottery windows of each kind; every room claims units that exist; every fee is
there or marked an estimate."""

from __future__ import annotations

from datetime import date, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.inventory.calendar import DayType, holidays_of_year
from booking.inventory.closures import closed_dates
from booking.inventory.data_format import FacilityData, RoomData
from booking.inventory.datafiles import Network, SourcedFacility, read_network
from booking.inventory.models import Unit
from booking.inventory.network import SnapshotCache
from booking.inventory.policy import (
    Phase,
    ReservationPolicy,
    booking_phase,
    effective_policy,
    first_come_opens,
    last_booking_day,
    lottery_cycle,
)
from booking.paths import facilities_data_dir

TOKYO = ZoneInfo("Asia/Tokyo")
KINDS = ["civic_hall", "branch_hall", "children_centre", "senior_centre", "other"]
YEARS = range(2026, 2036)
HALLS = {"大ホール", "ホール"}  # counter lottery a year ahead (RULES.md: large halls)


@cache
def bundled() -> Network:
    return read_network(facilities_data_dir())


def facilities(kind: str) -> list[SourcedFacility]:
    found = [f for f in bundled().facilities if f.data.kind == kind]
    assert found, f"no {kind} in the bundled data"
    return found


def closure_rules(facility: FacilityData) -> list[Any]:
    return [*bundled().network.kinds[facility.kind].closures, *facility.closures]


def room_policy(facility: FacilityData, room: RoomData) -> ReservationPolicy:
    """defaults <- kind <- facility <- room, as the README says."""
    policies = bundled().network.policies
    keys = (bundled().network.kinds[facility.kind].policy, facility.policy, room.policy)
    return effective_policy(*(policies[key].overrides() if key else None for key in keys))


# --- closures ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_facility_closes_29_december_to_3_january(kind):
    """RULES.md and SOURCES: every facility is closed 29 December-3 January, and open on the
    28th and the 4th (no monthly closure falls there: a 3rd Monday is the 15th-21st)."""
    for facility in facilities(kind):
        rules = closure_rules(facility.data)
        for year in YEARS:
            around = closed_dates(rules, date(year, 12, 22), date(year + 1, 1, 10))
            expected = {date(year, 12, 29) + timedelta(days=i) for i in range(6)}
            assert around == expected, (facility.data.key, year, sorted(around))


@pytest.mark.parametrize("kind", KINDS)
def test_only_senior_centres_close_on_respect_for_the_aged_day(kind):
    """Senior centres' group opening: "not on Respect for the Aged Day" (RULES.md)."""
    days = [d for year in YEARS for d, name in holidays_of_year(year).items() if name == "敬老の日"]
    assert len(days) == len(YEARS)
    for facility in facilities(kind):
        rules = closure_rules(facility.data)
        for day in days:
            assert (day in closed_dates(rules, day, day)) is (kind == "senior_centre"), (
                facility.data.key,
                day,
            )


def test_plaza_tachibana_closes_the_third_monday_or_the_next_day_off_a_holiday():
    """Its page: 第3月曜日（祝日の場合はその翌日）: twelve days a year besides the year end."""
    (plaza,) = [f for f in bundled().facilities if f.data.key == "plaza-tachibana"]
    closed = closed_dates(closure_rules(plaza.data), date(2026, 1, 4), date(2026, 12, 28))
    # 2026: 19 Jan, 16 Feb, 16 Mar, 20 Apr, 18 May, 15 Jun; 20 Jul is 海の日: Tuesday 21;
    # 17 Aug; 21 Sep (敬老の日), 22 Sep (国民の休日) and 23 Sep (秋分の日) are holidays:
    # Thursday 24; 19 Oct, 16 Nov, 21 Dec.
    assert sorted(closed) == [
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 3, 16),
        date(2026, 4, 20),
        date(2026, 5, 18),
        date(2026, 6, 15),
        date(2026, 7, 21),
        date(2026, 8, 17),
        date(2026, 9, 24),
        date(2026, 10, 19),
        date(2026, 11, 16),
        date(2026, 12, 21),
    ]


# --- periods per day type ------------------------------------------------------------------

CIVIC = [("10", "09:00", "12:00"), ("20", "13:00", "17:00"), ("30", "17:30", "21:00")]
GRIDS = {
    # RULES.md: civic halls 午前 9:00-12:00, 午後 13:00-17:00, 夜間 17:30-21:00, every day.
    "civic_hall": dict.fromkeys(DayType, CIVIC),
    "branch_hall": dict.fromkeys(DayType, CIVIC),
    "other": dict.fromkeys(DayType, CIVIC),
    # Children's centres: Mon-Sat 9:30-21:00, Sun and holidays 9:30-18:00.
    "children_centre": {
        DayType.WEEKDAY: [
            ("10", "09:30", "12:00"),
            ("20", "13:00", "17:00"),
            ("30", "17:30", "21:00"),
        ],
        DayType.SATURDAY: [
            ("10", "09:30", "12:00"),
            ("20", "13:00", "17:00"),
            ("30", "17:30", "21:00"),
        ],
        DayType.SUNDAY_HOLIDAY: [("10", "09:30", "12:00"), ("21", "13:00", "18:00")],
    },
    # Senior centres' group opening: Mon-Sat 17:00-21:00, Sun and holidays 9:00-16:00.
    "senior_centre": {
        DayType.WEEKDAY: [("30", "17:00", "21:00")],
        DayType.SATURDAY: [("30", "17:00", "21:00")],
        DayType.SUNDAY_HOLIDAY: [("10", "09:00", "12:00"), ("20", "13:00", "16:00")],
    },
}


@pytest.mark.parametrize("kind", KINDS)
def test_periods_of_each_day_type_for_every_room(kind):
    network = bundled().network
    for facility in facilities(kind):
        kind_data = network.kinds[kind]
        hours = facility.data.opening_hours or kind_data.opening_hours
        for room in facility.rooms:
            grid = network.period_grids[
                room.period_grid or facility.data.period_grid or kind_data.period_grid
            ]
            for day_type in DayType:
                periods = sorted(
                    (p.start, p.end, p.code) for p in grid.periods if day_type in p.day_types
                )
                where = (facility.data.key, room.key, day_type.value)
                assert [(c, s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e, c in periods] == (
                    GRIDS[kind][day_type]
                ), where
                opens, closes = getattr(hours, day_type.value)
                assert opens <= periods[0][0], where
                assert periods[-1][1] <= closes, where


# --- booking and lottery windows -----------------------------------------------------------


def _is_hall(room: RoomData) -> bool:
    return room.name_ja in HALLS


@pytest.mark.parametrize("kind", ["civic_hall", "branch_hall", "other"])
def test_fureai_net_rooms_follow_the_monthly_cycle(kind):
    """RULES.md's worked example: August use: apply 17-23 April, draw 24 April, confirm
    25-28 April, first-come from 29 April; 10 August can be booked until 7 August; 8 slots."""
    for facility in facilities(kind):
        for room in facility.rooms:
            if _is_hall(room):
                continue
            policy = room_policy(facility.data, room)
            cycle = lottery_cycle(policy, date(2027, 8, 1), TOKYO)
            where = (facility.data.key, room.key)
            assert cycle is not None, where
            assert (cycle.apply_from, cycle.apply_to) == (date(2027, 4, 17), date(2027, 4, 23))
            assert cycle.draw_at.date() == date(2027, 4, 24)
            assert (cycle.confirm_from, cycle.confirm_to) == (date(2027, 4, 25), date(2027, 4, 28))
            assert cycle.first_come_from == date(2027, 4, 29), where
            assert last_booking_day(policy, date(2027, 8, 10)) == date(2027, 8, 7), where
            assert policy.lottery.quota_per_facility_month == 8, where
            assert policy.lottery.winners_per_slot == 1, where


def test_large_halls_run_a_counter_lottery_a_year_ahead():
    """RULES.md: large halls run a counter lottery 12 months ahead and take bookings until 14
    days before; the README: halls have no fee and are booked at the counter."""
    halls = [(f, room) for f in bundled().facilities for room in f.rooms if _is_hall(room)]
    assert len(halls) >= 6
    use = date(2027, 11, 20)
    for facility, room in halls:
        policy = room_policy(facility.data, room)
        where = (facility.data.key, room.key)
        assert not policy.online, where
        assert not room.online_bookable, where
        assert room.fees is None, where
        assert booking_phase(policy, use, date(2026, 10, 31)) is Phase.NOT_YET_OPEN, where
        assert booking_phase(policy, use, date(2026, 11, 1)) is Phase.LOTTERY, where
        assert booking_phase(policy, use, date(2026, 11, 2)) is Phase.OPEN, where
        assert last_booking_day(policy, use) == date(2027, 11, 6), where


@pytest.mark.parametrize(
    ("kind", "opens"),
    [
        # Assumed (the README's estimate): from the 1st of the previous month / two months ahead.
        ("children_centre", date(2027, 7, 1)),
        ("senior_centre", date(2027, 6, 1)),
    ],
)
def test_centres_book_first_come_until_the_day_before_without_a_lottery(kind, opens):
    for facility in facilities(kind):
        for room in facility.rooms:
            policy = room_policy(facility.data, room)
            where = (facility.data.key, room.key)
            assert lottery_cycle(policy, date(2027, 8, 1), TOKYO) is None, where
            assert first_come_opens(policy, date(2027, 8, 10)) == opens, where
            assert last_booking_day(policy, date(2027, 8, 10)) == date(2027, 8, 9), where
            assert booking_phase(policy, date(2027, 8, 10), opens) is Phase.OPEN, where
            before = opens - timedelta(days=1)
            assert booking_phase(policy, date(2027, 8, 10), before) is Phase.NOT_YET_OPEN


# --- rooms: units and fees -----------------------------------------------------------------


def test_every_unit_a_room_claims_is_a_room_of_its_own():
    """A combined room claims its parts' units: each must be a room one can book alone, so
    booking the whole blocks each part and each part blocks the whole (RULES.md)."""
    combined = 0
    for facility in bundled().facilities:
        alone = {room.unit_keys for room in facility.rooms if len(room.unit_keys) == 1}
        for room in facility.rooms:
            if len(room.unit_keys) > 1:
                combined += 1
                for unit in room.unit_keys:
                    assert (unit,) in alone, (facility.data.key, room.key, unit)
        assert len(alone) == len([r for r in facility.rooms if len(r.unit_keys) == 1]), (
            facility.data.key  # no two rooms of their own share a unit
        )
    assert combined >= 1  # 東海道かわさき宿交流館's 第1・第2集会室


SMALL = {"10": 1680, "20": 2240, "30": 2810}
LARGE = {"10": 6740, "20": 7860, "30": 8980}


def test_every_fee_is_there_or_marked_an_estimate():
    network = bundled().network
    for facility in bundled().facilities:
        kind = network.kinds[facility.data.kind]
        for room in facility.rooms:
            where = (facility.data.key, room.key)
            estimated = room.estimated or "fees" in room.estimated_fields
            if room.fees is None:
                # No tariff: booked at the counter, or the room itself is an estimate.
                assert not room.online_bookable or room.estimated, where
                assert room.all_day_fee is None, where
                continue
            grid = network.period_grids[
                room.period_grid or facility.data.period_grid or kind.period_grid
            ]
            # A fee for every period of the room's grid: none is silently free.
            assert set(room.fees) == {p.code for p in grid.periods}, where
            if facility.data.kind == "children_centre":
                assert set(room.fees.values()) == {0}, where  # free (RULES.md)
                assert set(room_policy(facility.data, room).fees.coefficients.values()) == {0.0}
            elif set(room.fees.values()) != {0}:  # 0 = free (多摩市民館's グループ室, sourced)
                # The README: the comparable facility's published fees, each marked estimated.
                assert estimated, where
                assert room.fees in (SMALL, LARGE), where
                if room.all_day_fee is not None:
                    assert (room.fees, room.all_day_fee) == (LARGE, 23570), where
            if room.all_day_fee is not None:
                assert room.all_day_fee <= sum(room.fees.values()), where


# --- through the database the app serves ---------------------------------------------------


async def test_the_loaded_network_keeps_every_room_its_units_and_the_year_end(session):
    """The bundled data as the app serves it (loaded into the test database): every room of
    the files is there, claims units of its own facility (a combined room exactly its parts'),
    and every facility is closed 29 December-3 January."""
    snapshot = await SnapshotCache().get(session)
    unit_facility = dict((await session.execute(select(Unit.id, Unit.facility_id))).all())
    files = {(f.data.key, room.key): room for f in bundled().facilities for room in f.rooms}
    loaded = {(snapshot.facilities[r.facility_id].key, r.key): r for r in snapshot.rooms}
    assert set(loaded) == set(files)
    by_units = {}
    for key, room in loaded.items():
        assert room.unit_ids, key
        assert {unit_facility[u] for u in room.unit_ids} == {room.facility_id}, key
        assert len(room.unit_ids) == len(files[key].unit_keys), key
        by_units[(room.facility_id, room.key)] = set(room.unit_ids)
    for (facility_key, room_key), room in loaded.items():
        parts = files[facility_key, room_key].unit_keys
        if len(parts) > 1:
            part_units = [
                by_units[(room.facility_id, other.key)]
                for other in snapshot.rooms
                if other.facility_id == room.facility_id
                and len(other.unit_ids) == 1
                and files[facility_key, other.key].unit_keys[0] in parts
            ]
            assert len(part_units) == len(parts)
            assert set().union(*part_units) == set(room.unit_ids)
    year_end = {date(2026, 12, 29) + timedelta(days=i) for i in range(6)}
    for facility in snapshot.facilities.values():
        closed = snapshot.closed_dates(facility.id, 2026) | snapshot.closed_dates(facility.id, 2027)
        assert {d for d in closed if date(2026, 12, 22) <= d <= date(2027, 1, 10)} == year_end, (
            facility.key
        )
        assert time(9, 0) <= min(p.start for p in facility.grid.periods), facility.key
