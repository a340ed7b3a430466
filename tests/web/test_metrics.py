"""/metrics (issue 20): requests by route template and status with latency histograms, the
database pool, and the database's counts (outbox, lottery, wait lists) equal to the rows;
readable only from BOOKING_METRICS_NETWORKS."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.app import create_app
from booking.clock import FrozenClock
from booking.db.replica import Replica
from booking.inventory.models import Room
from booking.jobs.models import JobRun
from booking.jobs.schedule import JOBS
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryDraw
from booking.notifications.models import OutboxMessage, OutboxStatus
from booking.settings import Settings
from booking.waitlist.models import EntryStatus, WaitlistEntry
from booking.web.metrics_db import CountsCache
from tests.conftest import Database
from tests.people import World
from tests.web.metrics_text import count, label_values, series, value

REQUESTS = "booking_http_requests_total"
LATENCY = "booking_http_request_duration_seconds"


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_a_request_is_counted_under_its_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    route = {"method": "GET", "route": "/api/v1/bookings/{booking_id}"}
    before = await scrape(client)
    for booking_id in (987654, 987655):
        assert (await client.get(f"/api/v1/bookings/{booking_id}")).status_code == 401
    after = await scrape(client)
    assert (
        count(after, REQUESTS, **route, status="401")
        == count(before, REQUESTS, **route, status="401") + 2
    )
    assert "987654" not in " ".join(label_values(after))  # the template, never the path
    # Its latency histogram, every bucket and +Inf, the count moved by two.
    buckets = {
        dict(labels)["le"]
        for (name, labels), _ in series(after).items()
        if name == f"{LATENCY}_bucket" and dict(labels)["route"] == route["route"]
    }
    assert {"0.005", "0.05", "0.5", "5.0", "+Inf"} <= buckets
    template = {"route": route["route"]}
    moved = count(after, f"{LATENCY}_count", **template)
    assert moved == count(before, f"{LATENCY}_count", **template) + 2
    assert count(after, f"{LATENCY}_sum", **template) > count(before, f"{LATENCY}_sum", **template)


async def test_addresses_no_route_serves_share_one_label(client: httpx.AsyncClient) -> None:
    unmatched = {"method": "GET", "route": "(unmatched)", "status": "404"}
    before = await scrape(client)
    for path in ("/no/such/page/4711", "/wp-login.php", "/api/v1/nothing-here"):
        assert (await client.get(path)).status_code == 404
    assert (await client.request("BREW", "/health")).status_code == 405
    after = await scrape(client)
    assert count(after, REQUESTS, **unmatched) == count(before, REQUESTS, **unmatched) + 3
    labels = " ".join(label_values(after))
    assert "4711" not in labels
    assert "wp-login" not in labels
    assert "BREW" not in labels  # an odd method is "other"


async def _outbox(session: AsyncSession, clock: FrozenClock, status: OutboxStatus) -> None:
    session.add(
        OutboxMessage(
            created_at=clock.now(),
            template="test",
            to_address="someone@example.com",
            subject="s",
            body_text="b",
            status=status,
            attempts=0,
            next_attempt_at=clock.now(),
        )
    )


async def _application(
    session: AsyncSession, world: World, room: Room, month: date, status: ApplicationStatus
) -> None:
    session.add(
        LotteryApplication(
            use_month=month,
            group_id=world.group_a,
            room_id=room.id,
            facility_id=room.facility_id,
            use_date=month + timedelta(days=9),
            period_codes=["morning"],
            purpose="meeting",
            headcount=5,
            status=status,
            created_at=datetime_of(month),
        )
    )


def datetime_of(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC) - timedelta(days=40)


async def _entry(session: AsyncSession, world: World, room: Room, status: EntryStatus) -> None:
    day = date(2026, 12, 10)
    session.add(
        WaitlistEntry(
            group_id=world.group_a,
            room_id=room.id,
            facility_id=room.facility_id,
            use_date=day,
            period_codes=["morning"],
            periods_key=f"morning-{status.value}-{id(object())}",
            status=status,
            joined_at=datetime_of(date(2026, 11, 1)),
        )
    )


async def test_the_database_counts_are_the_rows(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: FrozenClock
) -> None:
    """Outbox waiting and dead (not sent), the open cycles' applications by status and their
    draws (this month on: the frozen clock is in 2026-11), live wait-list entries."""
    room = (await session.scalars(select(Room).where(Room.facility_id == world.here))).first()
    assert room is not None
    before = await scrape(client)
    for status, times in (
        (OutboxStatus.PENDING, 3),
        (OutboxStatus.DEAD, 2),
        (OutboxStatus.SENT, 4),
    ):
        for _ in range(times):
            await _outbox(session, clock, status)
    november, december, october = date(2026, 11, 1), date(2026, 12, 1), date(2026, 10, 1)
    for month, status in (
        (december, ApplicationStatus.APPLIED),
        (december, ApplicationStatus.APPLIED),
        (december, ApplicationStatus.WITHDRAWN),
        (november, ApplicationStatus.WON),
        (october, ApplicationStatus.APPLIED),  # a past cycle: not counted
    ):
        await _application(session, world, room, month, status)
    for month in (november, october):
        session.add(
            LotteryDraw(
                use_month=month,
                facility_id=room.facility_id,
                drawn_at=clock.now(),
                algorithm="test",
                digest="0" * 64,
                application_count=1,
                win_count=1,
                document={},
            )
        )
    for status in (EntryStatus.WAITING, EntryStatus.WAITING, EntryStatus.OFFERED):
        await _entry(session, world, room, status)
    await _entry(session, world, room, EntryStatus.BOOKED)
    await session.commit()
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    assert value(after, "booking_database_up") == 1
    assert moved("booking_outbox_queued") == 3
    assert moved("booking_outbox_dead") == 2
    apps = "booking_lottery_applications"
    assert moved(apps, use_month="2026-12", status="applied") == 2
    assert moved(apps, use_month="2026-12", status="withdrawn") == 1
    assert moved(apps, use_month="2026-11", status="won") == 1
    assert value(after, apps, use_month="2026-10", status="applied") is None
    assert moved("booking_lottery_draws", use_month="2026-11") == 1
    assert value(after, "booking_lottery_draws", use_month="2026-10") is None
    assert moved("booking_waitlist_entries", status="waiting") == 2
    assert moved("booking_waitlist_entries", status="offered") == 1
    assert value(after, "booking_waitlist_entries", status="booked") is None


async def test_a_process_reuses_its_counts_only_while_young_and_for_the_same_months(
    session: AsyncSession, world: World
) -> None:
    """BOOKING_METRICS_MAX_AGE_SECONDS: a scrape younger than that since the last read began
    gets its counts; from that age on, for other open months, or with 0, the rows as they are
    now; scrapes at once wait for one read instead of counting each."""
    room = (await session.scalars(select(Room).where(Room.facility_id == world.here))).first()
    assert room is not None
    november, december = date(2026, 11, 1), date(2026, 12, 1)
    now = [1000.0]
    cache = CountsCache(monotonic=lambda: now[0])

    async def applied(first_open_month: date, max_age: float = 5.0) -> int:
        counts = await cache.counts(session, first_open_month, max_age)
        return counts.applications.get(("2026-12", "applied"), 0)

    async def apply() -> None:
        await _application(session, world, room, december, ApplicationStatus.APPLIED)
        await session.flush()

    before = await applied(november)
    await apply()
    now[0] += 4.9
    assert await applied(november) == before  # kept
    now[0] += 0.1
    assert await applied(november) == before + 1  # 5 s old: read again
    await apply()
    assert await applied(december) == before + 2  # other months: read
    await apply()
    assert await applied(december, max_age=0) == before + 3
    now[0] += 60
    first, second = await asyncio.gather(*(cache.counts(session, november, 5.0) for _ in "ab"))
    assert first is second  # one read for both


def _client(app: Litestar, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_only_the_metrics_networks_read_it(
    app: Litestar,
    client: httpx.AsyncClient,  # gives the shared app this test's transaction and clock
    database: Database,
    clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Default 127.0.0.1 and ::1: another address gets the 404 of a path that does not
    exist (nothing learned by a scanner); so does a client behind a trusted proxy."""
    async with _client(app, "203.0.113.9") as outsider:
        refused = await outsider.get("/metrics")
        assert refused.status_code == 404
        assert "booking_" not in refused.text
    async with _client(app, "127.0.0.1") as proxy:
        forwarded = await proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 404
    async with _client(app, "::1") as local:
        assert (await local.get("/metrics")).status_code == 200
    # The setting names who may: a monitoring network, and then only it.
    settings = database.settings.model_copy(update={"metrics_networks": "203.0.113.0/24"})
    other = create_app(settings, clock=clock, sessionmaker=sessionmaker)
    async with _client(other, "203.0.113.9") as monitor:
        assert (await monitor.get("/metrics")).status_code == 200
    async with _client(other, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 404


async def test_the_pool_gauges_are_the_pools(database: Database, tmp_path: Path) -> None:
    """An app with its own engine: size as configured, a connection held shows as checked
    out, given back it does not."""
    settings = database.settings.model_copy(update={"statistics_warm_seconds": 0})
    app = create_app(settings)
    async with app.lifespan(), _client(app, "127.0.0.1") as client:
        engine = app.state.sessionmaker.kw["bind"]
        pool = {"pool": "primary"}
        idle = await scrape(client)
        assert value(idle, "booking_db_pool_size", **pool) == engine.sync_engine.pool.size()
        assert value(idle, "booking_db_pool_checked_out", **pool) == 0
        assert value(idle, "booking_db_pool_overflow", **pool) == 0
        async with engine.connect():
            held = await scrape(client)
        assert value(held, "booking_db_pool_checked_out", **pool) == 1
        given_back = await scrape(client)
        assert value(given_back, "booking_db_pool_checked_out", **pool) == 0


async def test_an_absent_database_leaves_the_processes_figures(tmp_path: Path) -> None:
    """PostgreSQL not answering: 200 with the request counts, booking_database_up 0."""
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        data_dir=tmp_path,
        statistics_warm_seconds=0,
        db_pool_timeout_seconds=1,
    )
    app = create_app(settings)
    async with app.lifespan(), _client(app, "127.0.0.1") as client:
        await client.get("/health")
        text = await scrape(client)
    assert value(text, "booking_database_up") == 0
    assert count(text, REQUESTS, method="GET", route="/health", status="200") == 1
    assert value(text, "booking_outbox_queued") is None


async def test_each_worker_jobs_lag_is_a_gauge(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """Every job of the schedule is named; one whose last success is 3 hours old with an
    hourly interval is 2 hours late, one that ran a second ago is on time."""
    session.add_all(
        [
            JobRun(
                job="purge_sessions",
                first_seen_at=clock.now() - timedelta(days=1),
                last_succeeded_at=clock.now() - timedelta(hours=3),
            ),
            JobRun(
                job="expire_holds",
                first_seen_at=clock.now() - timedelta(days=1),
                last_succeeded_at=clock.now() - timedelta(seconds=1),
            ),
        ]
    )
    await session.commit()
    text = await scrape(client)
    lag = "booking_worker_job_lag_seconds"
    assert value(text, lag, job="purge_sessions") == 2 * 3600
    assert value(text, lag, job="expire_holds") == 0
    named = {dict(labels)["job"] for (name, labels) in series(text) if name == lag}
    assert named == {job.name for job in JOBS}


async def test_the_replica_as_this_process_sees_it(
    app: Litestar, client: httpx.AsyncClient, database: Database
) -> None:
    """No replica configured: nothing. One (here the primary stands in for it; the replica's
    own tests run a real standby): usable while its known lag is within the limit."""
    assert "booking_replica" not in await scrape(client)
    app.state.replica = Replica(database.engine, (database.engine, database.engine), 5.0)
    try:
        unknown = await scrape(client)
        assert value(unknown, "booking_replica_usable") == 0
        assert value(unknown, "booking_replica_lag_seconds") is None
        app.state.replica.caught_up_at = time.monotonic() - 2
        behind = await scrape(client)
        assert value(behind, "booking_replica_usable") == 1
        assert 2 <= (value(behind, "booking_replica_lag_seconds") or 0) < 60
        app.state.replica.caught_up_at = time.monotonic() - 6
        assert value(await scrape(client), "booking_replica_usable") == 0
    finally:
        app.state.replica = None
