"""Overload is a 503 with Retry-After at once, never a wait that grows with the queue or a 500.

A real `booking serve` process on a committed database. The test holds what a login must
write (PostgreSQL: the throttle and user tables, locked; SQLite: the write lock), so every
admitted login waits, and floods the process with more logins than it may take:
- past BOOKING_MAX_REQUESTS_IN_FLIGHT the others are refused at once (code "overloaded");
- with a small pool, those that find no connection within BOOKING_DB_POOL_TIMEOUT_SECONDS
  are refused after it (code "database_busy"), not held until the lock goes.
Health (and readiness, while the pool has a connection to spare) still answers meanwhile, a
page is refused with a page, and once the lock goes the process answers every request again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from booking.settings import Settings
from tests.conftest import committed_database
from tests.processes.servers import free_port, running, serve_command, server_env

HOLD = 3.0  # seconds the lock is held: well past a refusal, short of lock_timeout (5 s)
LOGIN = {"login": "nobody@example.jp", "password": "not a password at all"}
UNLIMITED = {"login_address_failures": 100_000, "login_account_failures": 100_000}


@dataclass
class Answer:
    status: int
    seconds: float
    retry_after: str | None
    code: str | None


@pytest.fixture
def database(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "overload", load=False) as settings:
        yield settings


@asynccontextmanager
async def held(settings: Settings) -> AsyncIterator[None]:
    """Another connection holds what a login writes, until the block ends."""
    if settings.database_url is None:
        other = sqlite3.connect(settings.data_dir / "booking.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    url = make_url(settings.database_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE users, login_throttles IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def _login(client: httpx.AsyncClient) -> Answer:
    started = time.perf_counter()
    response = await client.post("/api/v1/auth/login", json=LOGIN)
    code = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        code = response.json().get("code")
    return Answer(
        response.status_code,
        time.perf_counter() - started,
        response.headers.get("retry-after"),
        code,
    )


Meanwhile = Callable[[httpx.AsyncClient], Awaitable[None]]


async def _flood(
    client: httpx.AsyncClient, settings: Settings, count: int, meanwhile: Meanwhile
) -> list[Answer]:
    """`count` logins at once while the lock is held for HOLD seconds; `meanwhile` asked in
    the middle of it."""
    async with held(settings):
        flood = [asyncio.create_task(_login(client)) for _ in range(count)]
        await asyncio.sleep(0.5)
        await meanwhile(client)
        await asyncio.sleep(HOLD - 0.5)
    return await asyncio.gather(*flood)


async def _full(client: httpx.AsyncClient) -> None:
    """A process at its limit: health, readiness and metrics answer; a page is a short 503."""
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/ready")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200  # from loopback: allowed
    page = await client.get("/")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "1"
    assert page.headers["content-type"].startswith("text/html")
    assert "混み合っています" in page.text


async def _health(client: httpx.AsyncClient) -> None:
    """/ready needs a connection of the pool: not asked while the pool is what is full."""
    assert (await client.get("/health")).status_code == 200


async def _recovered(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await _login(client)).status == 401
    together = await asyncio.gather(*(_login(client) for _ in range(3)))
    assert [a.status for a in together] == [401] * 3


async def test_past_the_requests_in_flight_the_rest_are_refused_at_once(
    database: Settings,
) -> None:
    port = free_port()
    env = server_env(database, max_requests_in_flight=4, **UNLIMITED)
    with running(serve_command(port, 1), env, port, ready="/ready"):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            answers = await _flood(client, database, 20, _full)
            refused = [a for a in answers if a.status == 503]
            admitted = [a for a in answers if a.status != 503]
            assert [a.status for a in admitted] == [401] * 4  # waited for the lock, then answered
            assert all(a.seconds >= HOLD - 0.5 for a in admitted)
            assert len(refused) == 16
            for answer in refused:
                assert (answer.code, answer.retry_after) == ("overloaded", "1")
                assert answer.seconds < HOLD - 0.5, answer  # at once, not after the lock
            await _recovered(client)


@pytest.mark.engines("postgresql")  # SQLite's pool waits out its write lock (engine.py)
async def test_no_connection_within_the_pool_timeout_is_a_503_after_it(
    database: Settings,
) -> None:
    port = free_port()
    env = server_env(database, db_pool_size=2, db_pool_timeout_seconds=0.5, **UNLIMITED)
    with running(serve_command(port, 1), env, port, ready="/ready"):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            answers = await _flood(client, database, 10, _health)
            refused = [a for a in answers if a.status == 503]
            admitted = [a for a in answers if a.status != 503]
            assert [a.status for a in admitted] == [401] * 2  # the pool's two connections
            assert len(refused) == 8
            for answer in refused:
                assert (answer.code, answer.retry_after) == ("database_busy", "1")
                assert 0.5 <= answer.seconds < HOLD - 0.5, answer
            await _recovered(client)
