"""The usage permit (利用許可書) of a final booking: numbered on its first issue and kept.

Only a confirmed booking is final (a lottery win becomes one when the group confirms it);
held, pending and cancelled bookings have no permit. The permit's number comes from the
facility's counter of the fiscal year of the first issue; its verification code is an HMAC of
the permit's facts with the server's secret, so staff can check a printed permit against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.audit.service import record
from booking.calendars.feeds import purpose_names
from booking.clock import Clock, local_today
from booking.documents.codes import PERMIT, document_number, signed_code
from booking.documents.models import Permit
from booking.documents.numbering import fiscal_year, next_number
from booking.errors import Conflict
from booking.inventory.network import NetworkSnapshot
from booking.reservations.changes import get_booking
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.settings import Settings


@dataclass(frozen=True, slots=True)
class PeriodLine:
    name_ja: str
    name_en: str
    start: str  # "09:00"
    end: str


@dataclass(frozen=True, slots=True)
class PermitFacts:
    """Everything a permit prints, in both languages where the data has both."""

    number: str
    verification_code: str
    issued_on: date
    facility_ja: str
    facility_en: str
    room_ja: str
    room_en: str
    use_date: date
    periods: tuple[PeriodLine, ...]
    group_name: str
    purpose_ja: str
    purpose_en: str
    event_name: str | None
    headcount: int
    fee_total: int
    payment_status: PaymentStatus


def verification_code(settings: Settings, booking: Booking, number: str) -> str:
    """The permit's code: signed over what it permits, so a changed booking no longer checks."""
    return signed_code(
        settings,
        [
            "permit",
            number,
            str(booking.id),
            str(booking.facility_id),
            str(booking.room_id),
            booking.use_date.isoformat(),
            ",".join(booking.period_codes),
            str(booking.group_id),
            str(booking.headcount),
            str(booking.fee_total),
        ],
    )


async def issue_permit(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
) -> PermitFacts:
    """The permit of a booking its group's members and the facility's staff may see (others:
    booking_not_found), numbered on the first issue in a transaction of its own (a GET reads
    in autocommit): the booking's row lock makes two first issues of one booking give one
    number. A booking that is not confirmed: Conflict booking_not_final."""
    async with sessionmaker() as session, session.begin():
        booking, group = await get_booking(session, principal, booking_id, for_update=True)
        if booking.status is not BookingStatus.CONFIRMED:
            raise Conflict(
                f"booking {booking_id} is {booking.status.value}: "
                "only a confirmed booking has a permit",
                code="booking_not_final",
                field="status",
            )
        permit = await session.scalar(select(Permit).where(Permit.booking_id == booking.id))
        if permit is None:
            permit = await _first_issue(session, clock, settings, principal, booking)
        names = await purpose_names(session, snapshot)
        return _facts(snapshot, booking, group.name, permit, names, settings)


async def _first_issue(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    booking: Booking,
) -> Permit:
    year = fiscal_year(local_today(clock, settings.tz))
    sequence = await next_number(session, booking.facility_id, year, PERMIT)
    number = document_number(PERMIT, year, booking.facility_id, sequence)
    permit = Permit(
        booking_id=booking.id,
        facility_id=booking.facility_id,
        fiscal_year=year,
        number=sequence,
        verification_code=verification_code(settings, booking, number),
        issued_at=clock.now(),
        issued_by_user_id=principal.user_id,
    )
    session.add(permit)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "permit.issue",
        ("booking", booking.id),
        after={"number": number, "fiscal_year": year},
    )
    return permit


def _facts(
    snapshot: NetworkSnapshot,
    booking: Booking,
    group_name: str,
    permit: Permit,
    purposes: dict[str, tuple[str, str]],
    settings: Settings,
) -> PermitFacts:
    facility = snapshot.facilities[booking.facility_id]
    room = snapshot.room(booking.room_id)
    purpose_ja, purpose_en = purposes.get(booking.purpose, (booking.purpose, booking.purpose))
    return PermitFacts(
        number=document_number(PERMIT, permit.fiscal_year, permit.facility_id, permit.number),
        verification_code=permit.verification_code,
        issued_on=permit.issued_at.astimezone(settings.tz).date(),
        facility_ja=facility.name_ja,
        facility_en=facility.name_en,
        room_ja=room.name_ja if room else str(booking.room_id),
        room_en=room.name_en if room else str(booking.room_id),
        use_date=booking.use_date,
        periods=period_lines(snapshot, booking),
        group_name=group_name,
        purpose_ja=purpose_ja,
        purpose_en=purpose_en,
        event_name=booking.event_name,
        headcount=booking.headcount,
        fee_total=booking.fee_total,
        payment_status=booking.payment_status,
    )


def period_lines(snapshot: NetworkSnapshot, booking: Booking) -> tuple[PeriodLine, ...]:
    """The booking's periods by name with their times, as its documents print them."""
    room = snapshot.room(booking.room_id)
    grid = room.grid if room else snapshot.facilities[booking.facility_id].grid
    periods = {period.code: period for period in grid.periods}
    return tuple(
        PeriodLine(p.name_ja, p.name_en, f"{p.start:%H:%M}", f"{p.end:%H:%M}")
        for p in (periods[code] for code in booking.period_codes if code in periods)
    )
