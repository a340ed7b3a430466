"""Alembic environment: async engines for both PostgreSQL and SQLite, one transaction each."""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy.engine import Connection

import booking.models  # noqa: F401 - registers every table on Base.metadata
from booking.db.base import Base
from booking.db.engine import create_engine
from booking.settings import Settings, load_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

settings: Settings = config.attributes.get("settings") or load_settings()


# Several hosts started at once each migrate first (`booking serve`): on PostgreSQL one does,
# the others wait for its commit on this lock and then find the schema at head (without it
# the second failed on a duplicate table). Taken before Alembic reads the version.
MIGRATION_LOCK = 20_201_920


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
        transaction_per_migration=False,
        transactional_ddl=True,  # SQLite too: a failed migration leaves nothing half-done
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=settings.effective_database_url, target_metadata=Base.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
