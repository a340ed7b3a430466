"""Numbered documents: a counter per facility, fiscal year and kind; permits and receipts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime


class DocumentCounter(Base):
    """The last number given to a kind of document (permit, receipt, ...) of a facility in a
    fiscal year. Raised by one atomic UPDATE ... RETURNING, so two issuers never share a number
    (booking/documents/numbering.py)."""

    __tablename__ = "document_counters"

    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Permit(Base):
    """利用許可書: the permit of a final booking, numbered on its first issue and kept."""

    __tablename__ = "permits"
    __table_args__ = (UniqueConstraint("facility_id", "fiscal_year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    # HMAC of the permit's facts with the server's secret, printed so staff can check a permit.
    verification_code: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Receipt(Base):
    """領収書, or its counterpart for a refund (還付) or a waiver (減免): one per recorded payment
    event, never reissued under another number. Numbered per facility, fiscal year and kind."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("facility_id", "fiscal_year", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # receipt | refund | waiver
    number: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)  # yen; what was paid, refunded or waived
    method: Mapped[str | None] = mapped_column(String(30))
    verification_code: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
