"""Issue 20: a use month's claims version is its base plus its rows in the claims' change log
(migration 0017), so bookings of one month no longer wait for each other, and still no cache
misses a committed claim: not across a fold of the log, not from a commit that lands late."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.models import Unit
from booking.reservations.claim_versions import fold, month_versions
from booking.reservations.claims_cache import ClaimsCache
from booking.reservations.models import Claim, ClaimChange, ClaimKind
from booking.settings import Settings
from tests.conftest import committed_database
from tests.races import Race, race_on

MARCH, APRIL = date(2031, 3, 1), date(2031, 4, 1)  # no other test's claims there
AT = datetime(2026, 12, 4, tzinfo=UTC)


async def _units(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Unit.id).order_by(Unit.id).limit(2))).all())


def _claim(unit: int, day: date, period: str = "10") -> Claim:
    return Claim(
        unit_id=unit, use_date=day, period_code=period, kind=ClaimKind.BOOKING, created_at=AT
    )


async def _add(session: AsyncSession, *claims: Claim) -> None:
    session.add_all(claims)
    await session.flush()


async def test_a_fold_leaves_every_version_as_it_was_and_the_cache_reads_nothing_again(
    session: AsyncSession,
) -> None:
    unit, _ = await _units(session)
    cache, months = ClaimsCache(), [MARCH, APRIL]
    await _add(session, _claim(unit, date(2031, 3, 3)), _claim(unit, date(2031, 4, 7)))
    before = await month_versions(session, months)
    read = await cache.months(session, MARCH, date(2031, 4, 30))

    assert await fold(session) >= 2
    assert await session.scalar(select(func.count()).select_from(ClaimChange)) == 0
    assert await month_versions(session, months) == before
    again = await cache.months(session, MARCH, date(2031, 4, 30))
    assert all(new is old for new, old in zip(again, read, strict=True))  # not fetched again

    # after the fold, each change moves its month again: a move, then a release
    await session.execute(
        update(Claim).where(Claim.use_date == date(2031, 3, 3)).values(use_date=date(2031, 4, 8))
    )
    moved = await month_versions(session, months)
    assert moved[MARCH] > before[MARCH]
    assert moved[APRIL] > before[APRIL]
    assert await fold(session) >= 2
    await session.execute(delete(Claim).where(Claim.use_date == date(2031, 4, 7)))
    released = await month_versions(session, months)
    assert released[MARCH] == moved[MARCH]
    assert released[APRIL] > moved[APRIL]
    march, april = await cache.months(session, MARCH, date(2031, 4, 30))
    assert march == {}
    assert april == {unit: {date(2031, 4, 8): "10:booking"}}


async def test_a_month_no_claim_touched_is_version_0(session: AsyncSession) -> None:
    assert await month_versions(session, [date(2032, 1, 1)]) == {date(2032, 1, 1): 0}


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "claim_versions") as settings:
        yield settings


@pytest.fixture
async def race(committed: Settings) -> AsyncIterator[Race]:
    async with race_on(committed) as race:
        yield race


@pytest.mark.engines("postgresql")  # SQLite has one writer: nothing to wait for there
async def test_bookings_of_one_month_do_not_wait_for_each_other(race: Race) -> None:
    """Red on 0002's counter row: the second insert waited for the first transaction's
    commit, on the month's row its trigger had updated."""
    units = await race.alone(_units)
    before = await race.alone(lambda s: month_versions(s, [MARCH]))

    await race.at_once(
        lambda s: _add(s, _claim(units[0], date(2031, 3, 10))),
        lambda s: _add(s, _claim(units[1], date(2031, 3, 10))),
        second_waits=False,
    )
    after = await race.alone(lambda s: month_versions(s, [MARCH]))
    assert after[MARCH] == before[MARCH] + 2


@pytest.mark.engines("postgresql")
async def test_a_commit_that_lands_late_is_never_missed(race: Race) -> None:
    """The first writer draws its log row's id before the second, commits after it, and a
    cache reads the month in between, and a fold runs in between: the late commit still moves
    the month's version (a count; the newest id would not have moved), so the cache reads it."""
    units = await race.alone(_units)
    cache = ClaimsCache()
    late = race.sessionmaker()
    try:
        await _add(late, _claim(units[0], date(2031, 3, 12)))  # open: not yet committed
        await race.alone(lambda s: _add(s, _claim(units[1], date(2031, 3, 12))))
        seen = (await race.alone(lambda s: cache.months(s, MARCH, MARCH)))[0]
        assert units[0] not in seen
        assert units[1] in seen
        assert await race.alone(fold) >= 1  # the late writer's row is not yet there to fold
        await late.commit()
    finally:
        await late.close()
    read = (await race.alone(lambda s: cache.months(s, MARCH, MARCH)))[0]
    assert read[units[0]] == {date(2031, 3, 12): "10:booking"}
    assert read[units[1]] == {date(2031, 3, 12): "10:booking"}


@pytest.mark.engines("postgresql")
async def test_two_folds_at_once_neither_waits_and_nothing_is_counted_twice(race: Race) -> None:
    units = await race.alone(_units)
    await race.alone(lambda s: _add(s, _claim(units[0], date(2031, 3, 14))))
    before = await race.alone(lambda s: month_versions(s, [MARCH]))
    second = await race.at_once(fold, fold, second_waits=False)
    assert second == 0  # the first holds the rows: the second skips them
    assert await race.alone(lambda s: month_versions(s, [MARCH])) == before
    assert await race.alone(fold) == 0


@pytest.mark.engines("postgresql")  # SQLite's triggers are per row
async def test_a_statement_logs_each_month_it_touched_once(session: AsyncSession) -> None:
    unit, other = await _units(session)
    await session.execute(delete(ClaimChange))
    rows = [
        {"unit_id": u, "use_date": date(2031, m, d), "period_code": "10", "kind": ClaimKind.BOOKING}
        for u in (unit, other)
        for m in (3, 4)
        for d in (3, 4, 5)
    ]
    await session.execute(insert(Claim).values([{**r, "created_at": AT} for r in rows]))
    logged = await session.scalars(select(ClaimChange.month).order_by(ClaimChange.id))
    assert logged.all() == [MARCH, APRIL]
    # a statement that changes no claim logs nothing
    await session.execute(delete(Claim).where(Claim.use_date == date(2031, 5, 1)))
    assert await session.scalar(select(func.count()).select_from(ClaimChange)) == 2
