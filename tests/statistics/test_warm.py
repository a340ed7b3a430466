"""An app process reads this fiscal year's and the last one's statistics in the background."""

from __future__ import annotations

import asyncio
from datetime import date

from litestar.testing import AsyncTestClient

from booking.app import create_app
from booking.clock import local_today
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
