"""Is there a database to work on? Asked by every command but `serve` and `db upgrade`, which
make one: the others must not leave an empty database (or an empty data/) behind them when
run in the wrong directory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError

from booking.db.engine import SQLITE_BEGIN, create_engine, create_sessionmaker
from booking.db.migrate import head_revision, schema_revision
from booking.settings import Settings

HOW_TO_POINT = (
    "run the command where `booking serve` runs, or point at the database with "
    "BOOKING_DATA_DIR=<the directory of its booking.sqlite3> or BOOKING_DATABASE_URL=<its URL>"
)


def describe(settings: Settings) -> str:
    """Where the database is looked for, as an operator would type it (no password)."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def sqlite_file(settings: Settings) -> Path | None:
    """The embedded database's file, or None for a server database (or an in-memory one)."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


async def database_problem(settings: Settings, *, need_schema: bool = True) -> str | None:
    """What stops a command from using the database, or None. Creates nothing: a missing
    SQLite file is reported before any connection could create it."""
    where = describe(settings)
    file = sqlite_file(settings)
    if file is not None and not file.is_file():
        return (
            f"no database at {where} ({_origin(settings)}): {HOW_TO_POINT}; "
            "`booking db upgrade` creates a new one"
        )
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            # Only reads: no write lock on SQLite, so a running server is not held up.
            await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
            await session.execute(text("SELECT 1"))  # unreachable is not "no schema"
            found = await schema_revision(session)
    except (OSError, DBAPIError, InterfaceError) as exc:
        return f"cannot open the database at {where}: {_first_line(exc)}; {HOW_TO_POINT}"
    finally:
        await engine.dispose()
    if not need_schema:
        return None
    head = head_revision()
    if found is None:
        return (
            f"the database at {where} has no schema: run `booking db upgrade` "
            f"(`booking serve` does it too), or {HOW_TO_POINT}"
        )
    if found != head:
        return (
            f"the database at {where} is at revision {found}, this version needs {head}: "
            "run `booking db upgrade`"
        )
    return None


def _origin(settings: Settings) -> str:
    if settings.database_url:
        return "from BOOKING_DATABASE_URL"
    relative = "" if settings.data_dir.is_absolute() else ", relative to the current directory"
    return f"BOOKING_DATA_DIR is {settings.data_dir}{relative}"


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]
