"""X-Request-ID (issue 20): every response has one; a trusted proxy's well-formed id is kept,
anything else (a client's own, too long, control characters) is replaced by a fresh one; a
500's body and its log line carry it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar, get

from booking.app import create_app
from booking.web.logs import RequestIdFilter
from booking.web.request_id import (
    MAX_LENGTH,
    choose_request_id,
    current_request_id,
    given_request_id,
)
from tests.conftest import Database

FRESH = re.compile(r"[0-9a-f]{32}")


def _client(app: Litestar, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_every_response_has_a_fresh_id(client: httpx.AsyncClient) -> None:
    seen = set()
    for path in ("/health", "/no/such/page", "/api/v1/me", "/"):
        response = await client.get(path)
        assert FRESH.fullmatch(response.headers["x-request-id"]), path
        seen.add(response.headers["x-request-id"])
    assert len(seen) == 4


@pytest.mark.parametrize(
    "given",
    [
        "req-7f3a9c",
        "0b6f1c1e-64c2-4d8c-9b3e-2f4d8a1b5c6d",
        "Root=1-67891233-abcdef012345678912345678",
        "a" * MAX_LENGTH,
    ],
)
async def test_a_trusted_proxys_well_formed_id_is_kept(
    client: httpx.AsyncClient, given: str
) -> None:
    """The test client's peer is 127.0.0.1, a trusted proxy by default."""
    response = await client.get("/health", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    [
        "a" * (MAX_LENGTH + 1),  # too long
        "abc\r\nINFO forged log line",  # a line break: a forged log line
        "abc\x1b[31mred",  # a terminal escape
        "abc\x00def",
        "with space",
        '"quoted"',
        "請求",  # not ASCII
        "",
    ],
)
async def test_a_malformed_id_is_replaced(client: httpx.AsyncClient, given: str) -> None:
    raw = [(b"x-request-id", given.encode())]
    response = await client.get("/health", headers=raw)
    assert FRESH.fullmatch(response.headers["x-request-id"])


async def test_a_forged_id_from_an_untrusted_peer_is_replaced(
    app: Litestar,
    client: httpx.AsyncClient,  # gives the shared app this test's transaction and clock
) -> None:
    async with _client(app, "203.0.113.9") as outsider:
        response = await outsider.get("/health", headers={"X-Request-ID": "req-7f3a9c"})
    assert FRESH.fullmatch(response.headers["x-request-id"])
    # A client naming itself a proxy's client changes nothing: the peer decides.
    async with _client(app, "203.0.113.9") as outsider:
        forwarded = await outsider.get(
            "/health", headers={"X-Request-ID": "req-7f3a9c", "X-Forwarded-For": "127.0.0.1"}
        )
    assert FRESH.fullmatch(forwarded.headers["x-request-id"])


def test_the_choice_itself() -> None:
    headers = [(b"accept", b"*/*"), (b"X-Request-Id", b"ok-1"), (b"x-request-id", b"ok-2")]
    given = given_request_id(headers)
    assert given == "ok-1"
    assert choose_request_id(given, lambda: True) == "ok-1"
    assert FRESH.fullmatch(choose_request_id(given, lambda: False))
    assert FRESH.fullmatch(choose_request_id(None, lambda: True))
    assert given_request_id([]) is None


@get("/test-only/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("a bug")


@get("/test-only/whoami", include_in_schema=False)
async def whoami() -> dict[str, str | None]:
    return {"request_id": current_request_id()}


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """What the app logs, through the filter `booking serve`'s handlers have."""
    found: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    handler.emit = found.append  # type: ignore[method-assign]
    logger = logging.getLogger("booking")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


async def test_a_500_names_its_id_in_the_body_and_the_log(
    database: Database, records: list[logging.LogRecord]
) -> None:
    """The user quotes the body's id; the operator finds the traceback's line by it."""
    app = create_app(database.settings.model_copy(update={"statistics_warm_seconds": 0}))
    app.register(boom)
    app.register(whoami)
    async with app.lifespan(), _client(app, "127.0.0.1") as client:
        response = await client.get("/test-only/boom")
        inside = await client.get("/test-only/whoami", headers={"X-Request-ID": "mine-42"})
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    assert response.json()["code"] == "internal"
    (logged,) = [r for r in records if r.levelno == logging.ERROR]
    assert logged.request_id == request_id  # type: ignore[attr-defined]
    assert logged.exc_info is not None
    assert inside.json() == {"request_id": "mine-42"}
    assert current_request_id() is None  # nothing left behind once answered
