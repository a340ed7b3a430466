"""Ids in addresses: a number no row can have is a 404 like any unknown id, never a 500.

10**20 is past SQLite's 64 bits, 2**31 past PostgreSQL's INTEGER: each overflowed its engine
before the guard (booking/web/path_ids.py) turned both away ahead of the database."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.app import create_app
from booking.clock import FrozenClock
from booking.settings import Settings
from booking.web.path_ids import MAX_ID
from tests.conftest import Database
from tests.pages.browsing import changes, footprint

TOO_LARGE = ("99999999999999999999", str(MAX_ID + 1), "0")
# The other path parameters of those routes, filled with what their handlers take.
STRINGS = {"month": "2027-03", "action": "cancel", "effective_from": "2027-04-01"}


def _int_routes() -> list[tuple[str, str]]:
    """Every (method, path template) of the app with an {x:int} path parameter."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    return sorted(
        (method, route.path)
        for route in app.routes
        if ":int}" in route.path
        for method in getattr(route, "methods", set())
        if method not in {"HEAD", "OPTIONS"}
    )


INT_ROUTES = _int_routes()


def _address(template: str, number: str) -> str:
    filled = re.sub(r"\{\w+:int\}", number, template)
    return re.sub(r"\{(\w+):str\}", lambda m: STRINGS[m[1]], filled)


def test_the_app_has_id_routes_of_both_kinds() -> None:
    paths = {path for _, path in INT_ROUTES}
    assert any(p.startswith("/api/") for p in paths)
    assert any(not p.startswith(("/api/", "/ical/")) for p in paths)


async def test_an_impossible_id_is_not_found_on_every_route(
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    app = create_app(database.settings, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    before = await footprint(session)
    wrong = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for (method, template), number in [(r, n) for r in INT_ROUTES for n in TOO_LARGE]:
            path = _address(template, number)
            response = await http.request(method, path)
            machine = path.startswith(("/api/", "/ical/"))
            media = "application/problem+json" if machine else "text/html"
            got = (response.status_code, response.headers.get("content-type", "").split(";")[0])
            if got != (404, media):
                wrong.append(f"{method} {path}: {got}")
            elif machine:
                field = re.findall(r"\{(\w+):int\}", template)[0]
                assert response.json()["errors"][0]["field"] == field, path
    assert not wrong, "\n".join(wrong)
    assert not changes(before, await footprint(session))


async def test_the_largest_possible_id_reaches_its_handler(client: httpx.AsyncClient) -> None:
    """The guard stops impossible ids only: MAX_ID gets the handler's own answer (log in
    first), as any id would, where MAX_ID + 1 gets the guard's 404."""
    api = await client.get(f"/api/v1/bookings/{MAX_ID}")
    assert api.status_code == 401, api.text
    page = await client.get(f"/my/bookings/{MAX_ID}")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    assert (await client.get(f"/api/v1/bookings/{MAX_ID + 1}")).status_code == 404
