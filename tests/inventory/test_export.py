"""Export and load: the live network round-trips, and a load never silently overwrites staff."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.inventory import editing, estimates
from booking.inventory.datafiles import read_network
from booking.inventory.export import export_network, write_export
from booking.inventory.load import LoadReport, TakeFile, load_network
from booking.inventory.models import Facility, Room
from booking.inventory.network import SnapshotCache
from booking.paths import facilities_data_dir
from tests.people import World, principal_as
from tests.places import Hall, template_room

LATER = datetime(2026, 12, 1, tzinfo=UTC)


async def _export_and_load(session: AsyncSession, directory: Path) -> LoadReport:
    write_export(await export_network(session), directory)
    return await load_network(session, read_network(directory), LATER)


async def test_a_load_of_the_export_changes_nothing(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, tmp_path: Path
) -> None:
    """The bundled network, with a facility, a combined room, an edit made by staff and a
    template room staff confirmed (no longer an estimate: written with its source)."""
    admin = await principal_as(session, world, "admin")
    new = await editing.create_facility(
        session,
        clock,
        world.settings,
        admin,
        "new-hall",
        {"kind": "civic_hall", "name_ja": "新館", "name_en": "New Hall", "opens_on": "2027-04-01"},
    )
    one = await editing.create_room(
        session, clock, world.settings, admin, new.id, "r1", {"name_ja": "一", "name_en": "One"}
    )
    two = await editing.create_room(
        session, clock, world.settings, admin, new.id, "r2", {"name_ja": "二", "name_en": "Two"}
    )
    await editing.create_room(
        session,
        clock,
        world.settings,
        admin,
        new.id,
        "both",
        {"name_ja": "全", "name_en": "Both", "parts": [one.id, two.id], "sort_order": 50},
    )
    await editing.update_room(session, clock, world.settings, admin, hall.room_id, {"capacity": 99})
    template = await template_room(session)
    await estimates.confirm_estimate(
        session, clock, world.settings, admin, ("room", template.id), "estimated"
    )
    await session.commit()
    report = await _export_and_load(session, tmp_path)
    assert not report.changed, report.summary()
    assert report.conflicts == []
    assert report.summary() == "no changes"


async def test_a_load_reports_a_staff_edit_and_keeps_it(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    room = await session.get_one(Room, hall.room_id)
    in_file = room.capacity
    admin = await principal_as(session, world, "admin")
    await editing.update_room(session, clock, world.settings, admin, room.id, {"capacity": 99})
    await session.commit()
    report = await load_network(session, read_network(facilities_data_dir()), LATER)
    facility = await session.get_one(Facility, room.facility_id)
    (conflict,) = report.conflicts
    assert (conflict.target, conflict.field) == (f"{facility.key}/{room.key}", "capacity")
    assert (conflict.live, conflict.file, conflict.taken) == (99, in_file, False)
    assert (conflict.by, conflict.at) == (admin.user_id, clock.now().isoformat())
    assert "1 staff edit(s) kept" in report.summary()
    await session.refresh(room)
    assert room.capacity == 99
    assert "capacity" in room.staff_edits


async def test_take_file_takes_the_files_value_and_clears_the_mark(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    room = await session.get_one(Room, hall.room_id)
    in_file = room.capacity
    facility = await session.get_one(Facility, room.facility_id)
    admin = await principal_as(session, world, "admin")
    await editing.update_room(
        session, clock, world.settings, admin, room.id, {"capacity": 99, "name_en": "Renamed"}
    )
    await session.commit()
    only = TakeFile(frozenset({f"{facility.key}/{room.key}:capacity"}))
    report = await load_network(session, read_network(facilities_data_dir()), LATER, only)
    assert sorted((c.field, c.taken) for c in report.conflicts) == [
        ("capacity", True),
        ("name_en", False),
    ]
    await session.refresh(room)
    assert room.capacity == in_file
    assert room.name_en == "Renamed"
    assert set(room.staff_edits) == {"name_en"}
    everything = TakeFile(frozenset({"*"}))
    await load_network(session, read_network(facilities_data_dir()), LATER, everything)
    await session.refresh(room)
    assert room.name_en != "Renamed"
    assert room.staff_edits == {}


async def test_a_load_retires_no_facility_staff_made(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    new = await editing.create_facility(
        session,
        clock,
        world.settings,
        admin,
        "new-hall",
        {"kind": "civic_hall", "name_ja": "新館", "name_en": "New Hall"},
    )
    await session.commit()
    report = await load_network(session, read_network(facilities_data_dir()), LATER)
    assert [(c.target, c.field, c.live, c.file) for c in report.conflicts] == [
        ("new-hall", "active", True, False)
    ]
    await session.refresh(new)
    assert new.active


async def test_a_confirmed_estimate_stays_confirmed(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    rooms = (await session.scalars(select(Room).order_by(Room.id))).all()
    room = next(r for r in rooms if "capacity" in r.estimated_fields)
    room.estimated_fields = [f for f in room.estimated_fields if f != "capacity"]
    room.confirmations = {
        "capacity": {"by": world.user_ids["admin"], "at": "2026-11-25T01:00:00+00:00"}
    }
    await session.commit()
    report = await load_network(session, read_network(facilities_data_dir()), LATER)
    assert not report.changed, report.summary()
    await session.refresh(room)
    assert "capacity" not in room.estimated_fields


async def test_a_load_keeps_the_parts_staff_gave_a_combined_room(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    assert hall.combined_room_id is not None
    assert hall.part_room_id is not None
    admin = await principal_as(session, world, "admin")
    await editing.update_room(
        session, clock, world.settings, admin, hall.combined_room_id, {"parts": [hall.part_room_id]}
    )
    await session.commit()
    units_before = (await SnapshotCache().get(session)).room(hall.combined_room_id)
    assert units_before is not None
    report = await load_network(session, read_network(facilities_data_dir()), LATER)
    assert [c.field for c in report.conflicts] == ["units"]
    after = (await SnapshotCache().get(session)).room(hall.combined_room_id)
    assert after is not None
    assert after.unit_ids == units_before.unit_ids


async def test_a_load_keeps_a_template_room_staff_confirmed(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """The file still makes it an estimate without a source: both are reported and kept."""
    room = await template_room(session)
    facility = await session.get_one(Facility, room.facility_id)
    admin = await principal_as(session, world, "admin")
    await estimates.confirm_estimate(
        session, clock, world.settings, admin, ("room", room.id), "estimated"
    )
    source = list(room.sources)
    await session.commit()
    report = await load_network(session, read_network(facilities_data_dir()), LATER)
    assert sorted((c.target, c.field, c.live, c.file, c.taken) for c in report.conflicts) == [
        (f"{facility.key}/{room.key}", "estimated", False, True, False),
        (f"{facility.key}/{room.key}", "sources", source, [], False),
    ]
    await session.refresh(room)
    assert (room.is_estimated, room.sources) == (False, source)
    assert "estimated" in room.confirmations
    assert estimates.estimated(room) == []
