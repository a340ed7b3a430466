"""Random secrets handed to people, stored as a lookup selector and a hash of the rest.

A secret reads `selector.verifier`. The selector finds the row through an index; the verifier
is only ever stored as SHA-256 and compared with `hmac.compare_digest`, so neither a database
leak nor response timing gives a usable secret. SHA-256 suffices: verifiers are 256 random
bits, not passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_SELECTOR_BYTES = 12  # 16 characters
_VERIFIER_BYTES = 32  # 43 characters
_URLSAFE = re.compile(r"[A-Za-z0-9_-]+")  # what secrets.token_urlsafe writes


@dataclass(frozen=True, slots=True)
class SplitSecret:
    selector: str
    verifier: str

    @property
    def verifier_hash(self) -> bytes:
        return digest(self.verifier)

    def __str__(self) -> str:
        return f"{self.selector}.{self.verifier}"


def new_secret() -> SplitSecret:
    return SplitSecret(
        secrets.token_urlsafe(_SELECTOR_BYTES), secrets.token_urlsafe(_VERIFIER_BYTES)
    )


def parse_secret(value: str, prefix: str = "") -> SplitSecret | None:
    """The parts of a presented secret, or None when it cannot be one of ours."""
    if prefix:
        if not value.startswith(prefix):
            return None
        value = value[len(prefix) :]
    selector, dot, verifier = value.partition(".")
    if not dot or not 1 <= len(selector) <= 32 or not 1 <= len(verifier) <= 64:
        return None
    # Ours are URL-safe base64; anything else (a NUL, which PostgreSQL refuses in text) is
    # not looked up at all.
    if not (_URLSAFE.fullmatch(selector) and _URLSAFE.fullmatch(verifier)):
        return None
    return SplitSecret(selector, verifier)


def digest(verifier: str) -> bytes:
    return hashlib.sha256(verifier.encode()).digest()


def verifies(presented: SplitSecret, stored_hash: bytes) -> bool:
    return hmac.compare_digest(presented.verifier_hash, stored_hash)


def same_secret(a: str, b: str) -> bool:
    """Constant-time equality of two short secrets (CSRF tokens)."""
    return hmac.compare_digest(a.encode(), b.encode())
