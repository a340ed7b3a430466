"""Statements run on asyncpg's connection itself (booking/db/direct.py): the same rows, the
same values and the same errors as through `Session.execute`, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, String, bindparam, func, insert, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import User, UserStatus
from booking.db.base import UTCDateTime, enum_column
from booking.db.direct import Direct, fetch
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


async def test_rows_and_values_are_as_session_execute_gives_them(session: AsyncSession) -> None:
    rows = await fetch(session, ROUND_TRIP, PARAMS)
    assert rows == [(AT, UserStatus.SUSPENDED, {"料金": [1, "夜間"]}, "x")]
    assert type(rows[0][1]) is UserStatus  # the enum itself, not its value
    assert rows[0][0].utcoffset() is not None  # aware
    executed = await session.execute(ROUND_TRIP.statement, PARAMS)
    assert [tuple(row) for row in executed] == rows


async def test_a_value_not_given_is_refused(session: AsyncSession) -> None:
    with pytest.raises(SQLAlchemyError, match="'doc'"):
        await fetch(session, ROUND_TRIP, {"at": AT, "status": UserStatus.ACTIVE})


def _user(email: str) -> dict[str, object]:
    return {"email": email, "name": "直接", "status": UserStatus.ACTIVE, "created_at": AT}


async def test_changes_pending_in_the_session_are_written_first(session: AsyncSession) -> None:
    session.add(User(**_user("pending@example.jp")))
    found = Direct(select(User.id).where(User.email == bindparam("email")))
    rows = await fetch(session, found, {"email": "pending@example.jp"})
    assert len(rows) == 1


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
    async with AsyncSession(database.engine) as session:
        [(first,)] = await fetch(session, Direct(select(func.txid_current().label("x"))), {})
        [(second,)] = await fetch(session, Direct(select(func.txid_current().label("y"))), {})
        assert first == second
