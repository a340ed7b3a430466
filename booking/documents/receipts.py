"""The document a recorded payment produces, in the payment's own transaction.

A payment status recorded by the facility's staff (booking/reservations/changes.py
`set_payment`) issues at most one document, numbered per facility, fiscal year of the issue
date (Tokyo) and kind, never reused:

- into paid: a receipt (領収書) of the amount due;
- into refunded, only from paid: a refund (還付) of what the last receipt received;
- into waived, not from paid: a waiver (減免) of the amount due;
- into unpaid, not from paid: no document (a waiver revoked; the waiver stays issued);
- the same status again: nothing new (a double click, or a method corrected), no number.

Money received stays received: from paid, only a refund leads on (paid to unpaid or waived
is refused, payment_received); a refund needs a payment (nothing_paid).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.documents.codes import RECEIPT, REFUND, WAIVER, document_number, signed_code
from booking.documents.models import Receipt
from booking.documents.numbering import fiscal_year, next_number
from booking.errors import Conflict
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.settings import Settings

KIND_OF = {
    PaymentStatus.PAID: RECEIPT,
    PaymentStatus.REFUNDED: REFUND,
    PaymentStatus.WAIVED: WAIVER,
}


def amount_due(booking: Booking) -> int:
    """What the group owes: the cancellation charge of a cancelled booking or a no-show,
    otherwise the fee."""
    ended = booking.status in {BookingStatus.CANCELLED, BookingStatus.NO_SHOW}
    if ended and booking.cancellation_charge is not None:
        return booking.cancellation_charge
    return booking.fee_total


def receipt_number(receipt: Receipt) -> str:
    return document_number(receipt.kind, receipt.fiscal_year, receipt.facility_id, receipt.number)


def receipt_code(settings: Settings, receipt: Receipt) -> str:
    """Signed over what the document states, so an altered print does not check."""
    return signed_code(
        settings,
        [
            receipt.kind,
            receipt_number(receipt),
            str(receipt.booking_id),
            str(receipt.facility_id),
            str(receipt.amount),
            receipt.method or "",
            receipt.issued_at.isoformat(),
        ],
    )


def refuse_payment_change(booking: Booking, status: PaymentStatus) -> None:
    """The changes of payment status no document can record (see the module's docstring)."""
    before = booking.payment_status
    if before is PaymentStatus.PAID and status in {PaymentStatus.UNPAID, PaymentStatus.WAIVED}:
        raise Conflict(
            f"the fee of booking {booking.id} was received (a receipt is issued): "
            "record a refund first",
            code="payment_received",
            field="status",
        )
    if status is PaymentStatus.REFUNDED and before is not PaymentStatus.PAID:
        raise Conflict(
            f"booking {booking.id} is {before.value}: only a received payment is refunded",
            code="nothing_paid",
            field="status",
        )


async def payment_document(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    booking: Booking,
    status: PaymentStatus,
    method: str | None,
) -> Receipt | None:
    """The document of changing the booking's payment status to `status` (call it before
    the booking changes, inside the change's transaction, the booking's row locked)."""
    refuse_payment_change(booking, status)
    kind = KIND_OF.get(status)
    if kind is None or status is booking.payment_status:
        return None
    if kind == REFUND:
        paid = await session.scalar(
            select(Receipt.amount)
            .where(Receipt.booking_id == booking.id, Receipt.kind == RECEIPT)
            .order_by(Receipt.id.desc())
            .limit(1)
        )
        amount = amount_due(booking) if paid is None else paid
    else:
        amount = amount_due(booking)
    year = fiscal_year(local_today(clock, settings.tz))
    receipt = Receipt(
        booking_id=booking.id,
        facility_id=booking.facility_id,
        fiscal_year=year,
        kind=kind,
        number=await next_number(session, booking.facility_id, year, kind),
        amount=amount,
        method=method,
        verification_code="",
        issued_at=clock.now(),
        issued_by_user_id=principal.user_id,
    )
    receipt.verification_code = receipt_code(settings, receipt)
    session.add(receipt)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        f"{kind}.issue",
        ("booking", booking.id),
        after={
            "receipt_id": receipt.id,
            "number": receipt_number(receipt),
            "amount": amount,
            "method": method,
        },
    )
    return receipt
