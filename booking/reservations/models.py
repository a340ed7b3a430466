"""Claims: the rows that make a double booking impossible (DESIGN.md invariant 1)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column


class ClaimKind(enum.StrEnum):
    BOOKING = "booking"  # confirmed or pending-approval booking
    HOLD = "hold"  # 仮予約 taken by phone
    LOTTERY_WIN = "lottery_win"  # won, awaiting confirmation
    BLOCK = "block"  # maintenance or the facility's own event
    OFFER = "offer"  # a freed slot offered to the first in its wait list (booking/waitlist/)


class Claim(Base):
    """One live occupation of a unit for one period of one date.

    Every live booking, hold, unconfirmed lottery win and manager block writes one row per
    (unit, date, period) in its own transaction; the unique constraint makes a second live claim
    impossible on every engine. Releasing deletes the rows; history stays with the owner.
    """

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("unit_id", "use_date", "period_code"),
        Index("ix_claims_use_date_unit_id", "use_date", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    use_date: Mapped[date] = mapped_column(Date)
    period_code: Mapped[str] = mapped_column(String(8))
    kind: Mapped[ClaimKind] = mapped_column(
        Enum(
            ClaimKind,
            name="claim_kind",
            native_enum=False,
            length=16,
            create_constraint=True,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    # The booking, hold, win or block that owns the claim; its table comes with issue 4/5.
    owner_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimMonth(Base):
    """The base of a use month's version: the claim changes the worker has folded into it.

    App processes cache a month's claims and check the month's version on each request, so
    no code path that writes claims can forget to invalidate them. The version is this base
    plus the month's rows in ClaimChange (reservations/claim_versions.py says why).
    """

    __tablename__ = "claim_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    version: Mapped[int] = mapped_column(Integer)


class ClaimChange(Base):
    """One row per use month a change to claims touched, appended by database triggers
    (migrations/versions/2026_12_04_0017_claim_changes.py): on PostgreSQL one a statement and
    month, on SQLite one a changed claim. Appending takes no lock another booking waits for,
    unlike the counter row every booking of a month once updated."""

    __tablename__ = "claim_changes"
    __table_args__ = (Index("ix_claim_changes_month", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month


class BookingStatus(enum.StrEnum):
    HELD = "held"  # 仮予約 taken by phone: void unless completed by hold_expires_at
    PENDING_APPROVAL = "pending_approval"  # the room's policy wants a manager's yes; claims held
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"  # claims released; history stays here
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class PaymentStatus(enum.StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    WAIVED = "waived"
    REFUNDED = "refunded"


class Booking(Base):
    """A group's use of a room for one or more consecutive periods of one day.

    While live (pending approval or confirmed) it owns one claim per (unit, date, period); a
    cancellation deletes those claims in the same transaction and keeps this row as history.
    The fee is computed when booking and stored with its breakdown: later tariff changes do not
    rewrite what a group agreed to pay.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_facility_id_use_date", "facility_id", "use_date"),
        Index("ix_bookings_group_id_use_date", "group_id", "use_date"),
        # The worker's use-date reminders read one date across the network (issue 18).
        Index("ix_bookings_use_date", "use_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    use_date: Mapped[date] = mapped_column(Date)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"))
    purpose: Mapped[str] = mapped_column(String(60))
    headcount: Mapped[int] = mapped_column(Integer)
    event_name: Mapped[str | None] = mapped_column(String(200))
    charges_admission: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_total: Mapped[int] = mapped_column(Integer)
    fee_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status")
    )
    payment_method: Mapped[str | None] = mapped_column(String(30))
    # "online" by a group, "counter" by staff for a group
    channel: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # approved or rejected, or a hold completed
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The use-date reminder (two days before) went out: a second pass sends none.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # group (online, in time) | late (a cancellation notice at the counter) | facility |
    # rejected (not approved) | expired (a hold not completed in time)
    cancel_cause: Mapped[str | None] = mapped_column(String(10))
    cancellation_charge: Mapped[int | None] = mapped_column(Integer)
    moved_to_booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    # One occurrence of a recurring booking (reservations/series.py); otherwise a single one.
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    # iCalendar SEQUENCE: raised by SQLAlchemy on every UPDATE of the row (version counter,
    # which also refuses a write based on a stale read); updated_at: LAST-MODIFIED.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": sequence}  # noqa: RUF012 - SQLAlchemy's own


class SeriesPattern(enum.StrEnum):
    WEEK = "week"
    TWO_WEEKS = "two_weeks"
    MONTH_WEEKDAY = "month_weekday"  # the nth weekday of each month, as on first_date


class Series(Base):
    """定期利用: one room, the same consecutive periods, on the dates of a pattern.

    The series is what the group asked for; each occurrence is an ordinary booking (claims,
    fee, audit event, permit) carrying `series_id`, cancelled one by one or from a date on.
    """

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    every: Mapped[SeriesPattern] = mapped_column(enum_column(SeriesPattern, "series_pattern"))
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    skip_dates: Mapped[list[str]] = mapped_column(JSON)  # ISO dates the group left out
    purpose: Mapped[str] = mapped_column(String(60))
    headcount: Mapped[int] = mapped_column(Integer)
    event_name: Mapped[str | None] = mapped_column(String(200))
    charges_admission: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(10))  # online | counter, as its bookings
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IdempotentRequest(Base):
    """The first answer to a creating request with an Idempotency-Key (DESIGN.md invariant 5).

    Written in the transaction that creates the booking: a retry finds it and gets the same
    answer; the same key with another body is refused.
    """

    __tablename__ = "idempotent_requests"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Block(Base):
    """保守日・主催事業: a manager takes slots of a room out of use, over a range of dates.

    It claims (kind block) every unit of the room for each open day and period in the range;
    releasing deletes them. A block never overrides a booking: one in the way is reported and
    the block is not made.
    """

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(20))  # maintenance | event
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
