"""The client's address behind reverse proxies: BOOKING_TRUSTED_PROXIES (issue 14: 9).

X-Forwarded-For is believed only from a trusted proxy, read from the right; the address it
gives is what login throttling counts and what the audit trail records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.app import create_app
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.settings import Settings, parse_networks
from booking.web.proxies import client_of
from tests.conftest import Database
from tests.people import PASSWORD, World

LOGIN = "/api/v1/auth/login"
PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8")
ClientFrom = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.9", ["203.0.113.1"], "192.0.2.9"),  # not a proxy: the header is ignored
        ("10.0.0.2", ["203.0.113.1"], "203.0.113.1"),
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["203.0.113.1, 10.9.9.9"], "203.0.113.1"),  # through two proxies
        ("10.0.0.2", ["6.6.6.6, 203.0.113.1"], "203.0.113.1"),  # a spoofed hop on the left
        ("10.0.0.2", ["6.6.6.6", "203.0.113.1"], "203.0.113.1"),  # as two header lines
        ("10.0.0.2", ["10.0.0.7, 10.0.0.8"], "10.0.0.7"),  # proxies all the way
        ("10.0.0.2", ["203.0.113.1, nonsense"], "10.0.0.2"),  # a broken hop ends the walk
        ("10.0.0.2", ["2001:db8::1"], "2001:db8::1"),
        ("10.0.0.2", ["203.0.113.1, fe80::1%" + "x" * 60], "10.0.0.2"),  # a zone: malformed
    ],
)
def test_the_rightmost_untrusted_hop_is_the_client(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_of(peer, forwarded, PROXIES) == client


def test_a_bad_network_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.0/33")
    assert Settings().trusted_networks == parse_networks("127.0.0.1,::1")


@pytest.fixture
def client_from(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> ClientFrom:
    """An HTTP client whose requests arrive from `peer`; the app trusts 10.0.0.0/8."""
    settings = database.settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    app = create_app(settings, clock=clock, sessionmaker=sessionmaker)

    @asynccontextmanager
    async def make(peer: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(peer, 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://proxied") as client:
            yield client

    return make


async def _last_address(session: AsyncSession) -> str | None:
    return await session.scalar(select(AuditEvent.address).order_by(AuditEvent.id.desc()).limit(1))


async def test_the_audit_trail_records_the_forwarded_address_of_a_trusted_proxy_only(
    world: World, client_from: ClientFrom, session: AsyncSession
) -> None:
    body = {"login": "rep-a@example.jp", "password": PASSWORD}
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    async with client_from("10.0.0.2") as proxy:
        assert (await proxy.post(LOGIN, json=body, headers=forwarded)).status_code == 200
    assert await _last_address(session) == "203.0.113.7"
    async with client_from("192.0.2.50") as stranger:
        assert (await stranger.post(LOGIN, json=body, headers=forwarded)).status_code == 200
    assert await _last_address(session) == "192.0.2.50"


async def test_behind_a_proxy_one_clients_failures_lock_out_only_that_client(
    world: World, client_from: ClientFrom
) -> None:
    limit = world.settings.login_address_failures
    async with client_from("10.0.0.2") as proxy:
        for i in range(limit):
            wrong = await proxy.post(
                LOGIN,
                json={"login": f"ghost{i}@example.jp", "password": "nope"},
                headers={"X-Forwarded-For": "198.51.100.66"},
            )
            assert wrong.status_code == 401
        body = {"login": "rep-a@example.jp", "password": PASSWORD}
        locked = await proxy.post(LOGIN, json=body, headers={"X-Forwarded-For": "198.51.100.66"})
        assert locked.status_code == 429
        other = await proxy.post(LOGIN, json=body, headers={"X-Forwarded-For": "198.51.100.67"})
        assert other.status_code == 200
    async with client_from("192.0.2.50") as stranger:
        # A client naming a new address in the header on its own gains nothing.
        for i in range(limit):
            await stranger.post(
                LOGIN,
                json={"login": f"spirit{i}@example.jp", "password": "nope"},
                headers={"X-Forwarded-For": f"198.51.100.{100 + i}"},
            )
        refused = await stranger.post(
            LOGIN, json=body, headers={"X-Forwarded-For": "198.51.100.200"}
        )
        assert refused.status_code == 429


async def test_the_scheme_is_forwarded_by_a_trusted_proxy_only(
    world: World, client_from: ClientFrom
) -> None:
    body = {"login": "rep-a@example.jp", "password": PASSWORD}
    https = {"X-Forwarded-Proto": "https"}
    async with client_from("10.0.0.2") as proxy:
        behind = await proxy.post(LOGIN, json=body, headers=https)
    assert "secure" in behind.headers["set-cookie"].lower()
    async with client_from("192.0.2.50") as stranger:
        direct = await stranger.post(LOGIN, json=body, headers=https)
    assert "secure" not in direct.headers["set-cookie"].lower()
