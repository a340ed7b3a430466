"""Staff keep the network in the system: the services, without HTTP, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import BookingError, Conflict, InvalidInput, PermissionDenied
from booking.inventory import editing
from booking.inventory.models import Facility, Room
from booking.inventory.network import SnapshotCache
from booking.inventory.services import current_revision
from tests.people import World, principal_as
from tests.places import Hall

NEW_HALL = {
    "kind": "civic_hall",
    "ward": "kawasaki",
    "name_ja": "新市民館",
    "name_en": "New Civic Hall",
    "address": "川崎市川崎区1-1",
    "phone": "044-200-0001",
    "opens_on": "2027-04-01",
}
NEW_ROOM = {"name_ja": "第1会議室", "name_en": "Meeting Room 1", "capacity": 30}


async def _as(session: AsyncSession, world: World, role: str) -> Any:
    return await principal_as(session, world, role)


async def _refusal(call: Any) -> BookingError:
    with pytest.raises(BookingError) as caught:
        await call
    return caught.value


async def _events(session: AsyncSession, target: tuple[str, int]) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == target[0], AuditEvent.target_id == str(target[1]))
        .order_by(AuditEvent.id)
    )
    return list(rows.all())


async def test_an_administrator_creates_a_facility_and_a_room(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _as(session, world, "admin")
    revision = await current_revision(session)
    facility = await editing.create_facility(
        session, clock, world.settings, admin, "new-hall", NEW_HALL
    )
    room = await editing.create_room(
        session, clock, world.settings, admin, facility.id, "room-1", NEW_ROOM
    )
    await session.commit()
    assert await current_revision(session) == revision + 2
    snapshot = await SnapshotCache().get(session)
    assert snapshot.facilities[facility.id].name_ja == "新市民館"
    info = snapshot.room(room.id)
    assert info is not None
    assert info.capacity == 30
    assert info.grid.key == "civic_hall"
    mark = {"by": admin.user_id, "at": clock.now().isoformat()}
    assert facility.staff_edits["phone"] == mark
    assert facility.staff_edits["active"] == mark
    assert room.staff_edits["capacity"] == mark
    assert room.staff_edits["units"] == mark
    # Sources are public: the role, never the person (the audit event keeps who).
    assert facility.sources == ["entered in booking by the city's administrator on 2026-11-25"]
    (created,) = await _events(session, ("facility", facility.id))
    assert created.action == "facility.create"
    assert created.after is not None
    assert created.after["ward"] == "kawasaki"
    (made,) = await _events(session, ("room", room.id))
    assert made.after is not None
    assert made.after["units"] == ["room-1"]


async def test_an_edit_is_audited_marked_and_seen_by_every_process(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """Two processes' snapshots: the one built before the edit is replaced on its next read."""
    other_process, this_process = SnapshotCache(), SnapshotCache()
    before = await other_process.get(session)
    old = (await session.get_one(Room, hall.room_id)).capacity
    manager = await _as(session, world, "admin")
    room = await editing.update_room(
        session, clock, world.settings, manager, hall.room_id, {"capacity": 77, "name_en": "Hall"}
    )
    await session.commit()
    assert (await this_process.get(session)).room(hall.room_id).capacity == 77  # type: ignore[union-attr]
    after = await other_process.get(session)
    assert after is not before
    assert after.room(hall.room_id).capacity == 77
    assert set(room.staff_edits) == {"capacity", "name_en"}
    (event,) = await _events(session, ("room", hall.room_id))
    assert event.action == "room.update"
    assert event.before is not None
    assert event.before["capacity"] == old
    assert event.after == {"capacity": 77, "name_en": "Hall"}


async def test_an_unchanged_value_is_no_edit(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _as(session, world, "admin")
    room = await session.get_one(Room, hall.room_id)
    revision = await current_revision(session)
    await editing.update_room(
        session, clock, world.settings, admin, hall.room_id, {"name_ja": room.name_ja}
    )
    assert await current_revision(session) == revision
    assert room.staff_edits == {}
    assert await _events(session, ("room", hall.room_id)) == []


async def test_managers_edit_their_own_rooms_only(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    here = await session.scalar(select(Room.id).where(Room.facility_id == world.here))
    assert here is not None
    manager = await _as(session, world, "manager_here")
    await editing.update_room(session, clock, world.settings, manager, here, {"capacity": 12})
    refused = await _refusal(
        editing.update_room(session, clock, world.settings, manager, hall.room_id, {"capacity": 5})
    )
    assert isinstance(refused, PermissionDenied)
    assert refused.code == "facility_not_assigned"
    for call in (
        editing.update_room(session, clock, world.settings, manager, here, {"active": False}),
        editing.update_facility(
            session, clock, world.settings, manager, world.here, {"phone": "044-1"}
        ),
        editing.create_room(session, clock, world.settings, manager, world.here, "x", NEW_ROOM),
    ):
        assert isinstance(await _refusal(call), PermissionDenied)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name_en": "新館"}, "name_en", "must not contain Japanese"),
        ({"name_ja": "a\nb"}, "name_ja", "control characters"),
        ({"phone": "call us"}, "phone", "should match pattern"),
        ({"ward": "atlantis"}, "ward", "unknown ward 'atlantis'"),
        ({"kind": "castle"}, "kind", "Input should be"),
        ({"opens_on": "2027-05-01", "closes_on": "2027-04-30"}, "closes_on", "before opens_on"),
        ({"address": "x" * 301}, "address", "at most 300"),
        ({"key": "renamed"}, "key", "not a field staff may set"),
    ],
)
async def test_a_facility_edit_is_checked_by_the_data_files_rules(
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
    changes: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    admin = await _as(session, world, "admin")
    facility = await session.get_one(Facility, world.here)
    revision = await current_revision(session)
    refused = await _refusal(
        editing.update_facility(session, clock, world.settings, admin, world.here, changes)
    )
    assert isinstance(refused, InvalidInput)
    assert refused.field == field
    assert reason in refused.problems[0][1], refused.problems
    assert facility.staff_edits == {}
    assert await current_revision(session) == revision


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"purposes": ["juggling"]}, "purposes", "unknown purpose 'juggling'"),
        ({"capacity": 0}, "capacity", "greater than 0"),
        ({"capacity": 100_001}, "capacity", "less than or equal to 100000"),
        ({"equipment": ["マイク\x00"]}, "equipment", "control characters"),
        ({"sort_order": -1}, "sort_order", "0-10000"),
        ({"fees": {"10": 100}}, "fees", "not a field staff may set"),
    ],
)
async def test_a_room_edit_is_checked_by_the_data_files_rules(
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    changes: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    admin = await _as(session, world, "admin")
    refused = await _refusal(
        editing.update_room(session, clock, world.settings, admin, hall.room_id, changes)
    )
    assert isinstance(refused, InvalidInput)
    assert refused.field == field
    assert reason in refused.problems[0][1], refused.problems


async def test_keys_are_unique(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _as(session, world, "admin")
    here = await session.get_one(Facility, world.here)
    refused = await _refusal(
        editing.create_facility(session, clock, world.settings, admin, here.key, NEW_HALL)
    )
    assert isinstance(refused, Conflict)
    assert refused.code == "duplicate_key"
    assert refused.field == "key"
    room = await session.get_one(Room, hall.room_id)
    refused = await _refusal(
        editing.create_room(
            session, clock, world.settings, admin, hall.facility_id, room.key, NEW_ROOM
        )
    )
    assert isinstance(refused, Conflict)
    assert refused.field == "key"


async def test_a_combined_room_is_made_of_rooms_of_its_own_facility(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _as(session, world, "admin")
    elsewhere = await session.scalar(select(Room.id).where(Room.facility_id == world.here))
    refused = await _refusal(
        editing.create_room(
            session,
            clock,
            world.settings,
            admin,
            hall.facility_id,
            "both",
            {**NEW_ROOM, "parts": [hall.room_id, elsewhere]},
        )
    )
    assert isinstance(refused, InvalidInput)
    assert refused.field == "parts"
    assert refused.problems == [("parts", f"room {elsewhere} is a room of another facility")]
    other = await session.scalar(
        select(Room.id).where(
            Room.facility_id == hall.facility_id, Room.id != hall.room_id, Room.active.is_(True)
        )
    )
    assert other is not None
    both = await editing.create_room(
        session,
        clock,
        world.settings,
        admin,
        hall.facility_id,
        "both",
        {**NEW_ROOM, "parts": [hall.room_id, other]},
    )
    await session.commit()
    snapshot = await SnapshotCache().get(session)
    parts = {*snapshot.room(hall.room_id).unit_ids, *snapshot.room(other).unit_ids}  # type: ignore[union-attr]
    assert set(snapshot.room(both.id).unit_ids) == parts  # type: ignore[union-attr]


async def test_a_room_with_live_bookings_is_not_retired(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, client: Any
) -> None:
    body = {
        "group_id": world.group_a,
        "room_id": hall.room_id,
        "use_date": hall.day.isoformat(),
        "period_codes": ["10"],
        "purpose": "meeting",
        "headcount": 10,
    }
    made = await client.post("/api/v1/bookings", json=body, headers=world.headers("member"))
    assert made.status_code == 201, made.text
    admin = await _as(session, world, "admin")
    for call, field in (
        (
            editing.update_room(
                session, clock, world.settings, admin, hall.room_id, {"active": False}
            ),
            "active",
        ),
        (
            editing.update_facility(
                session, clock, world.settings, admin, hall.facility_id, {"active": False}
            ),
            "active",
        ),
        (
            editing.update_facility(
                session,
                clock,
                world.settings,
                admin,
                hall.facility_id,
                {"closes_on": (hall.day.replace(day=1)).isoformat()},
            ),
            "closes_on",
        ),
    ):
        refused = await _refusal(call)
        assert isinstance(refused, Conflict)
        assert refused.code == "bookings_in_the_way"
        assert refused.problems == [(field, f"booking {made.json()['id']} on {hall.day}")]
    assert (await session.get_one(Room, hall.room_id)).active


async def test_retiring_and_reinstating_a_room(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _as(session, world, "admin")
    await editing.update_room(
        session, clock, world.settings, admin, hall.room_id, {"active": False}
    )
    await session.commit()
    assert (await SnapshotCache().get(session)).room(hall.room_id) is None
    await editing.update_room(session, clock, world.settings, admin, hall.room_id, {"active": True})
    await session.commit()
    assert (await SnapshotCache().get(session)).room(hall.room_id) is not None
    actions = [e.action for e in await _events(session, ("room", hall.room_id))]
    assert actions == ["room.retire", "room.reinstate"]


async def test_a_kind_whose_periods_the_rooms_fees_miss_is_refused(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """ "here" is a children's centre (periods 10, 20, 30, 21); a civic hall has no 21."""
    room = await session.scalar(
        select(Room).where(Room.facility_id == world.here, Room.active.is_(True))
    )
    assert room is not None
    room.fees = {"21": 300}
    await session.commit()
    admin = await _as(session, world, "admin")
    refused = await _refusal(
        editing.update_facility(
            session, clock, world.settings, admin, world.here, {"kind": "civic_hall"}
        )
    )
    assert isinstance(refused, InvalidInput)
    assert refused.field == "kind"
    reasons = [reason for field, reason in refused.problems if field == "kind"]
    assert any(r.startswith(f"room {room.key}: period '21' is not in grid") for r in reasons)
    assert (await session.get_one(Facility, world.here)).staff_edits == {}
