"""Issue 20: on PostgreSQL the statistics change log is appended per statement (migration
0016): one statement changing many lottery applications appends one row per month it
touched, not one per row (a draw's 100,000 outcomes appended 100,000 rows), and the cached
counts of each of those months are still read again."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.statistics.counts import CountsCache, read_month
from booking.statistics.models import StatisticsChange
from tests.conftest import Database
from tests.statistics.small_world import FEBRUARY, JANUARY, add_application, january
from tests.statistics.test_versions import content

pytestmark = pytest.mark.engines("postgresql")  # SQLite keeps 0014's per-row triggers


async def test_a_bulk_update_logs_each_month_once_and_both_are_read_again(
    session: AsyncSession, database: Database
) -> None:
    w = await january(session)
    for day in range(4, 24):  # 20 applications in each month, applied
        for month in (JANUARY, FEBRUARY):
            await add_application(
                session, w, "a", w.p1, month.replace(day=day), ["20"], ApplicationStatus.APPLIED
            )
    tz, months = database.settings.tz, [JANUARY, FEBRUARY]
    cache = CountsCache()
    before = [content(m) for m in await cache.months(session, w.network, months, tz)]
    newest = await session.scalar(select(StatisticsChange.id).order_by(StatisticsChange.id.desc()))

    # one statement, as the draw's outcomes (lottery/bulk.py)
    drawn = await session.execute(
        update(LotteryApplication)
        .where(
            LotteryApplication.use_month.in_(months),
            LotteryApplication.status == ApplicationStatus.APPLIED,
        )
        .values(status=ApplicationStatus.WON)
        .execution_options(synchronize_session=False)
    )
    assert drawn.rowcount >= 40  # type: ignore[attr-defined]

    logged = (
        await session.execute(
            select(StatisticsChange.month, StatisticsChange.source)
            .where(StatisticsChange.id > (newest or 0))
            .order_by(StatisticsChange.id)
        )
    ).all()
    assert [tuple(row) for row in logged] == [
        (JANUARY, "lottery_applications"),
        (FEBRUARY, "lottery_applications"),
    ]
    after = [content(m) for m in await cache.months(session, w.network, months, tz)]
    for month, old, new in zip(months, before, after, strict=True):
        assert new != old, month
        assert new == content(await read_month(session, w.network, month, tz)), month


async def test_a_statement_touching_no_row_logs_nothing(session: AsyncSession) -> None:
    newest = await session.scalar(select(StatisticsChange.id).order_by(StatisticsChange.id.desc()))
    await session.execute(
        update(LotteryApplication)
        .where(LotteryApplication.use_date == date(2031, 1, 1))
        .values(status=ApplicationStatus.WON)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(StatisticsChange.id).where(StatisticsChange.id > (newest or 0))
    )
    assert rows.all() == []
