"""Calendar feed tokens: secret subscription URLs, stored hashed (DESIGN.md invariant 8)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column

UID_KEY_BYTES = 16


class FeedKind(enum.StrEnum):
    GROUP = "group"  # a group's bookings and pending lottery wins (its members)
    ROOM = "room"  # a room's occupancy for the public: busy blocks, nobody's data
    FACILITY = "facility"  # a facility's occupancy for the public
    FACILITY_STAFF = "facility_staff"  # a facility's bookings with group and contact (its staff)
    MANAGER = "manager"  # every facility assigned to the manager, with details


class CalendarFeed(Base):
    """One subscription URL. `target_id` is the group, room or facility (none for manager).

    Access is checked on every fetch with the owner's rights of that moment: a feed never shows
    what its owner could not see through the API.
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[FeedKind] = mapped_column(enum_column(FeedKind, "feed_kind"))
    target_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    verifier_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The key of this feed's public UIDs (an HMAC of the booking and its slot): opaque, and
    # kept when the URL is rotated so that clients keep their events.
    uid_key: Mapped[bytes] = mapped_column(
        LargeBinary(UID_KEY_BYTES), default=lambda: secrets.token_bytes(UID_KEY_BYTES)
    )
    # The validators last served: the digest of every input of the body (content_version),
    # the body's hash (etag) and when that body first differed from the one before
    # (last_modified, whole seconds, never moving back).
    content_version: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(64))
    last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime)
