"""Rows of the feed tests made with the ORM in the test's savepoint: bookings and lottery wins
of a place (a facility with two rooms, and a room of another facility)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.inventory.models import Room
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Booking, BookingStatus, PaymentStatus


@dataclass
class Place:
    facility: int
    room: int
    same_facility_room: int
    other_facility: int
    other_room: int


async def find_place(session: AsyncSession) -> Place:
    rooms = (await session.execute(select(Room.facility_id, Room.id).order_by(Room.id))).all()
    by_facility: dict[int, list[int]] = {}
    for facility, room in rooms:
        by_facility.setdefault(facility, []).append(room)
    two = next(f for f, found in by_facility.items() if len(found) >= 2)
    other = next(f for f in by_facility if f != two)
    first, second = by_facility[two][:2]
    return Place(two, first, second, other, by_facility[other][0])


class Rows:
    def __init__(self, session: AsyncSession, clock: FrozenClock) -> None:
        self.session, self.clock = session, clock

    async def booking(
        self,
        group: int,
        room: int,
        facility: int,
        day: date,
        status: BookingStatus = BookingStatus.CONFIRMED,
        updated_at: datetime | None = None,
    ) -> int:
        row = Booking(
            group_id=group,
            room_id=room,
            facility_id=facility,
            use_date=day,
            period_codes=["10"],
            status=status,
            purpose="meeting",
            headcount=3,
            fee_total=0,
            fee_breakdown={},
            payment_status=PaymentStatus.WAIVED,
            channel="counter",
            created_at=self.clock.now(),
            updated_at=updated_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def win(
        self,
        group: int,
        place: Place,
        day: date,
        status: ApplicationStatus = ApplicationStatus.WON,
        settled_at: datetime | None = None,
    ) -> int:
        row = LotteryApplication(
            use_month=day.replace(day=1),
            group_id=group,
            room_id=place.room,
            facility_id=place.facility,
            use_date=day,
            period_codes=["20"],
            purpose="meeting",
            headcount=5,
            status=status,
            created_at=self.clock.now(),
            settled_at=settled_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id
