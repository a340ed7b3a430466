"""A month's version for the cached counts: every source of its figures moves it.

Bookings, lottery applications and wait-list entries move it through the change log the
triggers of migration 0014 append to (models.py says why a log); blocks through the claims'
month versions (a block writes claims); closures, rooms and facilities through the inventory
revision; a group's category or residency through the log's NULL rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.reservations import claim_versions
from booking.statistics.models import StatisticsChange

# The log's sources whose rows move a month's demand counts; every other moves its bookings'.
DEMAND_SOURCES = frozenset({"lottery_applications", "waitlist_entries"})


@dataclass(frozen=True, slots=True)
class MonthVersions:
    """A month's versions: of its booking counts (bookings, blocks, groups, the network) and
    of its demand counts (lottery applications, wait-list entries, the network). Each also
    holds the log's NULL rows: a group changed, or the log pruned (models.py)."""

    bookings: tuple[int, ...]
    demand: tuple[int, ...]


async def month_versions(
    session: AsyncSession, months: Sequence[date], inventory_revision: int
) -> dict[date, MonthVersions]:
    logged = await session.execute(
        select(
            StatisticsChange.month,
            StatisticsChange.source,
            func.count(),
            func.max(StatisticsChange.id),
        )
        .where(or_(StatisticsChange.month.in_(months), StatisticsChange.month.is_(None)))
        .group_by(StatisticsChange.month, StatisticsChange.source)
    )
    rows: dict[tuple[date, bool], int] = defaultdict(int)
    every = [0, 0]  # the NULL rows: how many, the newest
    for month, source, count, newest in logged.all():
        if month is None:
            every = [every[0] + count, max(every[1], newest)]
        else:
            rows[(month, source in DEMAND_SOURCES)] += count
    claims = await claim_versions.month_versions(session, months)
    return {
        month: MonthVersions(
            (rows.get((month, False), 0), *every, claims[month], inventory_revision),
            (rows.get((month, True), 0), *every, inventory_revision),
        )
        for month in months
    }


# The log is emptied at night once it holds this many rows (a few days of a city's changes):
# pruning makes every process read every month once more, so it should not run by day.
PRUNE_ABOVE = 10_000
PRUNE_HOUR = 3  # 03:00-03:59, local time


async def prune_at_night(session: AsyncSession, local_now: datetime) -> int:
    """The worker's hourly call: prune when it is night and the log has grown."""
    if local_now.hour != PRUNE_HOUR:
        return 0
    rows = await session.scalar(select(func.count()).select_from(StatisticsChange))
    return await prune(session) if (rows or 0) > PRUNE_ABOVE else 0


async def prune(session: AsyncSession) -> int:
    """Empty the log and append one NULL row, whose id no earlier version holds (models.py);
    returns the rows removed. The worker runs it once a day, at night: it makes every process
    read every month once more. The NULL row comes first and the rows before it go: SQLite
    (no AUTOINCREMENT) numbers a row in an emptied table 1 again, so a row appended after
    the delete would repeat the id of an earlier prune's row, and a month changed between
    two prunes would keep the version it was cached at."""
    newest = await session.scalar(
        insert(StatisticsChange)
        .values(month=None, source=StatisticsChange.__tablename__)
        .returning(StatisticsChange.id)
    )
    removed = await session.execute(delete(StatisticsChange).where(StatisticsChange.id < newest))
    return int(getattr(removed, "rowcount", 0) or 0)
