"""Issue 14, items 7 and 26: every API answer is `no-store` and `nosniff` (the iCal feed keeps
its own caching), and OPTIONS names every method of its path."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute

from booking.app import create_app
from tests.people import PASSWORD, World

MACHINE = ("/api/", "/ical/", "/health", "/ready")
SAMPLE = {"month": "2027-08", "feed_file": "bkf_x.ics"}


def sample_path(route: HTTPRoute, number: str = "1") -> str:
    """The route's path with a plausible value in each parameter."""
    return re.sub(
        r"\{(\w+)(?::\w+)?\}",
        lambda m: SAMPLE.get(m[1], number),
        route.path_format,
    )


def machine_routes(app: Litestar, number: str = "1") -> list[tuple[str, str, str]]:
    """(method, a path to ask, the route's template) of every API, feed and health route."""
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith(MACHINE):
            path = sample_path(route, number)
            found += [(method, path, route.path_format) for method in sorted(route.methods)]
    return found


def assert_private(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} {response.status_code}"
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("cache-control") == "no-store", where


async def test_every_api_route_answers_no_store_and_nosniff(
    world: World, client: httpx.AsyncClient
) -> None:
    """Every method of every API, feed and health route, anonymous and logged in, whatever
    the status (200s, problems, 404s of the router, OPTIONS)."""
    app = create_app(world.settings)
    routes = machine_routes(app)
    assert len(routes) > 80
    for headers in ({}, world.headers("admin")):
        for method, path, _ in routes:
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            response = await client.request(method, path, json=body, headers=headers)
            if path.startswith("/ical/") and response.status_code in {200, 304}:
                continue  # its own caching: below
            if path.startswith("/api/v1/open-data/") and response.status_code == 200:
                assert response.headers["cache-control"] == "public, max-age=300", path
                continue  # public data, cached by anyone (tests/statistics/test_open_data.py)
            assert_private(response)
    assert_private(await client.get("/api/v1/nowhere"))
    assert_private(await client.delete("/health"))  # 405


async def test_answers_that_carry_a_secret_are_never_stored(
    world: World, client: httpx.AsyncClient
) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"login": world.card_a, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["csrf_token"]
    assert_private(login)
    me = await client.get("/api/v1/me", headers=world.headers("representative"))
    assert_private(me)
    token = await client.post(
        "/api/v1/tokens", json={"name": "sync"}, headers=world.headers("representative")
    )
    assert token.status_code == 201
    assert_private(token)
    feed = await client.post(
        "/api/v1/feeds",
        json={"kind": "group", "target_id": world.group_a},
        headers=world.headers("member"),
    )
    assert feed.status_code == 201
    assert_private(feed)
    assert_private(await client.get("/health"))

    ical = await client.get("/ical/" + feed.json()["url"].rsplit("/ical/", 1)[1])
    assert ical.status_code == 200
    assert ical.headers["cache-control"] == "private, max-age=900, must-revalidate"
    assert ical.headers["x-content-type-options"] == "nosniff"
    again = await client.get(ical.url.path, headers={"If-None-Match": ical.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "private, max-age=900, must-revalidate"


async def test_options_allows_every_method_of_the_path(world: World) -> None:
    """Litestar built Allow from the first handler registered on a path: GET was missing
    where a POST came first (/api/v1/bookings said `OPTIONS, POST`)."""
    app = create_app(world.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for route in app.routes:  # the pages' too
            if not isinstance(route, HTTPRoute):
                continue
            response = await http.options(sample_path(route))
            assert response.status_code == 204, route.path
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert allowed == set(route.methods), route.path
            assert response.headers["x-content-type-options"] == "nosniff"
        bookings = await http.options("/api/v1/bookings")
        assert bookings.headers["allow"] == "GET, OPTIONS, POST"
        login = await http.options("/login")
        assert login.headers["allow"] == "GET, OPTIONS, POST"
