"""Authentication of a request: a bearer token or the session cookie, and CSRF for the cookie.

Handlers ask for `principal` (must be logged in: 401 otherwise) or `viewer` (may be
anonymous). A cookie-authenticated unsafe request must carry the session's CSRF token in the
`X-CSRF-Token` header: a page of another site can make the browser send the cookie, never
read the token. Bearer requests need no CSRF token: browsers do not attach them on their own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from booking.accounts.access import Principal
from booking.accounts.sessions import (
    OpenedSession,
    csrf_matches,
    parse_bearer,
    principal_for_bearer,
    principal_for_cookie,
)
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.errors import PermissionDenied, Unauthenticated

SESSION_COOKIE = "booking_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

CurrentPrincipal = NamedDependency[SkipValidation[Principal]]
Viewer = NamedDependency[SkipValidation[Principal | None]]


def client_address(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


async def _authenticate(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
) -> Principal | None:
    address = client_address(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        bearer = parse_bearer(authorization)
        principal = (
            await principal_for_bearer(db_session, clock, bearer, address) if bearer else None
        )
        if principal is None:
            raise Unauthenticated(
                "the API token is invalid, expired or revoked", code="invalid_token"
            )
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = await principal_for_cookie(db_session, clock, settings, cookie, address)
    if principal is None:
        return None
    if request.method not in _SAFE and not csrf_matches(
        request.headers.get(CSRF_HEADER), principal.csrf_token or ""
    ):
        raise PermissionDenied(
            f"missing or wrong {CSRF_HEADER} header: reload the page and try again",
            code="csrf_failed",
        )
    return principal


async def provide_viewer(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
) -> Principal | None:
    return await _authenticate(request, db_session, clock, settings)


async def provide_principal(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
) -> Principal:
    principal = await _authenticate(request, db_session, clock, settings)
    if principal is None:
        raise Unauthenticated("please log in", code="login_required")
    return principal


def session_cookie(request: Request[Any, Any, Any], opened: OpenedSession) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=opened.cookie_value,
        path="/",
        max_age=opened.max_age_seconds,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )


def cleared_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
