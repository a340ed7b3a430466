"""Tables of the facility network: wards, kinds, facilities, rooms, units, periods, policies."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime

KEY = String(64)
NAME = String(200)


class Ward(Base):
    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Purpose(Base):
    """One entry of the controlled vocabulary of purposes a room may allow."""

    __tablename__ = "purposes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)


class PeriodGrid(Base):
    """A named set of periods (区分); facilities and rooms point at one."""

    __tablename__ = "period_grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    estimated_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    estimate_basis: Mapped[str | None] = mapped_column(Text)


class Period(Base):
    """A fixed slot of the day, e.g. 午前 09:00-12:00 (code 10), on the day types it applies to."""

    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("grid_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("period_grids.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8))
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    on_weekday: Mapped[bool] = mapped_column(Boolean)
    on_saturday: Mapped[bool] = mapped_column(Boolean)
    on_sunday_holiday: Mapped[bool] = mapped_column(Boolean)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    estimated_fields: Mapped[list[str]] = mapped_column(JSON, default=list)


class Policy(Base):
    """A partial override of the reservation-policy defaults (see inventory/policy.py)."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    estimate_basis: Mapped[str | None] = mapped_column(Text)


class FacilityKind(Base):
    __tablename__ = "facility_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    period_grid_id: Mapped[int] = mapped_column(ForeignKey("period_grids.id"))
    opening_hours: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(KEY, unique=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("facility_kinds.id"), index=True)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(40))
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    period_grid_id: Mapped[int | None] = mapped_column(ForeignKey("period_grids.id"))
    opening_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    estimated_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    estimate_basis: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # field -> {"by": user id, "at": ISO instant}: values staff set in the system, which a later
    # load of the data files reports as a conflict instead of overwriting (inventory/load.py).
    staff_edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # field -> {"by", "at"}: estimates staff confirmed (the field left estimated_fields).
    confirmations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # A facility that left the data is retired, never deleted: bookings may still point at it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClosureRule(Base):
    """A rule that closes a facility on some dates; belongs to a kind or to one facility."""

    __tablename__ = "closure_rules"
    __table_args__ = (
        CheckConstraint("(facility_kind_id IS NULL) <> (facility_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_kind_id: Mapped[int | None] = mapped_column(
        ForeignKey("facility_kinds.id", ondelete="CASCADE"), index=True
    )
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    # 'data': from facilities_data, replaced by each load; 'manager': entered in the system.
    origin: Mapped[str] = mapped_column(String(16), default="data")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("facility_id", "key"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    key: Mapped[str] = mapped_column(KEY)
    name_ja: Mapped[str] = mapped_column(NAME)
    name_en: Mapped[str] = mapped_column(NAME)
    capacity: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float | None] = mapped_column(Float)
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    fees: Mapped[dict[str, int] | None] = mapped_column(JSON)  # yen per period code
    all_day_fee: Mapped[int | None] = mapped_column(Integer)
    online_bookable: Mapped[bool] = mapped_column(Boolean, default=True)
    purposes: Mapped[list[str] | None] = mapped_column(JSON)  # None: any purpose
    external_id: Mapped[str | None] = mapped_column(String(40))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    period_grid_id: Mapped[int | None] = mapped_column(ForeignKey("period_grids.id"))
    is_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    estimated_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    estimate_basis: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # field -> {"by": user id, "at": ISO instant}: values staff set in the system, which a later
    # load of the data files reports as a conflict instead of overwriting (inventory/load.py).
    staff_edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # field -> {"by", "at"}: estimates staff confirmed (the field left estimated_fields).
    confirmations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomFeeSchedule(Base):
    """The room's fees from a date on (a fiscal-year revision on 1 April is the model case).

    The room's own `fees`/`all_day_fee` apply before its first schedule. A booking keeps the fee
    it was made with (bookings.fee_breakdown), so a schedule changes only what is booked later.
    """

    __tablename__ = "room_fee_schedules"
    __table_args__ = (UniqueConstraint("room_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    fees: Mapped[dict[str, int] | None] = mapped_column(JSON)  # yen per period code
    all_day_fee: Mapped[int | None] = mapped_column(Integer)
    # 'data': from facilities_data; 'staff': entered in the system.
    origin: Mapped[str] = mapped_column(String(16), default="staff")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PolicyRevision(Base):
    """A policy's settings from a use date on. It governs bookings for use dates from
    `effective_from` that are made after it was entered (`created_at`); earlier bookings keep
    the settings they were made under."""

    __tablename__ = "policy_revisions"
    __table_args__ = (UniqueConstraint("policy_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    effective_from: Mapped[date] = mapped_column(Date)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin: Mapped[str] = mapped_column(String(16), default="staff")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Notice(Base):
    """お知らせ: a facility's notice, shown on its page from `starts_on` to `ends_on`."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    title_ja: Mapped[str] = mapped_column(NAME)
    title_en: Mapped[str | None] = mapped_column(NAME)
    body_ja: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Unit(Base):
    """The physical part of a facility that a claim occupies; a combined room spans several."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("facility_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    key: Mapped[str] = mapped_column(KEY)


class RoomUnit(Base):
    __tablename__ = "room_units"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class InventoryRevision(Base):
    """One row whose counter rises with every change to the inventory.

    App processes keep a snapshot of the (small, slowly changing) network in memory and check
    this counter on each request, so every process sees a change at once. Every writer of
    inventory tables calls inventory.services.bump_revision in its transaction.
    """

    __tablename__ = "inventory_revision"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
