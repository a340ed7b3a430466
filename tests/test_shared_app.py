"""The app is built once per engine (tests/conftest.py `app`) and each test gives it its own
clock and rolled-back transaction (booking.app.serve_test). What the app caches must not
outlive the test: the network snapshot is cached by revision and the claims by month version,
and a rolled-back test's revision and versions come back, with other contents, in the next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from booking.app import serve_test
from booking.clock import FrozenClock
from booking.inventory.datafiles import read_network
from booking.inventory.load import load_network
from booking.inventory.services import bump_revision
from tests.conftest import TEST_DATA, Database, rolled_back, savepoint_sessions
from tests.helpers import claim

DAY = date(2026, 12, 10)  # a Thursday


async def one_test(
    app: Litestar,
    database: Database,
    clock: FrozenClock,
    arrange: Callable[[AsyncSession], Awaitable[None]],
) -> dict[str, Any]:
    """What the fixtures do for one test: a rolled-back transaction given to the shared app,
    data arranged and committed in it, then the availability of DAY read over HTTP."""
    async with rolled_back(database.engine) as connection:
        sessionmaker = savepoint_sessions(connection)
        serve_test(app, clock=clock, sessionmaker=sessionmaker)
        async with sessionmaker() as session:
            await arrange(session)
            await session.commit()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get(
                "/api/v1/availability", params={"from": DAY.isoformat(), "to": DAY.isoformat()}
            )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def state(body: dict[str, Any], facility_name_en: str, room_name_en: str, period: str) -> str:
    room = next(
        r
        for r in body["rooms"]
        if (r["facility_name_en"], r["room_name_en"]) == (facility_name_en, room_name_en)
    )
    slot = next(s for s in room["days"][0]["slots"] if s["period"] == period)
    found: str = slot["state"]
    return found


async def test_a_rolled_back_test_leaves_no_stale_snapshot_or_claims(
    app: Litestar, database: Database, clock: FrozenClock
) -> None:
    async def small_network_booked(session: AsyncSession) -> None:
        # The test network in place of the bundled one (the revision moves by one) and a
        # claim in December (its month's version moves by one).
        await load_network(session, read_network(TEST_DATA / "network"), clock.now())
        await claim(session, "test-hall", "room-1", DAY, "10")

    first = await one_test(app, database, clock, small_network_booked)
    assert first["room_count"] == 6
    assert state(first, "Test Civic Hall", "Meeting Room 1", "10") == "booked"

    async def bundled_network_booked(session: AsyncSession) -> None:
        # The same revision and December version as the first test had, other contents.
        await bump_revision(session, clock.now())
        await claim(session, "plaza-tachibana", "training-room", DAY, "10")

    second = await one_test(app, database, clock, bundled_network_booked)
    assert second["room_count"] > 50  # the bundled network, not the first test's snapshot
    assert (
        state(second, "Plaza Tachibana", "Training Room", "10") == "booked"
    )  # its claim, not the first's
