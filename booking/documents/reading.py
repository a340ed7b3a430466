"""A booking's documents as its group and the facility's staff see them: the permit (once
issued, or to be issued on its first download) and every receipt, refund and waiver; a
receipt's facts for its PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.documents.codes import PERMIT, document_number
from booking.documents.models import Permit, Receipt
from booking.documents.permits import PeriodLine, period_lines
from booking.documents.receipts import receipt_number
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot
from booking.reservations.changes import get_booking
from booking.reservations.models import Booking, BookingStatus
from booking.settings import Settings


@dataclass(frozen=True, slots=True)
class Document:
    """One line of a booking's documents. A permit not yet issued has no number: its first
    download gives it one."""

    kind: str  # permit | receipt | refund | waiver
    receipt_id: int | None
    number: str | None
    amount: int | None
    method: str | None
    issued_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """Everything a receipt, refund or waiver prints."""

    kind: str
    number: str
    verification_code: str
    issued_on: date
    amount: int
    method: str | None
    booking_id: int
    facility_ja: str
    facility_en: str
    room_ja: str
    room_en: str
    use_date: date
    periods: tuple[PeriodLine, ...]
    group_name: str


def has_permit(booking: Booking) -> bool:
    """Only a confirmed booking has a permit (booking/documents/permits.py)."""
    return booking.status is BookingStatus.CONFIRMED


async def receipts_of(session: AsyncSession, booking_id: int) -> list[Receipt]:
    found = await session.scalars(
        select(Receipt).where(Receipt.booking_id == booking_id).order_by(Receipt.id)
    )
    return list(found.all())


async def booking_documents(
    session: AsyncSession, principal: Principal, booking_id: int
) -> list[Document]:
    """The booking's documents, the permit first (its group's members and the facility's
    staff; others: booking_not_found)."""
    booking, _ = await get_booking(session, principal, booking_id)
    shown: list[Document] = []
    if has_permit(booking):
        permit = await session.scalar(select(Permit).where(Permit.booking_id == booking.id))
        number = (
            document_number(PERMIT, permit.fiscal_year, permit.facility_id, permit.number)
            if permit
            else None
        )
        issued = permit.issued_at if permit else None
        shown.append(Document(PERMIT, None, number, booking.fee_total, None, issued))
    shown += [
        Document(r.kind, r.id, receipt_number(r), r.amount, r.method, r.issued_at)
        for r in await receipts_of(session, booking.id)
    ]
    return shown


async def receipt_facts(
    session: AsyncSession,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
    receipt_id: int,
) -> ReceiptFacts:
    """A receipt of the booking (another booking's, or none: receipt_not_found)."""
    booking, group = await get_booking(session, principal, booking_id)
    receipt = await session.get(Receipt, receipt_id)
    if receipt is None or receipt.booking_id != booking.id:
        raise NotFound(
            f"booking {booking_id} has no receipt {receipt_id}", code="receipt_not_found"
        )
    facility = snapshot.facilities[booking.facility_id]
    room = snapshot.room(booking.room_id)
    return ReceiptFacts(
        kind=receipt.kind,
        number=receipt_number(receipt),
        verification_code=receipt.verification_code,
        issued_on=receipt.issued_at.astimezone(settings.tz).date(),
        amount=receipt.amount,
        method=receipt.method,
        booking_id=booking.id,
        facility_ja=facility.name_ja,
        facility_en=facility.name_en,
        room_ja=room.name_ja if room else str(booking.room_id),
        room_en=room.name_en if room else str(booking.room_id),
        use_date=booking.use_date,
        periods=period_lines(snapshot, booking),
        group_name=group.name,
    )
