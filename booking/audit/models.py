"""The audit trail: who did what to what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class AuditEvent(Base):
    """One change of state or security event; written in the transaction of the change.

    Login failures are written even though the request fails (the controller commits them):
    they are the evidence of an attack. `before`/`after` never hold secrets or hashes.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # NULL for the anonymous (a failed login, a self-registration) and for the system.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    address: Mapped[str | None] = mapped_column(String(45))
