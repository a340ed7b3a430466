"""What /metrics and the request ids cost (issue 20). Run by hand, not in CI:

    .venv/bin/python bench/observability.py [--requests 20000] [--applications 100000]

1. Per request: GET /health called straight through the app's ASGI interface (no HTTP, no
   client: the wrapper's share is not drowned in the network's), with and without the
   wrapper of booking/web/observe.py (request id, counting, timing), interleaved rounds on one
   app; µs per request of both, their difference and ratio. Then the same again with the
   metrics in multiprocess mode (files shared by `--workers N`), in a child process.
2. Per scrape, on PostgreSQL: a fresh database with the bundled network, an open cycle of
   `--applications` lottery applications, 20,000 sent mails (which must not cost) and a few
   hundred pending, dead and wait-list rows; the database read's and the whole answer's p50 and
   p95, the whole answer also with every route template counted (as a long-running server
   has) in multiprocess mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.engine import make_url

from booking.app import create_app
from booking.clock import SystemClock
from booking.db import migrate
from booking.inventory.commands import load_facilities
from booking.paths import facilities_data_dir
from booking.settings import Settings
from booking.web.metrics import exposition, metrics_of
from booking.web.metrics_db import CountsCache, DatabaseCollector, read_database_gauges
from booking.web.observe import observed

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "booking_bench_observability"


async def _call(app: Any, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await app(scope, receive, send)


async def _trivial(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def wrapper_alone(requests: int) -> str:
    """The wrapper around an app that does nothing: its own cost, without Litestar's noise."""
    app = create_app(Settings(data_dir=Path(tempfile.mkdtemp()), statistics_warm_seconds=0))
    wrapped = observed(_trivial, metrics_of(app.state), ())
    times: dict[str, list[float]] = {"plain": [], "observed": []}
    for _ in range(20):
        for name, handler in (("plain", _trivial), ("observed", wrapped)):
            started = time.perf_counter()
            for _ in range(requests // 20):
                await _call(handler, "/health")
            times[name].append((time.perf_counter() - started) / (requests // 20) * 1e6)
    plain_us = statistics.median(times["plain"])
    observed_us = statistics.median(times["observed"])
    return (
        f"the wrapper alone ({_mode()} metrics, around an app that answers at once):"
        f" {observed_us - plain_us:.1f} us per request (plain {plain_us:.1f}, wrapped"
        f" {observed_us:.1f})"
    )


def _mode() -> str:
    return "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "in-memory"


async def per_request(requests: int) -> str:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), statistics_warm_seconds=0)
        await asyncio.to_thread(migrate.upgrade, settings)
        app = create_app(settings)
        observed = app.asgi_handler
        plain = app._create_asgi_handler()  # noqa: SLF001 - the same app without the wrapper
        times: dict[str, list[float]] = {"plain": [], "observed": []}
        async with app.lifespan():
            for _ in range(200):  # warm up both
                await _call(app, "/health")
            rounds, each = 20, max(1, requests // 40)
            for _ in range(rounds):
                for name, handler in (("plain", plain), ("observed", observed)):
                    app.asgi_handler = handler
                    started = time.perf_counter()
                    for _ in range(each):
                        await _call(app, "/health")
                    times[name].append((time.perf_counter() - started) / each * 1e6)
        plain_us = statistics.median(times["plain"])
        observed_us = statistics.median(times["observed"])
        return (
            f"per request ({_mode()} metrics, GET /health through ASGI, median of {rounds} rounds"
            f" of {each}): plain {plain_us:.1f} us, observed {observed_us:.1f} us,"
            f" +{observed_us - plain_us:.1f} us ({observed_us / plain_us:.3f}x)"
        )


async def _fresh_database(applications: int) -> Settings:
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {BENCH_DB}")
    await admin.close()
    url = make_url(ADMIN_URL).set(drivername="postgresql+asyncpg", database=BENCH_DB)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False),
        data_dir=Path(tempfile.mkdtemp()),
        statistics_warm_seconds=0,
    )
    await asyncio.to_thread(migrate.upgrade, settings)
    await load_facilities(settings, facilities_data_dir(), SystemClock())
    conn = await asyncpg.connect(make_url(ADMIN_URL).set(database=BENCH_DB).render_as_string())
    await conn.execute("SET session_replication_role = replica")  # no groups needed: no FKs
    month = time.strftime("%Y-%m-01", time.gmtime(time.time() + 40 * 86400))
    await conn.execute(
        """INSERT INTO lottery_applications (use_month, group_id, room_id, facility_id, use_date,
            period_codes, purpose, headcount, status, created_at)
        SELECT $1::date, 1 + n % 3000, r.id, r.facility_id, $1::date + (n % 28),
            '["morning"]', 'meeting', 10, 'applied', now()
        FROM generate_series(1, $2) AS n
        JOIN LATERAL (SELECT id, facility_id FROM rooms ORDER BY id OFFSET n % 150 LIMIT 1) r
            ON true""",
        date.fromisoformat(month),
        applications,
    )
    await conn.execute(
        """INSERT INTO outbox_messages (created_at, template, to_address, subject, body_text,
            status, attempts, next_attempt_at)
        SELECT now(), 't', 'a@example.com', 's', 'b',
            CASE WHEN n <= 20000 THEN 'sent' WHEN n <= 20300 THEN 'pending' ELSE 'dead' END,
            0, now()
        FROM generate_series(1, 20350) AS n"""
    )
    await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves it: index-only scans
    await conn.close()
    return settings


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def _count_every_route(app: Litestar) -> None:
    metrics = metrics_of(app.state)
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                for status in (200, 404):
                    metrics.count(method, route.path_format, status, 0.01)


async def per_scrape(applications: int, scrapes: int) -> str:
    settings = await _fresh_database(applications)
    app = create_app(settings)
    reads: list[float] = []
    answers: list[float] = []
    async with app.lifespan():
        _count_every_route(app)
        for _ in range(scrapes):
            started = time.perf_counter()
            gauges = await read_database_gauges(app.state.sessionmaker, SystemClock(), settings)
            read = time.perf_counter() - started
            body = exposition(metrics_of(app.state), DatabaseCollector(gauges, read))
            answers.append(time.perf_counter() - started)
            reads.append(read)
        # As /metrics reads them: the counts kept BOOKING_METRICS_MAX_AGE_SECONDS (scrapes
        # closer together than that, e.g. two Prometheus servers), the job lags read each time.
        cache, kept = CountsCache(), []
        for _ in range(scrapes):
            started = time.perf_counter()
            await read_database_gauges(app.state.sessionmaker, SystemClock(), settings, cache)
            kept.append(time.perf_counter() - started)
    series = sum(1 for line in body.decode().splitlines() if not line.startswith("#"))
    return (
        f"per scrape ({_mode()}, PostgreSQL, {applications} open applications, {series} series):"
        f" database read {_percentiles(reads)}; whole answer {_percentiles(answers)};"
        f" database read with the counts kept {_percentiles(kept)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(asyncio.run(wrapper_alone(args.requests * 5)), flush=True)
    print(asyncio.run(per_request(args.requests)), flush=True)
    if args.child:
        print(asyncio.run(per_scrape(args.applications, args.scrapes)), flush=True)
        return
    print(asyncio.run(per_scrape(args.applications, args.scrapes)), flush=True)
    with tempfile.TemporaryDirectory() as directory:  # the same in multiprocess mode
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child"], env=env, check=True)


if __name__ == "__main__":
    main()
