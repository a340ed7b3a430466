"""Writing and releasing claims: the rows that make a double booking impossible.

The unique constraint on (unit, date, period) decides every race between two writers.
A booking's claims (a hold's too) are written with it (booking_writes.py: in its one
statement on PostgreSQL, by `claim_slots` on SQLite) and a lost slot is named; `insert_claims`
(blocks, series, offers: many rows) looks first, then inserts in a savepoint so that the
loser, once the winner has committed, can look again and name the slot it lost, as the 409
of a check does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
from booking.db.errors import constraint_of
from booking.db.upsert import insert_for
from booking.errors import Conflict
from booking.inventory.network import RoomInfo
from booking.reservations.models import Claim, ClaimKind


def slot_label(room: RoomInfo, use_date: date, period_code: str) -> str:
    names = {p.code: p.name_ja for p in room.grid.periods}
    return f"{room.name_ja} {use_date.isoformat()} {names.get(period_code, period_code)}"


async def claim_slots(
    session: AsyncSession,
    clock: Clock,
    room: RoomInfo,
    use_date: date,
    periods: Sequence[str],
    kind: ClaimKind,
    owner_id: int,
) -> None:
    """One claim per unit of the room and period: all or nothing, on either engine (a booking
    on SQLite; on PostgreSQL a booking's claims are in its own statement: booking_writes.py).

    One INSERT ... ON CONFLICT DO NOTHING: the unique constraint still decides, but a free
    slot needs no look-up first. When some were not written, those that were are deleted
    again and the taken slot is named."""
    slots = [(unit_id, code) for unit_id in room.unit_ids for code in periods]
    common = {"use_date": use_date, "kind": kind, "owner_id": owner_id, "created_at": clock.now()}
    rows = [{**common, "unit_id": unit_id, "period_code": code} for unit_id, code in slots]
    dialect_insert = insert_for(session)
    found = await session.execute(
        dialect_insert(CLAIMS)
        .values(rows)
        .on_conflict_do_nothing(index_elements=_CLAIM_KEY)
        .returning(CLAIMS.c.id, CLAIMS.c.period_code)
    )
    written = found.all()
    if len(written) == len(slots):
        return
    if written:  # not to be found as taken below (the caller's savepoint undoes the rest)
        await session.execute(delete(CLAIMS).where(CLAIMS.c.id.in_([row[0] for row in written])))
    conflict = await taken(session, room, use_date, periods)
    if conflict is None:  # released again since: still this request's loss, named
        missing = Counter(code for _, code in written)
        first = next(code for code in periods if missing[code] < len(room.unit_ids))
        conflict = taken_as(room, use_date, first, ClaimKind.BOOKING)
    raise conflict


CLAIMS = cast("Table", Claim.__table__)
_CLAIM_KEY = ["unit_id", "use_date", "period_code"]


async def taken(
    session: AsyncSession, room: RoomInfo, use_date: date, periods: Sequence[str]
) -> Conflict | None:
    """The first of these slots claimed now, as a refusal naming it."""
    found = (
        await session.execute(
            select(Claim.unit_id, Claim.period_code, Claim.kind)
            .where(
                Claim.unit_id.in_(room.unit_ids),
                Claim.use_date == use_date,
                Claim.period_code.in_(periods),
            )
            .order_by(Claim.period_code)
            .limit(1)
        )
    ).first()
    return None if found is None else taken_as(room, use_date, found[1], found[2])


def taken_as(room: RoomInfo, use_date: date, period_code: str, kind: ClaimKind) -> Conflict:
    what = "blocked by the facility" if kind is ClaimKind.BLOCK else "already taken"
    return Conflict(
        f"{slot_label(room, use_date, period_code)} is {what}"
        + (" (a room sharing part of it is in use)" if len(room.unit_ids) > 1 else ""),
        field="period_codes",
        code="slot_taken",
    )


# The unique constraint on (unit, date, period), as each engine names it (booking/db/errors.py).
CLAIM_CONSTRAINTS = frozenset(
    {
        "uq_claims_unit_id_use_date_period_code",
        "claims.unit_id, claims.use_date, claims.period_code",
    }
)


async def insert_claims(
    session: AsyncSession,
    claims: Iterable[Claim],
    taken: Callable[[], Awaitable[Conflict | None]],
) -> None:
    """Write claims; when a concurrent writer got one of the slots first, answer what `taken`
    finds now (the winner has committed by the time the constraint fails), naming the slot."""
    await insert_claim_batches(session, [claims], taken)


async def insert_claim_batches(
    session: AsyncSession,
    batches: Iterable[Iterable[Claim]],
    taken: Callable[[], Awaitable[Conflict | None]],
) -> None:
    """`insert_claims` with each batch flushed on its own (its own INSERT statements), all in
    one savepoint: a writer of many months keeps each month within one statement, which logs
    the month's change once (series.py month_batches says why)."""
    try:
        async with session.begin_nested():
            for batch in batches:
                session.add_all(batch)
                await session.flush()
    except IntegrityError as exc:
        if constraint_of(exc) not in CLAIM_CONSTRAINTS:
            raise
        conflict = await taken()
        if conflict is None:  # released again in between: still this request's loss
            raise
        raise conflict from exc


# A freed (unit, use date, period): what a release hands to the wait list (waitlist/offers.py).
Freed = tuple[int, date, str]


async def release_claims(
    session: AsyncSession, kinds: Sequence[ClaimKind], owner_id: int
) -> list[Freed]:
    """Delete the owner's claims of these kinds; the slots they held, for the wait list."""
    result = await session.execute(
        delete(Claim)
        .where(Claim.kind.in_(kinds), Claim.owner_id == owner_id)
        .returning(Claim.unit_id, Claim.use_date, Claim.period_code)
    )
    return [(unit, day, code) for unit, day, code in result.all()]
