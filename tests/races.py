"""Two transactions at once on PostgreSQL (SQLite has one writer: nothing to race there).

A change that reads a row with FOR UPDATE makes a second change of the same row wait for the
first and act on what it wrote; without the lock the second acts on what it read before and
writes over the first. `Race.at_once` shows which: it holds the first transaction open until
the second is seen waiting on a lock (or is done), then commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.models import StaffRole
from booking.accounts.sessions import principal_for_user
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import BookingError
from booking.settings import Settings
from tests.people import PASSWORD

Step = Callable[[AsyncSession], Awaitable[Any]]
SETTLE_SECONDS = 60  # the longest `at_once` waits for the second step to finish or to wait


async def city_admin(session: AsyncSession, clock: Clock, settings: Settings) -> Principal:
    """The city's administrator, made in `session`: the staff who may change anything."""
    user = await grant_staff_role(
        session,
        clock,
        settings,
        SYSTEM,
        email="admin@city.example",
        name="admin",
        role=StaffRole.ADMIN,
        password=PASSWORD,
    )
    return await principal_for_user(session, user)


@dataclass
class Race:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    async def alone(self, step: Step) -> Any:
        async with self.sessionmaker.begin() as session:
            return await step(session)

    async def waiting_on_a_lock(self) -> int:
        async with self.engine.connect() as watcher:
            found = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return int(found or 0)

    async def at_once(self, first: Step, second: Step, *, second_waits: bool = True) -> Any:
        """`first` runs and holds its transaction open while `second` starts in a transaction
        of its own; `first` commits once `second` waits for it (or, when it should not wait,
        once it is done). Returns what `second` returned or the refusal it raised."""
        async with self.sessionmaker.begin() as session:
            await first(session)
            other = asyncio.ensure_future(self.alone(second))
            # Until one or the other shows: a bound of a few seconds was a slow machine's
            # false "waited" when `second` was merely slow to finish (CI under load).
            deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                if other.done() or await self.waiting_on_a_lock():
                    break
                await asyncio.sleep(0.02)
            waited = not other.done()
        try:
            result = await other
        except BookingError as error:
            result = error
        assert waited is second_waits, ("waited" if waited else "did not wait", result)
        return result


@asynccontextmanager
async def race_on(settings: Settings) -> AsyncIterator[Race]:
    """A race on the settings' (committed) database, its engine closed at the end."""
    engine = create_engine(settings)
    try:
        yield Race(engine, create_sessionmaker(engine))
    finally:
        await engine.dispose()
