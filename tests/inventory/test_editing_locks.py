"""Two staff edits of one room or facility at once, on PostgreSQL (SQLite has one writer):
the second waits for the first and keeps its staff_edits marks, so a later load of the data
files reports both fields instead of silently overwriting one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.inventory import editing
from booking.inventory.models import Facility, Room
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, committed_database
from tests.races import Race, city_admin, race_on

pytestmark = pytest.mark.engines("postgresql")


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "editing_locks") as settings:
        yield settings


@pytest.fixture
async def race(committed: Settings) -> AsyncIterator[Race]:
    async with race_on(committed) as race:
        yield race


async def test_two_edits_of_one_room_keep_both_marks(race: Race, committed: Settings) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    admin = await race.alone(lambda s: city_admin(s, clock, committed))
    room_id = await race.alone(lambda s: s.scalar(select(Room.id).order_by(Room.id).limit(1)))

    def editing_room(changes: dict[str, Any]) -> Any:
        async def step(session: AsyncSession) -> Any:
            return await editing.update_room(session, clock, committed, admin, room_id, changes)

        return step

    await race.at_once(editing_room({"capacity": 11}), editing_room({"name_en": "Renamed"}))
    room = await race.alone(lambda s: s.get_one(Room, room_id))
    assert (room.capacity, room.name_en) == (11, "Renamed")
    assert set(room.staff_edits) == {"capacity", "name_en"}


async def test_two_edits_of_one_facility_keep_both_marks(race: Race, committed: Settings) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    admin = await race.alone(lambda s: city_admin(s, clock, committed))
    facility_id = await race.alone(
        lambda s: s.scalar(select(Facility.id).order_by(Facility.id).limit(1))
    )

    def editing_facility(changes: dict[str, Any]) -> Any:
        async def step(session: AsyncSession) -> Any:
            return await editing.update_facility(
                session, clock, committed, admin, facility_id, changes
            )

        return step

    await race.at_once(
        editing_facility({"phone": "044-200-0000"}), editing_facility({"notes": "改修中"})
    )
    facility = await race.alone(lambda s: s.get_one(Facility, facility_id))
    assert set(facility.staff_edits) == {"phone", "notes"}
