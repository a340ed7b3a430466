"""BOOKING_DATABASE_READ_URL against a real streaming replica (tests/replica.py).

Which server answered is shown by pausing the replica's replay: a booking made on the primary
afterwards is missing from what the replica answers, and there only. PostgreSQL only: SQLite
has no replicas.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.engine import make_url

from booking.accounts import auth, groups
from booking.accounts.models import StaffRole
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.app import create_app
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.db import replica as replica_module
from booking.db.engine import create_engine, create_sessionmaker
from booking.db.replica import Replica
from booking.inventory.models import Room
from booking.inventory.network import RoomInfo, SnapshotCache
from booking.reservations.bookings import is_closed
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, committed_database, postgres_url
from tests.people import PASSWORD, principal, registration
from tests.places import open_weekday
from tests.replica import ReplicaServer, replica_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.engines("postgresql")

MAX_LAG = 5.0  # read_max_lag_seconds of these tests' app
AVAILABILITY = "/api/v1/availability/"
# Pauses start this close behind at most: what a test then reads has 3.5 s before the limit.
CLOSE_BEHIND = 1.5


@dataclass
class Site:
    http: httpx.AsyncClient
    app: Litestar
    member: dict[str, str]  # the group's representative, logged in
    group_id: int
    room_id: int
    facility_id: int
    day: date

    @property
    def replica(self) -> Replica:
        found: Replica = self.app.state.replica
        return found

    async def book(self, period: str) -> None:
        made = await self.http.post(
            "/api/v1/bookings",
            json={
                "group_id": self.group_id,
                "room_id": self.room_id,
                "use_date": self.day.isoformat(),
                "period_codes": [period],
                "purpose": "singing",
                "headcount": 12,
                "event_name": "定期練習",
            },
            headers=self.member,
        )
        assert made.status_code == 201, made.text

    async def state(self, period: str, headers: dict[str, str] | None = None) -> str:
        day = self.day.isoformat()
        found = await self.http.get(
            AVAILABILITY,
            params={"from": day, "to": day, "room": str(self.room_id)},
            headers=headers or {},
        )
        assert found.status_code == 200, found.text
        (room,) = found.json()["rooms"]
        (slots,) = (d["slots"] for d in room["days"])
        return next(str(s["state"]) for s in slots if s["period"] == period)

    async def free_on_page(self, headers: dict[str, str] | None = None) -> int:
        """The search page's count of free slots of the room that day."""
        day = self.day.isoformat()
        page = await self.http.get(
            "/search", params={"from": day, "to": day, "room": str(self.room_id)}, headers=headers
        )
        assert page.status_code == 200, page.text
        status = re.search(r'<p role="status">([^<]*)</p>', page.text)
        assert status is not None, page.text
        return int(re.findall(r"\d+", status[1])[0])


@contextmanager
def _logged(logger: logging.Logger) -> Iterator[list[logging.LogRecord]]:
    """The logger's records (the app's logging setup may keep them from pytest's caplog)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.1)


async def _seed(settings: Settings) -> tuple[dict[str, str], int, RoomInfo, date]:
    """A group with a logged-in representative, and a hall room open for first-come."""
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            admin = await grant_staff_role(
                session,
                clock,
                settings,
                SYSTEM,
                email="admin@city.example",
                name="管理者",
                role=StaffRole.ADMIN,
                password=PASSWORD,
            )
            group = await groups.register(
                session,
                clock,
                settings,
                None,
                registration("川崎合唱団", "rep@example.jp", password=PASSWORD),
                None,
            )
            await groups.activate(
                session, clock, settings, await principal(session, admin.id), group.id, None
            )
            rep = next(m for m in await groups.roster(session, group.id) if m.user_id)
            opened = await open_session(session, clock, settings, rep.user_id or 0)
            snapshot = await SnapshotCache().get(session)
            priced = {
                r.id for r in await session.scalars(select(Room)) if r.fees and r.purposes is None
            }
            room = next(
                r
                for r in snapshot.rooms
                if snapshot.facilities[r.facility_id].kind == "civic_hall"
                and r.online_bookable
                and len(r.unit_ids) == 1
                and r.id in priced
                and (r.capacity or 0) >= 20
                and snapshot.facilities[r.facility_id].closes_on is None
                and not is_closed(snapshot, snapshot.facilities[r.facility_id], date(2026, 11, 26))
            )
            day = open_weekday(snapshot, room.facility_id, date(2027, 2, 8))
    finally:
        await engine.dispose()
    member = {
        "Cookie": f"{auth.SESSION_COOKIE}={opened.cookie_value}",
        auth.CSRF_HEADER: opened.csrf_token,
    }
    return member, group.id, room, day


@asynccontextmanager
async def serving(
    engine_settings: Settings, server: ReplicaServer, data_dir: Path
) -> AsyncIterator[Site]:
    """The app on a fresh database of the primary, reading the replica (the app's lifespan is
    entered and left in the test's own task, as anyio requires)."""
    database = make_url(postgres_url("replica")).database or ""
    with committed_database(
        engine_settings,
        data_dir,
        "replica",
        database_read_url=server.url(database),
        read_max_lag_seconds=MAX_LAG,
    ) as settings:
        member, group_id, room, day = await _seed(settings)
        await server.caught_up()  # the database and the group are on the replica
        app = create_app(settings, clock=FrozenClock(DEFAULT_NOW))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            found = Site(http, app, member, group_id, room.id, room.facility_id, day)
            await _in_time(found)
            try:
                yield found
            finally:
                await server.resume()


async def _in_time(site: Site) -> None:
    """Until the replica is well within the limit: what follows has seconds before the lag
    that a pause starts reaches it (this machine's replica may trail a busy primary)."""

    async def close_behind() -> bool:
        lag = site.replica.lag()
        return lag is not None and lag < CLOSE_BEHIND

    await until(close_behind, 60, "the replica is close behind")


async def test_anonymous_reads_come_from_the_replica_and_a_member_reads_their_own_writes(
    engine_settings: Settings,
    replica_server: ReplicaServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    async with serving(engine_settings, replica_server, tmp_path) as site:
        await _own_writes_and_lag(site, replica_server)


async def _own_writes_and_lag(site: Site, server: ReplicaServer) -> None:
    made = await site.http.post(
        "/api/v1/feeds", json={"kind": "room", "target_id": site.room_id}, headers=site.member
    )
    assert made.status_code == 201, made.text
    feed = made.json()
    feed_path = urlsplit(feed["url"]).path
    free = await site.free_on_page()
    await _in_time(site)

    await server.pause()
    await site.book("10")
    # The anonymous reads: the replica's, without the booking.
    assert await site.state("10") == "open"
    assert await site.free_on_page() == free
    ics = await site.http.get(feed_path)
    assert ics.status_code == 200, ics.text
    assert "BEGIN:VEVENT" not in ics.text
    # The member's: the primary's, with it.
    assert await site.state("10", site.member) == "booked"
    assert await site.free_on_page(site.member) == free - 1
    # A feed's token is looked up on the primary: rotated, the old URL is gone at once,
    # though the paused replica still holds it.
    rotated = await site.http.post(f"/api/v1/feeds/{feed['id']}/rotate", headers=site.member)
    assert rotated.status_code == 200, rotated.text
    assert (await site.http.get(feed_path)).status_code == 404
    feed_path = urlsplit(rotated.json()["url"]).path

    # Behind by more than read_max_lag_seconds: the anonymous reads fall back to the primary.
    async def booked_for_anyone() -> bool:
        return await site.state("10") == "booked"

    await until(booked_for_anyone, MAX_LAG + 15, "anonymous reads from the primary")
    assert not site.replica.usable()
    assert await site.free_on_page() == free - 1
    assert "BEGIN:VEVENT" in (await site.http.get(feed_path)).text

    # Replaying again and in time: used again.
    await server.resume()
    await _in_time(site)
    await server.pause()
    await site.book("20")
    assert await site.state("20") == "open"
    assert await site.state("20", site.member) == "booked"


async def test_a_stopped_replica_is_answered_from_the_primary_and_used_again_when_back(
    engine_settings: Settings,
    replica_server: ReplicaServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serving(engine_settings, replica_server, tmp_path) as site:
        await _stopped_and_back(site, replica_server, monkeypatch)


async def _stopped_and_back(
    site: Site,
    server: ReplicaServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await site.state("10") == "open"  # a connection to the replica, back in the pool
    server.stop()
    try:
        # Before the watch notices: the request's read on the replica fails on its pooled
        # connection, and the request is answered again from the primary.
        with _logged(replica_module.log) as records:
            monkeypatch.setattr(site.replica, "usable", lambda: True)
            await site.book("10")
            assert await site.state("10") == "booked"
            monkeypatch.undo()
        assert any(r.getMessage().startswith("read on the replica failed") for r in records)
        # Down: every anonymous read is the primary's.
        assert not site.replica.usable()
        await site.book("20")
        assert await site.state("20") == "booked"
        assert await site.free_on_page() == await site.free_on_page(site.member)
        assert (await site.http.get(f"/facilities/{site.facility_id}")).status_code == 200
    finally:
        server.start()
    await server.caught_up()
    await _in_time(site)
    await server.pause()
    await site.book("30")
    assert await site.state("30") == "open"  # the replica's again
    assert await site.state("30", site.member) == "booked"


def test_the_replica_knows_the_session_cookie_by_its_name() -> None:
    assert replica_module.SESSION_COOKIE == auth.SESSION_COOKIE


def test_lag_is_the_time_since_the_replica_last_held_all_the_primary_had() -> None:
    """Positions (WAL) sampled on the primary at moments; the replica has replayed up to a
    position: it held everything of the latest moment whose position it has reached."""
    replica = Replica.__new__(Replica)
    replica._samples = deque([(10.0, 100), (11.0, 200), (12.0, 300)])
    replica._warned = False
    # Replayed everything sampled: in time as of the last sample, whatever the replay
    # timestamp says (an idle primary writes nothing, and that stops moving).
    assert replica._caught_up((True, 300, 3600.0), asked=12.5) == 12.0
    # Behind: as of the last moment whose position it has replayed.
    assert replica._caught_up((True, 250, 3600.0), asked=12.5) == 11.0
    # Behind every sample: its last replayed commit's age.
    assert replica._caught_up((True, 50, 4.0), asked=12.5) == 8.5
    assert replica._caught_up((True, 50, None), asked=12.5) is None
    # Not a standby (promoted, or the primary's own URL): never used.
    assert replica._caught_up((False, 300, 0.0), asked=12.5) is None


async def test_a_read_url_beside_sqlite_is_ignored(tmp_path: Path) -> None:
    """A replica is PostgreSQL's, of PostgreSQL: beside the embedded SQLite it is not used."""
    settings = Settings(
        data_dir=tmp_path, database_read_url="postgresql+asyncpg://postgres@127.0.0.1:1/none"
    )
    app = create_app(settings)
    with _logged(replica_module.log) as records:
        async with app.lifespan():
            assert app.state.get("replica") is None
    assert any("BOOKING_DATABASE_READ_URL ignored" in r.getMessage() for r in records)
