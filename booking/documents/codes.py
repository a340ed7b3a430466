"""A document's printed number and its verification code, for every kind of document.

A printed number names its kind, fiscal year, facility and sequence: a permit's has no prefix
(2026-0017-000001), a receipt's starts with R, a refund's with RF, a waiver's with W
(R-2026-0017-000001). The verification code is an HMAC of the document's facts with the
server's secret (settings.document_secret): staff check a print's number and code against the
stored document (booking/documents/checks.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from booking.settings import Settings

PERMIT = "permit"
RECEIPT = "receipt"
REFUND = "refund"
WAIVER = "waiver"
PREFIXES = {PERMIT: "", RECEIPT: "R-", REFUND: "RF-", WAIVER: "W-"}
_NUMBER = re.compile(r"^(?:(R|RF|W)-)?(\d{4})-(\d{4,9})-(\d{6,9})$")
_CODE = re.compile(r"^[A-Z2-7]{4}-?[A-Z2-7]{4}-?[A-Z2-7]{4}$")


@dataclass(frozen=True, slots=True)
class DocumentNumber:
    kind: str
    fiscal_year: int
    facility_id: int
    sequence: int


def document_number(kind: str, year: int, facility_id: int, sequence: int) -> str:
    """The printed number, e.g. R-2026-0017-000123."""
    return f"{PREFIXES[kind]}{year}-{facility_id:04d}-{sequence:06d}"


def parse_number(text: str) -> DocumentNumber | None:
    """A printed number as typed at the desk (case and surrounding spaces ignored), or None."""
    found = _NUMBER.match(text.strip().upper())
    if found is None:
        return None
    prefix, year, facility, sequence = found.groups()
    kind = next(k for k, p in PREFIXES.items() if p == (f"{prefix}-" if prefix else ""))
    return DocumentNumber(kind, int(year), int(facility), int(sequence))


def normal_code(text: str) -> str | None:
    """A code as typed (lower case, without hyphens) in its printed form, or None."""
    squeezed = text.strip().upper().replace("-", "").replace(" ", "")
    if not _CODE.match(squeezed):
        return None
    return "-".join(squeezed[i : i + 4] for i in range(0, 12, 4))


@functools.cache
def _process_secret() -> bytes:
    return secrets.token_bytes(32)


def signed_code(settings: Settings, parts: list[str]) -> str:
    """12 characters (three groups of four) of an HMAC-SHA256 over the document's facts.
    Without a configured secret a process makes its own: its codes check only until it stops."""
    key = (
        settings.document_secret.get_secret_value().encode()
        if settings.document_secret
        else _process_secret()
    )
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode()[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def same_code(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.encode())
