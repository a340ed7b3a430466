"""Month grids one at a time per process, and at most a quarter of its time (issue 20): however many
browsers load grids at once, bookings keep their pace.

A grid is the dearest page (a ward's month: ~2,400 marks rendered in the event loop) and it
holds a database connection from its first query until the page is rendered. Fifty browsers
loading grids at once took every connection of the pool and the event loop: booking p95 20.8×
its idle value, a 503 for 17 bookings in 42 (bench/rush.py --scenario grids). Behind this gate
a grid waits its turn before its handler runs, so before it takes a connection or any CPU.
One at a time still took the whole process when grids came back to back (booking p95 2.5× on
a quieter machine; 2.1× with half its time, 2.2× with a third on a quiet one), so after each
grid the next waits three times as long as it took (GRID_SHARE): grids get at most a quarter
of a process's time, bookings the rest (1.8×). A
grid's own answer is later under such load; that is its price. The list view never waits (a
tenth of the cost). Past half of BOOKING_MAX_REQUESTS_IN_FLIGHT grids waiting (50 by default),
the next is refused at once (503, Retry-After): waiting grids count among a process's requests
in flight, and a crowd of them must not fill the limit and turn the bookings away. Not fewer:
refused browsers that reload at once cost the process more than waiting ones (bench/rush.py
--scenario grids with 20: booking p95 4.5x idle; with 50, none refused: 1.5x).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from booking.settings import Settings
from booking.web.overload import refuse

GRIDS_AT_ONCE = 1
GRID_SHARE = 1 / 4  # of a process's time that grids may take when they come back to back
GRID_VIEWS = frozenset({"grid", "week"})
SEARCH_PATHS = frozenset({"/", "/search"})
STATE_KEY = "grid_gate"


@dataclass
class Gate:
    loop: asyncio.AbstractEventLoop
    lock: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(GRIDS_AT_ONCE))
    resume_at: float = 0.0  # the loop's time before which the next grid waits
    waiting: int = 0  # grids queued for the lock


def is_grid(scope: Scope) -> bool:
    if scope["type"] != ScopeType.HTTP or scope["path"] not in SEARCH_PATHS:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(view in GRID_VIEWS for view in query.get("view", ()))


def gate_of(state: State) -> Gate:
    """The app's gate (one per process), made in the running event loop: a semaphore that
    once waited belongs to its loop, and tests run each in a loop of its own."""
    loop = asyncio.get_running_loop()
    gate: Gate | None = state.get(STATE_KEY)
    if gate is None or gate.loop is not loop:
        gate = state[STATE_KEY] = Gate(loop)
    return gate


def waiting_at_most(state: State) -> int:
    """Grids that may wait in a process: half its in-flight limit, the rest for everything else."""
    settings: Settings = state.settings
    return max(1, settings.max_requests_in_flight // 2)


def grid_gate(app: ASGIApp) -> ASGIApp:
    """Middleware of the pages' router: grid searches pass one at a time, each after the
    pause its predecessor earned. Litestar builds a stack per route, so the gate is kept in
    the app's state."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if not is_grid(scope):
            await app(scope, receive, send)
            return
        state = scope["litestar_app"].state
        gate = gate_of(state)
        if gate.waiting >= waiting_at_most(state):
            await refuse(scope, send)
            return
        gate.waiting += 1
        try:
            await gate.lock.acquire()
        finally:
            gate.waiting -= 1
        try:
            if (pause := gate.resume_at - gate.loop.time()) > 0:
                await asyncio.sleep(pause)
            began = gate.loop.time()
            try:
                await app(scope, receive, send)
            finally:
                took = gate.loop.time() - began
                gate.resume_at = gate.loop.time() + took * (1 - GRID_SHARE) / GRID_SHARE
        finally:
            gate.lock.release()

    return middleware
