"""Loading facility data: validation first, all or nothing, idempotent, updates in place."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking.inventory.datafiles import DataValidationError, read_network
from booking.inventory.load import load_network
from booking.inventory.models import ClosureRule, Facility, Room, RoomUnit, Unit
from booking.inventory.services import current_revision
from booking.paths import facilities_data_dir
from booking.reservations.models import Claim
from tests.conftest import TEST_DATA
from tests.helpers import claim, room_id

LATER = datetime(2026, 12, 1, tzinfo=UTC)


async def test_second_load_changes_nothing(test_network):
    session = test_network
    revision = await current_revision(session)
    stamps = {r.key: r.updated_at for r in (await session.scalars(select(Room))).all()}
    report = await load_network(session, read_network(TEST_DATA / "network"), LATER)
    assert not report.changed, report.summary()
    assert report.summary() == "no changes"
    assert await current_revision(session) == revision
    assert {r.key: r.updated_at for r in (await session.scalars(select(Room))).all()} == stamps


async def test_combined_room_units_are_its_parts_units(test_network):
    session = test_network
    combined = await room_id(session, "test-hall", "combined")
    keys = (
        await session.scalars(
            select(Unit.key)
            .join(RoomUnit, RoomUnit.unit_id == Unit.id)
            .where(RoomUnit.room_id == combined)
            .order_by(Unit.key)
        )
    ).all()
    assert keys == ["room-1", "room-2"]


async def test_changed_file_updates_in_place_without_breaking_claims(test_network, tmp_path):
    session = test_network
    day = date(2026, 12, 10)
    await claim(session, "test-hall", "room-1", day, "10")
    ids_before = {r.key: r.id for r in (await session.scalars(select(Room))).all()}
    revision = await current_revision(session)

    changed = _copy(tmp_path)
    text = (changed / "facilities.toml").read_text("utf-8")
    text = text.replace("capacity = 24", "capacity = 26")
    # Room 2 leaves the data; the combined room now spans room-1 only.
    text = text.replace(
        '[[facilities.rooms]]\nkey = "room-2"\nname_ja = "第2集会室"\n'
        'name_en = "Meeting Room 2"\ncapacity = 30\nsources = ["tests"]\n',
        "",
    )
    text = text.replace('units = ["room-1", "room-2"]', 'units = ["room-1"]')
    text = text.replace("nth = 3", "nth = 2")
    (changed / "facilities.toml").write_text(text, "utf-8")

    report = await load_network(session, read_network(changed), LATER)
    # room-1's capacity; the rooms after the removed one keep their places (and sort_order
    # values: the order is the same, so a load of an export changes nothing).
    assert report.updated["rooms"] == 1
    assert report.retired["rooms"] == 1
    assert report.updated["room_units"] == 1
    assert report.updated["closure_rules"] == 1
    assert await current_revision(session) == revision + 1

    rooms = {r.key: r for r in (await session.scalars(select(Room))).all()}
    assert {k: r.id for k, r in rooms.items()} == ids_before  # same rows, updated in place
    assert rooms["room-1"].capacity == 26
    assert rooms["room-1"].updated_at == LATER
    assert not rooms["room-2"].active
    assert await session.scalar(select(func.count()).select_from(Claim)) == 1  # claim intact
    rule = await session.scalar(
        select(ClosureRule)
        .join(Facility, Facility.id == ClosureRule.facility_id)
        .where(Facility.key == "test-hall")
    )
    assert rule is not None
    assert rule.spec["nth"] == 2


async def test_a_facility_that_leaves_the_data_is_retired(test_network, tmp_path):
    changed = _copy(tmp_path)
    text = (changed / "facilities.toml").read_text("utf-8")
    (changed / "facilities.toml").write_text(
        text[: text.index('[[facilities]]\nkey = "test-new"')], "utf-8"
    )
    report = await load_network(test_network, read_network(changed), LATER)
    assert report.retired["facilities"] == 1
    retired = await test_network.scalar(select(Facility).where(Facility.key == "test-new"))
    assert retired is not None
    assert not retired.active


def test_every_bad_record_is_reported_with_file_line_and_key():
    with pytest.raises(DataValidationError) as caught:
        read_network(TEST_DATA / "bad")
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 3, messages
    assert any(
        "line 16" in m and "bad-hall/room-1" in m and "capacity" in m and "greater than 0" in m
        for m in messages
    )
    assert any("line 8" in m and "ward" in m and "atlantis" in m for m in messages)
    assert any("line 23" in m and "fees" in m and "'99'" in m for m in messages)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('key = "test-hall"', 'key = "Test Hall"'), "key"),
        (lambda t: t.replace('kind = "senior_centre"', 'kind = "castle"'), "kind"),
        (
            lambda t: t.replace(
                'sources = ["tests"]\n[[facilities.closures]]', "[[facilities.closures]]"
            ),
            "sources",
        ),
        (lambda t: t.replace("nth = 3", "nth = 9"), "closures"),
        (lambda t: t.replace('key = "room-2"', 'key = "room-1"'), "room keys must be unique"),
        (lambda t: t.replace('key = "test-new"', 'key = "test-hall"'), "key also used"),
        (lambda t: t.replace('policy = "counter"', 'policy = "nope"'), "unknown policy"),
        (lambda t: t.replace('purposes = ["meeting"]', 'purposes = ["karaoke"]'), "purpose"),
        (lambda t: t.replace("opens_on = 2027-02-01", "opens_on = 2027-02-31"), "line"),
        (lambda t: t.replace('estimate_basis = "test estimate"\n', ""), "estimate_basis"),
        (lambda t: t + '\n[[facilities]]\nkey = "x"\n', "Field required"),
        (lambda t: 'title = "x"\n' + t, "unknown top-level"),
    ],
)
def test_bad_facility_files(tmp_path, edit, expected):
    text = _problems_after(tmp_path, "facilities.toml", edit)
    assert "facilities.toml" in text
    assert expected in text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('start = "13:00"', 'start = "11:00"'), "overlap"),
        (lambda t: t.replace('end = "12:00"', 'end = "08:00"'), "start must be before end"),
        (lambda t: t.replace('period_grid = "evening"', 'period_grid = "night"'), "unknown period"),
        (lambda t: t.replace('name_ja = "敬老の日"', 'name_ja = "猫の日"'), "no public holiday"),
        (
            lambda t: t.replace(
                "first_come_closes_days_before = 14", "first_come_closes_days_before = -1"
            ),
            "policies.counter",
        ),
        (
            lambda t: t.replace('[[wards]]\nkey = "nakahara"', '[[wards]]\nkey = "kawasaki"'),
            "ward keys must be unique",
        ),
    ],
)
def test_bad_network_file(tmp_path, edit, expected):
    text = _problems_after(tmp_path, "network.toml", edit)
    assert "network.toml" in text
    assert expected in text


def test_missing_or_broken_files(tmp_path):
    with pytest.raises(DataValidationError, match="problem"):
        read_network(tmp_path / "nowhere")
    changed = _copy(tmp_path)
    (changed / "network.toml").unlink()
    with pytest.raises(DataValidationError) as caught:
        read_network(changed)
    assert "file is missing" in str(caught.value.errors[0])
    changed = _copy(tmp_path / "again")
    (changed / "facilities.toml").write_text("[[facilities]\nkey = 1\n", "utf-8")
    with pytest.raises(DataValidationError) as caught:
        read_network(changed)
    assert "line 1" in str(caught.value.errors[0])


def test_bundled_kawasaki_data_is_valid():
    network = read_network(facilities_data_dir())
    kinds = {f.data.kind for f in network.facilities}
    assert kinds == {"civic_hall", "branch_hall", "children_centre", "senior_centre", "other"}
    assert len([f for f in network.facilities if f.data.kind == "civic_hall"]) >= 7
    for facility in network.facilities:
        assert facility.data.sources, facility.data.key
        for room in facility.rooms:
            # Every fee is either sourced (0 at a free children's centre) or marked an estimate.
            if room.fees and any(room.fees.values()):
                assert room.estimated or "fees" in room.estimated_fields, (
                    facility.data.key,
                    room.key,
                )


def _problems_after(tmp_path: Path, name: str, edit) -> str:
    """Every problem reported once `edit` has changed one file of the test network."""
    changed = _copy(tmp_path)
    path = changed / name
    path.write_text(edit(path.read_text("utf-8")), "utf-8")
    with pytest.raises(DataValidationError) as caught:
        read_network(changed)
    return "\n".join(str(e) for e in caught.value.errors)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "network"
    shutil.copytree(TEST_DATA / "network", target)
    return target
