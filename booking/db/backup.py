"""`booking db backup PATH` and `booking db restore PATH`.

A backup is one file, a consistent picture of the database at one instant while the server
keeps serving: SQLite's online backup API (one step, inside one read transaction: in WAL mode
writers go on meanwhile), PostgreSQL's `pg_dump -Fc` (booking/db/pg_backup.py). It is written
under a temporary name beside PATH and renamed when complete, so a file at PATH is always a
whole backup. A restore goes into an empty database only (unless forced), in one transaction,
after the whole backup file has been read back: a truncated or damaged file changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy.engine import make_url

from booking.db.existing import describe, sqlite_file
from booking.db.migrate import head_revision, is_known_revision
from booking.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
SQLITE_BUSY_TIMEOUT_S = 30.0  # a writer's transaction is short; the backup waits for it


class BackupError(Exception):
    """What stopped a backup or a restore, said for the operator (never a password)."""


@dataclass(frozen=True)
class Contents:
    """What a database (or a backup of one) holds, as the operator's summary says it."""

    tables: int
    bookings: int
    revision: str | None

    def summary(self) -> str:
        return (
            f"{self.tables} tables, {self.bookings} bookings, "
            f"schema revision {self.revision or 'none'}"
        )


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    contents: Contents
    seconds: float

    def summary(self) -> str:
        return (
            f"wrote {self.path}: {_size(self.size)}, {self.contents.summary()} "
            f"in {self.seconds:.1f} s"
        )


class Standing(StrEnum):
    CURRENT = "current"  # the code's head: ready to serve
    OLDER = "older"  # an earlier revision of this code: restore, then `booking db upgrade`
    UNKNOWN = "unknown"  # made by a newer (or another) version: refused


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    target: str
    contents: Contents  # counted in the restored database
    standing: Standing
    head: str | None
    seconds: float

    def summary(self) -> str:
        return (
            f"restored {self.source} into {self.target}: {self.contents.summary()} "
            f"in {self.seconds:.1f} s"
        )


def revision_standing(revision: str | None) -> Standing:
    """Where a backup's schema revision stands against this code's migrations."""
    if revision is None or not is_known_revision(revision):
        return Standing.UNKNOWN
    return Standing.CURRENT if revision == head_revision() else Standing.OLDER


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def is_postgresql(settings: Settings) -> bool:
    return make_url(settings.effective_database_url).get_backend_name() == "postgresql"


# --- the backup file: where it goes, what kind it is ---------------------------------------


def partial_name(path: Path) -> Path:
    """The temporary name a backup is written under, beside PATH (same file system: the
    rename is atomic). Hidden, and saying what it is, should a crash leave it behind."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def check_destination(path: Path) -> None:
    if path.is_dir():
        raise BackupError(f"{path} is a directory: give the backup file's name, e.g. {path}/x")
    if not path.parent.is_dir():
        raise BackupError(f"cannot write {path}: the directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise BackupError(f"cannot write {path}: the directory {path.parent} is not writable")


def publish(partial: Path, path: Path) -> None:
    """Make the finished file durable, then give it its name (and make the rename durable)."""
    with partial.open("rb") as file:
        os.fsync(file.fileno())
    partial.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def backup_kind(path: Path) -> str:
    """The engine a backup file is for, from its first bytes; a clear error for anything else."""
    if path.is_dir():
        raise BackupError(f"{path} is a directory, not a backup file")
    try:
        with path.open("rb") as file:
            start = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"no backup at {path}: the file does not exist") from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path} is not a booking backup (neither an SQLite file nor a pg_dump custom-format "
        "archive): nothing was restored"
    )


# --- the commands ---------------------------------------------------------------------------


async def backup(settings: Settings, path: Path) -> BackupReport:
    """Write a consistent backup of the configured database to PATH (replacing a file there
    only once the new one is complete)."""
    check_destination(path)
    partial = partial_name(path)
    started = time.monotonic()
    try:
        if is_postgresql(settings):
            from booking.db.pg_backup import pg_backup  # noqa: PLC0415 - PostgreSQL only

            contents = await pg_backup(settings, partial)
        else:
            source = _sqlite_source(settings)
            _refuse_the_database_itself(path, source)
            contents = sqlite_backup(source, partial)
        publish(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    size = path.stat().st_size  # noqa: ASYNC240 - a command, nothing else waits on its loop
    return BackupReport(path, size, contents, time.monotonic() - started)


async def restore(settings: Settings, path: Path, *, force: bool = False) -> RestoreReport:
    """Restore PATH into the configured database, which must hold no tables unless `force`.
    Refuses a backup made by a newer version; all or nothing."""
    kind = backup_kind(path)
    engine = "postgresql" if is_postgresql(settings) else "sqlite"
    if kind != engine:
        raise BackupError(
            f"{path} is a {kind} backup but the configured database ({describe(settings)}) is "
            f"{engine}: point BOOKING_DATABASE_URL / BOOKING_DATA_DIR at a {kind} database"
        )
    started = time.monotonic()
    if engine == "postgresql":
        from booking.db.pg_backup import pg_restore  # noqa: PLC0415 - PostgreSQL only

        contents = await pg_restore(settings, path, force=force)
    else:
        contents = sqlite_restore(path, _sqlite_source(settings), force=force)
    return RestoreReport(
        path,
        describe(settings),
        contents,
        revision_standing(contents.revision),
        head_revision(),
        time.monotonic() - started,
    )


def refuse_unknown(path: Path, revision: str | None) -> None:
    """Stop before anything is written when the backup's schema is not one this code knows."""
    if revision is None:
        raise BackupError(
            f"{path} holds no booking schema (no alembic_version): it is not a backup of "
            "booking's database. Nothing was restored"
        )
    if revision_standing(revision) is Standing.UNKNOWN:
        raise BackupError(
            f"{path} has schema revision {revision or 'none'}, which this version of booking "
            f"does not know (its newest is {head_revision()}): it was made by a newer version; "
            "restore it with that version (or upgrade booking first). Nothing was restored"
        )


def refuse_non_empty(tables: int, where: str, *, force: bool) -> None:
    if tables and not force:
        raise BackupError(
            f"the database at {where} already has {tables} tables: restore goes into an empty "
            "database (a new PostgreSQL database made with createdb, or a new BOOKING_DATA_DIR). "
            "To replace what it holds, stop every server and worker and add --force. "
            "Nothing was restored"
        )


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_source(settings: Settings) -> Path:
    file = sqlite_file(settings)
    if file is None:
        raise BackupError("an in-memory database has nothing to back up or restore into")
    return file


def _sidecars(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]


def _refuse_the_database_itself(path: Path, source: Path) -> None:
    if path.resolve() in {source.resolve(), *_sidecars(source.resolve())}:
        raise BackupError(f"{path} is the database itself: give the backup another name")


def sqlite_contents(connection: sqlite3.Connection) -> Contents:
    names = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    bookings = (
        connection.execute("SELECT count(*) FROM bookings").fetchone()[0]
        if "bookings" in names
        else 0
    )
    revision = (
        connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if "alembic_version" in names
        else None
    )
    return Contents(len(names), bookings, revision[0] if revision else None)


def sqlite_backup(source: Path, partial: Path) -> Contents:
    """Copy the live file with the online backup API in one step: one read transaction, so
    the copy is the database as of one commit, while writers (WAL) carry on."""
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            # One self-contained file: no -wal beside it to lose when it is copied.
            dst.execute("PRAGMA journal_mode=DELETE")
            return sqlite_contents(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the backup of {source} failed: {exc}") from None
    finally:
        src.close()


def _open_sqlite_backup(path: Path) -> sqlite3.Connection:
    """The backup, read only and read whole (quick_check reads every page): a truncated or
    damaged file is refused here, before the target is touched."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.Error as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        connection.close()
        raise BackupError(
            f"{path} is damaged or truncated ({'; '.join(problems[:3])}): nothing was restored"
        )
    return connection


def sqlite_restore(path: Path, target: Path, *, force: bool) -> Contents:
    backup_file = _open_sqlite_backup(path)
    try:
        refuse_unknown(path, sqlite_contents(backup_file).revision)
        if target.exists() and target.samefile(path):
            raise BackupError(f"{path} is the configured database itself: nothing to restore")
        wal = _sidecars(target)[0]
        if wal.exists() and not target.exists():
            # SQLite would replay it into the restored file.
            raise BackupError(f"{wal} is left without its database: move it away first")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            refuse_non_empty(sqlite_contents(dst).tables, str(target), force=force)
            # The backup API writes the target in one transaction of its own: all or nothing.
            backup_file.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")  # as `booking serve` keeps it
            return sqlite_contents(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the restore into {target} failed: {exc}") from None
    finally:
        backup_file.close()
