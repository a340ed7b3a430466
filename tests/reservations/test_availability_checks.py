"""The bounds of an availability query, pinned at their edges on the in-memory hall (issue 15):
the capacity filter keeps a room holding exactly the number asked for, and each refused query
names its field and the bound it broke."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from booking.errors import InvalidInput
from booking.reservations.availability import AvailabilityQuery, search_availability
from tests.reservations.memory import snapshot
from tests.reservations.test_properties import FixedClaims

DAY = date(2027, 2, 1)  # a Monday in the first-come window on 25 November


def rooms_kept(**filters: Any) -> set[str]:
    network = snapshot()
    rooms, _ = asyncio.run(
        search_availability(
            None,  # type: ignore[arg-type] - FixedClaims needs no session
            network,
            FixedClaims({}),
            AvailabilityQuery(start=DAY, end=DAY, **filters),
            date(2026, 11, 25),
        )
    )
    keys = {room.id: room.key for room in network.rooms}
    return {keys[room.room_id] for room in rooms}


@pytest.mark.parametrize(
    ("min_capacity", "kept"),
    [
        (1, {"room-1", "room-2", "combined", "solo"}),  # the least one may ask for
        (24, {"room-1", "room-2", "combined", "solo"}),  # exactly a single room's capacity
        (25, {"combined"}),
        (48, {"combined"}),  # exactly the combined room's
        (49, set()),
    ],
)
def test_the_capacity_filter_keeps_the_rooms_holding_at_least_that_many(
    min_capacity: int, kept: set[str]
) -> None:
    assert rooms_kept(min_capacity=min_capacity) == kept


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"end": DAY - timedelta(days=1)}, "to", "'to' is before 'from'"),
        ({"end": DAY + timedelta(days=93)}, "to", "at most 93 days at a time"),
        ({"min_capacity": 0}, "min_capacity", "must be 1 or more"),
        ({"start": date(1899, 12, 31)}, "from", "must be from 1900-01-01 to 2199-12-31"),
        ({"end": date(2200, 1, 1)}, "to", "must be from 1900-01-01 to 2199-12-31"),
    ],
)
def test_a_query_out_of_bounds_names_its_field_and_the_bound(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        AvailabilityQuery(**{"start": DAY, "end": DAY, **changes})
    assert (raised.value.field, str(raised.value)) == (field, reason)
