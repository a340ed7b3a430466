"""Two staff acts on one notice or one estimate at once (PostgreSQL; SQLite has one writer):
the second waits for the first and acts on what it wrote, never on what it read before.

Committed data in a database of its own (tests/conftest.py, committed_database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.errors import Conflict, RuleViolation
from booking.inventory import estimates, notices
from booking.inventory.models import Notice, Room
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, committed_database
from tests.people import principal
from tests.races import Race, Step, city_admin, race_on

pytestmark = pytest.mark.engines("postgresql")


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "staff_locks") as settings:
        yield settings


@pytest.fixture
async def race(committed: Settings) -> AsyncIterator[Race]:
    async with race_on(committed) as race:
        yield race


async def test_an_edit_waits_for_a_withdrawal_and_then_refuses(
    race: Race, committed: Settings
) -> None:
    clock = FrozenClock(DEFAULT_NOW)

    async def set_up(session: AsyncSession) -> tuple[int, int]:
        admin = await city_admin(session, clock, committed)
        room = await session.scalar(select(Room).order_by(Room.id).limit(1))
        assert room is not None
        text = notices.NoticeText(title_ja="題", body_ja="本文", starts_on=date(2026, 11, 25))
        posted = await notices.post_notice(session, clock, committed, admin, room.facility_id, text)
        return admin.user_id, posted.id

    admin_id, notice_id = await race.alone(set_up)

    async def withdrawing(session: AsyncSession) -> object:
        admin = await principal(session, admin_id)
        return await notices.withdraw_notice(session, clock, admin, notice_id)

    async def editing(session: AsyncSession) -> object:
        admin = await principal(session, admin_id)
        changes = {"title_ja": "新しい題"}
        return await notices.edit_notice(session, clock, committed, admin, notice_id, changes)

    second = await race.at_once(withdrawing, editing)
    assert isinstance(second, Conflict), second
    assert second.code == "notice_withdrawn"
    async with race.sessionmaker() as session:
        notice = await session.get_one(Notice, notice_id)
        assert (notice.title_ja, notice.withdrawn_at is not None) == ("題", True)


async def test_two_confirmations_of_one_estimate_make_one(race: Race, committed: Settings) -> None:
    clock = FrozenClock(DEFAULT_NOW)

    async def set_up(session: AsyncSession) -> tuple[int, int, int | None]:
        admin = await city_admin(session, clock, committed)
        rooms = (await session.scalars(select(Room).where(Room.active).order_by(Room.id))).all()
        room = next(r for r in rooms if "capacity" in r.estimated_fields)
        return admin.user_id, room.id, room.capacity

    admin_id, room_id, capacity = await race.alone(set_up)

    def confirming(value: int | None) -> Step:
        async def step(session: AsyncSession) -> object:
            who = await principal(session, admin_id)
            return await estimates.confirm_estimate(
                session, clock, committed, who, ("room", room_id), "capacity", value
            )

        return step

    second = await race.at_once(confirming(None), confirming(7))
    assert isinstance(second, RuleViolation), second
    assert second.code == "not_estimated"
    async with race.sessionmaker() as session:
        room = await session.get_one(Room, room_id)
        assert room.capacity == capacity  # the second's correction did not land
        assert "capacity" not in room.estimated_fields
        assert list(room.confirmations) == ["capacity"]
