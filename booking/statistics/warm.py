"""Each app process keeps this fiscal year's and the last one's counts read in the background.

A city's fiscal year read cold takes seconds (twelve months of bookings and lottery rows): the
first dashboard after a start, or after the worker's nightly prune, would wait for it. Reading
them at start and then every minute leaves requests only what changed since (usually nothing:
the cache compares versions and re-reads a month's part only when it moved).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from litestar.datastructures import State

from booking.clock import local_today
from booking.settings import Settings
from booking.statistics.span import Span, fiscal_year_of

log = logging.getLogger("booking.statistics")


async def warm_once(state: State, settings: Settings) -> None:
    year = fiscal_year_of(local_today(state.clock, settings.tz))
    months = [*Span.fiscal_year(year - 1).months(), *Span.fiscal_year(year).months()]
    async with state.sessionmaker() as session:
        network = await state.snapshot_cache.get(session)
        await state.statistics_counts.months(session, network, months, settings.tz)


async def keep_warm(state: State, settings: Settings, stop: asyncio.Event) -> None:
    """Until stopped; a failed read (the database restarting) is logged and tried again."""
    while not stop.is_set():
        try:
            await warm_once(state, settings)
        except Exception:
            log.warning("the statistics were not read in the background", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.statistics_warm_seconds)
