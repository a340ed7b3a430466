"""Login throttling per account and per address, counted in the database.

Counts live in `login_throttles`, updated by one atomic upsert, so every app process sees the
same numbers and two processes cannot both let the sixth attempt through. Unknown accounts are
counted like known ones: a lockout tells nothing about whether an account exists.

A login takes its slot *before* its password is verified (`claim`): the upsert counts the
attempt only while the key is under its limit and not locked, so a burst of simultaneous
guesses verifies at most the limit, however many arrive at once. A wrong password keeps its
slot (`failed`, which locks the key once every slot is spent); a right one gives it back
(`succeeded`). Limits on requests rather than failures (reset requests, registrations per
address, tries of a registration link) take a slot with `claim` and keep it, before the costly
work (a hash) they guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import LoginThrottle
from booking.clock import Clock
from booking.db.upsert import insert_for
from booking.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    max_failures: int


def retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class Slot:
    """One attempt counted under one limit, before its outcome is known."""

    limit: Limit
    window_started_at: datetime


async def claim(
    session: AsyncSession, clock: Clock, limits: list[Limit], window: timedelta
) -> list[Slot]:
    """Count one attempt under every limit, or raise TooManyRequests when any key is locked
    or has every slot of its window taken (by failures or by attempts still in flight).

    Each key is one upsert whose update applies only under the limit, so the check and the
    count are one statement: no two attempts can take the same last slot. On a refusal the
    slots taken under the other keys are given back (a savepoint), even when the caller
    catches the refusal and commits (the login page shows it in its form).
    """
    async with session.begin_nested():
        return await _claim(session, clock.now(), limits, window)


async def _claim(
    session: AsyncSession, now: datetime, limits: list[Limit], window: timedelta
) -> list[Slot]:
    table = LoginThrottle.__table__.c
    insert = insert_for(session)
    lock_over = LoginThrottle.locked_until <= now
    fresh = or_(LoginThrottle.window_started_at <= now - window, lock_over)
    slots: list[Slot] = []
    for limit in limits:
        stmt = (
            insert(LoginThrottle)
            .values(key=limit.key, failures=1, window_started_at=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=[table.key],
                set_={
                    "failures": case((fresh, 1), else_=LoginThrottle.failures + 1),
                    "window_started_at": case((fresh, now), else_=LoginThrottle.window_started_at),
                    "locked_until": None,
                },
                where=and_(
                    or_(LoginThrottle.locked_until.is_(None), lock_over),
                    or_(fresh, LoginThrottle.failures < limit.max_failures),
                ),
            )
            .returning(table.window_started_at)
        )
        started = (await session.execute(stmt)).scalar_one_or_none()
        if started is None:
            raise await _refusal(session, now, limit.key, window)
        slots.append(Slot(limit, started))
    return slots


async def _refusal(
    session: AsyncSession, now: datetime, key: str, window: timedelta
) -> TooManyRequests:
    row = (
        await session.execute(
            select(LoginThrottle.locked_until, LoginThrottle.window_started_at).where(
                LoginThrottle.key == key
            )
        )
    ).one()
    until = row[0] if row[0] is not None and row[0] > now else row[1] + window
    return TooManyRequests(
        "too many failed logins; try again later", retry_after=retry_after(until, now)
    )


async def failed(
    session: AsyncSession, clock: Clock, slots: list[Slot], lockout: timedelta
) -> list[tuple[str, datetime]]:
    """The attempts failed: their slots stay taken; a key with every slot taken is locked.
    Returns the keys this failure locked, with the lock's end (for the audit trail)."""
    now = clock.now()
    locked_until = now + lockout
    locked: list[tuple[str, datetime]] = []
    for slot in slots:
        stmt = (
            update(LoginThrottle)
            .where(
                LoginThrottle.key == slot.limit.key,
                LoginThrottle.failures >= slot.limit.max_failures,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
            )
            .values(locked_until=locked_until)
            .returning(LoginThrottle.key)
            .execution_options(synchronize_session=False)
        )
        if (await session.execute(stmt)).scalar_one_or_none() is not None:
            locked.append((slot.limit.key, locked_until))
    return locked


async def succeeded(session: AsyncSession, slots: list[Slot], *, clear_key: str) -> None:
    """The attempt succeeded: the account's count is cleared (its owner is back), every other
    key gets its slot back, unless its window started afresh meanwhile."""
    for slot in slots:
        if slot.limit.key == clear_key:
            await clear(session, clear_key)
            continue
        await session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.key == slot.limit.key,
                LoginThrottle.failures > 0,
                LoginThrottle.window_started_at == slot.window_started_at,
            )
            .values(failures=LoginThrottle.failures - 1)
            .execution_options(synchronize_session=False)
        )


# The longest window any limit counts in (reset requests, registrations: an hour).
LONGEST_WINDOW = timedelta(hours=1)


async def purge(session: AsyncSession, clock: Clock, login_window: timedelta) -> int:
    """Delete rows that count nothing any more: their window is over and no lock holds (to a
    claim such a row is the same as none). Anyone can add rows by trying new names."""
    now = clock.now()
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at <= now - max(login_window, LONGEST_WINDOW),
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
