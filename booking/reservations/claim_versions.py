"""A use month's claims version: what tells a process that its cached claims are stale.

Database triggers append the month of every change to claims to a log (ClaimChange, migration
0017); a month's version is its base (ClaimMonth) plus its rows in the log. A log and not a
counter row: every booking of a month once updated that month's one row, and held its lock
until commit, so on the opening day each booking of the rushed month waited for the one
before it. Appending takes no lock another writer waits for.

Why a count and not the newest id: a transaction may commit after one that drew a later id,
and its change would be missed; the count rises with every commit that changes the month,
in whatever order the commits land. Base and log are read in one statement (one snapshot),
and `fold` moves rows from the log into the base in one transaction, so every reader sees
the sum before or after a fold, never half of one: folding leaves every version as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy import BigInteger, cast, delete, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.upsert import insert_for
from booking.reservations.models import ClaimChange, ClaimMonth


async def month_versions(session: AsyncSession, months: Sequence[date]) -> dict[date, int]:
    """Each month's version (0 for a month no claim ever touched), in one statement."""
    both = union_all(
        select(ClaimMonth.month, ClaimMonth.version.label("n")).where(ClaimMonth.month.in_(months)),
        select(ClaimChange.month, func.count().label("n"))
        .where(ClaimChange.month.in_(months))
        .group_by(ClaimChange.month),
    ).subquery()
    rows = await session.execute(
        select(both.c.month, cast(func.sum(both.c.n), BigInteger)).group_by(both.c.month)
    )
    found: dict[date, int] = {month: int(version) for month, version in rows.all()}
    return {month: found.get(month, 0) for month in months}


async def fold(session: AsyncSession) -> int:
    """Move the log's rows into the months' bases (the worker's, every pass): the rows this
    transaction deletes are exactly the rows it counts, so a change committed meanwhile stays
    in the log, counted. Returns the rows moved."""
    # Rows another worker's fold holds are skipped (PostgreSQL), not waited for: two folds
    # deleting the same rows in different orders could deadlock. SQLite has one writer.
    mine = select(ClaimChange.id).with_for_update(skip_locked=True)
    gone = (
        await session.scalars(
            delete(ClaimChange).where(ClaimChange.id.in_(mine)).returning(ClaimChange.month)
        )
    ).all()
    if not gone:
        return 0
    insert = insert_for(session)
    added = insert(ClaimMonth).values(  # in the months' order: two folds never deadlock
        [{"month": month, "version": n} for month, n in sorted(Counter(gone).items())]
    )
    await session.execute(
        added.on_conflict_do_update(
            index_elements=[ClaimMonth.month],
            set_={"version": ClaimMonth.version + added.excluded.version},
        )
    )
    return len(gone)
