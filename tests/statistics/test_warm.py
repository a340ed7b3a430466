"""An app process reads this fiscal year's and the last one's statistics in the background,
and serves months found current lately without asking the database."""

from __future__ import annotations

import asyncio
from datetime import date

from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.app import create_app
from booking.clock import local_today
from booking.inventory.network import SnapshotCache
from booking.statistics.counts import CountsCache
from booking.statistics.models import StatisticsChange
from booking.statistics.span import Span, fiscal_year_of
from tests.conftest import Database


async def test_the_two_fiscal_years_are_read_at_start_before_any_request(
    database: Database,
) -> None:
    settings = database.settings.model_copy(update={"statistics_warm_seconds": 600})
    app = create_app(settings)
    year = fiscal_year_of(local_today(app.state.clock, settings.tz))
    wanted = [*Span.fiscal_year(year - 1).months(), *Span.fiscal_year(year).months()]
    async with AsyncTestClient(app):
        cache = app.state.statistics_counts
        for _ in range(300):  # a cold read of two empty years: well under 30 s
            months = await _cached(cache)
            if len(months) == len(wanted):
                break
            await asyncio.sleep(0.1)
    assert months == wanted


async def test_none_is_read_when_turned_off(database: Database) -> None:
    settings = database.settings.model_copy(update={"statistics_warm_seconds": 0})
    app = create_app(settings)
    async with AsyncTestClient(app):
        await asyncio.sleep(1)
        assert await _cached(app.state.statistics_counts) == []


async def _cached(cache: object) -> list[date]:
    return list(getattr(cache, "_merged", {}))


async def test_months_found_current_lately_are_served_without_asking(
    session: AsyncSession, database: Database
) -> None:
    """The pages' max_age: a change is seen once the months' check is older than it."""
    network = await SnapshotCache().get(session)
    cache, month, tz = CountsCache(), date(2026, 5, 1), database.settings.tz
    first = await cache.months(session, network, [month], tz, max_age=0.5)
    await session.execute(insert(StatisticsChange).values(month=month, source="bookings"))
    assert await cache.months(session, network, [month], tz, max_age=0.5) == first
    assert (await cache.months(session, network, [month], tz, max_age=0.5))[0] is first[0]
    await asyncio.sleep(0.6)
    again = await cache.months(session, network, [month], tz, max_age=0.5)
    assert again[0] is not first[0]  # the version moved: read again
    # and without max_age every call asks
    await session.execute(insert(StatisticsChange).values(month=month, source="bookings"))
    assert (await cache.months(session, network, [month], tz))[0] is not again[0]
