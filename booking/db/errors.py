"""Integrity errors as domain conflicts, recognised by constraint, never by message wording.

PostgreSQL names the violated constraint (asyncpg's `constraint_name`). SQLite names only the
columns, in its documented form "UNIQUE constraint failed: table.column, ..."; both map to the
same entry. Services check first and give the precise message; this catches the race between
the check and the write, and so a conflict is always a 409, never a 500.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from booking.errors import Conflict

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
