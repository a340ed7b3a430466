"""The one source of "now". Tests freeze and move it; nothing else calls datetime.now()."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware instant in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        self._at += by

    def now(self) -> datetime:
        return self._at


def local_now(clock: Clock, tz: ZoneInfo) -> datetime:
    return clock.now().astimezone(tz)


def local_today(clock: Clock, tz: ZoneInfo) -> date:
    return local_now(clock, tz).date()
