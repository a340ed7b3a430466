"""The few statements of the hot path, run on asyncpg's connection itself on PostgreSQL.

Through `Session.execute`, SQLAlchemy's own code was 37 % of a booking's server time
(bench/bookings.py, profiled with py-spy; README, Performance, "Third pass"):
the compiled-cache look-up, the parameters and the execution context built anew, the result's
metadata, a greenlet hop each way. A `Direct` statement is compiled once per dialect with its
types' processors; on PostgreSQL `fetch` runs it with asyncpg on the session's own connection,
so inside the session's transaction when there is one; on SQLite it goes through the session.

Errors are SQLAlchemy's, as `Session.execute` raises them, so one set of handlers reads them
(booking/db/errors.py): a constraint's violation is an IntegrityError naming the constraint;
a connection found gone is invalidated (the pool never hands it out again) and raised as such.
Values are never put into an error: they may be e-mail addresses or token selectors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_CLIENT_ERRORS = (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
Processor = Callable[[Any], Any] | None
# A missing value of a bind that has none of its own (the statement's default, e.g. LIMIT's).
_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the binds in the order of $1, $2, ...
    defaults: tuple[Any, ...]  # each bind's own value, or _REQUIRED
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]


class Direct:
    """A SELECT (or a statement returning rows) to run with `fetch`."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def compiled(self, dialect: Dialect) -> _Compiled:
        # One PostgreSQL dialect per process (a replica's engine has the same one's class).
        if self._compiled is None:
            self._compiled = _compile(self.statement, dialect)
        return self._compiled


def _compile(statement: Select[*tuple[Any, ...]], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    return _Compiled(
        sql=compiled.string,
        names=names,
        defaults=tuple(_REQUIRED if bind.required else bind.value for bind in binds),
        binds=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ),
    )


async def fetch(
    session: AsyncSession, direct: Direct, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The statement's rows, each a sequence of the columns' Python values (enums, aware
    datetimes) as `Session.execute` would give them: asyncpg's records themselves when no
    column needs converting (a month's claims are thousands: bench/availability.py)."""
    if session.new or session.deleted or session.dirty:
        await session.flush()  # what Session.execute's autoflush would have written first
    connection = await session.connection()
    if connection.dialect.driver != "asyncpg":
        return (await session.execute(direct.statement, params)).all()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction() and not autocommit(connection):
        # SQLAlchemy's driver adapter sends the transaction's BEGIN with its first statement.
        return (await session.execute(direct.statement, params)).all()
    compiled = direct.compiled(connection.dialect)
    args = [
        _value(params, name, default, processor)
        for name, default, processor in zip(
            compiled.names, compiled.defaults, compiled.binds, strict=True
        )
    ]
    try:
        records: Sequence[Any] = await driver.fetch(compiled.sql, *args)
    except Exception as exc:
        translated = await _translated(connection, driver, compiled.sql, exc)
        if translated is exc:
            raise
        raise translated from exc
    results = compiled.results
    if not any(results):
        return records
    return [
        tuple(value if p is None else p(value) for value, p in zip(record, results, strict=True))
        for record in records
    ]


def autocommit(connection: AsyncConnection) -> bool:
    """Is the connection outside any transaction (booking/deps.py ONE_STATEMENT)?"""
    sync = connection.sync_connection
    return sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def _value(params: Mapping[str, Any], name: str, default: Any, processor: Processor) -> Any:
    value = params.get(name, default)
    if value is _REQUIRED:
        raise InvalidRequestError(f"a value is required for bind parameter {name!r}")
    return value if processor is None else processor(value)


async def _translated(
    connection: AsyncConnection, driver: Any, sql: str, exc: Exception
) -> Exception:
    """asyncpg's error as SQLAlchemy's (see the module's docstring); any other unchanged."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, None, exc, hide_parameters=True)
    if not isinstance(exc, (asyncpg.PostgresError, _CLIENT_ERRORS)):
        return exc
    gone = driver.is_closed()  # SQLAlchemy's own test of a disconnect, for asyncpg
    if gone:
        await connection.invalidate(exc)
    return DBAPIError(sql, None, exc, hide_parameters=True, connection_invalidated=gone)
