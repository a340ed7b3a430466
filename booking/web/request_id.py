"""Each request's id: in its response's `X-Request-ID`, in every log line written while it
runs, in the body of a 500. A user quotes it; an operator greps the logs for it.

The id a reverse proxy gave the request (nginx's `$request_id`, a load balancer's) is kept,
so one id follows the request through the proxy's logs and ours, but only from a trusted
proxy (BOOKING_TRUSTED_PROXIES) and only when well-formed: 1 to 128 characters out of
letters, digits and `-_.:+=/`. Anything else (a client naming its own id, an overlong one,
control characters that would forge a log line) is replaced by a fresh one.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()
MAX_LENGTH = 128
_WELL_FORMED = re.compile(rf"[A-Za-z0-9\-_.:+=/]{{1,{MAX_LENGTH}}}")

# The id of the request being served in this task, None outside a request.
_CURRENT: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _CURRENT.get()


def fresh_request_id() -> str:
    return secrets.token_hex(16)


def well_formed(value: str) -> bool:
    return _WELL_FORMED.fullmatch(value) is not None


def choose_request_id(headers: list[tuple[bytes, bytes]], *, from_trusted_proxy: bool) -> str:
    """The proxy's id when the peer is a trusted proxy and the (first) id is well-formed,
    else a fresh one."""
    if from_trusted_proxy:
        for name, value in headers:
            if name.lower() == _HEADER_KEY:
                text = value.decode("latin-1")
                return text if well_formed(text) else fresh_request_id()
    return fresh_request_id()


def header_of(request_id: str) -> tuple[bytes, bytes]:
    return (_HEADER_KEY, request_id.encode("ascii"))


def enter(request_id: str) -> Token[str | None]:
    """Make it the current id (of this task and what it awaits); give `leave` the token."""
    return _CURRENT.set(request_id)


def leave(token: Token[str | None]) -> None:
    _CURRENT.reset(token)
