"""The wait list (キャンセル待ち): groups in line for a taken slot, and the offers made to them.

A slot freed while groups wait is not released to first-come: in the transaction that frees
it, the first in line whose whole slot is now free gets an offer, which claims the slot (kind
`offer`) until it is accepted, declined or expires (booking/waitlist/offers.py).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column


class EntryStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # its offer is open
    BOOKED = "booked"  # the offer was accepted
    DECLINED = "declined"  # the offer was declined
    EXPIRED = "expired"  # the offer was let expire
    LEFT = "left"  # the group left the line
    CLOSED = "closed"  # the online booking deadline of its date passed while waiting


LIVE_ENTRY = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitlistEntry(Base):
    """A group in line for one room, date and consecutive periods; the order is `joined_at`."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index("ix_waitlist_entries_use_date_status", "use_date", "status"),
        Index("ix_waitlist_entries_group_id_status", "group_id", "status"),
        # A group is in a line once: a second join of the same slot while live is refused.
        Index(
            "uq_waitlist_entries_live",
            "group_id",
            "room_id",
            "use_date",
            "periods_key",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'offered')"),
            sqlite_where=text("status IN ('waiting', 'offered')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    use_date: Mapped[date] = mapped_column(Date)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    periods_key: Mapped[str] = mapped_column(String(60))  # the codes in day order, joined by ","
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus, "waitlist_status"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OfferStatus(enum.StrEnum):
    OPEN = "open"  # claims the slot until expires_at
    ACCEPTED = "accepted"  # booked: booking_id
    DECLINED = "declined"
    EXPIRED = "expired"


class WaitlistOffer(Base):
    """A freed slot offered to one entry, once: it owns `offer` claims while open."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        Index("ix_waitlist_offers_status_expires_at", "status", "expires_at"),
        Index("ix_waitlist_offers_group_id_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    use_date: Mapped[date] = mapped_column(Date)
    period_codes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus, "offer_status"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    # when the group was reminded that the offer ends soon (once)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
