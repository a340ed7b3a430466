"""The outbox: every message to a user is a row written in the transaction that causes it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # to send when next_attempt_at comes
    SENT = "sent"
    DEAD = "dead"  # refused for good or out of attempts: an operator looks (booking outbox)


class OutboxMessage(Base):
    """A rendered mail waiting for `booking worker`.

    The worker leases a message by pushing next_attempt_at forward before sending, so a
    crash between sending and recording means one more send later (at least once); the
    Message-ID is stable per row, so mail systems can drop the duplicate.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    template: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
