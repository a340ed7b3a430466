"""Month grids pass one at a time per process, each after a pause three times as long as the one
before took (booking/pages/grid_gate.py, issue 20): fifty browsers loading grids took the pool's
connections and the event loop from bookings. A grid waits its turn before its handler runs
(before it takes a connection); other pages, the list view included, never wait.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from booking.app import create_app
from booking.inventory.network import SnapshotCache
from booking.pages import search, web
from booking.pages.grid_gate import gate_of, waiting_at_most
from tests.conftest import Database

START = date(2026, 11, 26)  # the day after the tests' today


@pytest.fixture
def app(database: Database) -> Litestar:
    """An app per test (0.3 s) instead of the session's: the gate is built with the app, and
    mutmut tries its mutants only against the tests during which it was built."""
    return create_app(database.settings)


async def test_a_grid_waits_for_the_one_before_it_and_the_list_does_not(
    client: httpx.AsyncClient,
    app: Litestar,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searched: list[str] = []
    run_search = search.run_search

    async def counted(*args: Any, **kwargs: Any) -> Any:
        searched.append(args[3].view)  # the criteria
        return await run_search(*args, **kwargs)

    monkeypatch.setattr(search, "run_search", counted)
    ward = next(iter((await SnapshotCache().get(session)).ward_keys))
    end = START + timedelta(days=30)
    where = {"ward": ward, "from": START.isoformat(), "to": end.isoformat()}
    gate = gate_of(app.state)
    async with gate.lock:  # a grid being rendered
        grid = asyncio.create_task(client.get("/search", params={**where, "view": "grid"}))
        week = asyncio.create_task(client.get("/search", params={**where, "view": "week"}))
        for _ in range(50):  # a grid that did not wait searches within a few ms
            await asyncio.sleep(0.01)
        assert searched == [], "a grid was searched while another held the gate"
        listed = await client.get("/search", params={**where, "view": "list"})
        assert listed.status_code == 200
        assert searched == ["list"]
        assert not grid.done()
        assert not week.done()
    shown = await grid
    assert shown.status_code == 200
    assert '<table class="grid' in shown.text
    assert (await week).status_code == 200
    assert sorted(searched) == ["grid", "grid", "list"]  # the week is a grid of 7 days
    assert not gate.lock.locked()  # each let the next one through


async def test_a_grid_renders_in_slices_with_other_requests_served_between(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is rendered a slice at a time, the event loop serving the others between
    slices: a task beside it runs between the slices, not only once the page is done."""
    clock_reads = 0

    def slice_ended() -> float:  # every part of the page ends its slice
        nonlocal clock_reads
        clock_reads += 1
        return float("inf")

    monkeypatch.setattr(web, "perf_counter", slice_ended)
    ward = next(iter((await SnapshotCache().get(session)).ward_keys))
    end = START + timedelta(days=30)
    params = {"ward": ward, "from": START.isoformat(), "to": end.isoformat(), "view": "grid"}
    grid = asyncio.create_task(client.get("/search", params=params))
    between, seen = 0, 0
    while not grid.done():
        if clock_reads > seen > 0:  # the page went on rendering since this task last ran
            between += 1
        seen = clock_reads
        await asyncio.sleep(0)
    shown = await grid
    assert shown.status_code == 200
    assert shown.text.count('<th scope="rowgroup"') > 1  # rooms of the ward
    assert between > 100, f"the loop served others {between} times while the page rendered"


async def test_grids_back_to_back_take_at_most_a_quarter_of_the_time(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next grid waits three times as long as the one before took: grids coming back to
    back get at most a quarter of a process's time (GRID_SHARE), the bookings the rest."""
    started: list[float] = []
    run_search = search.run_search
    loop = asyncio.get_running_loop()

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started.append(loop.time())
        return await run_search(*args, **kwargs)

    monkeypatch.setattr(search, "run_search", timed)
    ward = next(iter((await SnapshotCache().get(session)).ward_keys))
    end = START + timedelta(days=30)
    params = {"ward": ward, "from": START.isoformat(), "to": end.isoformat(), "view": "grid"}
    sent = loop.time()
    assert (await client.get("/search", params=params)).status_code == 200
    answered = loop.time()
    assert (await client.get("/search", params=params)).status_code == 200
    took = answered - started[0]  # the first grid from its search on: less than the gate saw
    waited = started[1] - answered
    assert waited >= took * 2.7, f"the second grid began {waited:.3f} s after one of {took:.3f} s"
    # And not much longer: three times what the gate saw, which is less than the whole
    # request (a quarter more for the second request's way to its search on a busy machine).
    whole = answered - sent
    assert waited <= whole * 3 * 1.25, f"{waited:.3f} s after a request of {whole:.3f} s"


async def test_past_the_waiting_limit_a_grid_is_refused_at_once(
    client: httpx.AsyncClient,
    app: Litestar,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waiting grids count among the process's requests in flight: past half the limit they
    are turned away at the gate (503, Retry-After) before they fill what bookings need."""
    settings = app.state.settings
    assert waiting_at_most(app.state) == settings.max_requests_in_flight // 2
    lower = settings.model_copy(update={"max_requests_in_flight": 8})
    monkeypatch.setattr(app.state, "settings", lower)
    limit = waiting_at_most(app.state)
    assert limit == 4
    ward = next(iter((await SnapshotCache().get(session)).ward_keys))
    end = START + timedelta(days=30)
    params = {"ward": ward, "from": START.isoformat(), "to": end.isoformat(), "view": "grid"}
    gate = gate_of(app.state)
    async with gate.lock:  # a grid being rendered
        queued = [asyncio.create_task(client.get("/search", params=params)) for _ in range(limit)]
        for _ in range(500):  # until every one waits at the gate
            if gate.waiting == limit:
                break
            await asyncio.sleep(0.01)
        assert gate.waiting == limit
        # At once: a grid let into the queue would wait here for the lock the test holds.
        refused = await asyncio.wait_for(client.get("/search", params=params), 10)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "混み合っています" in refused.text
        listed = await client.get("/search", params={**params, "view": "list"})
        assert listed.status_code == 200  # the list never waits, nor is refused
        assert not any(task.done() for task in queued)
    for answer in await asyncio.gather(*queued):
        assert answer.status_code == 200
    assert gate.waiting == 0


async def test_a_grid_waits_out_the_pause_its_predecessor_left(
    client: httpx.AsyncClient,
    app: Litestar,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[float] = []
    run_search = search.run_search
    loop = asyncio.get_running_loop()

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started.append(loop.time())
        return await run_search(*args, **kwargs)

    monkeypatch.setattr(search, "run_search", timed)
    ward = next(iter((await SnapshotCache().get(session)).ward_keys))
    end = START + timedelta(days=30)
    params = {"ward": ward, "from": START.isoformat(), "to": end.isoformat(), "view": "grid"}
    gate = gate_of(app.state)
    gate.resume_at = loop.time() + 0.5  # as a grid of 1/6 s leaves it
    sent = loop.time()
    assert (await client.get("/search", params=params)).status_code == 200
    assert started[0] - sent >= 0.5


async def test_only_the_search_pages_grids_pass_the_gate(
    client: httpx.AsyncClient, app: Litestar, session: AsyncSession
) -> None:
    """Another page (a facility's, say) asked with view=grid, or the search page without it,
    never waits for the gate."""
    snapshot = await SnapshotCache().get(session)
    facility = next(iter(snapshot.facilities))
    ward = next(iter(snapshot.ward_keys))
    gate = gate_of(app.state)
    async with gate.lock:  # a grid being rendered
        async with asyncio.timeout(10):
            page = await client.get(f"/facilities/{facility}", params={"view": "grid"})
            searched = await client.get("/search", params={"ward": ward})
        assert page.status_code == 200
        assert searched.status_code == 200
        assert gate.waiting == 0


@pytest.mark.parametrize(("in_flight", "waiting"), [(1, 1), (2, 1), (3, 1), (5, 2), (100, 50)])
def test_grids_may_wait_up_to_half_the_requests_in_flight_and_at_least_one(
    app: Litestar, monkeypatch: pytest.MonkeyPatch, in_flight: int, waiting: int
) -> None:
    lower = app.state.settings.model_copy(update={"max_requests_in_flight": in_flight})
    monkeypatch.setattr(app.state, "settings", lower)
    assert waiting_at_most(app.state) == waiting
