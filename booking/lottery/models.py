"""Tables of the monthly lottery: cycles (the committed seed), applications, draws."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column


class LotteryCycle(Base):
    """One use month's lottery: the secret whose SHA-256 is published when applications open.

    The secret itself is revealed only with the draws, so nobody (staff included) can know the
    order before the application list is final.
    """

    __tablename__ = "lottery_cycles"

    use_month: Mapped[date] = mapped_column(Date, primary_key=True)  # first of the month
    secret_hex: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationStatus(enum.StrEnum):
    APPLIED = "applied"
    WITHDRAWN = "withdrawn"
    WON = "won"  # claims held (kind lottery_win) until confirmed or lapsed
    LOST = "lost"
    CONFIRMED = "confirmed"  # a booking was made from it
    LAPSED = "lapsed"  # not confirmed by the deadline: the slot went back to first-come


class LotteryApplication(Base):
    __tablename__ = "lottery_applications"
    __table_args__ = (
        Index("ix_lottery_applications_month_facility", "use_month", "facility_id", "status"),
        Index("ix_lottery_applications_group_month", "group_id", "use_month"),
        Index("ix_lottery_applications_room_date", "room_id", "use_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    use_month: Mapped[date] = mapped_column(Date)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    use_date: Mapped[date] = mapped_column(Date)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(60))
    headcount: Mapped[int] = mapped_column(Integer)
    event_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    position: Mapped[int | None] = mapped_column(Integer)  # place in the draw's order
    lose_reason: Mapped[str | None] = mapped_column(String(20))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # confirmed or lapsed
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))


class LotteryDraw(Base):
    """A facility's draw for a use month: one row, so a second run finds it done.

    `document` is the published draw file: everything needed to reproduce the result.
    """

    __tablename__ = "lottery_draws"
    __table_args__ = (UniqueConstraint("use_month", "facility_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    use_month: Mapped[date] = mapped_column(Date)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    algorithm: Mapped[str] = mapped_column(String(30))
    digest: Mapped[str] = mapped_column(String(64))
    application_count: Mapped[int] = mapped_column(Integer)
    win_count: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
