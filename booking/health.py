"""Liveness and readiness for the Dockerfile and orchestrators."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Response, route
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import SQLAlchemyError

from booking.db.engine import SQLITE_BEGIN
from booking.db.migrate import head_revision, is_known_revision, schema_revision

# HEAD as GET (same status and headers, no body): a load balancer may probe with either.
PROBE = [HttpMethod.GET, HttpMethod.HEAD]


@route("/health", http_method=PROBE, tags=["health"], summary="The process is up", cache=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@route(
    "/ready",
    http_method=PROBE,
    tags=["health"],
    summary="The database answers and its schema is at head",
    cache=False,
)
async def ready(state: State) -> Response[dict[str, Any]]:
    head = head_revision()
    try:
        async with state.sessionmaker() as session:
            # A read: on SQLite it must not queue for the write lock behind the writers of a
            # busy moment (BEGIN IMMEDIATE by default, booking/db/engine.py) and look down.
            await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
            current = await schema_revision(session)
    except (SQLAlchemyError, OSError) as exc:
        return Response(
            {
                "status": "unavailable",
                "database": "unreachable or not migrated",
                "error": type(exc).__name__,
            },
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    serving = current == head or schema_is_newer(current)
    body = {
        "status": "ok" if serving else "unavailable",
        "migration": current,
        "head": head,
    }
    return Response(body, status_code=HTTP_200_OK if serving else HTTP_503_SERVICE_UNAVAILABLE)


def schema_is_newer(current: str | None) -> bool:
    """A rolling upgrade: a newer release has migrated the database past this code's head while
    this process still serves. Migrations add before they remove (README, "Upgrades"), so it
    keeps working; saying "not ready" would take every old process out of the load balancer
    at once. A schema older than the code (or none) is never ready."""
    return current is not None and not is_known_revision(current)
