"""Bookable things for booking tests: a civic-hall room with fees, a date in its first-come
window on which the hall is open, and a manager of that hall (beside the accounts world)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import StaffRole
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.inventory.calendar import DayType, day_type
from booking.inventory.models import Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.reservations.bookings import is_closed
from tests.people import PASSWORD, World


@dataclass
class Hall:
    snapshot: NetworkSnapshot
    facility_id: int
    room_id: int  # one unit, fees per period, any purpose
    combined_room_id: int | None  # a room spanning several units of the same hall, if any
    part_room_id: int | None  # one of its parts
    day: date  # a weekday in the first-come window, hall open
    fees: dict[str, int]
    capacity: int
    manager: dict[str, str]  # the hall manager's cookie and CSRF headers
    manager_id: int


def open_weekday(snapshot: NetworkSnapshot, facility_id: int, start: date) -> date:
    facility = snapshot.facilities[facility_id]
    for offset in range(60):
        day = start + timedelta(days=offset)
        if day_type(day) is DayType.WEEKDAY and not is_closed(snapshot, facility, day):
            return day
    raise AssertionError(f"{facility.name_ja} is closed for two months from {start}")


@pytest.fixture
async def hall(world: World, session: AsyncSession, clock: FrozenClock) -> Hall:
    snapshot = await SnapshotCache().get(session)
    rows = {row.id: row for row in await session.scalars(select(Room))}  # one query, not one a room
    candidates = []
    for room in snapshot.rooms:
        facility = snapshot.facilities[room.facility_id]
        row = rows[room.id]
        if (
            facility.kind == "civic_hall"
            and room.online_bookable
            and len(room.unit_ids) == 1
            and row.fees
            and row.purposes is None
            and (room.capacity or 0) >= 20
            and facility.closes_on is None
            and not is_closed(snapshot, facility, date(2026, 11, 26))
        ):
            candidates.append((room, row))
    room, row = candidates[0]
    combined = part = None
    for other in snapshot.rooms:
        if len(other.unit_ids) > 1 and other.online_bookable:
            combined = other.id
            part = next(
                r.id
                for r in snapshot.rooms
                if r.id != other.id and set(r.unit_ids) < set(other.unit_ids)
            )
            break
    manager = await grant_staff_role(
        session,
        clock,
        world.settings,
        SYSTEM,
        email="hall@city.example",
        name="市民館",
        role=StaffRole.MANAGER,
        facility_ids=[room.facility_id],
        password=PASSWORD,
    )
    opened = await open_session(session, clock, world.settings, manager.id)
    await session.commit()
    return Hall(
        snapshot=snapshot,
        facility_id=room.facility_id,
        room_id=room.id,
        combined_room_id=combined,
        part_room_id=part,
        day=open_weekday(snapshot, room.facility_id, date(2027, 2, 8)),
        fees=dict(row.fees or {}),
        capacity=room.capacity or 0,
        manager={
            "Cookie": f"booking_session={opened.cookie_value}",
            "X-CSRF-Token": opened.csrf_token,
        },
        manager_id=manager.id,
    )


async def template_room(session: AsyncSession) -> Room:
    """A room made from its kind's room template (an estimate as a whole, no source) whose fees
    are not all free, so their ≈ shows."""
    rooms = (await session.scalars(select(Room).where(Room.active).order_by(Room.id))).all()
    return next(
        r for r in rooms if r.is_estimated and not r.sources and r.fees and any(r.fees.values())
    )
