"""A draw's reads and writes in bulk: its applications, the month's claims, the outcomes and
the wins' claims.

A city's draw is 100,000 applications; row by row through the ORM that was most of its 7 s.
On PostgreSQL each step is one statement through asyncpg in the draw's transaction (COPY for
the claims, an UPDATE joined to arrays for the outcomes); on SQLite the same through the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from booking.lottery.draw import Entry, Outcome, Slot
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Claim, ClaimKind

_APPLICATIONS_SQL = """
SELECT id, group_id, room_id, use_date, period_codes::text
FROM lottery_applications
WHERE use_month = $1 AND facility_id = $2 AND status = 'applied'
"""

_CLAIMED_SQL = """
SELECT unit_id, use_date, period_code FROM claims
WHERE unit_id = ANY($1::int[]) AND use_date >= $2 AND use_date < $3
"""

# By id, as the ORM path does; month and facility let PostgreSQL find the rows by index
# instead of scanning every month's applications for each facility.
_OUTCOMES_SQL = """
UPDATE lottery_applications AS a
SET status = CASE WHEN o.won THEN 'won' ELSE 'lost' END,
    position = o.position,
    lose_reason = o.reason,
    settled_at = CASE WHEN o.won THEN NULL ELSE $5::timestamptz END
FROM unnest($1::int[], $2::bool[], $3::int[], $4::text[]) AS o(id, won, position, reason)
WHERE a.id = o.id AND a.use_month = $6 AND a.facility_id = $7
"""

_CLAIM_COLUMNS = ("unit_id", "use_date", "period_code", "kind", "owner_id", "created_at")


async def _driver(session: AsyncSession) -> Any | None:
    """The asyncpg connection under the session's transaction, or None on another engine."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return None
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def read_entries(
    session: AsyncSession,
    use_month: date,
    facility_id: int,
    units_of_room: dict[int, tuple[int, ...]],
) -> list[Entry]:
    """The facility's applications still applied for the month, as the draw sees them."""
    driver = await _driver(session)
    if driver is None:
        rows: Sequence[Any] = (
            await session.execute(
                select(
                    LotteryApplication.id,
                    LotteryApplication.group_id,
                    LotteryApplication.room_id,
                    LotteryApplication.use_date,
                    LotteryApplication.period_codes,
                ).where(
                    LotteryApplication.use_month == use_month,
                    LotteryApplication.facility_id == facility_id,
                    LotteryApplication.status == ApplicationStatus.APPLIED,
                )
            )
        ).all()
        return [
            Entry(i, group, room, day, tuple(codes), units_of_room[room])
            for i, group, room, day, codes in rows
        ]
    rows = await driver.fetch(_APPLICATIONS_SQL, use_month, facility_id)
    # A month has a few thousand distinct period lists: parse each once.
    periods: dict[str, tuple[str, ...]] = {}
    entries = []
    for i, group, room, day, text in rows:
        codes = periods.get(text)
        if codes is None:
            codes = periods[text] = tuple(json.loads(text))
        entries.append(Entry(i, group, room, day, codes, units_of_room[room]))
    return entries


async def read_claimed(
    session: AsyncSession, units: Sequence[int], first: date, end: date
) -> set[Slot]:
    """Every (unit, date, period) of these units claimed from `first` to before `end`."""
    driver = await _driver(session)
    if driver is not None:
        rows: Sequence[Any] = await driver.fetch(_CLAIMED_SQL, list(units), first, end)
    else:
        rows = (
            await session.execute(
                select(Claim.unit_id, Claim.use_date, Claim.period_code).where(
                    Claim.unit_id.in_(units), Claim.use_date >= first, Claim.use_date < end
                )
            )
        ).all()
    return {(unit, day, code) for unit, day, code in rows}


async def write_outcomes(
    session: AsyncSession,
    use_month: date,
    facility_id: int,
    outcomes: Sequence[Outcome],
    now: datetime,
) -> None:
    """Each application won or lost, its place in the order and why it lost."""
    if not outcomes:
        return
    driver = await _driver(session)
    if driver is None:
        await session.execute(
            update(LotteryApplication),
            [
                {
                    "id": o.id,
                    "status": ApplicationStatus.WON if o.won else ApplicationStatus.LOST,
                    "position": o.position,
                    "lose_reason": o.reason,
                    "settled_at": None if o.won else now,
                }
                for o in outcomes
            ],
        )
        return
    _synchronize(session, outcomes, now)
    await driver.execute(
        _OUTCOMES_SQL,
        [o.id for o in outcomes],
        [o.won for o in outcomes],
        [o.position for o in outcomes],
        [o.reason for o in outcomes],
        now,
        use_month,
        facility_id,
    )


def _synchronize(session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> None:
    """As the ORM's bulk UPDATE does on SQLite: applications the session holds already get the
    values written behind its back, or a caller of the same session would read them stale."""
    by_id = {o.id: o for o in outcomes}
    for held in list(session.identity_map.values()):
        if not isinstance(held, LotteryApplication):
            continue
        identity = inspect(held).identity
        outcome = by_id.get(identity[0]) if identity else None
        if outcome is None:
            continue
        status = ApplicationStatus.WON if outcome.won else ApplicationStatus.LOST
        set_committed_value(held, "status", status)
        set_committed_value(held, "position", outcome.position)
        set_committed_value(held, "lose_reason", outcome.reason)
        set_committed_value(held, "settled_at", None if outcome.won else now)


def win_claims(outcomes: Sequence[Outcome], by_id: dict[int, Entry]) -> list[tuple[Slot, int]]:
    """The winners' slots with their application, in (date, unit, period) order. Unsorted, a
    draw's claims could lock index entries in an order crossing a booking's, and PostgreSQL
    would now and then end one of them in a deadlock."""
    wins = [(slot, o.id) for o in outcomes if o.won for slot in by_id[o.id].slots()]
    return sorted(wins, key=lambda win: (win[0][1], win[0][0], win[0][2]))


async def write_claims(
    session: AsyncSession, wins: Sequence[tuple[Slot, int]], now: datetime
) -> None:
    """The wins' claims (kind lottery_win), written in the order given."""
    if not wins:
        return
    driver = await _driver(session)
    if driver is None:
        await session.execute(
            insert(Claim),
            [
                {
                    "unit_id": unit,
                    "use_date": day,
                    "period_code": code,
                    "kind": ClaimKind.LOTTERY_WIN,
                    "owner_id": owner,
                    "created_at": now,
                }
                for (unit, day, code), owner in wins
            ],
        )
        return
    await driver.copy_records_to_table(
        "claims",
        records=[
            (unit, day, code, ClaimKind.LOTTERY_WIN.value, owner, now)
            for (unit, day, code), owner in wins
        ],
        columns=_CLAIM_COLUMNS,
    )
