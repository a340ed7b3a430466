"""SQLite's one writer, taken in turn by the transactions of one process.

SQLite lets one transaction write at a time; the others wait in its busy handler, which polls
with growing sleeps and serves whoever polls at the right moment, not whoever came first. Under
a storm of short writes one waiter can lose every poll until busy_timeout runs out and its
request fails with "database is locked" (seen in CI). Within a process the writers therefore
queue on an asyncio.Lock, which is first come, first served, and is handed on the moment the
holder commits; the busy handler is left to arbitrate between processes only.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_


class WriterTurns:
    """The process's queue for one engine's write lock; `timeout_s` as busy_timeout's."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holder: Any = None  # the DBAPI connection whose transaction writes

    def take(self, dbapi_connection: Any) -> None:
        """Wait for this process's turn; called in SQLAlchemy's greenlet, before BEGIN."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # An asyncio.Lock belongs to one loop; an engine outliving its loop (tests) starts
            # a fresh queue, as the old one's holders are gone with their loop.
            self._lock, self._loop, self._holder = asyncio.Lock(), loop, None
        try:
            await_(self._acquire())
        except TimeoutError:
            raise _busy() from None
        self._holder = dbapi_connection

    async def _acquire(self) -> None:
        async with asyncio.timeout(self.timeout_s):
            await self._lock.acquire()

    def give_back(self, dbapi_connection: Any) -> None:
        if dbapi_connection is not None and dbapi_connection is self._holder:
            self._holder = None
            self._lock.release()


def _busy() -> OperationalError:
    """What SQLAlchemy raises when SQLite's busy_timeout runs out on BEGIN: db/errors.py knows
    it by its result code (a 503). Raised bare, a sqlite3 error carries no code: a 500."""
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
    locked.sqlite_errorname = "SQLITE_BUSY"
    return OperationalError("BEGIN IMMEDIATE", None, locked)


def take_turns(engine: AsyncEngine, turns: WriterTurns) -> None:
    """Queue `engine`'s writing transactions on `turns`; reads (BEGIN DEFERRED) do not queue."""

    def ended(conn: Connection) -> None:
        # An invalidated connection has no DBAPI connection to ask for (asking reconnects);
        # the pool's invalidate event below handed its turn on.
        if not conn.invalidated:
            turns.give_back(conn.connection.dbapi_connection)

    # Handed on as COMMIT or ROLLBACK is sent; the next writer's BEGIN IMMEDIATE waits the
    # moment that takes in SQLite's busy handler, alone.
    event.listen(engine.sync_engine, "commit", ended)
    event.listen(engine.sync_engine, "rollback", ended)

    # A connection that ends without either (invalidated, or returned while still in a
    # transaction) must not keep the turn.
    def dropped(dbapi_connection: Any, *_: Any) -> None:
        turns.give_back(dbapi_connection)

    event.listen(engine.sync_engine.pool, "invalidate", dropped)
    event.listen(engine.sync_engine.pool, "reset", dropped)
    event.listen(engine.sync_engine.pool, "checkin", dropped)
