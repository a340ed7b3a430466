"""A network snapshot built in memory (no database): one civic hall with a partitioned room.

Rooms: "room-1" (unit 1), "room-2" (unit 2), "combined" (units 1 and 2), and "solo" (unit 3).
The grid has 午前/午後/夜間 (10, 20, 30) on weekdays and Saturdays, and no evening on Sundays
and holidays, as the test network's hall grid. For the pure tests of availability and holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time

from booking.inventory.calendar import DayType
from booking.inventory.closures import ClosureSpec
from booking.inventory.network import FacilityInfo, GridInfo, NetworkSnapshot, PeriodInfo, RoomInfo
from booking.inventory.policy import DEFAULT_POLICY, ReservationPolicy

ALL_DAYS = frozenset(DayType)
NOT_SUNDAY = frozenset({DayType.WEEKDAY, DayType.SATURDAY})

GRID = GridInfo(
    id=1,
    key="hall",
    name_ja="市民館の区分",
    name_en="Civic hall periods",
    periods=(
        PeriodInfo("10", "午前", "Morning", time(9), time(12), ALL_DAYS, ()),
        PeriodInfo("20", "午後", "Afternoon", time(13), time(17), ALL_DAYS, ()),
        PeriodInfo("30", "夜間", "Evening", time(17, 30), time(21), NOT_SUNDAY, ()),
    ),
    codes_by_day_type={
        DayType.WEEKDAY: ("10", "20", "30"),
        DayType.SATURDAY: ("10", "20", "30"),
        DayType.SUNDAY_HOLIDAY: ("10", "20"),
    },
)

FACILITY_ID = 1
# room key -> (room id, units)
ROOMS: dict[str, tuple[int, tuple[int, ...]]] = {
    "room-1": (11, (1,)),
    "room-2": (12, (2,)),
    "combined": (13, (1, 2)),
    "solo": (14, (3,)),
}


def room_info(
    key: str, units: tuple[int, ...], room_id: int, policy: ReservationPolicy = DEFAULT_POLICY
) -> RoomInfo:
    """A room of the hall; its capacity grows with its units (24 a unit)."""
    return RoomInfo(
        id=room_id,
        facility_id=FACILITY_ID,
        key=key,
        name_ja=key,
        name_en=key,
        capacity=24 * len(units),
        online_bookable=True,
        unit_ids=units,
        grid=GRID,
        policy=policy,
        fees={"10": 1680, "20": 2240, "30": 2810},
    )


def snapshot(
    closures: Sequence[ClosureSpec] = (),
    *,
    opens_on: date | None = None,
    closes_on: date | None = None,
    policy: ReservationPolicy = DEFAULT_POLICY,
) -> NetworkSnapshot:
    facility = FacilityInfo(
        id=FACILITY_ID,
        key="memory-hall",
        kind="civic_hall",
        ward_id=1,
        name_ja="記憶市民館",
        name_en="Memory Hall",
        opens_on=opens_on,
        closes_on=closes_on,
        closures=tuple(closures),
        policy=policy,
        grid=GRID,
    )
    return NetworkSnapshot(
        revision=1,
        ward_keys={"nakahara": 1},
        kinds=frozenset({"civic_hall"}),
        facilities={FACILITY_ID: facility},
        purposes=frozenset({"meeting"}),
        rooms=tuple(room_info(key, units, rid, policy) for key, (rid, units) in ROOMS.items()),
    )
