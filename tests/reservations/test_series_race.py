"""A series (mode all) racing single bookings on the same slots, through the HTTP app on
committed data, both engines: never a double claim, and the whole series or none of it.

Each round fires the series and two single bookings per date of it at once. A loser of a
claim is refused (409 naming the slot); a 503 database_busy (nothing written) is let pass as
any request's answer to a busy database, though the series' claims and a single booking's do
not deadlock (the last test says why).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.util import await_only

from booking.accounts import groups
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import Conflict
from booking.inventory.calendar import DayType, day_type
from booking.inventory.models import Policy, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.services import bump_revision
from booking.reservations.bookings import BookingRequest, book, is_closed
from booking.reservations.consistency import check
from booking.reservations.models import Booking, BookingStatus, Claim, Series, SeriesPattern
from booking.reservations.series import SeriesRequest, book_series
from tests.conftest import DEFAULT_NOW
from tests.people import registration
from tests.races import Step
from tests.reservations import test_change_locks, test_concurrency
from tests.reservations.test_change_locks import Desk
from tests.reservations.test_concurrency import Race

# The committed database and the app of tests/reservations/test_concurrency.py.
committed = test_concurrency.committed
race = test_concurrency.race
desk = test_change_locks.desk

LOSING = {409, 503}


async def _weeks(race: Race, count: int) -> list[date]:
    """`count` weeks running of one weekday on which the room's facility is open, in the
    first-come window of DEFAULT_NOW (January-February 2027)."""
    engine = create_engine(race.settings)
    async with create_sessionmaker(engine)() as session:
        snapshot = await SnapshotCache().get(session)
    await engine.dispose()
    facility = snapshot.facilities[race.facility_id]
    for offset in range(21):
        first = date(2027, 1, 5) + timedelta(days=offset)
        dates = [first + timedelta(weeks=n) for n in range(count)]
        if all(
            day_type(d) is DayType.WEEKDAY and not is_closed(snapshot, facility, d) for d in dates
        ):
            return dates
    raise AssertionError("no weekday open for that many weeks")


async def test_a_series_racing_single_bookings_is_whole_or_absent(race: Race) -> None:
    dates = await _weeks(race, 5)
    engine = create_engine(race.settings)
    sessionmaker = create_sessionmaker(engine)
    outcomes = []
    # The series before the singles, among them, after them: each side first in one round.
    for period, position in (("10", 0.0), ("20", 0.5), ("30", 1.0)):
        series_body = {
            "group_id": race.group_ids[0],
            "room_id": race.room_id,
            "period_codes": [period],
            "purpose": "meeting",
            "headcount": 5,
            "first_date": dates[0].isoformat(),
            "last_date": dates[-1].isoformat(),
            "every": "week",
            "mode": "all",
        }

        async def the_series(body: dict[str, object] = series_body) -> tuple[str, int]:
            response = await race.client.post("/api/v1/series", json=body, headers=race.headers[0])
            return "series", response.status_code

        async def single(i: int, day: date, period: str = period) -> tuple[str, int]:
            response = await race.client.post(
                "/api/v1/bookings",
                json={
                    "group_id": race.group_ids[i],
                    "room_id": race.room_id,
                    "use_date": day.isoformat(),
                    "period_codes": [period],
                    "purpose": "meeting",
                    "headcount": 5,
                },
                headers=race.headers[i],
            )
            return "single", response.status_code

        singles = [single(1 + i, day) for i, day in enumerate(dates + dates)]
        middle = int(len(singles) * position)
        results = await asyncio.gather(*singles[:middle], the_series(), *singles[middle:])
        statuses = Counter(results)
        series_status = next(status for kind, status in results if kind == "series")
        assert series_status in {201} | LOSING, results
        assert set(statuses) <= {("series", s) for s in {201} | LOSING} | {
            ("single", s) for s in {201} | LOSING
        }, results
        async with sessionmaker() as session:
            live = (
                await session.execute(
                    select(Booking.use_date, Booking.series_id).where(
                        Booking.room_id == race.room_id,
                        Booking.use_date.in_(dates),
                        Booking.status == BookingStatus.CONFIRMED,
                        Booking.id.in_(select(Claim.owner_id).where(Claim.period_code == period)),
                    )
                )
            ).all()
            in_series = sum(1 for _, series_id in live if series_id is not None)
            made = await session.scalar(select(func.count()).select_from(Series))
            # All of the series or none of it, never part.
            assert in_series in (0, len(dates)), (period, in_series, results)
            assert (in_series == len(dates)) is (series_status == 201), (period, results)
            # Never two bookings on one slot.
            per_date = Counter(day for day, _ in live)
            assert all(n == 1 for n in per_date.values()), (period, live)
            if series_status == 201:
                assert statuses[("single", 201)] == 0, results
        outcomes.append(series_status)
        # A refused series leaves no row of its own either.
        assert made == outcomes.count(201), (outcomes, made)
    async with sessionmaker() as session:
        report = await check(session)
        assert report.ok, report.lines()
    await engine.dispose()


@pytest.mark.engines("postgresql")
async def test_two_series_of_one_group_at_once_keep_to_the_cap(desk: Desk) -> None:
    """Each series alone is within the cap (4 a month), both together are not: the group's
    row is locked while a series is booked, so the second waits, counts the first's dates and
    is refused (without the lock it read the count before the first wrote: 6 in a month)."""
    async with desk.sessionmaker.begin() as session:
        policy = Policy(key="series-cap-race", settings={"series": {"cap_per_facility_month": 4}})
        session.add(policy)
        await session.flush()
        await session.execute(
            update(Room).where(Room.id == desk.room_id).values(policy_id=policy.id)
        )
        await bump_revision(session, DEFAULT_NOW)
    async with desk.sessionmaker() as session:
        snapshot = await SnapshotCache().get(session)
    facility = snapshot.facilities[desk.facility_id]
    first = next(
        d
        for d in (date(2027, 1, 5) + timedelta(days=n) for n in range(7))
        if all(
            day_type(d + timedelta(weeks=w)) is DayType.WEEKDAY
            and not is_closed(snapshot, facility, d + timedelta(weeks=w))
            for w in range(3)
        )
    )

    def series(period: str) -> Step:
        wanted = SeriesRequest(
            group_id=desk.group_id,
            room_id=desk.room_id,
            period_codes=[period],
            purpose="meeting",
            headcount=5,
            first_date=first,
            last_date=first + timedelta(weeks=2),
            every=SeriesPattern.WEEK,
        )
        return lambda session: book_series(
            session, desk.clock, desk.settings, snapshot, desk.staff, wanted
        )

    second = await desk.at_once(series("10"), series("20"))
    assert isinstance(second, Conflict), second
    assert second.code == "series_not_free"
    async with desk.sessionmaker() as session:
        booked = await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.group_id == desk.group_id, Booking.series_id.is_not(None))
        )
    assert booked == 3


def _six_weeks(snapshot: NetworkSnapshot, facility_id: int) -> list[date]:
    """Six weeks running of a weekday open at the facility, from early January 2027."""
    facility = snapshot.facilities[facility_id]
    for first in (date(2027, 1, 5) + timedelta(days=n) for n in range(7)):
        days = [first + timedelta(weeks=w) for w in range(6)]
        if all(
            day_type(d) is DayType.WEEKDAY and not is_closed(snapshot, facility, d) for d in days
        ):
            return days
    raise AssertionError("no weekday open six weeks running")


async def _another_group(desk: Desk) -> int:
    async with desk.sessionmaker.begin() as session:
        other = await groups.register(
            session, desk.clock, desk.settings, None,
            registration("別の会", "other@example.jp", password="long enough password"), None,
        )  # fmt: skip
        await groups.activate(session, desk.clock, desk.settings, desk.staff, other.id, None)
    return other.id


@pytest.mark.engines("postgresql")
async def test_a_series_split_over_statements_never_deadlocks_a_single_booking(
    desk: Desk,
) -> None:
    """A claim's insert locks its use month's version row (claim_months, by trigger) at the
    end of its statement, until commit. A large series (a gym's 3 courts x 8 hourly periods x
    53 weeks = 1,272 claims) goes in as several INSERTs of `insertmanyvalues_page_size` rows
    (1,000): were a month split between two of them, the first would hold the month while a
    single booking of that month took its slot and waited for the month, and the second would
    wait for the single booking's slot: a deadlock (503 for one of them). Here pages of 5
    rows and six weeks (January's dates, then February's): the single booking of the last
    date, made between the series' statements, is done without waiting and the series loses
    its slot with a 409 naming it (red when the series' claims are paged regardless of
    months: deadlock_detected)."""
    async with desk.sessionmaker() as session:
        snapshot = await SnapshotCache().get(session)
    dates = _six_weeks(snapshot, desk.facility_id)
    assert dates[0].month == 1
    assert dates[-1].month == 2
    assert sum(d.month == 1 for d in dates) < 5  # January fits a page of 5, with February not
    other = await _another_group(desk)
    wanted = SeriesRequest(
        group_id=desk.group_id,
        room_id=desk.room_id,
        period_codes=["10"],
        purpose="meeting",
        headcount=5,
        first_date=dates[0],
        last_date=dates[-1],
        every=SeriesPattern.WEEK,
    )
    single = BookingRequest(
        group_id=other,
        room_id=desk.room_id,
        use_date=dates[-1],
        period_codes=["10"],
        purpose="meeting",
        headcount=5,
    )

    async def the_single() -> object:
        async with desk.sessionmaker.begin() as session:
            return await book(session, desk.clock, desk.settings, snapshot, desk.staff, single)

    dialect = desk.engine.sync_engine.dialect
    page_size = dialect.insertmanyvalues_page_size
    dialect.insertmanyvalues_page_size = 5
    between: list[asyncio.Future[object]] = []

    async def single_between() -> None:
        """The single booking starts; the series goes on once it waits or is done."""
        between.append(asyncio.ensure_future(the_single()))
        for _ in range(250):
            if between[0].done() or await desk.waiting_on_a_lock():
                return
            await asyncio.sleep(0.02)

    try:
        async with desk.sessionmaker.begin() as session:
            series_connection = (await session.connection()).sync_connection

            def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                claims = statement.startswith("INSERT INTO claims")
                if conn is series_connection and claims and not between:
                    await_only(single_between())

            event.listen(desk.engine.sync_engine, "after_cursor_execute", after)
            try:
                with pytest.raises(Conflict) as lost:
                    await book_series(
                        session, desk.clock, desk.settings, snapshot, desk.staff, wanted
                    )
                await session.rollback()  # as the app does on a refusal
            finally:
                event.remove(desk.engine.sync_engine, "after_cursor_execute", after)
    finally:
        dialect.insertmanyvalues_page_size = page_size
    assert lost.value.code == "slot_taken"
    assert dates[-1].isoformat() in str(lost.value)
    booked = await between[0]
    assert isinstance(booked, Booking)
    async with desk.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Series)) == 0
        report = await check(session)
        assert report.ok, report.lines()
