"""Issue 19: the cached counts stay true. Each change a figure depends on moves its month's
version (migration 0014's triggers, per engine; the claims' month versions; the inventory
revision), so the process's CountsCache reads the month again: the second read differs from the
first and equals a fresh read of the rows. And the log's pruning never lets a stale month through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import Group, GroupCategory, StaffRole
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations import blocks
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.statistics.counts import CountsCache, MonthCounts, read_month
from booking.statistics.models import StatisticsChange
from booking.statistics.versions import MonthVersions, month_versions, prune
from tests.conftest import Database
from tests.people import PASSWORD, principal
from tests.statistics.small_world import JANUARY, Place, add_booking, add_entry, jan, january

Counts = tuple[object, ...]
Change = Callable[[AsyncSession, Database, FrozenClock, Place], Awaitable[None]]


def content(counts: MonthCounts) -> Counts:
    """What a month's counts say (copied: a stale cache hands back the very same object)."""
    return (
        counts.month,
        {key: list(values) for key, values in counts.slots.items()},
        {key: list(values) for key, values in counts.uses.items()},
        dict(counts.groups_booking),
        dict(counts.groups_applying),
    )


async def january_of(
    cache: CountsCache, session: AsyncSession, network: NetworkSnapshot, database: Database
) -> MonthCounts:
    (found,) = await cache.months(session, network, [JANUARY], database.settings.tz)
    return found


async def booking_of(session: AsyncSession, w: Place, room: int, day: date) -> Booking:
    found = await session.get(Booking, await _one_id(session, Booking, w, room, day))
    assert found is not None
    return found


async def _one_id(
    session: AsyncSession, model: type[Booking | LotteryApplication], w: Place, room: int,
    day: date,
) -> int:  # fmt: skip
    ids = (
        await session.scalars(
            select(model.id).where(model.room_id == room, model.use_date == day).order_by(model.id)
        )
    ).all()
    return ids[0]


async def admin(session: AsyncSession, database: Database, clock: FrozenClock) -> Principal:
    user = await grant_staff_role(
        session,
        clock,
        database.settings,
        SYSTEM,
        email="statistics-admin@city.example",
        name="統計",
        role=StaffRole.ADMIN,
        password=PASSWORD,
    )
    return await principal(session, user.id)


# The changes, each to rows a January figure counts.
async def booking_added(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    await add_booking(s, w, "a", w.p1, jan(20), ["10"])


async def booking_cancelled(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    # B3, the no-show of 9 January: cancelled by the facility after all
    row = await booking_of(s, w, w.p2, jan(9))
    row.status, row.cancel_cause = BookingStatus.CANCELLED, "facility"
    await s.flush()


async def booking_paid(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    row = await booking_of(s, w, w.p2, jan(9))  # B3, unpaid
    row.payment_status = PaymentStatus.PAID
    await s.flush()


async def application_withdrawn(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    found = await s.get(LotteryApplication, await _one_id(s, LotteryApplication, w, w.p1, jan(15)))
    assert found is not None
    found.status = ApplicationStatus.WITHDRAWN
    await s.flush()


async def entry_added(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    await add_entry(s, w, "a", w.green, jan(12), ["30"])


async def category_changed(s: AsyncSession, _d: Database, _c: FrozenClock, w: Place) -> None:
    await s.execute(
        update(Group).where(Group.id == w.groups["a"]).values(category=GroupCategory.EXEMPT)
    )


async def block_added(s: AsyncSession, d: Database, c: FrozenClock, w: Place) -> None:
    await blocks.create_block(
        s,
        c,
        w.network,
        await admin(s, d, c),
        blocks.BlockRequest(w.p1, jan(21), jan(21), ["30"], "maintenance"),
    )


async def closure_added(s: AsyncSession, d: Database, c: FrozenClock, w: Place) -> None:
    await blocks.close_dates(
        s, c, d.settings, await admin(s, d, c), w.facility, start=jan(21), end=jan(21), note=None
    )


CHANGES: dict[str, Change] = {
    "booking added": booking_added,
    "booking cancelled": booking_cancelled,
    "booking paid": booking_paid,
    "lottery application withdrawn": application_withdrawn,
    "wait-list entry added": entry_added,
    "group's category changed": category_changed,
    "block added (claims)": block_added,
    "closure added (inventory revision)": closure_added,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_is_read_again(
    session: AsyncSession, database: Database, clock: FrozenClock, change: str
) -> None:
    w = await january(session)
    cache = CountsCache()
    before = content(await january_of(cache, session, w.network, database))
    # read twice, nothing changed: the cache's own object
    assert await january_of(cache, session, w.network, database) is await january_of(
        cache, session, w.network, database
    )
    await CHANGES[change](session, database, clock, w)
    network = await SnapshotCache().get(session)  # a closure moves the inventory's revision
    after = content(await january_of(cache, session, network, database))
    assert after != before
    assert after == content(await read_month(session, network, JANUARY, database.settings.tz))


async def test_pruning_moves_every_version_and_serves_nothing_stale(
    session: AsyncSession, database: Database
) -> None:
    w = await january(session)
    tz = database.settings.tz
    months = [JANUARY, date(2027, 2, 1)]
    cache = CountsCache()
    versions = await month_versions(session, months, w.network.revision)
    await prune(session)
    pruned = await month_versions(session, months, w.network.revision)
    assert all(pruned[m] != versions[m] for m in months)
    # read just after a prune; a booking; pruned again before anyone reads: the month's log
    # is empty again both times, and still its version moved
    before = content(await january_of(cache, session, w.network, database))
    await add_booking(session, w, "a", w.p1, jan(20), ["10"])
    await prune(session)
    after = content(await january_of(cache, session, w.network, database))
    assert after != before
    assert after == content(await read_month(session, w.network, JANUARY, tz))
    # and once more, with a second change
    await add_booking(session, w, "a", w.p1, jan(21), ["10"])
    await prune(session)
    assert content(await january_of(cache, session, w.network, database)) == content(
        await read_month(session, w.network, JANUARY, tz)
    )


async def test_a_months_versions_count_its_own_rows_and_every_null_row(
    session: AsyncSession,
) -> None:
    """Each month's booking and demand versions count that month's rows of their sources
    alone, plus the NULL rows (how many, the newest id), its claims' version and the
    inventory revision. Months of 2031: no claim and no trigger's row there."""
    await session.execute(delete(StatisticsChange))
    may, june, july = date(2031, 5, 1), date(2031, 6, 1), date(2031, 7, 1)
    bare = await month_versions(session, [may], 7)
    assert bare[may] == MonthVersions((0, 0, 0, 0, 7), (0, 0, 0, 7))

    def log(month: date | None, source: str, rows: int) -> list[dict[str, object]]:
        return [{"month": month, "source": source}] * rows

    await session.execute(
        insert(StatisticsChange),
        log(may, "bookings", 2)
        + log(may, "lottery_applications", 1)
        + log(may, "waitlist_entries", 3)
        + log(june, "bookings", 1)
        + log(None, "groups", 2)
        + log(None, "statistics_changes", 1),
    )
    newest = await session.scalar(select(func.max(StatisticsChange.id)))
    assert newest is not None
    found = await month_versions(session, [may, june, july], 7)
    assert found[may] == MonthVersions((2, 3, newest, 0, 7), (4, 3, newest, 7))
    assert found[june] == MonthVersions((1, 3, newest, 0, 7), (0, 3, newest, 7))
    assert found[july] == MonthVersions((0, 3, newest, 0, 7), (0, 3, newest, 7))


async def test_pruning_an_empty_log_removes_nothing(session: AsyncSession) -> None:
    await session.execute(delete(StatisticsChange))
    assert await prune(session) == 0
    assert await prune(session) == 1  # the first prune's NULL row
    months = (await session.scalars(select(StatisticsChange.month))).all()
    assert months == [None]
