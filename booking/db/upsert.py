"""INSERT … ON CONFLICT on either engine: SQLAlchemy has one construct per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession) -> Any:
    """The `insert` of the session's engine, with on_conflict_do_nothing / do_update."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
