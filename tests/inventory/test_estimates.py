"""Estimates staff confirm: the field leaves estimated_fields, who (role) and when is kept,
the value becomes staff's; administrators confirm anything, a facility's managers their rooms'
fields but the fees; a correction is checked as an edit is; bad input changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import StaffRole
from booking.accounts.staff import grant_staff_role
from booking.audit.models import AuditEvent
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.inventory import estimates
from booking.inventory.models import Facility, Room
from booking.inventory.network import SnapshotCache
from tests.conftest import DEFAULT_NOW
from tests.people import PASSWORD, World, principal, principal_as
from tests.places import template_room


async def _room_estimating(session: AsyncSession, *fields: str) -> Room:
    rooms = (await session.scalars(select(Room).where(Room.active).order_by(Room.id))).all()
    return next(r for r in rooms if set(fields) <= set(r.estimated_fields))


async def _facility_estimating(session: AsyncSession, field: str) -> Facility:
    rows = (await session.scalars(select(Facility).where(Facility.active))).all()
    return next(f for f in rows if field in f.estimated_fields)


async def _manager_of(
    session: AsyncSession, clock: FrozenClock, world: World, facility_id: int
) -> Principal:
    user = await grant_staff_role(
        session,
        clock,
        world.settings,
        SYSTEM,
        email=f"desk-{facility_id}@city.example",
        name="窓口",
        role=StaffRole.MANAGER,
        facility_ids=[facility_id],
        password=PASSWORD,
    )
    return await principal(session, user.id)


async def _events(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_a_manager_confirms_a_room_s_capacity_as_it_is(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    room = await _room_estimating(session, "capacity")
    manager = await _manager_of(session, clock, world, room.facility_id)
    capacity, others = room.capacity, [f for f in room.estimated_fields if f != "capacity"]
    await estimates.confirm_estimate(
        session, clock, world.settings, manager, ("room", room.id), "capacity"
    )
    mark = {"by": manager.user_id, "at": DEFAULT_NOW.isoformat()}
    assert room.capacity == capacity
    assert room.estimated_fields == others
    assert room.confirmations["capacity"] == {**mark, "role": "manager"}
    assert room.staff_edits["capacity"] == mark
    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == "room.estimate_confirmed")
    )
    assert event is not None
    assert (event.target_id, event.actor_user_id) == (str(room.id), manager.user_id)
    assert event.before is not None
    assert event.before["capacity"] == capacity
    assert set(event.before["estimated_fields"]) == {*others, "capacity"}
    assert event.after is not None
    assert event.after["estimated_fields"] == others
    assert event.after["confirmed"] == {**mark, "role": "manager"}
    with pytest.raises(RuleViolation) as again:  # confirmed already: no longer an estimate
        await estimates.confirm_estimate(
            session, clock, world.settings, manager, ("room", room.id), "capacity"
        )
    assert again.value.code == "not_estimated"


async def test_a_correction_is_an_edit_then_a_confirmation(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    room = await _room_estimating(session, "capacity")
    manager = await _manager_of(session, clock, world, room.facility_id)
    await estimates.confirm_estimate(
        session, clock, world.settings, manager, ("room", room.id), "capacity", 33
    )
    assert room.capacity == 33
    assert "capacity" not in estimates.estimated(room)
    actions = (
        await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "room", AuditEvent.target_id == str(room.id))
            .order_by(AuditEvent.id)
        )
    ).all()
    assert list(actions) == ["room.update", "room.estimate_confirmed"]
    snapshot = await SnapshotCache().get(session)  # every process sees the new value
    info = snapshot.room(room.id)
    assert info is not None
    assert info.capacity == 33


async def test_confirmed_fees_are_no_longer_shown_as_estimates(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    room = await _room_estimating(session, "fees")
    before = (await SnapshotCache().get(session)).room(room.id)
    assert before is not None
    assert before.fee_is_estimate
    admin = await principal_as(session, world, "admin")
    await estimates.confirm_estimate(
        session, clock, world.settings, admin, ("room", room.id), "fees"
    )
    assert room.confirmations["fees"]["role"] == "admin"
    after = (await SnapshotCache().get(session)).room(room.id)
    assert after is not None
    assert not after.fee_is_estimate


async def test_who_may_confirm_what(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    room = await _room_estimating(session, "fees")
    facility = await _facility_estimating(session, "address")
    manager = await _manager_of(session, clock, world, room.facility_id)
    own_facility = await _manager_of(session, clock, world, facility.id)
    cases = [
        (manager, ("room", room.id), "fees"),  # the fee table is the city's
        (own_facility, ("facility", facility.id), "address"),  # a facility's own fields too
        (await principal_as(session, world, "manager_here"), ("room", room.id), "fees"),
        (await principal_as(session, world, "member"), ("room", room.id), "fees"),
    ]
    events = await _events(session)
    for who, target, field in cases:
        with pytest.raises(PermissionDenied):
            await estimates.confirm_estimate(
                session,
                clock,
                world.settings,
                who,
                target,
                field,  # type: ignore[arg-type]
            )
        row = room if target[0] == "room" else facility
        assert not estimates.may_confirm(who, target[0], row, field)  # type: ignore[arg-type]
    capacity_room = await _room_estimating(session, "capacity")
    stranger = await principal_as(session, world, "manager_elsewhere")
    if capacity_room.facility_id != world.elsewhere:
        with pytest.raises(PermissionDenied):
            await estimates.confirm_estimate(
                session, clock, world.settings, stranger, ("room", capacity_room.id), "capacity"
            )
    assert await _events(session) == events
    assert "fees" in room.estimated_fields
    assert "address" in facility.estimated_fields


async def test_an_administrator_confirms_a_facility_s_address_corrected(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    facility = await _facility_estimating(session, "address")
    admin = await principal_as(session, world, "admin")
    await estimates.confirm_estimate(
        session,
        clock,
        world.settings,
        admin,
        ("facility", facility.id),
        "address",
        "川崎市中原区新丸子東3-1100-12 中原市民館",
    )
    assert facility.address == "川崎市中原区新丸子東3-1100-12 中原市民館"
    assert facility.confirmations["address"]["role"] == "admin"
    assert "address" in facility.staff_edits


@pytest.mark.parametrize(
    ("field", "value", "error", "named"),
    [
        ("capacity", 0, InvalidInput, "value"),  # the data files' rule: more than 0
        ("capacity", 100_001, InvalidInput, "value"),
        ("capacity", "三十", InvalidInput, "value"),
        ("fees", {"10": 1000}, InvalidInput, "value"),  # fees: a fee schedule, not here
        ("name_ja", None, RuleViolation, "field"),  # not an estimate
        ("no_such_field", None, RuleViolation, "field"),
    ],
)
async def test_bad_input_changes_nothing(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    field: str,
    value: object,
    error: type[Exception],
    named: str,
) -> None:
    room = await _room_estimating(session, "capacity", "fees")
    admin = await principal_as(session, world, "admin")
    state = (room.capacity, list(room.estimated_fields), dict(room.confirmations))
    events = await _events(session)
    with pytest.raises(error) as refused:
        async with session.begin_nested():
            await estimates.confirm_estimate(
                session, clock, world.settings, admin, ("room", room.id), field, value
            )
    assert getattr(refused.value, "field", None) == named
    await session.refresh(room)
    assert (room.capacity, room.estimated_fields, room.confirmations) == state
    assert await _events(session) == events


async def test_an_unknown_or_retired_target_is_not_found(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    admin = await principal_as(session, world, "admin")
    for target in (("room", 999_999), ("facility", 999_999)):
        with pytest.raises(NotFound):
            await estimates.confirm_estimate(
                session,
                clock,
                world.settings,
                admin,
                target,  # type: ignore[arg-type]
                "capacity",
            )


async def test_the_api_confirms_and_says_who_by_role(client, world, session) -> None:
    room = await _room_estimating(session, "fees")
    answer = await client.post(
        f"/api/v1/rooms/{room.id}/confirmations",
        json={"field": "fees"},
        headers=world.headers("admin"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "fees" not in body["estimated_fields"]
    assert body["confirmations"]["fees"] == {"role": "admin", "at": DEFAULT_NOW.isoformat()}
    refused = await client.post(
        f"/api/v1/rooms/{room.id}/confirmations",
        json={"field": "capacity\n"},
        headers=world.headers("admin"),
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "field"
    facility = await _facility_estimating(session, "closes_on")
    corrected = await client.post(
        f"/api/v1/facilities/{facility.id}/confirmations",
        json={"field": "closes_on", "value": "not a date"},
        headers=world.headers("admin"),
    )
    assert corrected.status_code == 400, corrected.text
    assert corrected.json()["errors"][0]["field"] == "value"

    assert "by" not in body["confirmations"]["fees"]  # a role and a time, never the person


async def test_an_administrator_confirms_a_template_room_as_a_whole(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    """Its fees lose the ≈, it gets the city's entry as its source (a room that is not an
    estimate has one), and both are staff's; a manager cannot (its fees are the city's)."""
    room = await template_room(session)
    assert estimates.estimated(room) == ["estimated"]
    before = (await SnapshotCache().get(session)).room(room.id)
    assert before is not None
    assert before.fee_is_estimate
    manager = await _manager_of(session, clock, world, room.facility_id)
    assert not estimates.may_confirm(manager, "room", room, "estimated")
    events = await _events(session)
    with pytest.raises(PermissionDenied):
        await estimates.confirm_estimate(
            session, clock, world.settings, manager, ("room", room.id), "estimated"
        )
    assert await _events(session) == events
    assert room.is_estimated
    admin = await principal_as(session, world, "admin")
    assert estimates.may_confirm(admin, "room", room, "estimated")
    with pytest.raises(InvalidInput) as corrected:  # nothing to type: the room as it is
        async with session.begin_nested():
            await estimates.confirm_estimate(
                session, clock, world.settings, admin, ("room", room.id), "estimated", value=False
            )
    assert corrected.value.field == "value"
    await session.refresh(room)
    assert room.is_estimated
    await estimates.confirm_estimate(
        session, clock, world.settings, admin, ("room", room.id), "estimated"
    )
    mark = {"by": admin.user_id, "at": DEFAULT_NOW.isoformat()}
    source = "entered in booking by the city's administrator on 2026-11-25"
    assert not room.is_estimated
    assert room.sources == [source]
    assert room.confirmations["estimated"] == {**mark, "role": "admin"}
    assert room.staff_edits == {"estimated": mark, "sources": mark}
    assert estimates.estimated(room) == []
    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == "room.estimate_confirmed")
    )
    assert event is not None
    assert event.target_id == str(room.id)
    assert event.before == {"estimated_fields": [], "estimated": True, "sources": []}
    assert event.after == {
        "estimated_fields": [],
        "estimated": False,
        "sources": [source],
        "confirmed": {**mark, "role": "admin"},
    }
    after = (await SnapshotCache().get(session)).room(room.id)  # every process: no ≈
    assert after is not None
    assert not after.fee_is_estimate
    with pytest.raises(RuleViolation) as again:
        await estimates.confirm_estimate(
            session, clock, world.settings, admin, ("room", room.id), "estimated"
        )
    assert again.value.code == "not_estimated"


async def test_a_room_that_is_not_an_estimate_cannot_be_confirmed_as_a_whole(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    room = await _room_estimating(session, "capacity")
    assert not room.is_estimated
    assert "estimated" not in estimates.estimated(room)
    admin = await principal_as(session, world, "admin")
    with pytest.raises(RuleViolation) as refused:
        await estimates.confirm_estimate(
            session, clock, world.settings, admin, ("room", room.id), "estimated"
        )
    assert refused.value.code == "not_estimated"
    assert room.confirmations == {}


async def test_the_api_confirms_a_template_room(client, world, session) -> None:
    room = await template_room(session)
    refused = await client.post(
        f"/api/v1/rooms/{room.id}/confirmations",
        json={"field": "estimated"},
        headers=world.headers("manager_here"),
    )
    assert refused.status_code == 403, refused.text
    listed = await client.get(f"/api/v1/rooms/{room.id}")
    assert listed.json()["is_estimated"] is True
    answer = await client.post(
        f"/api/v1/rooms/{room.id}/confirmations",
        json={"field": "estimated"},
        headers=world.headers("admin"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["estimated_fields"] == []
    assert body["confirmations"] == {"estimated": {"role": "admin", "at": DEFAULT_NOW.isoformat()}}
    shown = (await client.get(f"/api/v1/rooms/{room.id}")).json()
    assert shown["is_estimated"] is False
    assert shown["fee_is_estimate"] is False
