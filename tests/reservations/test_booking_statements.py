"""A booking by API token costs a bounded number of statements (issue 20, bench/bookings.py).

Each statement is a round trip and SQLAlchemy's work around it: together most of a booking's
time. Before issue 20 a booking was 9 statements besides its transaction's (token, roles,
revision, group, booking, audit event, outbox, a look-up of the claims, the claims, the last in a
savepoint of its own); the token's roles now come with it, the claims are one INSERT ... ON
CONFLICT DO NOTHING with no look-up first and no savepoint, and on PostgreSQL the audit event
rides in the booking's INSERT. (On a9f8c2a this test fails: 9 statements on both engines.)

Then (issue 20, second pass) the inventory's revision rides with the token's query; on
PostgreSQL the booking, its audit event, claims and mail are one statement; and the group read
also finds a wanted slot claimed already: such an attempt (most of an opening rush) is refused
before anything is written. (On ac4cc29 these tests fail: a booking 6 statements on PostgreSQL
and 7 on SQLite; a taken slot 7 and 8.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.accounts.api_tokens import create_token
from booking.accounts.models import User
from booking.accounts.sessions import principal_for_user
from booking.clock import FrozenClock
from tests.conftest import Database
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body

# The transaction's own statements: the tests' session works inside savepoints of the test's
# transaction, which a served request does not have.
_FRAMING = ("SAVEPOINT", "RELEASE", "ROLLBACK TO", "BEGIN", "COMMIT")


@asynccontextmanager
async def statements(database: Database, connection: AsyncConnection) -> AsyncIterator[list[str]]:
    """The statements sent while inside: through SQLAlchemy, and on PostgreSQL also those run
    on asyncpg's connection itself (booking/db/direct.py), which SQLAlchemy never sees."""
    seen: list[str] = []

    def keep(statement: str) -> None:
        if not statement.lstrip().upper().startswith(_FRAMING):
            seen.append(statement)

    def count(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        keep(statement)

    def logged(query: Any) -> None:
        keep(query.query)

    driver: Any = None
    if database.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        driver.add_query_logger(logged)
    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
        if driver is not None:
            await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
            driver.remove_query_logger(logged)


async def member_token(world: World, session: AsyncSession, clock: FrozenClock) -> dict[str, str]:
    """The member's headers with a fresh API token (a booking by token, as the bench makes)."""
    user = await session.get_one(User, world.user_ids["member"])
    issued = await create_token(session, clock, await principal_for_user(session, user), "t", 30)
    return {"Authorization": f"Bearer {issued.secret}"}


async def test_a_booking_by_api_token_takes_few_statements(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
    database: Database,
    connection: AsyncConnection,
) -> None:
    headers = await member_token(world, session, clock)
    # A first booking builds the network snapshot and writes the token's last use (after the
    # answer): neither is a booking's usual cost.
    first = await client.post(B, json=body(world, hall, period_codes=["20"]), headers=headers)
    assert first.status_code == 201, first.text
    async with statements(database, connection) as seen:
        made = await client.post(B, json=body(world, hall), headers=headers)
    assert made.status_code == 201, made.text
    # token + roles + inventory revision, group (+ the slots' claims), then the booking with
    # its audit event, claims and mail in one statement on PostgreSQL; on SQLite one each
    expected = 3 if database.name == "postgresql" else 6
    assert len(seen) == expected, "\n".join(s.split("\n")[0][:90] for s in seen)


async def test_a_taken_slot_is_refused_before_anything_is_written(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
    database: Database,
    connection: AsyncConnection,
) -> None:
    headers = await member_token(world, session, clock)
    first = await client.post(B, json=body(world, hall), headers=headers)
    assert first.status_code == 201, first.text
    async with statements(database, connection) as seen:
        again = await client.post(B, json=body(world, hall), headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "slot_taken", again.json()
    # token + roles + inventory revision, group with the first taken slot: no write
    assert len(seen) == 2, "\n".join(s.split("\n")[0][:90] for s in seen)
