"""What happens around every request: its id (booking/web/request_id.py) is chosen and made
current, its response carries it in X-Request-ID, and it is counted and timed for /metrics.

This wraps the app's ASGI handler itself, outside Litestar's routing, because Litestar runs
middleware only for requests that reached a route: an address nothing serves (a 404) and a
router's 405 must get an id and be counted too. Being outermost, it sees the peer before the
trusted-proxies middleware rewrites the client: the peer decides whether a proxy's id is
believed. The id stays current until the answer is sent, so uvicorn's access-log line (written
when the response starts, in this task) carries it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from booking.settings import IPNetwork
from booking.web import request_id
from booking.web.metrics import Metrics
from booking.web.proxies import is_trusted


def observed(app: ASGIApp, metrics: Metrics, trusted: Sequence[IPNetwork]) -> ASGIApp:
    @functools.lru_cache(maxsize=1024)  # the proxies are few: no address parsed per request
    def trusted_peer(host: str | None) -> bool:
        return is_trusted(host, trusted)

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        peer = scope.get("client")
        rid = request_id.choose_request_id(
            request_id.given_request_id(scope["headers"]),
            lambda: trusted_peer(peer[0] if peer else None),
        )
        token = request_id.enter(rid)
        status = 500  # unless a response starts: an error that escaped everything

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), request_id.header_of(rid)]
                message = {**message, "headers": headers}
            await send(message)

        started = time.perf_counter()
        metrics.in_flight.inc()
        try:
            await app(scope, receive, send_with_id)
        finally:
            metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            metrics.count(scope["method"], scope.get("path_template"), status, seconds)
            request_id.leave(token)

    return handler


def observe(app: Litestar, metrics: Metrics, trusted: Sequence[IPNetwork]) -> None:
    """Wrap a built app's handler once (Litestar builds it in its constructor)."""
    app.asgi_handler = observed(app.asgi_handler, metrics, trusted)
