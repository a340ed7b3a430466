"""The client's address and scheme behind trusted reverse proxies (BOOKING_TRUSTED_PROXIES).

Login throttling counts per client address and the audit trail records it, so the address
must be the client's, not the proxy's (else everyone behind a proxy shares one count and 20
bad logins lock out all of them), and must not be whatever a client writes into a header
(else one client dodges its count by naming a new address each time). X-Forwarded-For is read
only when the peer is a trusted proxy, and from the right: each proxy appends the address it
saw, so the first address from the right that is not a trusted proxy is the client. Its
X-Forwarded-Proto is believed with it (the secure flag of the session cookie).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from booking.settings import IPNetwork

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A zone ("fe80::1%eth0") means nothing beyond the proxy and could be any length.
    return None if getattr(address, "scope_id", None) else address


def _trusted(address: _Address | None, networks: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


def is_trusted(host: str | None, networks: Sequence[IPNetwork]) -> bool:
    """Whether an address (a peer's, or a client's found behind proxies) is in the networks."""
    return _trusted(_address(host or ""), networks)


def client_of(
    peer: str | None, forwarded_for: Sequence[str], networks: Sequence[IPNetwork]
) -> str | None:
    """The client's address: the peer's own unless it is a trusted proxy; then the rightmost
    address of X-Forwarded-For that is not a trusted proxy (all of them trusted: the leftmost;
    a malformed one ends the walk at the last good hop)."""
    if not _trusted(_address(peer or ""), networks):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = str(address)
        if not _trusted(address, networks):
            break
    return client


def trusted_proxies_middleware(networks: Sequence[IPNetwork]) -> Callable[[ASGIApp], ASGIApp]:
    """An ASGI middleware rewriting the scope's client (and scheme) when the peer is trusted."""

    @functools.lru_cache(maxsize=1024)  # an address parsed once, not on every request
    def trusted_peer(host: str | None) -> bool:
        return is_trusted(host, networks)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP:
                _resolve(scope, networks, trusted_peer)
            await app(scope, receive, send)

        return middleware

    return factory


def _resolve(
    scope: Scope, networks: Sequence[IPNetwork], trusted_peer: Callable[[str | None], bool]
) -> None:
    peer = scope.get("client")
    host = peer[0] if peer else None
    if not trusted_peer(host):
        return
    forwarded: list[str] = []
    protos: list[str] = []
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name.lower() == b"x-forwarded-proto":
            protos.append(value.decode("latin-1"))
    client = client_of(host, forwarded, networks)
    if client and client != host:
        scope["client"] = (client, 0)
    scheme = ",".join(protos).split(",")[-1].strip().lower()
    if scheme in {"http", "https"}:
        scope["scheme"] = scheme
