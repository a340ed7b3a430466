"""Fixtures: every database test runs on SQLite and, whenever reachable, on PostgreSQL.

Each engine gets a fresh database migrated by Alembic (never create_all) with the bundled
Kawasaki data loaded once; each test then runs inside a transaction that is rolled back, its
own commits becoming SAVEPOINTs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import httpx
import hypothesis
import pytest
from litestar import Litestar
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from booking.app import create_app, serve_test, settle_heap
from booking.clock import FrozenClock
from booking.db import migrate
from booking.db.engine import create_engine
from booking.inventory.commands import load_facilities
from booking.inventory.datafiles import read_network
from booking.inventory.load import load_network
from booking.paths import facilities_data_dir
from booking.settings import Settings

# Fixtures of people (tests/people.py) and bookable places (tests/places.py), for every test;
# which tests share a worker when run in parallel (tests/parallel.py).
pytest_plugins = ["tests.people", "tests.places", "tests.parallel"]

T = TypeVar("T")
TEST_DATA = Path(__file__).parent / "data"
# Each run has databases of its own (two runs on one server must not drop each other's):
# the configured name + the run's id, dropped when the run ends; a killed run's are dropped by
# the next run that finds their process gone.
_BASE_URL = make_url(
    os.environ.get(
        "BOOKING_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/booking_test"
    )
)
# The host is in the name too: a run judges another dead by its process id only on its own
# host (runs on other machines or containers may share the server).
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
RUN_ID = f"{_HOST}_{os.getpid()}_{secrets.token_hex(3)}"


def postgres_url(purpose: str = "") -> str:
    """The address of this run's PostgreSQL database for one purpose ("" = the shared one)."""
    name = "_".join(part for part in (_BASE_URL.database, purpose, RUN_ID) if part)
    return _BASE_URL.set(database=name).render_as_string(hide_password=False)


POSTGRES_URL = postgres_url()
# A copy of the shared database as loaded, which nothing connects to (PostgreSQL copies a
# database only then): committed_database copies it instead of migrating and loading again.
POSTGRES_LOADED_URL = postgres_url("loaded")
REQUIRE_POSTGRES = os.environ.get("BOOKING_TEST_REQUIRE_POSTGRES") == "1"
# The engines database tests run on (default both). Mutation testing (tests/mutate) runs the
# rules on SQLite only: a mutant of a rule is caught or missed the same on either engine.
ENGINES = os.environ.get("BOOKING_TEST_ENGINES", "sqlite,postgresql").split(",")
# Property tests (Hypothesis): a bounded number of examples in every run, many more by hand
# with HYPOTHESIS_PROFILE=long. No deadline: a shared 2-core machine makes timings noise.
hypothesis.settings.register_profile(
    "ci", max_examples=60, deadline=None, print_blob=True, derandomize=False
)
hypothesis.settings.register_profile("long", max_examples=5000, deadline=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Argon2id at its cheapest: tests log in hundreds of times (bench/passwords.py: the real cost).
FAST_HASHING: dict[str, int] = {
    "password_time_cost": 1,
    "password_memory_kib": 64,
    "password_parallelism": 1,
}
# Tests change rows and read the figures at once: no statistics served from a minute ago,
# no /metrics counts from seconds ago (tests/web/test_metrics.py tests that cache itself).
FAST_HASHING |= {"statistics_max_age_seconds": 0, "metrics_max_age_seconds": 0}
# 2026-11-25 10:00 in Tokyo: the default "now" of a test unless it sets its own.
DEFAULT_NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@dataclass
class Database:
    name: str
    settings: Settings
    engine: AsyncEngine


async def _admin_connection(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
        timeout=5,
    )


async def _recreate_postgres(
    url: str, *, drop_only: bool = False, template: str | None = None
) -> None:
    """Drop the database and create it again: empty, or a copy of `template`'s."""
    name = make_url(url).database
    admin = await _admin_connection(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        elif not drop_only:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


# Also the replica fixture's (tests/replica.py): are a dead run's leftovers safe to drop?
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_databases(*, only_dead_runs: bool) -> None:
    """Drop this run's databases, or those left by runs whose process is gone."""
    admin = await _admin_connection(POSTGRES_URL)
    try:
        names = await admin.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", _BASE_URL.database
        )
        for (name,) in names:
            found = re.search(r"_([0-9a-f]{6})_(\d+)_([0-9a-f]{6})$", name)
            if found is None:
                continue
            if only_dead_runs:
                if found[1] != _HOST or pid_alive(int(found[2])):
                    continue
            elif not name.endswith(RUN_ID):
                continue
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # PostgreSQL unreachable: nothing was made.
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        in_thread(lambda: asyncio.run(_drop_databases(only_dead_runs=False)))


def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking set-up (Alembic, asyncio.run) away from pytest-asyncio's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def postgres_missing(exc: BaseException) -> NoReturn:
    """No PostgreSQL to test against: a failure in CI (BOOKING_TEST_REQUIRE_POSTGRES=1), a
    skip on a machine without one."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (BOOKING_TEST_REQUIRE_POSTGRES=1): {exc}")
    pytest.skip(f"PostgreSQL is not reachable (set BOOKING_TEST_REQUIRE_POSTGRES=1 to fail): {exc}")


def _prepare_postgres() -> None:
    try:
        in_thread(lambda: asyncio.run(_drop_databases(only_dead_runs=True)))
        in_thread(lambda: asyncio.run(_recreate_postgres(POSTGRES_URL)))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        postgres_missing(exc)


@pytest.fixture(scope="session")
def engine_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for a fresh, migrated database holding the bundled data, committed."""
    name = request.param
    data_dir = tmp_path_factory.mktemp(f"db-{name}")
    if name == "postgresql":
        _prepare_postgres()
        settings = Settings(database_url=POSTGRES_URL, data_dir=data_dir, **FAST_HASHING)
    else:
        settings = Settings(database_url=None, data_dir=data_dir, **FAST_HASHING)
        if _sqlite_loaded:
            _copy_sqlite(_sqlite_loaded[0], data_dir / "booking.sqlite3")
            return settings
    in_thread(lambda: migrate.upgrade(settings))
    in_thread(
        lambda: asyncio.run(
            load_facilities(
                settings,
                settings.facilities_path or facilities_data_dir(),
                FrozenClock(DEFAULT_NOW),
            )
        )
    )
    # A copy as loaded, for committed_database (2-4 s a test less than migrating and loading)
    # and, on SQLite, for a process that runs pytest again (mutmut forks one run per mutant
    # from a warmed-up process): 1.3 s a run.
    if name == "sqlite":
        keep = Path(tempfile.mkdtemp(prefix="booking-sqlite-loaded-")) / "booking.sqlite3"
        _copy_sqlite(data_dir / "booking.sqlite3", keep)
        _sqlite_loaded.append(keep)
        # Removed when this process ends (each run left one in /tmp), not when a fork does.
        atexit.register(_remove_if_owner, keep.parent, os.getpid())
    else:
        loaded = make_url(POSTGRES_URL).database
        in_thread(lambda: asyncio.run(_recreate_postgres(POSTGRES_LOADED_URL, template=loaded)))
    return settings


_sqlite_loaded: list[Path] = []


def _remove_if_owner(directory: Path, owner: int) -> None:
    if os.getpid() == owner:
        shutil.rmtree(directory, ignore_errors=True)


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@contextlib.contextmanager
def committed_database(
    engine_settings: Settings,
    data_dir: Path,
    purpose: str,
    *,
    load: bool = True,
    **changes: Any,
) -> Iterator[Settings]:
    """A fresh database of the engine under test (PostgreSQL: one of this run's own, named
    for `purpose`), migrated and, with `load`, holding the bundled data, committed to for
    real (races, processes, outages), and dropped afterwards."""
    url = postgres_url(purpose) if engine_settings.database_url else None
    settings = Settings(database_url=url, data_dir=data_dir, **(FAST_HASHING | changes))
    if load:  # a copy of the one engine_settings migrated and loaded
        if url:
            loaded = make_url(POSTGRES_LOADED_URL).database
            in_thread(lambda: asyncio.run(_recreate_postgres(url, template=loaded)))
        else:
            _copy_sqlite(_sqlite_loaded[0], data_dir / "booking.sqlite3")
    else:
        if url:
            in_thread(lambda: asyncio.run(_recreate_postgres(url)))
        in_thread(lambda: migrate.upgrade(settings))
    try:
        yield settings
    finally:
        if url:
            in_thread(lambda: asyncio.run(_recreate_postgres(url, drop_only=True)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_settings" in metafunc.fixturenames:
        # @pytest.mark.engines("sqlite"): a test of one engine's own behaviour (its lock, its
        # server) runs on that engine only, instead of skipping on the other.
        marker = metafunc.definition.get_closest_marker("engines")
        engines = [e for e in (marker.args if marker else ENGINES) if e in ENGINES]
        metafunc.parametrize("engine_settings", engines, indirect=True, scope="session")


@pytest.fixture(scope="session")
async def database(engine_settings: Settings) -> AsyncIterator[Database]:
    engine = create_engine(engine_settings)
    yield Database(engine.dialect.name, engine_settings, engine)
    await engine.dispose()


@contextlib.asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back at the end: one test's life."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


def savepoint_sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions inside the connection's transaction: their commits are SAVEPOINTs."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    async with rolled_back(database.engine) as conn:
        yield conn


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return savepoint_sessions(connection)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEFAULT_NOW)


@pytest.fixture
async def test_network(session: AsyncSession, clock: FrozenClock) -> AsyncSession:
    """The small network of tests/data/network in place of the bundled one (rolled back)."""
    await load_network(session, read_network(TEST_DATA / "network"), clock.now())
    await session.commit()
    return session


@pytest.fixture(scope="session")
def app(database: Database) -> Litestar:
    """One app per engine, given each test's clock and transaction by `client` (serve_test)."""
    app = create_app(database.settings)
    # As `booking serve` does: the app's ~190,000 objects out of the garbage collector's sight,
    # or every full collection rescans them (pauses that made the SQLite race tests time out).
    settle_heap()
    return app


@pytest.fixture
async def client(
    app: Litestar, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop (Litestar's own test clients run the
    app in a thread with a loop of its own, where the test's connection cannot follow)."""
    serve_test(app, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
