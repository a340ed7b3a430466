"""Small helpers shared by tests: Tokyo time, rows by key, claims written as later issues will."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.models import Facility, Room, Unit
from booking.reservations.models import Claim, ClaimKind


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of `day` at hour:minute in Tokyo (UTC+9, no summer time)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=9)


async def facility_id(session: AsyncSession, key: str) -> int:
    found = await session.scalar(select(Facility.id).where(Facility.key == key))
    assert found is not None, key
    return found


async def room_id(session: AsyncSession, facility_key: str, room_key: str) -> int:
    found = await session.scalar(
        select(Room.id)
        .join(Facility, Facility.id == Room.facility_id)
        .where(Facility.key == facility_key, Room.key == room_key)
    )
    assert found is not None, (facility_key, room_key)
    return found


async def claim(
    session: AsyncSession,
    facility_key: str,
    unit_key: str,
    day: date,
    period: str,
    kind: ClaimKind = ClaimKind.BOOKING,
) -> None:
    unit = await session.scalar(
        select(Unit.id)
        .join(Facility, Facility.id == Unit.facility_id)
        .where(Facility.key == facility_key, Unit.key == unit_key)
    )
    assert unit is not None, (facility_key, unit_key)
    session.add(
        Claim(
            unit_id=unit,
            use_date=day,
            period_code=period,
            kind=kind,
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
    )
    await session.flush()
