"""Engines and sessions for PostgreSQL (asyncpg) and the embedded SQLite (aiosqlite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from booking.db.sqlite_turns import WriterTurns, take_turns
from booking.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(settings: Settings, url_text: str | None = None) -> AsyncEngine:
    """The database's engine; `url_text` another server's with the same settings (the read
    replica: booking/db/replica.py)."""
    url = make_url(url_text or settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.render_as_string(hide_password=False), settings)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        # The pool is the process's limit: no overflow connections opened and closed under
        # load (a connect costs more than the query it serves), so a host holds at most
        # workers x db_pool_size. A request that finds none free within the timeout is a 503
        # with Retry-After (booking/db/errors.py) rather than a wait that grows with the queue.
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No ping per checkout: it cost a round trip per request (bench/). Connections are
        # recycled instead, and a connection found dead is discarded with its whole pool.
        pool_recycle=1800,
        echo=settings.debug,
        # Errors and logs name no bound values: e-mail addresses, throttle keys, selectors.
        hide_parameters=not settings.debug,
        connect_args={
            # A stuck lock or a runaway query fails the request instead of hanging it.
            "server_settings": {"lock_timeout": "5000", "statement_timeout": "30000"},
        },
    )


def _sqlite_engine(url: str, settings: Settings) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        # The file's own directory: a BOOKING_DATABASE_URL elsewhere leaves no empty data/.
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        echo=settings.debug,
        hide_parameters=not settings.debug,
        # Waiting for a connection is bounded as on PostgreSQL, plus the write lock's own wait:
        # the connections ahead may each be waiting out busy_timeout for SQLite's one writer.
        pool_timeout=settings.db_pool_timeout_seconds + SQLITE_BUSY_TIMEOUT_MS / 1000,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take it over
        # (the SQLAlchemy-documented recipe) and turn on what SQLite leaves off by default.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    turns = WriterTurns(SQLITE_BUSY_TIMEOUT_MS / 1000)
    take_turns(engine, turns)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Transactions take the write lock at once (BEGIN IMMEDIATE) unless told they only
        # read: a deferred one that reads first and writes later fails at once with "database
        # is locked" when another writer got in between, instead of waiting its turn
        # (busy_timeout). Safe HTTP requests ask for DEFERRED (booking/deps.py).
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode == "DEFERRED":
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        dbapi_connection = connection.connection.dbapi_connection
        turns.take(dbapi_connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.give_back(dbapi_connection)
            raise

    return engine


SQLITE_BEGIN = "sqlite_begin"  # execution option: "DEFERRED" for a transaction that only reads


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
