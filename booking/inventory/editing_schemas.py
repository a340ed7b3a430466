"""The bodies and answers of the API's network editing (inventory/controllers.py, issue 16 §2).

The bodies carry the data files' field names and go to inventory/editing.py, which checks them
with the files' rules. A retirement is a PATCH of `active` to false (true reinstates).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory import editing
from booking.inventory.data_format import CAPACITY_MAX
from booking.inventory.models import Facility, Room
from booking.inventory.records import facility_record, live_keys, room_record, unit_keys
from booking.web.fields import Id, MultiLine, OneLine

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET
# Lengths, patterns and bounds are the data files' (editing.py checks them); the edge refuses
# only what no field takes (control characters, a number past its column) and bounds the ids.
Parts = Annotated[list[Id], msgspec.Meta(max_length=editing.MAX_PARTS)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=CAPACITY_MAX)]
SortOrder = Annotated[int, msgspec.Meta(ge=0, le=editing.SORT_ORDER_MAX)]


class StaffMark(msgspec.Struct):
    by: int | None  # the user who set (or confirmed) the value
    at: str  # when, an ISO instant


class FacilityFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A change: the fields given are set; null clears an optional one."""

    kind: OneLine | Unset = UNSET
    ward: OneLine | Unset | None = UNSET
    name_ja: OneLine | Unset = UNSET
    name_en: OneLine | Unset = UNSET
    address: OneLine | Unset | None = UNSET
    phone: OneLine | Unset | None = UNSET
    external_id: OneLine | Unset | None = UNSET  # the Fureai Net building code
    opens_on: date | Unset | None = UNSET
    closes_on: date | Unset | None = UNSET
    notes: MultiLine | Unset | None = UNSET
    sources: list[OneLine] | Unset = UNSET
    active: bool | Unset = UNSET  # false retires the facility, true reinstates it


class FacilityIn(FacilityFields, kw_only=True):
    key: OneLine  # a slug, never changed afterwards: how a load of the data files finds the row


class RoomFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name_ja: OneLine | Unset = UNSET
    name_en: OneLine | Unset = UNSET
    capacity: Capacity | Unset | None = UNSET
    area_m2: float | Unset | None = UNSET
    equipment: list[OneLine] | Unset = UNSET
    purposes: list[OneLine] | Unset | None = UNSET  # purpose keys; null: any purpose
    online_bookable: bool | Unset = UNSET  # false: at the counter only
    parts: Parts | Unset | None = UNSET  # a combined room: the rooms it is made of
    external_id: OneLine | Unset | None = UNSET
    notes: MultiLine | Unset | None = UNSET
    sources: list[OneLine] | Unset = UNSET
    sort_order: SortOrder | Unset = UNSET
    active: bool | Unset = UNSET  # false retires the room (administrators)


class RoomIn(RoomFields, kw_only=True):
    key: OneLine


class FacilityStaffRead(msgspec.Struct):
    id: int
    key: str
    kind: str
    name_ja: str
    name_en: str
    ward: str | None
    address: str | None
    phone: str | None
    external_id: str | None
    opens_on: date | None
    closes_on: date | None
    notes: str | None
    sources: list[str]
    active: bool
    estimated_fields: list[str]
    staff_edits: dict[str, StaffMark]  # fields staff set: a load of the files keeps them
    confirmations: dict[str, StaffMark]


class RoomStaffRead(msgspec.Struct):
    id: int
    facility_id: int
    key: str
    name_ja: str
    name_en: str
    capacity: int | None
    area_m2: float | None
    equipment: list[str]
    purposes: list[str] | None
    online_bookable: bool
    units: list[str]
    external_id: str | None
    notes: str | None
    sources: list[str]
    sort_order: int
    active: bool
    is_estimated: bool
    estimated_fields: list[str]
    staff_edits: dict[str, StaffMark]
    confirmations: dict[str, StaffMark]


def given(data: msgspec.Struct, *leave: str) -> dict[str, Any]:
    return {
        name: value
        for name, value in msgspec.structs.asdict(data).items()
        if value is not UNSET and name not in leave
    }


def _marks(marks: dict[str, Any]) -> dict[str, StaffMark]:
    return {
        field: StaffMark(by=mark.get("by"), at=mark.get("at", "")) for field, mark in marks.items()
    }


async def facility_staff_read(session: AsyncSession, facility: Facility) -> FacilityStaffRead:
    record = facility_record(facility, await live_keys(session))
    return FacilityStaffRead(
        id=facility.id,
        key=facility.key,
        kind=record["kind"],
        name_ja=facility.name_ja,
        name_en=facility.name_en,
        ward=record.get("ward"),
        address=facility.address,
        phone=facility.phone,
        external_id=facility.external_id,
        opens_on=facility.opens_on,
        closes_on=facility.closes_on,
        notes=facility.notes,
        sources=list(facility.sources),
        active=facility.active,
        estimated_fields=list(facility.estimated_fields),
        staff_edits=_marks(facility.staff_edits),
        confirmations=_marks(facility.confirmations),
    )


async def room_staff_read(session: AsyncSession, room: Room) -> RoomStaffRead:
    units = (await unit_keys(session, [room.id]))[room.id]
    record = room_record(room, units, await live_keys(session))
    return RoomStaffRead(
        id=room.id,
        facility_id=room.facility_id,
        key=room.key,
        name_ja=room.name_ja,
        name_en=room.name_en,
        capacity=room.capacity,
        area_m2=room.area_m2,
        equipment=list(room.equipment),
        purposes=record.get("purposes"),
        online_bookable=room.online_bookable,
        units=list(units),
        external_id=room.external_id,
        notes=room.notes,
        sources=list(room.sources),
        sort_order=room.sort_order,
        active=room.active,
        is_estimated=room.is_estimated,
        estimated_fields=list(room.estimated_fields),
        staff_edits=_marks(room.staff_edits),
        confirmations=_marks(room.confirmations),
    )
