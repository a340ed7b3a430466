"""One month grid at a time per process (issue 20): many grids at once must not slow bookings.

A grid is the dearest page (a ward's month: ~2,400 marks rendered in the event loop) and it
holds a database connection from its first query until the page is rendered. Fifty browsers
loading grids at once took every connection of the pool and most of the event loop: bookings
waited behind them (bench/rush.py --scenario grids: booking p95 6.5× its idle value with 10
grids). Behind this gate a grid waits its turn before it takes a connection or any CPU, so the
grids together cost what one costs, and a booking waits for at most one of them. A grid's own
answer is later under such load; that is its price (the list view is not gated: a tenth of
the cost).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

GRIDS_AT_ONCE = 1
GRID_VIEWS = frozenset({"grid", "week"})
SEARCH_PATHS = frozenset({"/", "/search"})
STATE_KEY = "grid_gate"


def is_grid(scope: Scope) -> bool:
    if scope["type"] != ScopeType.HTTP or scope["path"] not in SEARCH_PATHS:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(view in GRID_VIEWS for view in query.get("view", ()))


def gate_of(state: State) -> asyncio.Semaphore:
    """The app's gate (one per process), made in the running event loop: a semaphore that
    once waited belongs to its loop, and tests run each in a loop of its own."""
    loop = asyncio.get_running_loop()
    held: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = state.get(STATE_KEY)
    if held is None or held[0] is not loop:
        held = state[STATE_KEY] = (loop, asyncio.Semaphore(GRIDS_AT_ONCE))
    return held[1]


def grid_gate(app: ASGIApp) -> ASGIApp:
    """Middleware of the pages' router: grid searches pass one at a time. Litestar builds a
    stack per route, so the gate is kept in the app's state."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if not is_grid(scope):
            await app(scope, receive, send)
            return
        async with gate_of(scope["litestar_app"].state):
            await app(scope, receive, send)

    return middleware
