"""PostgreSQL's half of booking/db/backup.py: `pg_dump -Fc` and `pg_restore`.

The client tools must be of the server's major version or newer (pg_dump refuses a server
newer than itself); Debian keeps each version's in /usr/lib/postgresql/N/bin, off
PATH, so they are looked for there first. They are given the URL's host, port, user and
database as arguments and the password in their environment (PGPASSWORD), never on a
command line that `ps` shows, and never printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from booking.db.backup import BackupError, Contents, refuse_non_empty, refuse_unknown
from booking.db.engine import create_engine
from booking.db.existing import describe
from booking.settings import Settings

TOOL_DIRECTORIES = (
    "/usr/lib/postgresql/{major}/bin",  # Debian, Ubuntu
    "/usr/pgsql-{major}/bin",  # RHEL and the PGDG packages
    "/opt/homebrew/opt/postgresql@{major}/bin",  # macOS
    "/usr/local/opt/postgresql@{major}/bin",
)
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", re.MULTILINE)
COPY_LINE = re.compile(r"^COPY [\w.\"]*alembic_version \(version_num\) FROM stdin;$")


def _tool_major(tool: Path) -> int | None:
    try:
        found = subprocess.run(  # noqa: S603 - a client tool found by its path
            [str(tool), "--version"], capture_output=True, text=True, check=False, timeout=10
        )
    except OSError:
        return None
    version = re.search(r"\) (\d+)", found.stdout)
    return int(version[1]) if version else None


def find_tool(name: str, server_major: int) -> Path:
    """The server's own major version of the tool if installed, else the newest newer one."""
    candidates = [Path(d.format(major=server_major)) / name for d in TOOL_DIRECTORIES]
    others = Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
    candidates += sorted(others, key=lambda p: p.parent.parent.name, reverse=True)
    on_path = shutil.which(name)
    candidates += [Path(on_path)] if on_path else []
    for tool in candidates:
        if tool.is_file() and os.access(tool, os.X_OK):
            major = _tool_major(tool)
            if major is not None and major >= server_major:
                return tool
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer was found (looked in "
        f"{', '.join(d.format(major=server_major) for d in TOOL_DIRECTORIES)} and PATH): "
        f"install the client tools, e.g. `apt install postgresql-client-{server_major}`"
    )


def _connection_arguments(url: URL) -> tuple[list[str], dict[str, str]]:
    """Arguments naming the server and database, and the environment with the password."""
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    args += ["--no-password"]  # never a prompt at 2 a.m.: PGPASSWORD, ~/.pgpass or trust
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return args, env


async def _run(tool: Path, args: list[str], env: dict[str, str]) -> str:
    """Run a client tool; its standard output, or a BackupError with what it said."""
    process = await asyncio.create_subprocess_exec(
        str(tool),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        # Its errors, not the statement it quotes after them.
        said = [line for line in said if " error: " in line][:2] or said[-3:]
        raise BackupError(f"{tool.name} failed: {' / '.join(said) or process.returncode}")
    return out.decode(errors="replace")


async def _table_names(connection: AsyncConnection) -> set[str]:
    found = await connection.execute(
        text(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    )
    return {f"{schema}.{table}" for schema, table in found.all()}


async def _contents(connection: AsyncConnection) -> Contents:
    names = {name.removeprefix("public.") for name in await _table_names(connection)}
    bookings = (
        await connection.scalar(text("SELECT count(*) FROM bookings")) if "bookings" in names else 0
    )
    revision = (
        await connection.scalar(text("SELECT version_num FROM alembic_version"))
        if "alembic_version" in names
        else None
    )
    return Contents(len(names), int(bookings or 0), revision)


async def _server_major(connection: AsyncConnection) -> int:
    return int(await connection.scalar(text("SHOW server_version_num")) or 0) // 10000


async def pg_backup(settings: Settings, partial: Path) -> Contents:
    """pg_dump -Fc of the snapshot this transaction exports: the counts printed are those of
    the very picture dumped, and writers carry on meanwhile (MVCC)."""
    url = make_url(settings.effective_database_url)
    args, env = _connection_arguments(url)
    engine = create_engine(settings)
    try:
        async with engine.connect() as plain:
            connection = await plain.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                snapshot = await connection.scalar(text("SELECT pg_export_snapshot()"))
                contents = await _contents(connection)
                pg_dump = find_tool("pg_dump", await _server_major(connection))
                await _run(
                    pg_dump,
                    [
                        *args,
                        "--format=custom",
                        # Behind a migration's lock: fail after 30 s rather than wait without
                        # end, holding the locks on the tables it has already taken.
                        "--lock-wait-timeout=30s",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={url.database}",
                    ],
                    env,
                )
    except (OSError, DBAPIError) as exc:
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise BackupError(f"the backup of {describe(settings)} failed: {said[0]}") from None
    finally:
        await engine.dispose()
    return contents


async def _backup_revision(pg_restore: Path, path: Path, env: dict[str, str]) -> str | None:
    """Read the whole archive back (a truncated or damaged one fails here, before the target
    is touched), then its alembic_version row."""
    try:
        await _run(pg_restore, ["--file=/dev/null", str(path)], env)
    except BackupError as exc:
        raise BackupError(f"{path} is damaged or truncated ({exc}): nothing was restored") from None
    script = await _run(
        pg_restore, ["--data-only", "--table=alembic_version", "--file=-", str(path)], env
    )
    lines = script.splitlines()
    for i, line in enumerate(lines[:-1]):
        if COPY_LINE.match(line) and lines[i + 1] != "\\.":
            return lines[i + 1].strip()
    return None


async def _backup_tables(pg_restore: Path, path: Path, env: dict[str, str]) -> set[str]:
    listing = await _run(pg_restore, ["--list", str(path)], env)
    return {f"{m[1]}.{m[2]}" for m in TOC_TABLE.finditer(listing)}


async def pg_restore(settings: Settings, path: Path, *, force: bool) -> Contents:
    """Restore into the configured database in one transaction (--single-transaction,
    --exit-on-error): any failure leaves it as it was. Objects belong to the URL's user."""
    url = make_url(settings.effective_database_url)
    args, env = _connection_arguments(url)
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            target = await _table_names(connection)
            tool = find_tool("pg_restore", await _server_major(connection))
        refuse_unknown(path, await _backup_revision(tool, path, env))
        refuse_non_empty(len(target), describe(settings), force=force)
        if extra := target - await _backup_tables(tool, path, env):
            # --clean drops what the backup holds only: these would stay, half a schema.
            raise BackupError(
                f"the database at {describe(settings)} has tables the backup does not "
                f"({', '.join(sorted(extra)[:5])}): restore into a new database made with "
                "createdb. Nothing was restored"
            )
        clean = ["--clean", "--if-exists"] if force else []
        await _run(
            tool,
            [
                *args,
                *clean,
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={url.database}",
                str(path),
            ],
            env,
        )
        async with engine.connect() as connection:
            # pg_restore leaves the planner no statistics until autovacuum comes round.
            await connection.execute(text("ANALYZE"))
            await connection.commit()
            return await _contents(connection)
    finally:
        await engine.dispose()
