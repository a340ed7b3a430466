"""The desk's check of a printed permit, receipt, refund or waiver: its number and
verification code against the stored document.

An unknown number, a wrong code and another facility's document all answer the same
"not_found" (a guess learns nothing). A permit whose booking is no longer confirmed (or used)
is not valid (booking_not_final), nor one whose booking changed since it was printed: its code
is signed over the booking's facts (booking_changed). A receipt stays what it was (a refund is
a document of its own); the booking's payment status is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_staff
from booking.accounts.groups import get_group
from booking.documents.codes import (
    PERMIT,
    DocumentNumber,
    document_number,
    normal_code,
    parse_number,
    same_code,
)
from booking.documents.models import Permit, Receipt
from booking.documents.permits import PeriodLine, period_lines, verification_code
from booking.errors import InvalidInput
from booking.inventory.network import NetworkSnapshot
from booking.reservations.models import Booking, BookingStatus
from booking.settings import Settings

USABLE = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


@dataclass(frozen=True, slots=True)
class Covered:
    """What a document that checked covers."""

    booking_id: int
    booking_status: str
    payment_status: str
    facility_ja: str
    facility_en: str
    room_ja: str
    room_en: str
    use_date: date
    periods: tuple[PeriodLine, ...]
    group_name: str
    amount: int
    issued_on: date


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    valid: bool
    reason: str  # valid | not_found | booking_not_final | booking_changed
    kind: str | None
    number: str
    covers: Covered | None = None


def read_input(number: str, code: str) -> tuple[DocumentNumber, str]:
    """The number and code as typed, refused by field when they cannot be one (their
    patterns bound their length too)."""
    parsed = parse_number(number)
    normal = normal_code(code)
    problems = []
    if parsed is None:
        problems.append(("number", "not a document number such as 2026-0017-000001"))
    if normal is None:
        problems.append(("code", "not a verification code such as ABCD-EFGH-JKLM"))
    if parsed is None or normal is None:
        field, reason = problems[0]
        raise InvalidInput(reason, field=field, problems=problems)
    return parsed, normal


async def check_document(
    session: AsyncSession,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    number: str,
    code: str,
) -> DocumentCheck:
    """Staff only (others: staff_only); a document of a facility they do not manage is
    not_found to them."""
    require_staff(principal)
    parsed, given = read_input(number, code)
    printed = document_number(parsed.kind, parsed.fiscal_year, parsed.facility_id, parsed.sequence)
    unknown = DocumentCheck(valid=False, reason="not_found", kind=None, number=printed)
    if not principal.manages(parsed.facility_id):
        return unknown
    key = (parsed.facility_id, parsed.fiscal_year, parsed.sequence)
    document: Permit | Receipt | None
    if parsed.kind == PERMIT:
        document = await session.scalar(
            select(Permit).where(
                Permit.facility_id == key[0], Permit.fiscal_year == key[1], Permit.number == key[2]
            )
        )
    else:
        document = await session.scalar(
            select(Receipt).where(
                Receipt.facility_id == key[0],
                Receipt.fiscal_year == key[1],
                Receipt.number == key[2],
                Receipt.kind == parsed.kind,
            )
        )
    if document is None or not same_code(document.verification_code, given):
        return unknown
    booking = await session.get(Booking, document.booking_id)
    if booking is None:  # pragma: no cover - bookings are kept, never deleted
        return unknown
    covers = await _covered(session, settings, snapshot, booking, document)
    reason = "valid"
    if isinstance(document, Permit):
        if booking.status not in USABLE:
            reason = "booking_not_final"
        elif verification_code(settings, booking, printed) != document.verification_code:
            reason = "booking_changed"
    return DocumentCheck(
        valid=reason == "valid", reason=reason, kind=parsed.kind, number=printed, covers=covers
    )


async def _covered(
    session: AsyncSession,
    settings: Settings,
    snapshot: NetworkSnapshot,
    booking: Booking,
    document: Permit | Receipt,
) -> Covered:
    facility = snapshot.facilities[booking.facility_id]
    room = snapshot.room(booking.room_id)
    group = await get_group(session, booking.group_id)
    amount = document.amount if isinstance(document, Receipt) else booking.fee_total
    return Covered(
        booking_id=booking.id,
        booking_status=booking.status.value,
        payment_status=booking.payment_status.value,
        facility_ja=facility.name_ja,
        facility_en=facility.name_en,
        room_ja=room.name_ja if room else str(booking.room_id),
        room_en=room.name_en if room else str(booking.room_id),
        use_date=booking.use_date,
        periods=period_lines(snapshot, booking),
        group_name=group.name,
        amount=amount,
        issued_on=document.issued_at.astimezone(settings.tz).date(),
    )
