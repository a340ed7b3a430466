"""Reading bookings: a group's own, a facility's for a date range (and their CSV lines)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_facility
from booking.accounts.groups import get_group
from booking.accounts.models import Group
from booking.errors import InvalidInput, NotFound
from booking.inventory.calendar import usable_day
from booking.reservations.models import Booking, BookingStatus
from booking.web.spreadsheet import Cell

MAX_EXPORT_DAYS = 366


async def group_bookings(
    session: AsyncSession, principal: Principal, group_id: int, bucket: str | None, today: date
) -> Sequence[Booking]:
    """Upcoming (soonest first), past (latest first) or cancelled bookings of one group."""
    group = await get_group(session, group_id)
    if principal.role_in(group.id) is None and not principal.staff_for(group):
        raise NotFound(f"no group {group_id}", field="group_id", code="group_not_found")
    stmt = select(Booking).where(Booking.group_id == group.id)
    if bucket == "cancelled":
        stmt = stmt.where(Booking.status == BookingStatus.CANCELLED).order_by(
            Booking.use_date.desc()
        )
    elif bucket == "past":
        stmt = stmt.where(
            Booking.status != BookingStatus.CANCELLED, Booking.use_date < today
        ).order_by(Booking.use_date.desc())
    elif bucket == "upcoming":
        stmt = stmt.where(
            Booking.status != BookingStatus.CANCELLED, Booking.use_date >= today
        ).order_by(Booking.use_date)
    else:
        stmt = stmt.order_by(Booking.use_date.desc())
    return (await session.scalars(stmt.order_by(Booking.id))).all()


async def facility_bookings(
    session: AsyncSession, principal: Principal, facility_id: int, start: date, end: date
) -> Sequence[tuple[Booking, Group]]:
    require_facility(principal, facility_id)
    usable_day(start, "from")
    usable_day(end, "to")
    if end < start:
        raise InvalidInput("to is before from", field="to")
    if (end - start).days >= MAX_EXPORT_DAYS:
        raise InvalidInput(f"at most {MAX_EXPORT_DAYS} days", field="to")
    stmt = (
        select(Booking, Group)
        .join(Group, Group.id == Booking.group_id)
        .where(
            Booking.facility_id == facility_id,
            Booking.use_date >= start,
            Booking.use_date <= end,
        )
        .order_by(Booking.use_date, Booking.room_id, Booking.id)
    )
    return [(b, g) for b, g in (await session.execute(stmt)).all()]


CSV_COLUMNS = (
    "booking_id",
    "use_date",
    "room_id",
    "periods",
    "status",
    "group_id",
    "group_name",
    "card_number",
    "purpose",
    "headcount",
    "event_name",
    "fee_total",
    "payment_status",
    "payment_method",
    "cancellation_charge",
    "channel",
)


def csv_rows(rows: Sequence[tuple[Booking, Group]]) -> Iterator[list[Cell]]:
    """One line per booking under CSV_COLUMNS, for booking.web.spreadsheet to write."""
    for booking, group in rows:
        yield [
            booking.id,
            booking.use_date.isoformat(),
            booking.room_id,
            "+".join(booking.period_codes),
            booking.status.value,
            group.id,
            group.name,
            group.card_number,
            booking.purpose,
            booking.headcount,
            booking.event_name,
            booking.fee_total,
            booking.payment_status.value,
            booking.payment_method,
            booking.cancellation_charge or None,
            booking.channel,
        ]
