"""Authentication of a request: a bearer token or the session cookie, and CSRF for the cookie.

Handlers take `auth` and call `auth.required()` (must be logged in: 401 otherwise) or
`auth.optional()` (may be anonymous). A cookie-authenticated unsafe request must carry the
session's CSRF token in the `X-CSRF-Token` header (a form of our pages: in its `csrf_token`
field; the API takes JSON bodies only): a page of another site can make the
browser send the cookie, never read the token. Bearer requests need no CSRF token: browsers
do not attach them on their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.sessions import (
    Credentials,
    OpenedSession,
    Touch,
    csrf_matches,
    parse_bearer,
    principal_for_bearer,
    principal_for_cookie,
    write_touch,
)
from booking.clock import Clock
from booking.db.errors import as_unavailable
from booking.deps import DbSession
from booking.errors import BookingError, PermissionDenied, Unauthenticated
from booking.settings import Settings

SESSION_COOKIE = "booking_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_TOUCH = "credential_touch"  # request state: the last use to write after the answer
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Authentication:
    """What the request's credentials established; handlers ask for what they need.

    The provider never raises: Litestar abandons generator dependencies (the database session)
    when a later dependency raises, so refusals are raised by the handler instead.
    """

    principal: Principal | None
    refusal: BookingError | None = None  # a bad token or CSRF failure, whatever the route
    # Read with the credentials: the network snapshot's check (booking/deps.py provide_network).
    inventory_revision: int | None = None

    def required(self) -> Principal:
        """The logged-in principal, or 401 (or the refusal found)."""
        if self.refusal is not None:
            raise self.refusal
        if self.principal is None:
            raise Unauthenticated("please log in", code="login_required")
        return self.principal

    def optional(self) -> Principal | None:
        """The principal if logged in, None if anonymous; bad credentials are still refused."""
        if self.refusal is not None:
            raise self.refusal
        return self.principal


Auth = NamedDependency[SkipValidation[Authentication]]


def client_address(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


async def provide_auth(
    state: State, request: Request[Any, Any, Any], db_session: DbSession
) -> Authentication:
    # The clock and settings from the app's state, not their providers: a handler asking for
    # `context` alone then has no independent providers, which Litestar runs in a task group.
    try:
        return await _authenticate(request, db_session, state.clock, state.settings)
    except (SQLAlchemyError, OSError) as exc:
        # Never raise from a provider (see Authentication); a busy or unreachable database
        # is the handler's 503, anything else still its 500.
        if (unavailable := as_unavailable(exc)) is None:
            raise
        return Authentication(None, unavailable)


async def _authenticate(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    clock: Clock,
    settings: Settings,
) -> Authentication:
    address = client_address(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        bearer = parse_bearer(authorization)
        found = (
            await principal_for_bearer(db_session, clock, bearer, address)
            if bearer
            else Credentials(None, None)
        )
        request.state[_TOUCH] = found.touch
        if found.principal is None:
            return Authentication(
                None,
                Unauthenticated(
                    "the API token is invalid, expired or revoked", code="invalid_token"
                ),
            )
        return Authentication(found.principal, inventory_revision=found.inventory_revision)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return Authentication(None)
    found = await principal_for_cookie(db_session, clock, settings, cookie, address)
    request.state[_TOUCH] = found.touch
    if (principal := found.principal) is None:
        return Authentication(None)
    if request.method not in _SAFE and not csrf_matches(
        await _presented_csrf(request), principal.csrf_token or ""
    ):
        refusal = PermissionDenied(
            f"missing or wrong {CSRF_HEADER} header: reload the page and try again",
            code="csrf_failed",
        )
        return Authentication(principal, refusal, found.inventory_revision)
    return Authentication(principal, inventory_revision=found.inventory_revision)


async def touch_credentials(request: Request[Any, Any, Any]) -> None:
    """After the answer: write the session's or token's last use in a short transaction of its
    own. Best effort: busy or unreachable, it is skipped (the next request a minute later
    tries again) and the answer already sent is untouched."""
    touch: Touch | None = request.state.get(_TOUCH)
    if touch is None:
        return
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    try:
        async with sessionmaker() as session:
            bind = session.bind  # tests bind sessions to a connection inside their transaction
            if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
                # One UPDATE is its own transaction: no BEGIN and COMMIT round trips.
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            await write_touch(session, touch)
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        if as_unavailable(exc) is None:
            raise
        log.info("last use of %s %s not recorded: %s", touch.kind, touch.ident, exc)


async def _presented_csrf(request: Request[Any, Any, Any]) -> str | None:
    """The header, or for a page's form (booking/pages) its `csrf_token` field."""
    header = request.headers.get(CSRF_HEADER)
    if header is not None or request.url.path.startswith("/api/"):
        return header
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _FORM_TYPES:
        return None
    value = (await request.form()).get(CSRF_FORM_FIELD)
    return value if isinstance(value, str) else None


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
