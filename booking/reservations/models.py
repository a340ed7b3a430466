"""Claims: the rows that make a double booking impossible (DESIGN.md invariant 1)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime


class ClaimKind(enum.StrEnum):
    BOOKING = "booking"  # confirmed or pending-approval booking
    HOLD = "hold"  # 仮予約 taken by phone
    LOTTERY_WIN = "lottery_win"  # won, awaiting confirmation
    BLOCK = "block"  # maintenance or the facility's own event


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
    """A version per use month, raised by database triggers on every change to its claims.

    App processes cache a month's claims and check this version on each request (one primary
    key lookup), so no code path that writes claims can forget to invalidate them. The
    triggers are in migrations/versions/2026_11_24_0002_claim_month_versions.py.
    """

    __tablename__ = "claim_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    version: Mapped[int] = mapped_column(Integer)
