"""Reading the facility network, and the revision counter every inventory writer bumps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from booking.errors import InvalidInput, NotFound
from booking.inventory.models import (
    ClosureRule,
    Facility,
    FacilityKind,
    InventoryRevision,
    Room,
    RoomUnit,
    Unit,
    Ward,
)


async def current_revision(session: AsyncSession) -> int:
    return (await session.scalar(select(InventoryRevision.revision))) or 0


async def bump_revision(session: AsyncSession, now: datetime) -> None:
    """Record that the inventory changed, so every process reloads its snapshot."""
    result = await session.execute(
        update(InventoryRevision)
        .where(InventoryRevision.id == 1)
        .values(revision=InventoryRevision.revision + 1, changed_at=now)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(InventoryRevision(id=1, revision=1, changed_at=now))
        await session.flush()


async def list_wards(session: AsyncSession) -> list[tuple[Ward, int]]:
    """Every ward with the number of active facilities in it."""
    counts = (
        select(Facility.ward_id, func.count().label("n"))
        .where(Facility.active.is_(True))
        .group_by(Facility.ward_id)
        .subquery()
    )
    rows = await session.execute(
        select(Ward, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.ward_id == Ward.id)
        .order_by(Ward.sort_order)
    )
    return [(ward, int(n)) for ward, n in rows]


@dataclass(frozen=True)
class FacilityFilter:
    ward: str | None = None
    kind: str | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0
    include_retired: bool = False  # the administrators' list: retired facilities too


async def list_facilities(
    session: AsyncSession, filters: FacilityFilter
) -> tuple[list[tuple[Facility, str, str | None, int]], int]:
    """Active facilities (retired ones too when asked) matching the filters, with kind key,
    ward key and active room count."""
    conditions: list[ColumnElement[bool]] = (
        [] if filters.include_retired else [Facility.active.is_(True)]
    )
    if filters.ward is not None:
        ward_id = await session.scalar(select(Ward.id).where(Ward.key == filters.ward))
        if ward_id is None:
            raise InvalidInput(f"unknown ward {filters.ward!r}", field="ward")
        conditions.append(Facility.ward_id == ward_id)
    if filters.kind is not None:
        kind_id = await session.scalar(
            select(FacilityKind.id).where(FacilityKind.key == filters.kind)
        )
        if kind_id is None:
            raise InvalidInput(f"unknown facility kind {filters.kind!r}", field="kind")
        conditions.append(Facility.kind_id == kind_id)
    if filters.q:
        needle = filters.q.strip().lower()
        conditions.append(
            or_(
                func.lower(Facility.name_ja).contains(needle, autoescape=True),
                func.lower(Facility.name_en).contains(needle, autoescape=True),
                func.lower(Facility.key).contains(needle, autoescape=True),
            )
        )
    total = await session.scalar(select(func.count()).select_from(Facility).where(*conditions))
    room_counts = (
        select(Room.facility_id, func.count().label("n"))
        .where(Room.active.is_(True))
        .group_by(Room.facility_id)
        .subquery()
    )
    rows = await session.execute(
        select(Facility, FacilityKind.key, Ward.key, func.coalesce(room_counts.c.n, 0))
        .join(FacilityKind, FacilityKind.id == Facility.kind_id)
        .outerjoin(Ward, Ward.id == Facility.ward_id)
        .outerjoin(room_counts, room_counts.c.facility_id == Facility.id)
        .where(*conditions)
        .order_by(func.coalesce(Ward.sort_order, 99), Facility.kind_id, Facility.id)
        .limit(filters.limit)
        .offset(filters.offset)
    )
    return [(f, kind, ward, int(n)) for f, kind, ward, n in rows], int(total or 0)


@dataclass(frozen=True)
class FacilityDetail:
    facility: Facility
    kind: FacilityKind
    ward: Ward | None
    rooms: list[Room]
    closure_rules: list[ClosureRule]


async def get_facility(session: AsyncSession, facility_id: int) -> FacilityDetail:
    facility = await session.get(Facility, facility_id)
    if facility is None or not facility.active:
        raise NotFound(f"no facility {facility_id}", field="facility_id")
    kind = await session.get_one(FacilityKind, facility.kind_id)
    ward = await session.get(Ward, facility.ward_id) if facility.ward_id else None
    rooms = (
        await session.scalars(
            select(Room)
            .where(Room.facility_id == facility.id, Room.active.is_(True))
            .order_by(Room.sort_order)
        )
    ).all()
    rules = (
        await session.scalars(
            select(ClosureRule)
            .where(
                or_(
                    ClosureRule.facility_id == facility.id,
                    ClosureRule.facility_kind_id == facility.kind_id,
                )
            )
            .order_by(ClosureRule.facility_id.is_not(None), ClosureRule.id)
        )
    ).all()
    return FacilityDetail(facility, kind, ward, list(rooms), list(rules))


@dataclass(frozen=True)
class RoomDetail:
    room: Room
    facility: Facility
    unit_keys: list[str]
    shares_units_with: list[Room]  # the parts of a combined room, or the combined room of a part


async def get_room(session: AsyncSession, room_id: int) -> RoomDetail:
    room = await session.get(Room, room_id)
    if room is None or not room.active:
        raise NotFound(f"no room {room_id}", field="room_id")
    facility = await session.get_one(Facility, room.facility_id)
    unit_rows = (
        await session.execute(
            select(Unit.id, Unit.key)
            .join(RoomUnit, RoomUnit.unit_id == Unit.id)
            .where(RoomUnit.room_id == room.id)
            .order_by(Unit.key)
        )
    ).all()
    unit_ids = [unit_id for unit_id, _ in unit_rows]
    sharing = (
        await session.scalars(
            select(Room)
            .where(
                Room.id.in_(select(RoomUnit.room_id).where(RoomUnit.unit_id.in_(unit_ids))),
                Room.id != room.id,
                Room.active.is_(True),
            )
            .order_by(Room.sort_order)
        )
    ).all()
    return RoomDetail(room, facility, [key for _, key in unit_rows], list(sharing))


@dataclass(frozen=True)
class StaffFacility:
    """A facility as staff keep it: retired or not, with every room, retired ones too."""

    facility: Facility
    kind: str  # its kind's key
    ward: str | None  # its ward's key
    rooms: list[Room]


async def staff_facility(session: AsyncSession, facility_id: int) -> StaffFacility:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(f"no facility {facility_id}", field="facility_id")
    kind = await session.get_one(FacilityKind, facility.kind_id)
    ward = await session.get(Ward, facility.ward_id) if facility.ward_id else None
    rooms = await session.scalars(
        select(Room).where(Room.facility_id == facility.id).order_by(Room.sort_order, Room.id)
    )
    return StaffFacility(facility, kind.key, ward.key if ward else None, list(rooms.all()))


async def staff_room(session: AsyncSession, room_id: int) -> tuple[Room, Facility]:
    """A room and its facility, retired or not (get_room answers for active rooms only)."""
    room = await session.get(Room, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}", field="room_id", code="room_not_found")
    return room, await session.get_one(Facility, room.facility_id)
