"""Headers every response gets, whatever answered it: a handler, an error handler, a 404 of
the router, an OPTIONS request.

- `X-Content-Type-Options: nosniff` everywhere: a browser never guesses a type we did not say.
- `Cache-Control: no-store` unless the route chose its own caching (the iCal feed's
  `private, max-age=900`, the static files' year): API answers carry secrets (login's CSRF
  token, a new API token, a feed's address) that no shared or browser cache may keep.
- `Allow` on OPTIONS: Litestar builds it when a path's first handler is registered, so a GET
  added to the same path later was missing from it; here it is read from the finished route.

A `before_send` hook of the app, not a middleware, because Litestar runs middleware only for
requests that reached a route.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

ALWAYS = {"X-Content-Type-Options": "nosniff"}
UNLESS_SET = {"Cache-Control": "no-store"}
_ALLOW_KEY = "allow_headers"


def allowed_methods(app: Litestar) -> dict[str, str]:
    """The Allow header of each route template, built once per app (its routes are fixed
    once it serves) and kept in its state."""
    found: dict[str, str] | None = app.state.get(_ALLOW_KEY)
    if found is None:
        found = {
            route.path_format: ", ".join(sorted(route.methods))
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }
        app.state[_ALLOW_KEY] = found
    return found


async def response_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in ALWAYS.items():
        headers[name] = value
    for name, value in UNLESS_SET.items():
        if name not in headers:
            headers[name] = value
    if scope.get("method") == "OPTIONS" and "Allow" in headers:
        template = scope.get("path_template")
        allow = allowed_methods(scope["app"]).get(template) if template else None
        if allow:
            headers["Allow"] = allow
