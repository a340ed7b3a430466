"""Each request's id: in its response's `X-Request-ID`, in every log line written while it
runs, in the body of a 500. A user quotes it; an operator greps the logs for it.

The id a reverse proxy gave the request (nginx's `$request_id`, a load balancer's) is kept,
so one id follows the request through the proxy's logs and ours, but only from a trusted
proxy (BOOKING_TRUSTED_PROXIES) and only when well-formed: 1 to 128 characters out of
letters, digits and `-_.:+=/`. Anything else (a client naming its own id, an overlong one,
control characters that would forge a log line) is replaced by a fresh one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
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
    """128 random bits in hex. Not a secret (it grants nothing), so the generator that needs
    no system call (a sixth of the wrapper's time with `secrets`); reseeded in a forked child."""
    return f"{random.getrandbits(128):032x}"


def well_formed(value: str) -> bool:
    return _WELL_FORMED.fullmatch(value) is not None


def given_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The request's (first) X-Request-ID, as sent."""
    for name, value in headers:
        if name.lower() == _HEADER_KEY:
            return value.decode("latin-1")
    return None


def choose_request_id(given: str | None, from_trusted_proxy: Callable[[], bool]) -> str:
    """The given id when well-formed and the peer is a trusted proxy (asked only then: it
    parses an address), else a fresh one."""
    if given is not None and well_formed(given) and from_trusted_proxy():
        return given
    return fresh_request_id()


def header_of(request_id: str) -> tuple[bytes, bytes]:
    return (_HEADER_KEY, request_id.encode("ascii"))


def enter(request_id: str) -> Token[str | None]:
    """Make it the current id (of this task and what it awaits); give `leave` the token."""
    return _CURRENT.set(request_id)


def leave(token: Token[str | None]) -> None:
    _CURRENT.reset(token)
