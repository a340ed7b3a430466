"""Integrity errors as domain conflicts, recognised by constraint, never by message wording.

PostgreSQL names the violated constraint (asyncpg's `constraint_name`). SQLite names only the
columns, in its documented form "UNIQUE constraint failed: table.column, ..."; both map to the
same entry. Services check first and give the precise message; this catches the race between
the check and the write, and so a conflict is always a 409, never a 500.
"""

from __future__ import annotations

import re
import socket

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from booking.errors import Conflict, Unavailable

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")

# constraint name (PostgreSQL) or "table.col[, table.col]" (SQLite) -> (field, message)
_KNOWN: dict[str, tuple[str | None, str]] = {
    "uq_users_email": ("email", "this e-mail address is already registered"),
    "users.email": ("email", "this e-mail address is already registered"),
    "uq_groups_card_number": ("card_number", "this card number is already in use"),
    "groups.card_number": ("card_number", "this card number is already in use"),
    "uq_group_members_group_id_user_id": ("email", "this person is already on the roster"),
    "group_members.group_id, group_members.user_id": (
        "email",
        "this person is already on the roster",
    ),
    "uq_group_members_one_representative": (None, "the group already has a representative"),
    "group_members.group_id": (None, "the group already has a representative"),
    "uq_claims_unit_id_use_date_period_code": (None, "the slot was taken at the same moment"),
    "claims.unit_id, claims.use_date, claims.period_code": (
        None,
        "the slot was taken at the same moment",
    ),
}


def constraint_of(exc: IntegrityError) -> str | None:
    orig = exc.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    match = _SQLITE_UNIQUE.search(str(orig))
    return match[1].strip() if match else None


def as_conflict(exc: IntegrityError) -> Conflict:
    constraint = constraint_of(exc)
    field, message = _KNOWN.get(constraint or "", (None, "the change conflicts with existing data"))
    return Conflict(message, field=field, code="conflict")


# SQLite's primary result codes for another connection holding the lock.
_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
# SQLSTATE classes and codes of a database that is busy, restarting or out of connections:
# 08 connection exception, 53 insufficient resources, 57P01-57P03 shutdown and start-up,
# 55P03 lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout),
# 40001/40P01 serialization failure and deadlock (a retry succeeds).
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})
_DOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_DOWN_CLASSES = frozenset({"08", "53"})
BUSY_RETRY_SECONDS = 1
DOWN_RETRY_SECONDS = 5


def _sqlstate(exc: BaseException | None) -> str | None:
    for candidate in (exc, getattr(exc, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def _kind(exc: BaseException) -> str | None:
    """ "busy", "down", or None for an error that is not the database's availability."""
    if isinstance(exc, PoolTimeout):
        return "busy"
    if isinstance(exc, DBAPIError):
        return _kind_of_dbapi(exc)
    if isinstance(exc, SQLAlchemyError):
        return None
    if (state := _sqlstate(exc)) is not None:  # asyncpg's own, raised while connecting
        return _kind_of_sqlstate(state)
    # Refused, reset or timed out before SQLAlchemy could wrap it (asyncpg's connect).
    return "down" if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)) else None


def _kind_of_dbapi(exc: DBAPIError) -> str | None:
    if exc.connection_invalidated:
        return "down"
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return "busy" if code & 0xFF in _SQLITE_BUSY else None
    return _kind_of_sqlstate(_sqlstate(exc.orig))


def _kind_of_sqlstate(state: str | None) -> str | None:
    if state is None:
        return None
    if state in _BUSY_SQLSTATES:
        return "busy"
    if state in _DOWN_SQLSTATES or state[:2] in _DOWN_CLASSES:
        return "down"
    return None


def as_unavailable(exc: BaseException) -> Unavailable | None:
    """A busy or unreachable database as a 503, recognised by exception type, SQLite result
    code or SQLSTATE (never by message); None for any other error, which stays a 500."""
    kind = _kind(exc)
    if kind == "busy":
        return Unavailable(
            "the database is busy; please try again in a moment",
            code="database_busy",
            retry_after=BUSY_RETRY_SECONDS,
        )
    if kind == "down":
        return Unavailable(
            "the database cannot be reached; please try again shortly",
            code="database_unavailable",
            retry_after=DOWN_RETRY_SECONDS,
        )
    return None
