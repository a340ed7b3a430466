"""Writing and releasing claims: the rows that make a double booking impossible.

`claim_slots` first looks for a live claim on the slots to name the taken one in its error;
the unique constraint on (unit, date, period) still decides a race between two writers (the
loser's transaction fails and answers 409, see booking/db/errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
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
    """One claim per unit of the room and period: all or nothing."""
    taken = (
        await session.execute(
            select(Claim.unit_id, Claim.period_code, Claim.kind)
            .where(
                Claim.unit_id.in_(room.unit_ids),
                Claim.use_date == use_date,
                Claim.period_code.in_(periods),
            )
            .limit(1)
        )
    ).first()
    if taken is not None:
        what = "blocked by the facility" if taken[2] is ClaimKind.BLOCK else "already taken"
        raise Conflict(
            f"{slot_label(room, use_date, taken[1])} is {what}"
            + (" (a room sharing part of it is in use)" if len(room.unit_ids) > 1 else ""),
            field="period_codes",
            code="slot_taken",
        )
    now = clock.now()
    session.add_all(
        Claim(
            unit_id=unit_id,
            use_date=use_date,
            period_code=code,
            kind=kind,
            owner_id=owner_id,
            created_at=now,
        )
        for unit_id in room.unit_ids
        for code in periods
    )
    await session.flush()


async def release_claims(session: AsyncSession, kinds: Sequence[ClaimKind], owner_id: int) -> int:
    result = await session.execute(
        delete(Claim).where(Claim.kind.in_(kinds), Claim.owner_id == owner_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)
