"""SQLite's writers take turns within a process (booking/db/sqlite_turns.py).

The failure this prevents was seen in CI: bookings looping on a slot kept SQLite's write lock
busy, and a cancellation waiting in SQLite's busy handler lost every poll until busy_timeout ran
out ("database is locked"). These tests run on a real SQLite file with the app's engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from booking.db import engine as engine_module
from booking.db.engine import SQLITE_BEGIN, create_engine
from booking.db.errors import as_unavailable
from booking.db.sqlite_turns import WriterTurns
from booking.settings import Settings

LOOPERS = 4
HOLD_SECONDS = 0.05


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'turns.sqlite3'}")
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (who TEXT NOT NULL)"))
    yield engine
    await engine.dispose()


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The engine for transactions that only read, as safe requests get (booking/deps.py)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


async def write(engine: AsyncEngine, who: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": who})


async def test_a_late_writer_goes_before_writers_that_come_back_after_it(
    engine: AsyncEngine,
) -> None:
    """Each looper writes, holds the lock a moment, commits and is back at BEGIN at once. In
    SQLite's busy handler the late writer, polling every 100 ms, loses to the looper that just
    committed nearly every time; in the queue it waits for at most one turn of each looper."""
    # A lucky poll gets through the busy handler now and then; three rounds rarely all do.
    for _ in range(3):
        ahead = await writers_ahead_of_a_late_one(engine)
        # The looper holding the lock when the late writer came, and each queued one after it.
        assert ahead <= LOOPERS + 1, ahead


async def writers_ahead_of_a_late_one(engine: AsyncEngine) -> int:
    stop = asyncio.Event()

    async def looper(i: int) -> None:
        while not stop.is_set():
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": f"l{i}"})
                await asyncio.sleep(HOLD_SECONDS)

    storm = [asyncio.create_task(looper(i)) for i in range(LOOPERS)]
    await asyncio.sleep(10 * HOLD_SECONDS)  # the storm is under way
    async with reading(engine).begin() as reader:
        before = await reader.scalar(text("SELECT max(rowid) FROM t"))
    await write(engine, "late")
    stop.set()
    await asyncio.gather(*storm)
    async with engine.connect() as conn:
        ahead = await conn.scalar(
            text(
                "SELECT count(*) FROM t WHERE rowid > :before AND who <> 'late' AND rowid < "
                "(SELECT rowid FROM t WHERE who = 'late')"
            ),
            {"before": before},
        )
    assert ahead is not None
    await delete_all(engine)
    return int(ahead)


async def delete_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM t"))


async def test_a_rolled_back_writer_hands_on_its_turn(engine: AsyncEngine) -> None:
    async def failing() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('undone')"))
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await failing()
    started = time.monotonic()
    await write(engine, "next")
    # A turn never handed on would keep "next" waiting the whole timeout, then fail.
    assert time.monotonic() - started < 2.0


async def test_an_invalidated_connection_hands_on_its_turn(engine: AsyncEngine) -> None:
    conn = await engine.connect()
    await conn.begin()
    await conn.execute(text("INSERT INTO t (who) VALUES ('lost')"))
    await conn.invalidate()  # as SQLAlchemy does when the connection's file handle fails
    await conn.rollback()  # as the session does on the error
    await conn.close()
    started = time.monotonic()
    await write(engine, "next")
    assert time.monotonic() - started < 2.0


async def test_a_read_does_not_queue_behind_a_writer(engine: AsyncEngine) -> None:
    async with engine.begin() as writer:
        await writer.execute(text("INSERT INTO t (who) VALUES ('writing')"))
        async with asyncio.timeout(2.0), reading(engine).begin() as reader:
            # WAL: the reader sees the last commit, not the open transaction.
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 0


async def test_a_commit_hands_on_the_turn_before_the_connection_goes_back(
    engine: AsyncEngine,
) -> None:
    """A request that commits and goes on (renders its page) holds no turn meanwhile."""
    async with engine.connect() as conn:
        await conn.begin()
        await conn.execute(text("INSERT INTO t (who) VALUES ('first')"))
        await conn.commit()
        started = time.monotonic()
        async with asyncio.timeout(4.0):  # under the turn's own timeout (5 s)
            await write(engine, "next")
        assert time.monotonic() - started < 2.0


@pytest.fixture
async def quick_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncEngine]:
    """The app's engine with busy_timeout, and so the turn's timeout, at 0.3 s."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'quick.sqlite3'}")
    quick = create_engine(settings)
    async with quick.begin() as conn:
        await conn.execute(text("CREATE TABLE t (who TEXT NOT NULL)"))
    yield quick
    await quick.dispose()


async def test_a_writer_waiting_past_the_timeout_is_told_the_database_is_busy(
    quick_engine: AsyncEngine,
) -> None:
    """As when busy_timeout runs out: a 503 with Retry-After (db/errors.py), not a 500, and
    after the timeout, not never."""
    async with quick_engine.begin() as holder:
        await holder.execute(text("INSERT INTO t (who) VALUES ('holding')"))
        started = time.monotonic()
        with pytest.raises(OperationalError) as waited:
            async with asyncio.timeout(3.0):
                await write(quick_engine, "waiting")
        assert 0.25 < time.monotonic() - started < 2.0
    # What SQLite itself says, and the statement that waited (in the log line of a 503).
    assert str(waited.value.orig) == "database is locked"
    assert getattr(waited.value.orig, "sqlite_errorname", None) == "SQLITE_BUSY"
    assert waited.value.statement == "BEGIN IMMEDIATE"
    unavailable = as_unavailable(waited.value)
    assert unavailable is not None
    assert unavailable.code == "database_busy"
    await write(quick_engine, "after")  # the turn came back with the holder's commit


def _take_in_a_loop_of_its_own(turns: WriterTurns, who: object) -> None:
    async def take() -> None:
        await greenlet_spawn(turns.take, who)

    asyncio.run(take())


async def test_a_turn_held_in_a_finished_event_loop_is_not_waited_for() -> None:
    """An asyncio.Lock belongs to one loop: an engine that outlives its loop (as the tests'
    do) starts a fresh queue in the next, or the next writer waits for a holder that is gone."""
    turns = WriterTurns(0.3)
    await asyncio.to_thread(_take_in_a_loop_of_its_own, turns, "gone")
    started = time.monotonic()
    await greenlet_spawn(turns.take, "next")
    assert time.monotonic() - started < 0.25
    turns.give_back("next")
