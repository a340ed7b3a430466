"""Idempotency-Key for creating requests (DESIGN.md invariant 5).

The first answer is stored with a hash of the request body in the creating transaction; a
retry with the same key and body gets that answer again, with another body a 422. Two copies
racing each other collide on the primary key: the later one fails whole (409) and its retry
finds the stored answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy import Row, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
from booking.errors import InvalidInput, RuleViolation
from booking.reservations.models import IdempotentRequest

MAX_KEY_LENGTH = 100
# The header as a creating handler declares it: documented (maxLength) in the API's
# description, checked by check_key so that a bad key is a 400 naming "Idempotency-Key".
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="Any 1-100 ASCII characters of your choice: a retry with the same key and "
        "body gets the first answer again; another body with the same key is a 422",
        schema_extra={"maxLength": MAX_KEY_LENGTH, "minLength": 1},
    ),
]


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    # Printable: a control character (a NUL breaks PostgreSQL's text) names no retry.
    if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise InvalidInput(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters",
            field="Idempotency-Key",
        )
    return key


REQUESTS = cast("Table", IdempotentRequest.__table__)
_STORED = select(REQUESTS.c.request_hash, REQUESTS.c.status_code, REQUESTS.c.response).where(
    REQUESTS.c.user_id == bindparam("user_id"), REQUESTS.c.key == bindparam("key")
)


async def replay(
    session: AsyncSession, user_id: int, key: str, body_hash: str
) -> Row[Any, Any, Any] | None:
    # A plain query, not the ORM's get: nothing here is changed later (bench/bookings.py).
    stored = (await session.execute(_STORED, {"user_id": user_id, "key": key})).first()
    if stored is not None and stored.request_hash != body_hash:
        raise RuleViolation(
            "this Idempotency-Key was used with another request body",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return stored


async def remember(
    session: AsyncSession,
    clock: Clock,
    user_id: int,
    key: str,
    body_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    await session.execute(
        insert(REQUESTS).values(
            user_id=user_id,
            key=key,
            request_hash=body_hash,
            status_code=status_code,
            response=response,
            created_at=clock.now(),
        )
    )


async def once(
    session: AsyncSession,
    clock: Clock,
    user_id: int,
    key: str | None,
    body: bytes,
    create: Callable[[], Awaitable[dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run a creating request once per Idempotency-Key: (status, body) of the first answer."""
    if key is None:
        return HTTP_201_CREATED, await create()
    key = check_key(key)
    body_hash = request_hash(body)
    stored = await replay(session, user_id, key, body_hash)
    if stored is not None:
        return stored.status_code, stored.response
    answer = await create()
    await remember(session, clock, user_id, key, body_hash, HTTP_201_CREATED, answer)
    return HTTP_201_CREATED, answer
