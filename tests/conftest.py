"""Fixtures: every database test runs on SQLite and, whenever reachable, on PostgreSQL.

Each engine gets a fresh database migrated by Alembic (never create_all) with the bundled
Kawasaki data loaded once; each test then runs inside a transaction that is rolled back, its
own commits becoming SAVEPOINTs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from booking.app import create_app
from booking.clock import FrozenClock
from booking.db import migrate
from booking.db.engine import create_engine
from booking.inventory.commands import load_facilities
from booking.inventory.datafiles import read_network
from booking.inventory.load import load_network
from booking.paths import facilities_data_dir
from booking.settings import Settings

# Fixtures of people (tests/people.py) and bookable places (tests/places.py), for every test.
pytest_plugins = ["tests.people", "tests.places"]

T = TypeVar("T")
TEST_DATA = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get(
    "BOOKING_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/booking_test"
)
REQUIRE_POSTGRES = os.environ.get("BOOKING_TEST_REQUIRE_POSTGRES") == "1"
# Argon2id at its cheapest: tests log in hundreds of times (bench/passwords.py: the real cost).
FAST_HASHING: dict[str, int] = {
    "password_time_cost": 1,
    "password_memory_kib": 64,
    "password_parallelism": 1,
}
# 2026-11-25 10:00 in Tokyo: the default "now" of a test unless it sets its own.
DEFAULT_NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@dataclass
class Database:
    name: str
    settings: Settings
    engine: AsyncEngine


async def _recreate_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
        timeout=5,
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking set-up (Alembic, asyncio.run) away from pytest-asyncio's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def _postgres_reachable() -> bool:
    try:
        in_thread(lambda: asyncio.run(_recreate_postgres(POSTGRES_URL)))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (BOOKING_TEST_REQUIRE_POSTGRES=1): {exc}")
        return False
    return True


@pytest.fixture(scope="session")
def engine_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for a fresh, migrated database holding the bundled data, committed."""
    name = request.param
    data_dir = tmp_path_factory.mktemp(f"db-{name}")
    if name == "postgresql":
        if not _postgres_reachable():
            pytest.skip("PostgreSQL is not reachable (set BOOKING_TEST_REQUIRE_POSTGRES=1 to fail)")
        settings = Settings(database_url=POSTGRES_URL, data_dir=data_dir, **FAST_HASHING)
    else:
        settings = Settings(database_url=None, data_dir=data_dir, **FAST_HASHING)
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
    return settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_settings" in metafunc.fixturenames:
        metafunc.parametrize(
            "engine_settings", ["sqlite", "postgresql"], indirect=True, scope="session"
        )


@pytest.fixture(scope="session")
async def database(engine_settings: Settings) -> AsyncIterator[Database]:
    engine = create_engine(engine_settings)
    yield Database(engine.dialect.name, engine_settings, engine)
    await engine.dispose()


@pytest.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    async with database.engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


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


@pytest.fixture
async def client(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop (Litestar's own test clients run the
    app in a thread with a loop of its own, where the test's connection cannot follow)."""
    app = create_app(database.settings, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
