"""Response shapes of a booking's documents and of a document's check."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class DocumentRead(msgspec.Struct, frozen=True):
    kind: str  # permit | receipt | refund | waiver
    receipt_id: int | None  # a receipt's, refund's or waiver's id; None for the permit
    number: str | None  # None: a permit not downloaded yet (its first download numbers it)
    amount: int | None  # yen: paid, refunded or waived; the permit's fee
    method: str | None
    issued_at: datetime | None
    url: str  # the PDF (the API's address; ?lang=en for English)


class PeriodRead(msgspec.Struct, frozen=True):
    name_ja: str
    name_en: str
    start: str
    end: str


class CoveredRead(msgspec.Struct, frozen=True):
    booking_id: int
    booking_status: str
    payment_status: str
    facility_name_ja: str
    facility_name_en: str
    room_name_ja: str
    room_name_en: str
    use_date: date
    periods: list[PeriodRead]
    group_name: str
    amount: int
    issued_on: date


class DocumentCheckRead(msgspec.Struct, frozen=True):
    valid: bool
    # valid | not_found (no such number, a wrong code, or another facility's) |
    # booking_not_final (a permit whose booking is cancelled...) | booking_changed
    reason: str
    kind: str | None
    number: str
    covers: CoveredRead | None  # what the document covers, once its number and code match
