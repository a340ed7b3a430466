"""`booking db backup` and `booking db restore`, run as an operator would: real processes on
real databases of each engine.

The drill: a real server takes bookings without pause while `booking db backup` runs; the
backup is restored into an empty database, which `booking db check` passes, and which holds
every booking acknowledged before the backup began.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from booking.accounts import groups
from booking.accounts.models import User
from booking.accounts.sessions import open_session
from booking.clock import FrozenClock
from booking.db.backup import BackupError, backup
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.reservations.consistency import check
from booking.reservations.models import Booking
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, _recreate_postgres, committed_database, postgres_url
from tests.notifications.test_worker import free_port
from tests.people import registration
from tests.places import open_weekday
from tests.races import city_admin
from tests.test_cli import booking

GROUPS = 8


@dataclass
class Served:
    """A real server process (the tests' frozen clock) on a fresh committed database."""

    settings: Settings
    base: str
    headers: list[dict[str, str]]
    group_ids: list[int]
    room_ids: list[int]
    day: date
    acknowledged: list[tuple[int, float]] = field(default_factory=list)  # id, answered at


def _url(settings: Settings) -> str:
    return settings.database_url or ""


@pytest.fixture
def source(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    (tmp_path / "source").mkdir()
    with committed_database(engine_settings, tmp_path / "source", "backup_source") as settings:
        yield settings


@pytest.fixture
async def empty_target(engine_settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """An empty database of the engine under test: a new PostgreSQL database, or a data
    directory with no SQLite file in it yet."""
    if not engine_settings.database_url:
        yield Settings(database_url=None, data_dir=tmp_path / "restored")
        return
    url = postgres_url("restored")
    await _recreate_postgres(url)
    try:
        yield Settings(database_url=url, data_dir=tmp_path / "restored")
    finally:
        await _recreate_postgres(url, drop_only=True)


async def _groups_with_sessions(settings: Settings) -> tuple[list[int], list[dict[str, str]]]:
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(settings)
    group_ids, headers = [], []
    try:
        async with create_sessionmaker(engine).begin() as session:
            staff = await city_admin(session, clock, settings)
            for i in range(GROUPS):
                email = f"rep{i}@example.jp"
                found = registration(f"会{i}", email, password="long enough password")
                group = await groups.register(session, clock, settings, None, found, None)
                await groups.activate(session, clock, settings, staff, group.id, None)
                rep = await session.scalar(select(User).where(User.email == email))
                assert rep is not None
                opened = await open_session(session, clock, settings, rep.id)
                group_ids.append(group.id)
                headers.append(
                    {
                        "Cookie": f"booking_session={opened.cookie_value}",
                        "X-CSRF-Token": opened.csrf_token,
                    }
                )
    finally:
        await engine.dispose()
    return group_ids, headers


async def _rooms(settings: Settings) -> tuple[list[int], date]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            snapshot = await SnapshotCache().get(session)
    finally:
        await engine.dispose()
    facility = next(
        f.id for f in snapshot.facilities.values() if f.kind == "civic_hall" and f.closes_on is None
    )
    rooms = [
        r.id
        for r in snapshot.rooms
        if r.facility_id == facility and r.online_bookable and len(r.unit_ids) == 1
    ]
    return rooms, open_weekday(snapshot, facility, date(2027, 2, 8))


@contextlib.asynccontextmanager
async def _server(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "BOOKING_DATA_DIR": str(settings.data_dir),
        "BOOKING_DATABASE_URL": _url(settings),
    }
    process = subprocess.Popen(  # noqa: S603, ASYNC220 - our own interpreter and module
        [sys.executable, "-m", "tests.serve_frozen", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/health")).status_code == 200:
                        break
                assert process.poll() is None, "the server did not start"
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def served(source: Settings) -> AsyncIterator[Served]:
    group_ids, headers = await _groups_with_sessions(source)
    room_ids, day = await _rooms(source)
    async with _server(source) as base:
        yield Served(source, base, headers, group_ids, room_ids, day)


async def _book_until(served: Served, stop: asyncio.Event, worker: int, workers: int) -> None:
    """Book free slots one after another (each worker its own), recording each 201 with the
    moment its answer came back."""
    slots = [
        (room, served.day + timedelta(days=k), period)
        for k in range(60)
        for room in served.room_ids
        for period in ("10", "20", "30")
    ][worker::workers]
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        for i, (room, day, period) in enumerate(slots):
            if stop.is_set():
                return
            n = (worker + i * workers) % GROUPS
            response = await client.post(
                "/api/v1/bookings",
                json={
                    "group_id": served.group_ids[n],
                    "room_id": room,
                    "use_date": day.isoformat(),
                    "period_codes": [period],
                    "purpose": "meeting",
                    "headcount": 5,
                },
                headers=served.headers[n],
            )
            if response.status_code == 201:
                served.acknowledged.append((response.json()["id"], time.monotonic()))
            else:
                assert response.status_code < 500, response.text
    raise AssertionError("ran out of slots before the drill ended")


async def _wait_for(served: Served, count: int, workers: list[asyncio.Task[None]]) -> None:
    for _ in range(600):
        if len(served.acknowledged) >= count:
            return
        for task in workers:
            if task.done():
                task.result()  # a worker that stopped says why (a 5xx, no slots left)
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(served.acknowledged)} bookings acknowledged in 30 s")


async def _restored(settings: Settings) -> tuple[set[int], list[str]]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            ids = set((await session.scalars(select(Booking.id))).all())
            report = await check(session)
    finally:
        await engine.dispose()
    return ids, report.lines()


def run(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    result = booking(*args, data_dir=settings.data_dir, url=_url(settings))
    assert "Traceback" not in result.stderr, result.stderr
    return result


@contextlib.contextmanager
def _a_long_read(settings: Settings) -> Iterator[None]:
    """A read transaction open throughout (a long report, an export), as in production: on
    SQLite no checkpoint can then move the bookings from the WAL into the database file, so
    a backup that copied the file would miss every one of them."""
    if settings.database_url:
        yield
        return
    reader = sqlite3.connect(settings.data_dir / "booking.sqlite3", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM bookings").fetchone()
        yield
    finally:
        reader.close()


async def test_a_backup_taken_while_booking_restores_every_acknowledged_booking(
    served: Served, empty_target: Settings, tmp_path: Path
) -> None:
    with _a_long_read(served.settings):
        await _drill(served, empty_target, tmp_path)


async def _drill(served: Served, empty_target: Settings, tmp_path: Path) -> None:
    path = tmp_path / "drill.backup"
    stop = asyncio.Event()
    workers = [asyncio.create_task(_book_until(served, stop, w, 3)) for w in range(3)]
    try:
        await _wait_for(served, 20, workers)
        began = time.monotonic()
        made = await asyncio.to_thread(run, "db", "backup", str(path), settings=served.settings)
        ended = time.monotonic()
        during = sum(began < at < ended for _, at in served.acknowledged)
        await _wait_for(served, len(served.acknowledged) + 5, workers)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    assert made.returncode == 0, made.stderr
    assert f"wrote {path}" in made.stdout
    assert "bookings, schema revision" in made.stdout
    assert during > 0, "no booking was acknowledged while the backup ran: writers were held up"

    restored = await asyncio.to_thread(run, "db", "restore", str(path), settings=empty_target)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "claims and reservations agree" in restored.stdout
    checked = await asyncio.to_thread(run, "db", "check", settings=empty_target)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    ids, problems = await _restored(empty_target)
    before = {booking_id for booking_id, at in served.acknowledged if at < began}
    assert before <= ids, f"acknowledged before the backup, missing: {sorted(before - ids)}"
    assert problems == []
    # The backup is one instant: what it holds is what the server had acknowledged by its end.
    assert ids <= {booking_id for booking_id, _ in served.acknowledged}
    assert f"{len(ids)} bookings" in made.stdout


async def test_restore_refuses_a_database_that_has_tables(source: Settings, tmp_path: Path) -> None:
    path = tmp_path / "b.backup"
    assert run("db", "backup", str(path), settings=source).returncode == 0
    engine = create_engine(source)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(text("UPDATE facilities SET phone = 'kept'"))
        refused = run("db", "restore", str(path), settings=source)
        assert refused.returncode == 1
        assert "already has" in refused.stderr
        assert "Nothing was restored" in refused.stderr
        async with create_sessionmaker(engine)() as session:
            kept = await session.scalar(
                text("SELECT count(*) FROM facilities WHERE phone = 'kept'")
            )
        assert kept

        forced = run("db", "restore", "--force", str(path), settings=source)
        assert forced.returncode == 0, forced.stderr
        assert "claims and reservations agree" in forced.stdout
        await engine.dispose()  # the restore replaced what its connections saw
        async with create_sessionmaker(engine)() as session:
            kept = await session.scalar(
                text("SELECT count(*) FROM facilities WHERE phone = 'kept'")
            )
        assert kept == 0
    finally:
        await engine.dispose()


def _damaged(good: Path, directory: Path) -> dict[str, Path]:
    data = good.read_bytes()
    truncated = directory / "truncated.backup"
    truncated.write_bytes(data[: len(data) // 2])
    # The start kept (it still says what it is), the rest overwritten half way.
    corrupt = directory / "corrupt.backup"
    half = len(data) // 2
    corrupt.write_bytes(
        data[:half] + bytes(reversed(data[half : half + 4096])) + data[half + 4096 :]
    )
    return {"truncated": truncated, "corrupt": corrupt}


async def _tables(settings: Settings) -> int | None:
    """The target's tables, or None when its SQLite file does not exist."""
    if not settings.database_url:
        file = settings.data_dir / "booking.sqlite3"
        if not file.exists():
            return None
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if settings.database_url:
                query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            else:
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            return int(await connection.scalar(text(query)) or 0)
    finally:
        await engine.dispose()


async def test_a_damaged_backup_is_refused_and_the_target_left_as_it_was(
    source: Settings, empty_target: Settings, tmp_path: Path
) -> None:
    good = tmp_path / "good.backup"
    assert run("db", "backup", str(good), settings=source).returncode == 0
    before = await _tables(empty_target)
    for how, path in _damaged(good, tmp_path).items():
        result = run("db", "restore", str(path), settings=empty_target)
        assert result.returncode == 1, (how, result.stdout)
        assert await _tables(empty_target) == before, (how, result.stderr)
        assert "damaged or truncated" in result.stderr, (how, result.stderr)
        assert "nothing was restored" in result.stderr
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a backup\n")
    result = run("db", "restore", str(not_a_backup), settings=empty_target)
    assert result.returncode == 1
    assert "is not a booking backup" in result.stderr
    # The good one still restores there: nothing was left half done.
    assert run("db", "restore", str(good), settings=empty_target).returncode == 0


@pytest.mark.engines("postgresql")
async def test_a_restore_that_fails_part_way_leaves_the_target_as_it_was(
    source: Settings, empty_target: Settings, tmp_path: Path
) -> None:
    """A view in the way of an index: pg_restore has made every table and loaded its rows
    when it fails; the single transaction takes them all back. (SQLite's backup API writes
    the target in one transaction of its own.)"""
    path = tmp_path / "b.backup"
    assert run("db", "backup", str(path), settings=source).returncode == 0
    engine = create_engine(empty_target)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE VIEW ix_audit_events_target AS SELECT 1 AS x"))
    finally:
        await engine.dispose()
    result = run("db", "restore", str(path), settings=empty_target)
    assert result.returncode == 1, result.stdout
    assert await _tables(empty_target) == 0, result.stderr
    assert 'relation "ix_audit_events_target" already exists' in result.stderr


async def test_bad_paths_are_clear_errors(source: Settings, tmp_path: Path) -> None:
    missing_dir = tmp_path / "no such directory" / "b.backup"
    result = run("db", "backup", str(missing_dir), settings=source)
    assert result.returncode == 1
    assert f"the directory {missing_dir.parent} does not exist" in result.stderr
    result = run("db", "backup", str(tmp_path), settings=source)
    assert result.returncode == 1
    assert "is a directory" in result.stderr
    result = run("db", "restore", str(missing_dir), settings=source)
    assert result.returncode == 1
    assert f"no backup at {missing_dir}" in result.stderr
    if not source.database_url:  # a backup over the live file would replace it
        live = source.data_dir / "booking.sqlite3"
        result = run("db", "backup", str(live), settings=source)
        assert result.returncode == 1
        assert "is the database itself" in result.stderr
        assert run("db", "check", settings=source).returncode == 0


def _unreadable_bookings(settings: Settings) -> None:
    """Damage the root pages of the bookings table and its indexes (count(*) reads one): the
    file copies, but its bookings cannot be counted, so the backup fails after writing."""
    file = settings.data_dir / "booking.sqlite3"
    with contextlib.closing(sqlite3.connect(file)) as connection:
        roots = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'bookings' AND rootpage > 0"
        ).fetchall()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    with file.open("r+b") as database:
        for (root,) in roots:
            database.seek((root - 1) * page_size)
            database.write(b"\xff" * page_size)


@contextlib.asynccontextmanager
async def _role_that_cannot_read_audit_events(settings: Settings) -> AsyncIterator[Settings]:
    """A PostgreSQL role the backup runs as, missing SELECT on one table: pg_dump fails once
    it has opened its output file and begun (a grant forgotten on a new table)."""
    role = f"backup_{make_url(settings.database_url or '').database}"[:60]
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for statement in (
                f'CREATE ROLE "{role}" LOGIN',
                f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"',
                f'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
                f'REVOKE SELECT ON audit_events FROM "{role}"',  # noqa: S608 - a test's own name
            ):
                await connection.execute(text(statement))
        url = make_url(settings.database_url or "").set(username=role)
        yield Settings(
            database_url=url.render_as_string(hide_password=False), data_dir=settings.data_dir
        )
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP OWNED BY "{role}"'))
            await connection.execute(text(f'DROP ROLE "{role}"'))
        await engine.dispose()


async def test_a_backup_that_fails_half_way_leaves_the_previous_one_whole(
    source: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "nightly.backup"
    assert run("db", "backup", str(path), settings=source).returncode == 0
    previous = path.read_bytes()
    async with contextlib.AsyncExitStack() as stack:
        if source.database_url:
            failing = await stack.enter_async_context(_role_that_cannot_read_audit_events(source))
        else:
            failing = source
            _unreadable_bookings(source)
        result = await asyncio.to_thread(run, "db", "backup", str(path), settings=failing)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: ")
    assert path.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []  # noqa: ASYNC240


async def test_a_backup_function_error_is_a_backup_error(tmp_path: Path) -> None:
    broken = Settings(database_url=None, data_dir=tmp_path)
    (tmp_path / "booking.sqlite3").write_bytes(b"not a database" * 1000)
    with pytest.raises(BackupError, match="failed: file is not a database"):
        await backup(broken, tmp_path / "b.backup")


async def test_a_backup_of_a_newer_schema_is_refused(
    source: Settings, empty_target: Settings, tmp_path: Path
) -> None:
    engine = create_engine(source)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = 'from_2030'"))
    finally:
        await engine.dispose()
    path = tmp_path / "newer.backup"
    made = run("db", "backup", str(path), settings=source)
    assert made.returncode == 0, made.stderr
    assert "schema revision from_2030" in made.stdout
    result = run("db", "restore", str(path), settings=empty_target)
    assert result.returncode == 1
    assert "made by a newer version" in result.stderr
    assert await _tables(empty_target) in {None, 0}


async def test_a_backup_of_an_older_schema_restores_then_says_to_upgrade(
    source: Settings, empty_target: Settings, tmp_path: Path
) -> None:
    older = run("db", "downgrade", "--", "-1", settings=source)
    assert older.returncode == 0, older.stderr
    path = tmp_path / "older.backup"
    assert run("db", "backup", str(path), settings=source).returncode == 0
    result = run("db", "restore", str(path), settings=empty_target)
    assert result.returncode == 0, result.stderr
    assert "run `booking db upgrade`" in result.stdout
    assert run("db", "upgrade", settings=empty_target).returncode == 0
    checked = run("db", "check", settings=empty_target)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    engine = create_engine(empty_target)
    try:
        async with create_sessionmaker(engine)() as session:
            assert await session.scalar(select(func.count()).select_from(Booking)) == 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_the_commands_have_help(tmp_path: Path, command: str) -> None:
    result = booking("db", command, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PATH" in result.stdout
