"""Tables of people and access: users, registrations (groups), rosters, sessions, tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    literal_column,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime, enum_column


class StaffRole(enum.StrEnum):
    ADMIN = "admin"  # configures everything
    MANAGER = "manager"  # acts only at the facilities assigned to them


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # no login, no session, no token works


class GroupKind(enum.StrEnum):
    GROUP = "group"  # 団体
    INDIVIDUAL = "individual"  # 個人: a registration whose roster is the one person


class GroupCategory(enum.StrEnum):
    GENERAL = "general"  # 一般
    EXEMPT = "exempt"  # 減免: pays less or nothing
    COMMERCIAL = "commercial"  # 営利
    SENIOR_CIVIC = "senior_civic"  # 老人いこいの家の夜間・休日利用ができる市民活動団体 (10+)
    CHILDREN_CENTRE = "children_centre"  # こども文化センターの登録団体 (per centre)


class GroupStatus(enum.StrEnum):
    PENDING = "pending"  # registered, identity not yet checked at a counter
    ACTIVE = "active"  # has a card; may book until valid_until
    SUSPENDED = "suspended"  # may log in and look, may not book or change anything


class Residency(enum.StrEnum):
    LIVES = "lives"  # 在住
    WORKS = "works"  # 在勤
    STUDIES = "studies"  # 在学
    NONE = "none"  # 市外


class MemberRole(enum.StrEnum):
    REPRESENTATIVE = "representative"  # 代表者: manages the roster; the card logs in as them
    MEMBER = "member"


class TokenPurpose(enum.StrEnum):
    RESET = "reset"  # forgotten password
    INVITE = "invite"  # first password of someone registered by someone else


def _trigram(column: str) -> dict[str, Any]:
    """A trigram (pg_trgm) index on PostgreSQL, for LIKE '%q%' searches."""
    return {"postgresql_using": "gin", "postgresql_ops": {column: "gin_trgm_ops"}}


class User(Base):
    """A person who can log in: a representative, a member with an e-mail, or staff."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased; NULL for someone registered at the counter without one (they use the card).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    # NULL until the person sets one through an invitation link.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    staff_role: Mapped[StaffRole | None] = mapped_column(enum_column(StaffRole, "staff_role"))
    status: Mapped[UserStatus] = mapped_column(
        enum_column(UserStatus, "user_status"), default=UserStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ManagerFacility(Base):
    """A facility a manager is assigned to; they act there and nowhere else."""

    __tablename__ = "manager_facilities"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True
    )


class Group(Base):
    """利用者登録: a registered group (団体) or individual (個人), the owner of bookings.

    Individuals are registrations too, with a roster of one, so that every booking, lottery
    application and fee has the same kind of owner. `facility_id` is set for a facility's own
    registration (a children's culture centre's group list, a senior centre's evening groups).
    """

    __tablename__ = "groups"
    __table_args__ = (
        # The registration desk's queue: the few pending rows, oldest first (accounts/desk.py).
        Index(
            "ix_groups_pending_created",
            "created_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The desk's search for a part of a name (LIKE '%q%'): trigram indexes on PostgreSQL
        # (a plain index on SQLite, which the embedded default's few rows do not need).
        *(
            Index(f"ix_groups_{column}_trgm", column, **_trigram(column))
            for column in ("name", "name_kana")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[GroupKind] = mapped_column(enum_column(GroupKind, "group_kind"))
    category: Mapped[GroupCategory] = mapped_column(enum_column(GroupCategory, "group_category"))
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str | None] = mapped_column(String(100))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    status: Mapped[GroupStatus] = mapped_column(
        enum_column(GroupStatus, "group_status"), default=GroupStatus.PENDING
    )
    # 7 digits, random, issued on activation; the login name of the representative.
    card_number: Mapped[str | None] = mapped_column(String(7), unique=True)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # At least half the roster lives, works or studies in the city: a pricing key.
    in_city: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A mail two days before each use date, unless the group turns it off (issue 18).
    use_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The `valid_until` whose renewal reminder went out: one per validity period.
    renewal_reminded_for: Mapped[date | None] = mapped_column(Date)
    # Raised by every UPDATE SQLAlchemy issues for the row (ORM or Core; `onupdate`, so not
    # by hand-written SQL: a manual repair raises it itself): calendar feeds show the name and
    # contact, and their version sums the revisions of the groups shown.
    revision: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", onupdate=literal_column("revision") + 1
    )

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - read the new revision back


class Member(Base):
    """One person on a group's roster; linked to a user when they have a login."""

    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        # One representative per group, enforced by the database.
        Index(
            "uq_group_members_one_representative",
            "group_id",
            unique=True,
            sqlite_where=text("role = 'representative'"),
            postgresql_where=text("role = 'representative'"),
        ),
        Index("ix_group_members_name_trgm", "name", **_trigram("name")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole, "member_role"))
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    residency: Mapped[Residency] = mapped_column(enum_column(Residency, "residency"))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))


class WebSession(Base):
    """A browser's login, kept here so that logout or suspension ends it on every process.

    The cookie holds `selector.verifier`; only a SHA-256 of the verifier is stored, compared in
    constant time after the lookup by selector.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    verifier_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A named, expiring, revocable bearer token for programs; stored as selector + hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    verifier_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordToken(Base):
    """A single-use link to set a password: a reset, or an invitation."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose, "token_purpose"))
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    verifier_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed logins counted per key (an account or an address), shared by every process."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingRegistration(Base):
    """An online registration waiting for its e-mail address to be confirmed.

    Nothing else exists until the link mailed to the address is used with the password chosen
    at registration: no user, no group, no other mail. The registration is kept as submitted
    (its password only as a hash) and is deleted once used or expired.
    """

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    verifier_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    registration: Mapped[dict[str, Any]] = mapped_column(JSON)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
