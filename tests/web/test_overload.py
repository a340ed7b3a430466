"""Past BOOKING_MAX_REQUESTS_IN_FLIGHT a process refuses the next request at once (503,
Retry-After; booking/web/overload.py), in this process: the app of `create_app` with a route
that holds its requests until the test lets them go. tests/processes/test_overload.py floods a
real server; this one counts exactly where the limit falls and what a refusal says.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar, get
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.app import create_app, serve_test
from booking.clock import FrozenClock
from tests.conftest import Database

LIMIT = 3
HELD = "/api/v1/held-by-the-test"


class Hold:
    """Requests to HELD wait for `release`; `entered` counts those the process admitted."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0
        self.fail = False


@pytest.fixture
def busy(database: Database) -> tuple[Litestar, Hold]:
    """An app per test (0.3 s): the middleware is built with the app, and mutmut tries its
    mutants only against the tests during which it was built (tests/mutation)."""
    settings = database.settings.model_copy(update={"max_requests_in_flight": LIMIT})
    app = create_app(settings)
    hold = Hold()

    @get(HELD)
    async def held() -> dict[str, int]:
        hold.entered += 1
        await hold.release.wait()
        if hold.fail:
            raise RuntimeError("the handler failed")
        return {"entered": hold.entered}

    app.register(held)
    return app, hold


@pytest.fixture
async def http(
    busy: tuple[Litestar, Hold],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> AsyncIterator[httpx.AsyncClient]:
    app, hold = busy
    hold.release, hold.entered, hold.fail = asyncio.Event(), 0, False
    serve_test(app, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def full(
    http: httpx.AsyncClient, hold: Hold, count: int = LIMIT
) -> AsyncIterator[list[asyncio.Task[httpx.Response]]]:
    """`count` requests inside the handler until the block ends, then answered."""
    admitted = [asyncio.create_task(http.get(HELD)) for _ in range(count)]
    for _ in range(500):
        if hold.entered == count:
            break
        await asyncio.sleep(0.01)
    assert hold.entered == count
    try:
        yield admitted
    finally:
        hold.release.set()
        await asyncio.gather(*admitted)


def _busy_answer(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["cache-control"] == "no-store"
    assert int(response.headers["content-length"]) == len(response.content)


async def test_the_limit_is_admitted_and_the_next_refused_at_once(
    http: httpx.AsyncClient, busy: tuple[Litestar, Hold]
) -> None:
    _, hold = busy
    async with full(http, hold) as admitted:
        async with asyncio.timeout(2.0):  # at once: not queued behind the held ones
            refused = await http.get(HELD)
        _busy_answer(refused)
        assert refused.headers["content-type"] == "application/problem+json"
        assert json.loads(refused.content) == {
            "type": "about:blank",
            "title": "Service unavailable",
            "status": 503,
            "detail": "the server is busy; please try again in a moment",
            "code": "overloaded",
        }
        assert hold.entered == LIMIT  # the refused one never reached the handler
    assert [a.result().status_code for a in admitted] == [200] * LIMIT


async def test_one_below_the_limit_is_still_admitted(
    http: httpx.AsyncClient, busy: tuple[Litestar, Hold]
) -> None:
    _, hold = busy
    async with full(http, hold, LIMIT - 1) as admitted:
        last = asyncio.create_task(http.get(HELD))
        for _ in range(500):
            if hold.entered == LIMIT:
                break
            await asyncio.sleep(0.01)
        assert hold.entered == LIMIT
        admitted.append(last)
    assert [a.result().status_code for a in admitted] == [200] * LIMIT


async def test_a_page_is_refused_with_a_page_and_a_feed_with_a_problem(
    http: httpx.AsyncClient, busy: tuple[Litestar, Hold]
) -> None:
    _, hold = busy
    async with full(http, hold):
        page = await http.get("/search")
        _busy_answer(page)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "ただいま混み合っています" in page.text
        assert "The site is busy just now" in page.text
        feed = await http.get("/ical/some-token.ics")
        _busy_answer(feed)
        assert feed.headers["content-type"] == "application/problem+json"
        assert feed.json()["code"] == "overloaded"


async def test_health_readiness_and_metrics_are_never_refused(
    http: httpx.AsyncClient, busy: tuple[Litestar, Hold]
) -> None:
    _, hold = busy
    async with full(http, hold):
        for path in ("/health", "/ready", "/metrics"):
            assert (await http.get(path)).status_code == 200, path
        # Answering them did not take a place: the limit is still full, and only the limit.
        assert (await http.get(HELD)).status_code == 503


async def test_places_are_given_back_when_requests_end_even_in_failure(
    http: httpx.AsyncClient, busy: tuple[Litestar, Hold]
) -> None:
    _, hold = busy
    hold.fail = True
    async with full(http, hold) as admitted:
        pass
    assert [a.result().status_code for a in admitted] == [500] * LIMIT
    hold.release, hold.entered, hold.fail = asyncio.Event(), 0, False
    # The failed ones left: the whole limit is admitted again, and no more.
    async with full(http, hold) as admitted:
        assert (await http.get(HELD)).status_code == 503
    assert [a.result().status_code for a in admitted] == [200] * LIMIT
