"""A busy or unreachable database is a 503 with Retry-After, never a 500 (issue 14: 3).

Each engine in the state that used to answer 500: PostgreSQL unreachable (a closed port),
PostgreSQL restarted under a pool of connections, SQLite's write lock held past the busy
timeout. The API answers problem details, the pages an error page, both with Retry-After.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from booking.app import create_app
from booking.db import engine as db_engine
from booking.db.engine import create_engine, create_sessionmaker
from booking.db.errors import as_unavailable
from booking.settings import Settings
from tests.conftest import (
    FAST_HASHING,
    committed_database,
)
from tests.notifications.test_worker import free_port


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    settings = Settings(database_url=url, data_dir=tmp_path, **FAST_HASHING)
    engine = create_engine(settings)
    app = create_app(settings, sessionmaker=create_sessionmaker(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://down"
    ) as client:
        yield client
    await engine.dispose()


def _assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    if response.headers["content-type"].startswith("application/problem+json"):
        assert response.json()["code"] == code
    else:
        assert response.headers["content-type"].startswith("text/html")


async def test_an_unreachable_postgresql_is_a_503(
    unreachable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    for response in (
        await unreachable.get("/api/v1/wards"),
        await unreachable.post(
            "/api/v1/auth/login", json={"login": "a@example.jp", "password": "whatever it is"}
        ),
        await unreachable.get("/api/v1/me", headers={"Authorization": "Bearer bkt_x.y"}),
    ):
        _assert_unavailable(response, "database_unavailable")
        assert response.headers["content-type"].startswith("application/problem+json")
    page = await unreachable.get("/")
    _assert_unavailable(page, "database_unavailable")
    assert page.headers["content-type"].startswith("text/html")
    assert "ただいまシステムに接続できません" in page.text  # the page's language, not a trace
    # The warning logged names the path without a feed's secret (good until rotated).
    secret = "Sel3ct0r_abcdefgh.V3rifier-abcdefghijklmnopqrstuvwxyz0123456789"
    _assert_unavailable(await unreachable.get(f"/ical/{secret}.ics"), "database_unavailable")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("booking"))
    assert "/ical/[redacted].ics" in ours
    assert "Sel3ct0r" not in ours


@pytest.fixture
def fresh(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """An empty migrated database of the engine under test, committed to for real."""
    with committed_database(engine_settings, tmp_path, "outage", load=False) as settings:
        yield settings


@pytest.mark.engines("postgresql")  # SQLite has no server to restart
async def test_a_restarted_postgresql_is_a_503_then_recovers(fresh: Settings) -> None:
    engine = create_engine(fresh)
    app = create_app(fresh, sessionmaker=create_sessionmaker(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://restart"
    ) as client:
        assert (await client.get("/api/v1/wards")).status_code == 200
        # What a restart does to the pool: every server process of ours is gone.
        url = make_url(fresh.database_url)
        admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1"
                " AND pid <> pg_backend_pid()",
                url.database,
            )
        finally:
            await admin.close()
        _assert_unavailable(await client.get("/api/v1/wards"), "database_unavailable")
        assert (await client.get("/api/v1/wards")).status_code == 200  # a new pool
    await engine.dispose()


@pytest.mark.engines("sqlite")  # its database-wide write lock
async def test_sqlite_locked_past_the_busy_timeout_is_a_503(
    fresh: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    # Alembic's logging set-up (the migration above) took the capture off the root logger.
    monkeypatch.setattr(logging.getLogger("booking"), "handlers", [caplog.handler])
    engine = create_engine(fresh)
    app = create_app(fresh, sessionmaker=create_sessionmaker(engine))
    database = engine.url.database
    assert database
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    body = {"login": "a@example.jp", "password": "whatever it is"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://busy"
    ) as client:
        try:
            _assert_unavailable(await client.post("/api/v1/auth/login", json=body), "database_busy")
            logged = "\n".join(r.getMessage() for r in caplog.records)
            assert "database_busy on POST /api/v1/auth/login" in logged
        finally:
            other.execute("ROLLBACK")
            other.close()
        # The connection that failed went back to the pool usable.
        for _ in range(3):
            assert (await client.post("/api/v1/auth/login", json=body)).status_code == 401
    await engine.dispose()


async def test_a_database_error_names_no_bound_value(fresh: Settings) -> None:
    """What gets logged of a failed statement (the 503's warning, a 500's trace) shows the
    statement, never the e-mail addresses, throttle keys or selectors bound to it."""
    engine = create_engine(fresh)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(
                    text("SELECT * FROM no_such_table WHERE email = :e"), {"e": "a@example.jp"}
                )
        assert "no_such_table" in str(failed.value)
        assert "a@example.jp" not in str(failed.value)
    finally:
        await engine.dispose()


def _sqlite_error(code: int) -> OperationalError:
    orig = sqlite3.OperationalError("...")
    orig.sqlite_errorcode = code  # type: ignore[attr-defined]
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PoolTimeout(), "database_busy"),
        (_sqlite_error(5), "database_busy"),  # SQLITE_BUSY
        (_sqlite_error(517), "database_busy"),  # SQLITE_BUSY_SNAPSHOT
        (_sqlite_error(6), "database_busy"),  # SQLITE_LOCKED
        (_sqlite_error(1), None),  # SQLITE_ERROR: a bug, a 500
        (ConnectionRefusedError(111, "refused"), "database_unavailable"),
        (asyncpg.CannotConnectNowError("starting up"), "database_unavailable"),
        (asyncpg.TooManyConnectionsError("too many"), "database_unavailable"),
        (asyncpg.LockNotAvailableError("lock_timeout"), "database_busy"),
        (asyncpg.UniqueViolationError("dup"), None),
        (FileNotFoundError("x"), None),
        (IntegrityError("INSERT", {}, Exception("dup")), None),
        (ValueError("x"), None),
    ],
)
def test_what_counts_as_a_busy_or_unreachable_database(
    error: BaseException, code: str | None
) -> None:
    unavailable = as_unavailable(error)
    assert (unavailable.code if unavailable else None) == code
