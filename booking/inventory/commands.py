"""Use cases behind `booking facilities ...` and the first start of `booking serve`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.db.migrate import head_revision, schema_revision
from booking.inventory.datafiles import read_network
from booking.inventory.export import export_network, write_export
from booking.inventory.load import KEEP_STAFF_EDITS, LoadReport, TakeFile, load_network
from booking.inventory.models import Facility
from booking.settings import Settings


class NotMigratedError(Exception):
    def __init__(self) -> None:
        super().__init__("the database schema is not at head: run `booking db upgrade` first")


async def load_facilities(
    settings: Settings, path: Path, clock: Clock, take_file: TakeFile = KEEP_STAFF_EDITS
) -> LoadReport:
    """Validate everything first, then load it in one transaction: all or nothing."""
    network = read_network(path)  # raises DataValidationError before the database is touched
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            if await schema_revision(session) != head_revision():
                raise NotMigratedError
            return await load_network(session, network, clock.now(), take_file)
    finally:
        await engine.dispose()


async def export_facilities(settings: Settings, directory: Path) -> int:
    """Write the live network to `directory`; check that the files read back as valid data
    (DataValidationError otherwise). The number of facilities written."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if await schema_revision(session) != head_revision():
                raise NotMigratedError
            files = await export_network(session)
    finally:
        await engine.dispose()
    write_export(files, directory)
    return len(read_network(directory).facilities)


async def network_is_empty(settings: Settings) -> bool:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return not await session.scalar(select(func.count()).select_from(Facility))
    finally:
        await engine.dispose()
