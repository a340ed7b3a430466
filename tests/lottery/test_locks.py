"""The lottery's row locks at work, on PostgreSQL (SQLite has one writer, so nothing to race).

Applying locks the group's row, so two applications of one group at once keep to the quota;
withdrawing and confirming lock the application's row, so a double click acts once; reading
an application never waits; the worker's reminder and lapse skip a win whose confirmation is
under way (SKIP LOCKED) instead of waiting for it.

Committed data in a database of its own (tests/conftest.py, committed_database), a connection
per transaction; a third watches pg_stat_activity to see the second one wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import User
from booking.accounts.sessions import principal_for_user
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import BookingError
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.lottery import applications as lottery
from booking.lottery.drawing import DrawResult, draw_facility, lapse_unconfirmed, remind_winners
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryDraw
from booking.reservations.bookings import BookingRequest
from booking.reservations.models import Booking, Claim, ClaimKind
from booking.settings import Settings
from tests.conftest import committed_database
from tests.helpers import jst
from tests.lottery.test_boundaries import MARCH, WINDOW_OPEN, open_weekdays
from tests.people import registration
from tests.races import Race, Step, city_admin

pytestmark = pytest.mark.engines("postgresql")


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "lottery_locks") as settings:
        yield settings


@dataclass
class Desk(Race):
    """One group applying at a civic hall for March, on committed data."""

    settings: Settings
    clock: FrozenClock
    snapshot: NetworkSnapshot
    member: Principal
    group_id: int
    room_id: int
    facility_id: int

    def applying(self, day: date, periods: Sequence[str]) -> Step:
        request = BookingRequest(self.group_id, self.room_id, day, list(periods), "meeting", 10)
        return lambda session: lottery.apply(
            session, self.clock, self.settings, self.snapshot, self.member, request
        )

    def confirming(self, application_id: int) -> Step:
        return lambda session: lottery.confirm(
            session, self.clock, self.settings, self.snapshot, self.member, application_id
        )

    async def won(self) -> int:
        """An application for March, drawn (alone, so won) on 24 November."""
        (day,) = open_weekdays(self.snapshot, self.facility_id, 1)
        self.clock.set(WINDOW_OPEN)
        application = await self.alone(self.applying(day, ("10",)))
        self.clock.set(jst(date(2026, 11, 24), 9))
        await self.alone(
            lambda session: draw_facility(
                session, self.clock, self.settings, self.snapshot, MARCH, self.facility_id
            )
        )
        return int(application.id)

    async def count(self, what: Any, *where: Any) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(what).where(*where)))


@pytest.fixture
async def desk(committed: Settings) -> AsyncIterator[Desk]:
    clock = FrozenClock(WINDOW_OPEN)
    engine = create_engine(committed)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, committed)
        snapshot = await SnapshotCache().get(session)
        room = next(
            r
            for r in snapshot.rooms
            if r.online_bookable
            and r.policy.lottery.enabled
            and snapshot.facilities[r.facility_id].kind == "civic_hall"
            and snapshot.facilities[r.facility_id].closes_on is None
            and r.purposes is None
            and (r.capacity or 0) >= 10
        )
        group = await groups.register(
            session,
            clock,
            committed,
            None,
            registration("会", "rep@example.jp", password="long enough password"),
            None,
        )
        await groups.activate(session, clock, committed, staff, group.id, None)
        rep = await session.scalar(select(User).where(User.email == "rep@example.jp"))
        assert rep is not None
        member = await principal_for_user(session, rep)
    try:
        yield Desk(
            engine,
            sessionmaker,
            committed,
            clock,
            snapshot,
            member,
            group.id,
            room.id,
            room.facility_id,
        )
    finally:
        await engine.dispose()


async def test_two_applications_of_a_group_at_once_keep_to_the_quota(desk: Desk) -> None:
    """6 of 8 period-slots used; two applications of 2 each at once: the second waits for the
    first and finds the quota full."""
    days = open_weekdays(desk.snapshot, desk.facility_id, 4)
    for day in days[:2]:
        await desk.alone(desk.applying(day, ("10", "20", "30")))
    second = await desk.at_once(
        desk.applying(days[2], ("10", "20")),
        desk.applying(days[3], ("10", "20")),
        second_waits=True,
    )
    assert isinstance(second, BookingError)
    assert second.code == "over_quota"
    applied = LotteryApplication.status == ApplicationStatus.APPLIED
    assert await desk.count(LotteryApplication, applied) == 3


async def test_a_second_withdrawal_waits_and_finds_the_application_withdrawn(desk: Desk) -> None:
    (day,) = open_weekdays(desk.snapshot, desk.facility_id, 1)
    application = await desk.alone(desk.applying(day, ("10",)))

    def withdrawing(session: AsyncSession) -> Awaitable[LotteryApplication]:
        return lottery.withdraw(
            session, desk.clock, desk.settings, desk.snapshot, desk.member, application.id
        )

    second = await desk.at_once(withdrawing, withdrawing, second_waits=True)
    assert isinstance(second, BookingError)
    assert second.code == "not_applied"
    assert await desk.count(AuditEvent, AuditEvent.action == "lottery.withdrawn") == 1


async def test_a_second_confirmation_waits_and_finds_the_win_confirmed(desk: Desk) -> None:
    won = await desk.won()
    desk.clock.set(jst(date(2026, 11, 25), 10))
    second = await desk.at_once(desk.confirming(won), desk.confirming(won), second_waits=True)
    assert isinstance(second, BookingError)
    assert second.code == "not_won"
    assert await desk.count(Booking) == 1


async def test_reading_an_application_being_confirmed_does_not_wait(desk: Desk) -> None:
    won = await desk.won()
    desk.clock.set(jst(date(2026, 11, 25), 10))

    def reading(session: AsyncSession) -> Awaitable[tuple[LotteryApplication, Any]]:
        return lottery.get_application(session, desk.member, won)

    application, _ = await desk.at_once(desk.confirming(won), reading, second_waits=False)
    assert application.status is ApplicationStatus.WON  # the confirmation had not committed


@pytest.mark.parametrize(
    ("job", "confirmed_at", "run_at"),
    [
        # The reminder's day, the day before the deadline.
        (remind_winners, jst(date(2026, 11, 27), 10), jst(date(2026, 11, 27), 10)),
        # The last minute of the window, and the lapse run at midnight.
        (lapse_unconfirmed, jst(date(2026, 11, 28), 23, 59), jst(date(2026, 11, 29), 0, 0)),
    ],
)
async def test_the_worker_passes_over_a_win_whose_confirmation_is_under_way(
    desk: Desk, job: Callable[..., Awaitable[int]], confirmed_at: Any, run_at: Any
) -> None:
    """The winner confirms while the worker's run starts: the run neither waits for the
    confirmation nor touches the win, which ends confirmed, unreminded."""
    won = await desk.won()
    desk.clock.set(confirmed_at)
    worker = FrozenClock(run_at)

    def running(session: AsyncSession) -> Awaitable[int]:
        return job(desk.sessionmaker, worker, desk.settings, desk.snapshot)

    assert await desk.at_once(desk.confirming(won), running, second_waits=False) == 0
    async with desk.sessionmaker() as session:
        application = await session.get_one(LotteryApplication, won)
        assert (application.status, application.reminded_at) == (ApplicationStatus.CONFIRMED, None)


async def test_two_draws_of_a_facility_at_once_draw_it_once(desk: Desk) -> None:
    """The second run waits on the first's draw row, then finds it taken and changes nothing:
    one set of outcomes, one claim per win, one draw file (the bulk writes included)."""
    days = open_weekdays(desk.snapshot, desk.facility_id, 2)
    for day in days:
        await desk.alone(desk.applying(day, ("10",)))
    desk.clock.set(jst(date(2026, 11, 24), 9))

    def drawing(session: AsyncSession) -> Awaitable[DrawResult]:
        return draw_facility(
            session, desk.clock, desk.settings, desk.snapshot, MARCH, desk.facility_id
        )

    second = await desk.at_once(drawing, drawing, second_waits=True)
    assert second == DrawResult(MARCH, desk.facility_id, drawn=False)
    assert await desk.count(LotteryDraw) == 1
    assert (
        await desk.count(LotteryApplication, LotteryApplication.status == ApplicationStatus.WON)
        == 2
    )
    room = desk.snapshot.room(desk.room_id)
    assert room is not None
    assert await desk.count(Claim, Claim.kind == ClaimKind.LOTTERY_WIN) == 2 * len(room.unit_ids)
