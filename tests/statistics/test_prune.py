"""The worker empties the statistics log at night once it has grown, and only then."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.statistics.models import StatisticsChange
from booking.statistics.versions import PRUNE_ABOVE, prune_at_night

TOKYO = ZoneInfo("Asia/Tokyo")


async def log_rows(session: AsyncSession, rows: int) -> None:
    await session.execute(
        insert(StatisticsChange), [{"month": date(2026, 5, 1), "source": "bookings"}] * rows
    )


async def rows_left(session: AsyncSession) -> list[date | None]:
    return list((await session.scalars(select(StatisticsChange.month))).all())


@pytest.mark.parametrize(
    ("hour", "minute", "pruned"), [(2, 59, False), (3, 0, True), (3, 59, True), (4, 0, False)]
)
async def test_a_grown_log_is_emptied_in_the_night_hour_alone(
    session: AsyncSession, hour: int, minute: int, *, pruned: bool
) -> None:
    before = await session.scalar(select(func.count()).select_from(StatisticsChange)) or 0
    await log_rows(session, PRUNE_ABOVE + 1 - before)
    removed = await prune_at_night(session, datetime(2026, 12, 3, hour, minute, tzinfo=TOKYO))
    if pruned:
        assert removed == PRUNE_ABOVE + 1
        # one NULL row stays: a version no earlier count holds (statistics/models.py)
        assert await rows_left(session) == [None]
    else:
        assert removed == 0
        assert len(await rows_left(session)) == PRUNE_ABOVE + 1


async def test_a_small_log_is_kept_at_night(session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(StatisticsChange)) or 0
    await log_rows(session, PRUNE_ABOVE - before)
    assert await prune_at_night(session, datetime(2026, 12, 3, 3, 30, tzinfo=TOKYO)) == 0
    assert len(await rows_left(session)) == PRUNE_ABOVE
