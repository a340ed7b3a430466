"""Overload: past BOOKING_MAX_REQUESTS_IN_FLIGHT requests at once, a process answers 503 with
Retry-After at once instead of queueing the next request behind the others.

Queued, every request waits for all those ahead of it (the database pool, the event loop), so
under a rush each answer grows later until clients time out and retry, which adds to the
queue. Refused at once, a client learns to come back in a second, and the requests already
admitted are answered in the time they need. The count is one integer per process: no lock
(one event loop), no database. Health, readiness and metrics are never refused: a load
balancer must not take a busy process for a dead one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

EXEMPT = frozenset({"/health", "/ready", "/metrics"})
RETRY_AFTER_SECONDS = 1

_PROBLEM = json.dumps(
    {
        "type": "about:blank",
        "title": "Service unavailable",
        "status": 503,
        "detail": "the server is busy; please try again in a moment",
        "code": "overloaded",
    }
).encode()
# A page's answer in both languages: rendering a template is work a refusal must not do.
_PAGE = (
    "<!doctype html><html lang=ja><meta charset=utf-8><title>混み合っています / Busy</title>"
    "<p>ただいま混み合っています。少し待ってからもう一度お試しください。"
    "<p lang=en>The site is busy just now. Please try again in a moment.</html>"
).encode()


class InFlight:
    """The requests one process is answering now."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0


def overload_middleware(limit: int) -> Callable[[ASGIApp], ASGIApp]:
    """Litestar builds a middleware stack per route: they all share one count."""
    flight = InFlight(limit)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["path"] in EXEMPT:
                await app(scope, receive, send)
                return
            if flight.count >= flight.limit:
                await refuse(scope, send)
                return
            flight.count += 1
            try:
                await app(scope, receive, send)
            finally:
                flight.count -= 1

        return middleware

    return factory


async def refuse(scope: Scope, send: Send) -> None:
    """The busy answer: 503, Retry-After, problem+json for the API and feeds, else a page."""
    page = not scope["path"].startswith(("/api/", "/ical/"))
    body, media_type = (
        (_PAGE, b"text/html; charset=utf-8") if page else (_PROBLEM, b"application/problem+json")
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", media_type),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"cache-control", b"no-store"),
        ],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
