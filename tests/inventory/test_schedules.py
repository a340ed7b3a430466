"""Fee schedules and policy revisions from a date, through the services (issue 16 §2): only
administrators enter them, with the data files' rules, audited with before and after; the
snapshot resolves them by use date (the day before and the day of) and by when a booking was
made."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import BookingError, Conflict, InvalidInput, NotFound, PermissionDenied
from booking.inventory import schedules
from booking.inventory.data_format import FeeRevisionData
from booking.inventory.datafiles import NETWORK_FILE, DataValidationError, Network, read_network
from booking.inventory.export import export_network, write_export
from booking.inventory.load import load_network
from booking.inventory.models import Policy, PolicyRevision, Room, RoomFeeSchedule
from booking.inventory.network import SnapshotCache, _PolicyLayers
from booking.inventory.policy import effective_policy, merge_layers
from booking.inventory.services import current_revision
from booking.paths import facilities_data_dir
from tests.conftest import DEFAULT_NOW
from tests.people import World, principal_as
from tests.places import Hall

APRIL = date(2027, 4, 1)  # the fiscal year's revision, the model case
NEW_FEES = {"10": 1500, "20": 2000, "30": 2500}
LATER = datetime(2026, 12, 1, tzinfo=UTC)  # when a load runs


async def _count(session: AsyncSession, table: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _events(session: AsyncSession, action: str) -> list[AuditEvent]:
    found = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    )
    return list(found.all())


async def test_a_fee_schedule_prices_its_date_on_and_the_room_s_own_fees_the_day_before(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    admin = await principal_as(session, world, "admin")
    revision = await current_revision(session)
    row = await schedules.set_fee_schedule(
        session,
        clock,
        world.settings.tz,
        admin,
        hall.room_id,
        effective_from=APRIL,
        fees=NEW_FEES,
        all_day_fee=5500,
    )
    assert (row.origin, row.created_at, row.created_by_user_id) == (
        "staff",
        DEFAULT_NOW,
        admin.user_id,
    )
    assert await current_revision(session) == revision + 1
    [event] = await _events(session, "room.fee_schedule_added")
    assert event.before is None
    assert event.after == {
        "effective_from": "2027-04-01",
        "fees": NEW_FEES,
        "all_day_fee": 5500,
        "origin": "staff",
    }
    room = (await SnapshotCache().get(session)).room(hall.room_id)
    assert room is not None
    before = room.fees_on(APRIL - timedelta(days=1))
    assert (before.effective_from, before.fees) == (None, hall.fees)
    on = room.fees_on(APRIL)
    assert (on.effective_from, on.fees, on.all_day_fee) == (APRIL, NEW_FEES, 5500)
    assert not on.is_estimate  # the ordinance's figure, entered by the city
    assert room.fees_on(date(2030, 1, 1)) == on
    assert [r.id for r in await schedules.fee_schedules(session, hall.room_id)] == [row.id]


async def test_a_schedule_not_yet_in_effect_is_replaced_with_before_and_after_or_withdrawn(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    admin = await principal_as(session, world, "admin")
    tz = world.settings.tz
    first = await schedules.set_fee_schedule(
        session,
        clock,
        tz,
        admin,
        hall.room_id,
        effective_from=APRIL,
        fees=NEW_FEES,
        all_day_fee=None,
    )
    again = await schedules.set_fee_schedule(
        session,
        clock,
        tz,
        admin,
        hall.room_id,
        effective_from=APRIL,
        fees={"10": 1},
        all_day_fee=None,
    )
    assert again.id == first.id
    same = await schedules.set_fee_schedule(
        session,
        clock,
        tz,
        admin,
        hall.room_id,
        effective_from=APRIL,
        fees={"10": 1},
        all_day_fee=None,
    )
    assert same.id == first.id  # the same again changes nothing: no second event
    [event] = await _events(session, "room.fee_schedule_replaced")
    assert event.before is not None
    assert event.after is not None
    assert (event.before["fees"], event.after["fees"]) == (NEW_FEES, {"10": 1})
    await schedules.delete_fee_schedule(session, clock, tz, admin, hall.room_id, APRIL)
    assert await _count(session, RoomFeeSchedule) == 0
    [deleted] = await _events(session, "room.fee_schedule_deleted")
    assert deleted.before is not None
    assert deleted.before["fees"] == {"10": 1}
    with pytest.raises(NotFound):
        await schedules.delete_fee_schedule(session, clock, tz, admin, hall.room_id, APRIL)


async def test_a_schedule_in_effect_is_history_it_is_neither_replaced_nor_withdrawn(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    admin = await principal_as(session, world, "admin")
    tz = world.settings.tz
    today = date(2026, 11, 25)  # the tests' clock, in Tokyo
    await schedules.set_fee_schedule(
        session,
        clock,
        tz,
        admin,
        hall.room_id,
        effective_from=today,
        fees=NEW_FEES,
        all_day_fee=None,
    )
    with pytest.raises(InvalidInput) as raised:
        await schedules.set_fee_schedule(
            session,
            clock,
            tz,
            admin,
            hall.room_id,
            effective_from=today - timedelta(days=1),
            fees=NEW_FEES,
            all_day_fee=None,
        )
    assert raised.value.field == "effective_from"
    clock.set(DEFAULT_NOW + timedelta(days=1))
    with pytest.raises(InvalidInput):
        await schedules.delete_fee_schedule(session, clock, tz, admin, hall.room_id, today)
    assert await _count(session, RoomFeeSchedule) == 1


@pytest.mark.parametrize(
    ("fees", "all_day_fee", "field"),
    [
        ({"99": 100}, None, "fees"),  # not a period of the room's grid
        ({"10": -1}, None, "fees.10"),
        ({"10": 10_000_001}, None, "fees.10"),
        (NEW_FEES, -5, "all_day_fee"),
        (NEW_FEES, 10_000_001, "all_day_fee"),
    ],
)
async def test_a_bad_fee_schedule_names_its_field_and_writes_nothing(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    hall: Hall,
    fees: dict[str, int],
    all_day_fee: int | None,
    field: str,
) -> None:
    admin = await principal_as(session, world, "admin")
    events = await _count(session, AuditEvent)
    with pytest.raises(InvalidInput) as raised:
        await schedules.set_fee_schedule(
            session,
            clock,
            world.settings.tz,
            admin,
            hall.room_id,
            effective_from=APRIL,
            fees=fees,
            all_day_fee=all_day_fee,
        )
    assert raised.value.field == field
    assert (await _count(session, RoomFeeSchedule), await _count(session, AuditEvent)) == (
        0,
        events,
    )


@pytest.mark.parametrize("role", ["manager_here", "member", "representative"])
async def test_only_an_administrator_sets_fees_and_policies(
    session: AsyncSession, clock: FrozenClock, world: World, role: str
) -> None:
    someone = await principal_as(session, world, role)
    tz = world.settings.tz
    policy_id = await session.scalar(select(Policy.id).limit(1))
    assert policy_id is not None
    attempts: list[Any] = [
        schedules.set_fee_schedule(
            session,
            clock,
            tz,
            someone,
            world.room,
            effective_from=APRIL,
            fees=None,
            all_day_fee=None,
        ),
        schedules.add_policy_revision(
            session,
            clock,
            tz,
            someone,
            policy_id,
            effective_from=APRIL,
            settings={"requires_approval": True},
        ),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as raised:
            await attempt
        assert raised.value.code == "admin_only"
    assert await _count(session, RoomFeeSchedule) + await _count(session, PolicyRevision) == 0


async def _policy_of(session: AsyncSession, room_id: int) -> Policy:
    """The room gets a policy of its own (the kind's layer stays under it)."""
    policy = Policy(key=f"room-{room_id}", settings={})
    session.add(policy)
    await session.flush()
    room = await session.get_one(Room, room_id)
    room.policy_id = policy.id
    await session.flush()
    return policy


async def test_a_policy_revision_governs_its_date_on_for_bookings_made_after_it(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    admin = await principal_as(session, world, "admin")
    policy = await _policy_of(session, hall.room_id)
    entered = DEFAULT_NOW + timedelta(hours=1)
    clock.set(entered)
    revision = await schedules.add_policy_revision(
        session,
        clock,
        world.settings.tz,
        admin,
        policy.id,
        effective_from=APRIL,
        settings={"cancellation": {"online_until_days_before": 10}},
    )
    [event] = await _events(session, "policy.revision_added")
    assert event.before == {"settings": {}, "revisions": []}
    assert event.after == {
        "settings": {},
        "revisions": [
            {"effective_from": "2027-04-01", "settings": revision.settings},
        ],
    }
    room = (await SnapshotCache().get(session)).room(hall.room_id)
    assert room is not None

    def days(day: date, made_at: Any = None) -> int:
        assert room is not None
        return room.policy_on(day, made_at).cancellation.online_until_days_before

    assert days(APRIL - timedelta(days=1)) == 3  # the day before: the default
    assert days(APRIL) == 10  # the day of
    assert days(date(2028, 1, 1)) == 10
    # A booking made before the revision was entered keeps what it was made under.
    assert days(APRIL, entered - timedelta(seconds=1)) == 3
    assert days(APRIL, entered) == 10
    # Other settings stay the layers' (the kind's lottery, the defaults' holds).
    assert room.policy_on(APRIL).lottery == room.policy.lottery


async def test_revisions_add_up_in_date_order_and_a_second_one_from_a_date_is_a_conflict(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    admin = await principal_as(session, world, "admin")
    tz = world.settings.tz
    policy = await _policy_of(session, hall.room_id)
    october = date(2027, 10, 1)
    await schedules.add_policy_revision(
        session,
        clock,
        tz,
        admin,
        policy.id,
        effective_from=october,
        settings={"requires_approval": True},
    )
    await schedules.add_policy_revision(
        session,
        clock,
        tz,
        admin,
        policy.id,
        effective_from=APRIL,
        settings={"first_come_closes_days_before": 7},
    )
    with pytest.raises(Conflict):
        await schedules.add_policy_revision(
            session, clock, tz, admin, policy.id, effective_from=APRIL, settings={"online": False}
        )
    room = (await SnapshotCache().get(session)).room(hall.room_id)
    assert room is not None
    steps = {
        day: (p.first_come_closes_days_before, p.requires_approval)
        for day in (APRIL - timedelta(days=1), APRIL, october - timedelta(days=1), october)
        for p in [room.policy_on(day)]
    }
    assert list(steps.values()) == [(3, False), (7, False), (7, False), (7, True)]
    assert [r.effective_from for r in await schedules.policy_revisions(session, policy.id)] == [
        APRIL,
        october,
    ]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"no_such_key": 1}, "settings.no_such_key"),
        (
            {"cancellation": {"online_until_days_before": -1}},
            "settings.cancellation.online_until_days_before",
        ),
        # Each day is in range, but the lottery's days would go backwards (apply after draw).
        ({"lottery": {"apply_from_day": 27}}, "settings.lottery"),
        ({}, "settings"),
    ],
)
async def test_a_bad_policy_revision_names_its_setting_and_writes_nothing(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    hall: Hall,
    settings: dict[str, Any],
    field: str,
) -> None:
    admin = await principal_as(session, world, "admin")
    policy = await _policy_of(session, hall.room_id)
    events = await _count(session, AuditEvent)
    with pytest.raises(BookingError) as raised:
        await schedules.add_policy_revision(
            session,
            clock,
            world.settings.tz,
            admin,
            policy.id,
            effective_from=APRIL,
            settings=settings,
        )
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.field == field
    assert (await _count(session, PolicyRevision), await _count(session, AuditEvent)) == (
        0,
        events,
    )


async def test_a_revision_that_would_break_a_later_one_is_refused(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    """Valid on its own date, but from October's revision on the lottery would confirm before
    it draws: the policy must stay valid on every date from the new one."""
    admin = await principal_as(session, world, "admin")
    tz = world.settings.tz
    policy = await _policy_of(session, hall.room_id)
    await schedules.add_policy_revision(
        session,
        clock,
        tz,
        admin,
        policy.id,
        effective_from=date(2027, 10, 1),
        settings={"lottery": {"draw_day": 25}},
    )
    with pytest.raises(InvalidInput) as raised:
        await schedules.add_policy_revision(
            session,
            clock,
            tz,
            admin,
            policy.id,
            effective_from=APRIL,
            settings={"lottery": {"confirm_from_day": 24}},
        )
    assert raised.value.field == "settings.lottery"
    assert "backwards" in raised.value.message
    assert len(await schedules.policy_revisions(session, policy.id)) == 1


# --- the data files --------------------------------------------------------------------------

GOOD_REVISION = """
[[policies.fureai_standard.revisions]]
effective_from = 2027-04-01
settings = { cancellation = { online_until_days_before = 5 } }
"""
FEE_REVISION = """
[[facilities.rooms.fee_revisions]]
effective_from = 2027-04-01
fees = { "10" = 1800, "20" = 2400 }
all_day_fee = 6000
"""


def _data_with(tmp_path: Path, network_extra: str, fee_revision: str) -> Path:
    """The bundled data with a policy revision and the first civic-hall room's fee revision."""
    copied = tmp_path / "data"
    shutil.copytree(Path(__file__).parents[2] / "facilities_data", copied)
    with (copied / NETWORK_FILE).open("a", encoding="utf-8") as file:
        file.write(network_extra)
    halls = copied / "civic_halls.toml"
    text = halls.read_text("utf-8")
    first_room = text.index("[[facilities.rooms]]")
    next_table = text.index("\n[[", first_room + 1)
    halls.write_text(text[:next_table] + "\n" + fee_revision + text[next_table:], "utf-8")
    return copied


def test_the_data_files_carry_fee_and_policy_revisions(tmp_path: Path) -> None:
    network = read_network(_data_with(tmp_path, GOOD_REVISION, FEE_REVISION))
    [revision] = network.network.policies["fureai_standard"].revisions
    assert (revision.effective_from, revision.settings) == (
        APRIL,
        {"cancellation": {"online_until_days_before": 5}},
    )
    room = next(f for f in network.facilities if f.file == "civic_halls.toml").rooms[0]
    [fees] = room.fee_revisions
    assert (fees.effective_from, fees.fees, fees.all_day_fee) == (
        APRIL,
        {"10": 1800, "20": 2400},
        6000,
    )


def test_bad_revisions_in_the_data_files_are_reported_with_the_same_rules(tmp_path: Path) -> None:
    backwards = GOOD_REVISION + (
        "\n[[policies.fureai_standard.revisions]]\neffective_from = 2027-05-01\n"
        "settings = { lottery = { apply_from_day = 27 } }\n"
    )
    unknown_code = FEE_REVISION.replace('"20" = 2400', '"99" = 5')
    with pytest.raises(DataValidationError) as raised:
        read_network(_data_with(tmp_path, backwards, unknown_code))
    found = {
        (error.file, error.where.split(": ")[-1], error.reason) for error in raised.value.errors
    }
    assert (
        NETWORK_FILE,
        "policies.fureai_standard.revisions[1].settings.lottery",
        "Value error, lottery days must not go backwards: apply, draw, confirm",
    ) in found
    assert any(
        file == "civic_halls.toml"
        and where.endswith(".fee_revisions[0].fees")
        and reason.startswith("period '99' is not in grid")
        for file, where, reason in found
    ), found
    assert len(found) == 2


# --- the timeline, against the rule written out longhand --------------------------------------

BASE_DAY = date(2027, 1, 1)
BASE_AT = DEFAULT_NOW
revision_strategy = st.lists(
    st.tuples(
        st.integers(0, 400),  # effective_from, days after BASE_DAY
        st.integers(0, 100),  # created_at, hours after BASE_AT
        st.sampled_from([0, 1, 2]),  # the layer: kind, facility, room
        st.integers(0, 30),  # cancellation.online_until_days_before
        st.booleans(),  # requires_approval, or leave it out
    ),
    max_size=6,
    unique_by=lambda r: (r[0], r[2]),  # one revision per policy and date
)


@settings(max_examples=150, deadline=None)
@given(
    revisions=revision_strategy,
    day=st.integers(-5, 420),
    made=st.one_of(st.none(), st.integers(-5, 110)),
)
def test_a_timeline_answers_as_the_rule_says(
    revisions: list[tuple[int, int, int, int, bool]], day: int, made: int | None
) -> None:
    """For any revisions of the three layers: the policy of a use date for a booking made at
    an instant is the layers, each with its revisions from that date or before and entered by
    that instant merged over it in date order (made None: every revision)."""
    layer_settings: list[dict[str, Any]] = [
        {"requires_approval": False},
        {},
        {"cancellation": {"online_until_days_before": 4}},
    ]
    rows = {
        layer: [
            PolicyRevision(
                id=index + 1,
                policy_id=layer + 1,
                effective_from=BASE_DAY + timedelta(days=offset),
                created_at=BASE_AT + timedelta(hours=hours),
                settings={
                    "cancellation": {"online_until_days_before": days},
                    **({"requires_approval": approval} if approval else {}),
                },
            )
            for index, (offset, hours, owner, days, approval) in enumerate(revisions)
            if owner == layer
        ]
        for layer in range(3)
    }
    layers = _PolicyLayers(
        {i + 1: settings for i, settings in enumerate(layer_settings)},
        {layer + 1: found for layer, found in rows.items()},
    )
    timeline = layers.timeline((1, 2, 3))
    use_date = BASE_DAY + timedelta(days=day)
    made_at = None if made is None else BASE_AT + timedelta(hours=made)

    def layer(index: int) -> dict[str, Any]:
        applied = sorted(
            (
                r
                for r in rows[index]
                if r.effective_from <= use_date and (made_at is None or r.created_at <= made_at)
            ),
            key=lambda r: r.effective_from,
        )
        return merge_layers(layer_settings[index], *(r.settings for r in applied))

    expected = effective_policy(layer(0), layer(1), layer(2))
    assert timeline.at(use_date, made_at) == expected
    if made_at is None:  # a booking made now knows every revision
        assert timeline.at(use_date, BASE_AT + timedelta(days=365)) == expected


# --- export and load -------------------------------------------------------------------------


async def _staff_changes(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> int:
    """A fee schedule and a revision of the hall's kind's policy, entered by an administrator;
    the policy's id."""
    admin = await principal_as(session, world, "admin")
    tz = world.settings.tz
    await schedules.set_fee_schedule(
        session,
        clock,
        tz,
        admin,
        hall.room_id,
        effective_from=APRIL,
        fees=NEW_FEES,
        all_day_fee=5500,
    )
    kind_policy = await session.scalar(select(Policy.id).where(Policy.key == "fureai_standard"))
    assert kind_policy is not None
    await schedules.add_policy_revision(
        session,
        clock,
        tz,
        admin,
        kind_policy,
        effective_from=APRIL,
        settings={"cancellation": {"online_until_days_before": 5}},
    )
    await session.commit()
    return kind_policy


async def test_a_load_of_the_export_keeps_fee_schedules_and_policy_revisions(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall, tmp_path: Path
) -> None:
    policy_id = await _staff_changes(session, clock, world, hall)
    write_export(await export_network(session), tmp_path)
    network = read_network(tmp_path)
    [revision] = network.network.policies["fureai_standard"].revisions
    assert revision.settings == {"cancellation": {"online_until_days_before": 5}}
    report = await load_network(session, network, LATER)
    assert not report.changed, report.summary()
    assert report.conflicts == []
    [row] = await schedules.fee_schedules(session, hall.room_id)
    assert (row.fees, row.all_day_fee, row.origin) == (NEW_FEES, 5500, "staff")
    assert [r.origin for r in await schedules.policy_revisions(session, policy_id)] == ["staff"]


def _with_fee_revision(network: Network, room_key: str, revision: FeeRevisionData) -> Network:
    """The network with one room's fee revisions replaced by `revision`."""
    facilities = []
    for sourced in network.facilities:
        rooms = tuple(
            room.model_copy(update={"fee_revisions": (revision,)}) if room.key == room_key else room
            for room in sourced.rooms
        )
        facilities.append(replace(sourced, rooms=rooms))
    return Network(network.network, facilities)


async def test_a_load_reports_a_staff_fee_schedule_it_differs_from_and_keeps_it(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    await _staff_changes(session, clock, world, hall)
    room = await session.get_one(Room, hall.room_id)
    bundled = read_network(facilities_data_dir())
    own = [f for f in bundled.facilities if any(r.key == room.key for r in f.rooms)]
    file_fees = {"10": 999}
    network = _with_fee_revision(
        Network(bundled.network, own),
        room.key,
        FeeRevisionData(effective_from=APRIL, fees=file_fees),
    )
    network.facilities.extend(f for f in bundled.facilities if f not in own)
    report = await load_network(session, network, LATER)
    fee_conflicts = [c for c in report.conflicts if c.field.startswith("fee_revisions")]
    assert [
        (c.field, c.file["fees"], c.taken) for c in fee_conflicts if c.target.endswith(room.key)
    ] == [("fee_revisions[2027-04-01]", file_fees, False)]
    [row] = await schedules.fee_schedules(session, hall.room_id)
    assert row.fees == NEW_FEES  # the staff's, kept


async def test_a_data_fee_revision_follows_the_file_and_prices_its_date(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    room = await session.get_one(Room, hall.room_id)
    bundled = read_network(facilities_data_dir())
    revised = _with_fee_revision(
        bundled, room.key, FeeRevisionData(effective_from=APRIL, fees={"10": 1234})
    )
    report = await load_network(session, revised, LATER)
    assert report.updated["room_fee_schedules"] >= 1
    [row] = await schedules.fee_schedules(session, hall.room_id)
    assert (row.origin, row.fees) == ("data", {"10": 1234})
    snapshot = await SnapshotCache().get(session)
    info = snapshot.room(hall.room_id)
    assert info is not None
    assert info.fees_on(APRIL).fees == {"10": 1234}
    assert info.fees_on(APRIL - timedelta(days=1)).fees == hall.fees
    again = await load_network(session, revised, LATER)
    assert again.updated["room_fee_schedules"] == 0
    await load_network(session, bundled, LATER)  # the file drops it: so does the system
    assert await schedules.fee_schedules(session, hall.room_id) == []
