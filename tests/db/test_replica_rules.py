"""The read replica's rules without a standby (booking/db/replica.py): which requests it
serves, how far behind it is taken to be, what its watch does when the server named is no
standby or cannot be reached, and the retry of a failed read. The test server itself stands
in for a "replica" that is not one; tests/test_replica.py runs a real standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from litestar import Request
from litestar.datastructures import State
from litestar.types import Receive, Scope, Send
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db import replica as replica_module
from booking.db.engine import create_engine
from booking.db.replica import (
    READ_REPLICA,
    SESSION_COOKIE,
    Replica,
    replica_reads,
    replica_retry_middleware,
)
from booking.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_missing

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/none"  # nothing listens on port 1


@contextmanager
def logged() -> Iterator[list[str]]:
    records: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    replica_module.log.addHandler(handler)
    level = replica_module.log.level
    replica_module.log.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        replica_module.log.removeHandler(handler)
        replica_module.log.setLevel(level)


@pytest.fixture
def server() -> Settings:
    """The tests' PostgreSQL server, its maintenance database: the watch asks the server for
    WAL positions, which need no tables (and no database migrated per test run)."""
    url = make_url(POSTGRES_URL).set(database="postgres")
    try:  # only a look: conftest's own check makes this run's database, which is not needed
        socket.create_connection((url.host or "127.0.0.1", url.port or 5432), 2).close()
    except OSError as exc:
        postgres_missing(exc)
    return Settings(database_url=url.render_as_string(hide_password=False))


@pytest.fixture
async def engines(server: Settings) -> AsyncIterator[list[AsyncEngine]]:
    """Three engines on the tests' server, and one on nothing, closed at the end."""
    made = [create_engine(server) for _ in range(3)]
    made.append(create_engine(server, UNREACHABLE))
    yield made
    for engine in made:
        await engine.dispose()


def _replica(
    engines: list[AsyncEngine],
    *,
    replica_probe: int = 2,
    max_lag: float = 4.0,
    interval: float | None = None,
) -> Replica:
    return Replica(engines[0], (engines[1], engines[replica_probe]), max_lag, interval)


def _request(
    method: str = "GET",
    headers: dict[str, str] | None = None,
    scope: dict[str, object] | None = None,
) -> Request[object, object, State]:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    base: dict[str, object] = {
        "type": "http",
        "method": method,
        "path": "/api/v1/availability/",
        "headers": raw,
        "query_string": b"",
    }
    return Request({**base, **(scope or {})})  # type: ignore[arg-type]


async def test_how_far_behind_and_whether_in_time(engines: list[AsyncEngine]) -> None:
    replica = _replica(engines)
    assert replica.lag() is None  # unknown until the watch looks
    assert not replica.usable()
    replica.caught_up_at = time.monotonic() - 3.5
    lag = replica.lag()
    assert lag is not None
    assert 3.5 <= lag < 3.9
    assert replica.usable()
    replica.caught_up_at = time.monotonic() - 4.2
    assert not replica.usable()  # past max_lag
    replica.caught_up_at = time.monotonic()
    replica.failed()
    assert replica.lag() is None
    assert not replica.usable()


@pytest.mark.parametrize(
    ("max_lag", "interval", "expected"), [(4.0, None, 1.0), (2.0, None, 0.5), (8.0, 0.3, 0.3)]
)
def test_the_watch_looks_every_second_or_a_quarter_of_the_lag_allowed(
    engines: list[AsyncEngine], max_lag: float, interval: float | None, expected: float
) -> None:
    replica = Replica(engines[0], (engines[1], engines[2]), max_lag, interval)
    assert replica.interval == expected


def test_the_requests_the_replica_serves(engines: list[AsyncEngine]) -> None:
    """Anonymous safe requests while it is in time; never a write, a logged-in member, an API
    client with credentials, or a request whose read on the replica failed."""
    replica = _replica(engines)
    replica.caught_up_at = time.monotonic()
    assert replica.serves(_request("GET"))
    assert replica.serves(_request("HEAD"))
    assert replica.serves(_request("GET", {"Cookie": "other=1"}))
    assert not replica.serves(_request("POST"))
    assert not replica.serves(_request("DELETE"))
    assert not replica.serves(_request("GET", {"Authorization": "Bearer x"}))
    assert not replica.serves(_request("GET", {"Cookie": f"{SESSION_COOKIE}=abc"}))
    failed = _request("GET")
    with logged() as records:
        replica.read_failed(failed, RuntimeError("the replica went away"))
    assert records == [
        "read on the replica failed, reading the primary: RuntimeError('the replica went away')"
    ]
    assert replica.lag() is None  # set aside for every request until the watch looks again
    replica.caught_up_at = time.monotonic()
    assert not replica.serves(failed)  # its answer again: from the primary
    assert replica.serves(_request("GET"))
    replica.caught_up_at = time.monotonic() - 5.0
    assert not replica.serves(_request("GET"))


async def test_a_replica_session_reads_without_a_transaction(engines: list[AsyncEngine]) -> None:
    """Autocommit: each statement on its own (no BEGIN and COMMIT round trips), so two reads
    a moment apart see two transaction start times."""
    replica = _replica(engines)
    session = await replica.open_session()
    assert session is not None
    try:
        assert session.info[READ_REPLICA] is True
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.02)
        second = await session.scalar(text("SELECT now()"))
        assert first is not None
        assert second is not None
        assert second > first
    finally:
        await session.close()


async def test_a_replica_that_cannot_connect_is_set_aside(engines: list[AsyncEngine]) -> None:
    replica = Replica(engines[3], (engines[1], engines[2]), 4.0)
    replica.caught_up_at = time.monotonic()
    with logged() as records:
        assert await replica.open_session() is None
    assert replica.lag() is None
    (said,) = records
    assert said.startswith("read replica unreachable, reading the primary: ")
    assert "127.0.0.1" in said  # the error itself, which names the address


async def test_a_server_that_is_no_standby_is_never_used(engines: list[AsyncEngine]) -> None:
    """The URL names a primary (or a promoted standby, which may have diverged): the watch
    finds it not in recovery, says so once, and the replica is never in time."""
    replica = _replica(engines)
    with logged() as records:
        await replica.check()
        await replica.check()
    assert replica.lag() is None
    warned = [r for r in records if "is not a standby" in r]
    assert warned == ["BOOKING_DATABASE_READ_URL is not a standby: not used"]
    # Each look sampled the primary's WAL position.
    assert len(replica._samples) == 2
    assert all(position > 0 for _, position in replica._samples)


async def test_the_watch_forgets_samples_older_than_the_lag_allowed(
    engines: list[AsyncEngine],
) -> None:
    replica = _replica(engines, max_lag=4.0, interval=0.5)  # kept: 4 + 2 x 0.5 = 5 s
    now = time.monotonic()
    replica._samples.extend([(now - 5.25, 1), (now - 4.75, 2)])
    await replica.check()
    assert [position for _, position in replica._samples][:1] == [2]
    assert len(replica._samples) == 2


async def test_an_unreachable_replica_is_out_until_it_answers(engines: list[AsyncEngine]) -> None:
    replica = _replica(engines, replica_probe=3)
    replica.caught_up_at = time.monotonic()
    with logged() as records:
        await replica.check()  # it was in use: said
        assert len(records) == 1
        await replica.check()  # still down: not said again
    assert replica.lag() is None
    (said,) = records
    assert said.startswith("read replica unreachable: ")
    assert "127.0.0.1" in said


async def test_without_the_primarys_position_the_watch_still_asks_the_replica(
    engines: list[AsyncEngine],
) -> None:
    replica = Replica(engines[0], (engines[3], engines[2]), 4.0)
    with logged() as records:
        await replica.check()
    assert not replica._samples
    said = next(r for r in records if r.startswith("read replica watch: no position from the"))
    assert "127.0.0.1" in said
    assert any("is not a standby" in r for r in records)  # the replica was asked


def test_a_replay_timestamp_in_the_future_counts_as_now() -> None:
    """Clocks of two hosts: a last replay "in the future" is no later than the moment asked."""
    replica = Replica.__new__(Replica)
    replica._samples = replica_module.deque([(10.0, 100)])
    replica._warned = False
    assert replica._caught_up((True, 100, -0.5), asked=12.5) == 12.5
    assert replica._caught_up((True, 99, None), asked=12.5) is None


async def test_the_watch_looks_until_stopped(engines: list[AsyncEngine]) -> None:
    replica = _replica(engines, interval=0.1)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(replica.watch(stop), 1.0)
    assert not replica._samples  # stopped before it began: no look
    stop = asyncio.Event()
    watching = asyncio.create_task(replica.watch(stop))
    await asyncio.sleep(1.0)
    stop.set()
    started = time.monotonic()
    await asyncio.wait_for(watching, 2.0)
    assert time.monotonic() - started < 0.5  # told to stop, it does not wait out a look
    assert len(replica._samples) >= 3


async def test_a_read_url_starts_the_watch_while_serving(server: Settings) -> None:
    settings = server.model_copy(
        update={"database_read_url": server.effective_database_url, "read_max_lag_seconds": 2.0}
    )
    state = State()
    async with replica_reads(state, settings):
        replica = state.replica
        assert isinstance(replica, Replica)
        assert replica.max_lag == 2.0
        for _ in range(100):
            if replica._samples:
                break
            await asyncio.sleep(0.05)
        assert replica._samples  # the watch is running
        assert not replica.usable()  # the URL names the primary: no standby
    assert state.replica is None


async def test_without_a_read_url_there_is_no_replica() -> None:
    state = State()
    async with replica_reads(state, Settings(database_url=None)):
        assert state.get("replica") is None


async def test_a_read_url_that_is_not_postgresql_is_ignored() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        database_read_url="sqlite+aiosqlite:///replica.sqlite3",
    )
    state = State()
    with logged() as records:
        async with replica_reads(state, settings):
            assert state.get("replica") is None
    assert any("BOOKING_DATABASE_READ_URL ignored" in r for r in records)


class _Handler:
    """An app whose first answer fails on the replica (scope flag and a 500), the next reads
    the primary: what booking/deps.py's read_session does."""

    def __init__(self) -> None:
        self.calls = 0
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        for _ in range(100):  # the whole body, as a handler taking one reads it
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        else:
            raise AssertionError("the request's body never ends")
        self.bodies.append(body)
        failed = self.calls == 1
        if failed:
            scope[replica_module._FAILED] = True  # type: ignore[literal-required]
        body = b"replica failed" if failed else b"from the primary"
        await send(
            {
                "type": "http.response.start",
                "status": 500 if failed else 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _through(method: str) -> tuple[httpx.Response, _Handler]:
    handler = _Handler()
    transport = httpx.ASGITransport(app=replica_retry_middleware(handler))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await asyncio.wait_for(client.request(method, "/search", content=b""), 5)
    return response, handler


async def test_a_safe_request_that_failed_on_the_replica_is_answered_again() -> None:
    response, handler = await _through("GET")
    assert (response.status_code, response.content) == (200, b"from the primary")
    assert handler.calls == 2
    assert handler.bodies == [b"", b""]  # the second run is given an empty body


async def test_a_write_is_never_run_twice() -> None:
    response, handler = await _through("POST")
    assert (response.status_code, response.content) == (500, b"replica failed")
    assert handler.calls == 1


async def test_an_answer_that_did_not_fail_is_sent_once() -> None:
    handler = _Handler()
    handler.calls = 1  # its next answer is the primary's

    async def lifespan_free(scope: Scope, receive: Receive, send: Send) -> None:
        await handler(scope, receive, send)

    transport = httpx.ASGITransport(app=replica_retry_middleware(lifespan_free))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/search")
    assert (response.status_code, response.content) == (200, b"from the primary")
    assert handler.calls == 2


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A PostgreSQL URL whose server takes the connection and never answers (a host that
    hangs): only a timeout ends the wait."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none"
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.mark.parametrize(("interval", "seconds"), [(0.1, 2.0), (1.5, 3.0)])
async def test_a_look_at_a_server_that_hangs_gives_up_after_two_intervals_or_2_s(
    server: Settings, interval: float, seconds: float
) -> None:
    """Neither the primary's nor the replica's probe waits for a hung host longer than twice
    the interval (at least 2 s): the watch goes on, and the replica is out meanwhile."""
    async with silent_server() as url:
        hung = create_engine(server, url)
        good = create_engine(server)
        try:
            for probes in ((hung, good), (good, hung)):
                replica = Replica(good, probes, 8.0, interval)
                replica.caught_up_at = time.monotonic()
                started = time.monotonic()
                with logged():
                    await asyncio.wait_for(replica.check(), 30)
                took = time.monotonic() - started
                assert seconds - 0.1 <= took < seconds + 0.9, (probes is (hung, good), took)
            assert replica.lag() is None  # the hung replica: out
        finally:
            await hung.dispose()
            await good.dispose()


async def test_a_replica_host_that_hangs_is_not_waited_for_by_a_request(
    server: Settings,
) -> None:
    """The requests' connections to the replica give up connecting after 2 s (asyncpg's own
    wait is a minute): the request reads the primary instead."""
    async with silent_server() as url:
        settings = server.model_copy(update={"database_read_url": url})
        state = State()
        async with replica_reads(state, settings):
            replica = state.replica
            started = time.monotonic()
            with logged():
                assert await asyncio.wait_for(replica.open_session(), 30) is None
            assert 1.9 <= time.monotonic() - started < 3.0
