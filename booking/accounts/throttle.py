"""Login throttling per account and per address, counted in the database.

Counts live in `login_throttles`, updated by one atomic upsert, so every app process sees the
same numbers and two processes cannot both let the sixth attempt through. Unknown accounts are
counted like known ones: a lockout tells nothing about whether an account exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import LoginThrottle
from booking.clock import Clock
from booking.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    max_failures: int


def retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


async def ensure_not_locked(session: AsyncSession, clock: Clock, keys: list[str]) -> None:
    now = clock.now()
    stmt = select(LoginThrottle.locked_until).where(
        LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
    )
    locks = (await session.scalars(stmt)).all()
    if locks:
        raise TooManyRequests(
            "too many failed logins; try again later",
            retry_after=retry_after(max(lock for lock in locks if lock is not None), now),
        )


async def count_failure(
    session: AsyncSession, clock: Clock, limit: Limit, window: timedelta, lockout: timedelta
) -> datetime | None:
    """Count one failure for the key; returns the lock's end when this failure locks it."""
    now = clock.now()
    table = LoginThrottle.__table__.c
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stale = LoginThrottle.window_started_at <= now - window
    stmt = (
        insert(LoginThrottle)
        .values(key=limit.key, failures=1, window_started_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[table.key],
            set_={
                "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                "window_started_at": case((stale, now), else_=LoginThrottle.window_started_at),
            },
        )
        .returning(table.failures)
    )
    failures = (await session.execute(stmt)).scalar_one()
    if failures < limit.max_failures:
        return None
    locked_until = now + lockout
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == limit.key)
        .values(failures=0, window_started_at=now, locked_until=locked_until)
    )
    return locked_until


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
