"""Claims through their service functions (issue 15): what a refusal names, and how many a
release frees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.errors import Conflict
from booking.inventory.network import RoomInfo
from booking.reservations.claims import claim_slots, release_claims
from booking.reservations.models import ClaimKind
from tests.people import World
from tests.places import Hall, open_weekday


def room(hall: Hall, room_id: int | None) -> RoomInfo:
    found = next((r for r in hall.snapshot.rooms if r.id == room_id), None)
    assert found is not None
    return found


async def refusal(session: AsyncSession, clock: FrozenClock, *args: object) -> str:
    with pytest.raises(Conflict) as raised:
        await claim_slots(session, clock, *args)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.field) == ("slot_taken", "period_codes")
    return str(raised.value)


async def test_a_refused_claim_names_the_first_taken_period_and_why(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    single = room(hall, hall.room_id)
    day = hall.day
    # 夜間 claimed before 午後: the refusal still names the first period of the day.
    await claim_slots(session, clock, single, day, ["30"], ClaimKind.BOOKING, 9001)
    await claim_slots(session, clock, single, day, ["20"], ClaimKind.HOLD, 9002)
    said = await refusal(session, clock, single, day, ["10", "20", "30"], ClaimKind.BOOKING, 1)
    assert said == f"{single.name_ja} {day.isoformat()} 午後 is already taken"
    await claim_slots(session, clock, single, day, ["10"], ClaimKind.BLOCK, 9003)
    said = await refusal(session, clock, single, day, ["10"], ClaimKind.BOOKING, 1)
    assert said == f"{single.name_ja} {day.isoformat()} 午前 is blocked by the facility"

    # A combined room refused because of one of its parts says so.
    combined, part = room(hall, hall.combined_room_id), room(hall, hall.part_room_id)
    other = open_weekday(hall.snapshot, combined.facility_id, day + timedelta(days=1))
    await claim_slots(session, clock, part, other, ["20"], ClaimKind.BOOKING, 9004)
    said = await refusal(session, clock, combined, other, ["20"], ClaimKind.BOOKING, 1)
    assert said == (
        f"{combined.name_ja} {other.isoformat()} 午後 is already taken"
        " (a room sharing part of it is in use)"
    )
    # Across units too: the first unit's 夜間 and the last unit's 午後 taken, 午後 is named.
    first, last = min(combined.unit_ids), max(combined.unit_ids)
    parts = {r.unit_ids: r for r in hall.snapshot.rooms if r.facility_id == combined.facility_id}
    third = open_weekday(hall.snapshot, combined.facility_id, other + timedelta(days=1))
    await claim_slots(session, clock, parts[(first,)], third, ["30"], ClaimKind.BOOKING, 9005)
    await claim_slots(session, clock, parts[(last,)], third, ["20"], ClaimKind.BOOKING, 9006)
    said = await refusal(session, clock, combined, third, ["20", "30"], ClaimKind.BOOKING, 1)
    assert said.startswith(f"{combined.name_ja} {third.isoformat()} 午後 is already taken")


async def test_a_release_frees_the_owners_claims_of_the_kinds_named_and_names_them(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    combined = room(hall, hall.combined_room_id)
    day = open_weekday(hall.snapshot, combined.facility_id, hall.day)
    await claim_slots(session, clock, combined, day, ["10", "20"], ClaimKind.HOLD, 9001)
    units = len(combined.unit_ids)
    assert await release_claims(session, [ClaimKind.BOOKING], 9001) == []  # not of that kind
    assert await release_claims(session, [ClaimKind.HOLD], 9002) == []  # not that owner
    freed = await release_claims(session, [ClaimKind.BOOKING, ClaimKind.HOLD], 9001)
    # the slots it held, each once, for the wait list's hand-on
    assert sorted(freed) == sorted(
        (unit, day, code) for unit in combined.unit_ids for code in ("10", "20")
    )
    assert len(freed) == 2 * units
    assert await release_claims(session, [ClaimKind.HOLD], 9001) == []  # once
