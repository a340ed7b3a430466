"""Bodies of the API are JSON: anything else is a 415, not a guess. JSON nested deeper than
the decoder's stack allows (~1,000 levels; no request's shape is deeper than 4), or no JSON at
all, is a 400 naming the body."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, SerializationException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from booking.errors import InvalidInput

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """A request with a body under /api must say it is JSON (a form post is refused whole)."""
    if request.method not in _UNSAFE or not request.url.path.startswith("/api/"):
        return
    has_body = request.headers.get("content-length", "0") not in ("", "0") or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"send the body as application/json, not {media_type or 'untyped'}",
        )
    try:
        await request.json()  # decoded once here, and kept for the handler
    except RecursionError as exc:
        raise InvalidInput("the JSON is nested too deeply", field="body") from exc
    except SerializationException as exc:  # raised here, before Litestar's own 400 for it
        raise InvalidInput("the body is not valid JSON", field="body") from exc
