"""Statements run on asyncpg's connection itself (booking/db/direct.py): the same rows, the
same values and the same errors as through `Session.execute`, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, Integer, String, bindparam, func, insert, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import User, UserStatus
from booking.db.base import UTCDateTime, enum_column
from booking.db.direct import Direct, autocommit, fetch
from booking.db.engine import create_engine
from booking.db.errors import as_unavailable, constraint_of
from tests.conftest import Database

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)

# Each kind of value the hot statements bind and read: an aware instant, a string enum, a
# JSON document, and a LIMIT whose value is the statement's own, not the caller's.
ROUND_TRIP = Direct(
    select(
        bindparam("at", type_=UTCDateTime()).label("at"),
        bindparam("status", type_=enum_column(UserStatus, "user_status")).label("status"),
        bindparam("doc", type_=JSON()).label("doc"),
        literal("x", String).label("text"),
    ).limit(1)
)
PARAMS = {"at": AT, "status": UserStatus.SUSPENDED, "doc": {"料金": [1, "夜間"]}}


@asynccontextmanager
async def on_the_driver(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements sent on asyncpg's connection itself (SQLAlchemy's go through a prepared
    statement, which asyncpg's query logger does not see), inside a transaction already begun,
    as a request's are after its first statement; none on SQLite."""
    sent: list[str] = []
    connection = await session.connection()
    if connection.dialect.driver != "asyncpg":
        yield sent
        return
    await session.execute(select(1))  # SQLAlchemy sends the BEGIN with it
    driver: Any = (await connection.get_raw_connection()).driver_connection

    def logged(query: Any) -> None:
        sent.append(query.query)

    driver.add_query_logger(logged)
    try:
        yield sent
    finally:
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
        driver.remove_query_logger(logged)


async def test_rows_and_values_are_as_session_execute_gives_them(
    session: AsyncSession, database: Database
) -> None:
    async with on_the_driver(session) as sent:
        rows = await fetch(session, ROUND_TRIP, PARAMS)
    assert len(sent) == (1 if database.name == "postgresql" else 0)
    assert rows == [(AT, UserStatus.SUSPENDED, {"料金": [1, "夜間"]}, "x")]
    assert type(rows[0][1]) is UserStatus  # the enum itself, not its value
    assert rows[0][0].utcoffset() is not None  # aware
    executed = await session.execute(ROUND_TRIP.statement, PARAMS)
    assert [tuple(row) for row in executed] == rows


async def test_a_value_not_given_is_refused(session: AsyncSession) -> None:
    async with on_the_driver(session) as sent:
        with pytest.raises(SQLAlchemyError, match="'doc'"):
            await fetch(session, ROUND_TRIP, {"at": AT, "status": UserStatus.ACTIVE})
    assert sent == []  # refused before anything is sent


async def test_autocommit_is_told_from_the_connection(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert not autocommit(connection)
    async with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        assert autocommit(conn)


def _user(email: str) -> dict[str, object]:
    return {"email": email, "name": "直接", "status": UserStatus.ACTIVE, "created_at": AT}


FOUND = Direct(select(User.id).where(User.email == bindparam("email")))


async def test_changes_pending_in_the_session_are_written_first(session: AsyncSession) -> None:
    session.add(User(**_user("pending@example.jp")))
    assert len(await fetch(session, FOUND, {"email": "pending@example.jp"})) == 1


async def test_a_deletion_pending_in_the_session_is_written_first(session: AsyncSession) -> None:
    user = User(**_user("leaving@example.jp"))
    session.add(user)
    await session.flush()
    await session.delete(user)
    assert await fetch(session, FOUND, {"email": "leaving@example.jp"}) == []


@pytest.mark.engines("postgresql")  # SQLite has no INSERT in a WITH; its path is the session's
async def test_a_violated_constraint_is_an_integrity_error_naming_it(
    session: AsyncSession,
) -> None:
    session.add(User(**_user("taken@example.jp")))
    await session.flush()
    added = insert(User).values({k: bindparam(k) for k in _user("")}).returning(User.id)
    direct = Direct(select(added.cte("added").c.id))
    with pytest.raises(IntegrityError) as raised:
        async with session.begin_nested():
            await fetch(session, direct, _user("taken@example.jp"))
    assert constraint_of(raised.value) == "uq_users_email"
    assert raised.value.hide_parameters  # the values bound are not put into the error
    assert "INSERT INTO users" in (raised.value.statement or "")  # the statement, for the log


@pytest.mark.engines("postgresql")
async def test_a_lost_connection_is_dropped_from_the_pool_and_a_503(database: Database) -> None:
    """The server ends the connection (a restart, an administrator): the request is a 503 and
    the pool's one connection is replaced, so the next request works."""
    engine = create_engine(database.settings.model_copy(update={"db_pool_size": 1}))
    sessions = async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
    backend = Direct(select(func.pg_backend_pid().label("pid")))
    try:
        async with sessions() as session:
            [(pid,)] = await fetch(session, backend, {})
        async with database.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with sessions() as session:
            with pytest.raises(DBAPIError) as raised:
                await fetch(session, backend, {})
        assert raised.value.connection_invalidated
        assert raised.value.hide_parameters
        assert "pg_backend_pid" in (raised.value.statement or "")
        unavailable = as_unavailable(raised.value)
        assert unavailable is not None
        assert unavailable.code == "database_unavailable"
        async with sessions() as session:
            [(again,)] = await fetch(session, backend, {})
        assert again != pid
    finally:
        await engine.dispose()


@pytest.mark.engines("postgresql")
async def test_a_first_statement_in_a_transaction_begins_it(database: Database) -> None:
    """SQLAlchemy sends BEGIN with a transaction's first statement: a direct one first must
    not run outside the transaction that the rest of the request's statements are in."""
    numbered = Direct(select(func.txid_current().label("x"), bindparam("n", type_=Integer)))
    async with AsyncSession(database.engine) as session:
        [(first, one)] = await fetch(session, numbered, {"n": 1})
        [(second, two)] = await fetch(session, numbered, {"n": 2})
    assert first == second
    assert (one, two) == (1, 2)


@pytest.mark.engines("postgresql")
async def test_outside_a_transaction_a_statement_goes_on_the_driver(database: Database) -> None:
    """In autocommit (a booking's request: booking/deps.py ONE_STATEMENT) there is no BEGIN to
    wait for: the first statement is the driver's own."""
    autocommitted = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with AsyncSession(autocommitted) as session:
        connection = await session.connection()
        driver: Any = (await connection.get_raw_connection()).driver_connection
        sent: list[str] = []
        driver.add_query_logger(lambda query: sent.append(query.query))
        rows = await fetch(session, FOUND, {"email": "nobody@example.jp"})
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
    assert rows == []
    assert len(sent) == 1
