"""Alembic, driven from code: the schema exists only through migrations/."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.paths import migrations_dir
from booking.settings import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = settings.effective_database_url
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def current(settings: Settings) -> None:
    command.current(alembic_config(settings), verbose=False)


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(migrations_dir()))


def head_revision() -> str | None:
    return _script().get_current_head()


@lru_cache(maxsize=64)
def is_known_revision(revision: str) -> bool:
    """Is this one of this code's migrations? A database at a revision the code does not know
    was migrated by a newer release (or is not ours)."""
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


async def schema_revision(session: AsyncSession) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    try:
        async with session.begin_nested():
            found = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None
    return str(found) if found is not None else None
