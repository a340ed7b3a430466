"""The live network as records of the data files' format (inventory/data_format.py).

The export writes these records; the editing services validate a change by applying it to the
record and checking the result with the data files' own models and checks, so a value staff may
enter is exactly a value the files may hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.datafiles import References
from booking.inventory.models import (
    Facility,
    FacilityKind,
    Period,
    PeriodGrid,
    Policy,
    Purpose,
    Room,
    RoomUnit,
    Unit,
    Ward,
)


@dataclass(frozen=True)
class Keys:
    """Keys by id and ids by key of the rows facilities and rooms point at."""

    wards: Mapping[int, str]
    kinds: Mapping[int, str]
    policies: Mapping[int, str]
    grids: Mapping[int, str]
    references: References

    def ids(self, table: str) -> dict[str, int]:
        by_id: Mapping[int, str] = getattr(self, table)
        return {key: row_id for row_id, key in by_id.items()}


async def live_keys(session: AsyncSession) -> Keys:
    wards = {w.id: w.key for w in (await session.scalars(select(Ward))).all()}
    kinds = (await session.scalars(select(FacilityKind))).all()
    policies = dict((await session.execute(select(Policy.id, Policy.key))).all())
    grids = dict((await session.execute(select(PeriodGrid.id, PeriodGrid.key))).all())
    codes: dict[str, list[str]] = {key: [] for key in grids.values()}
    rows = await session.execute(
        select(Period.grid_id, Period.code).order_by(Period.grid_id, Period.sort_order)
    )
    for grid_id, code in rows:
        codes[grids[grid_id]].append(code)
    references = References(
        wards=frozenset(wards.values()),
        kinds={kind.key: grids[kind.period_grid_id] for kind in kinds},
        purposes=frozenset((await session.scalars(select(Purpose.key))).all()),
        policies=frozenset(policies.values()),
        grids={key: tuple(found) for key, found in codes.items()},
    )
    return Keys(wards, {k.id: k.key for k in kinds}, policies, grids, references)


async def unit_keys(session: AsyncSession, room_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The keys of the units each room occupies, sorted."""
    found: dict[int, list[str]] = {room_id: [] for room_id in room_ids}
    rows = await session.execute(
        select(RoomUnit.room_id, Unit.key)
        .join(Unit, Unit.id == RoomUnit.unit_id)
        .where(RoomUnit.room_id.in_(room_ids))
        .order_by(RoomUnit.room_id, Unit.key)
    )
    for room_id, key in rows:
        found[room_id].append(key)
    return {room_id: tuple(keys) for room_id, keys in found.items()}


def _some(value: Any) -> Any:
    return value if value not in (None, [], {}, ()) else None


def facility_record(facility: Facility, keys: Keys) -> dict[str, Any]:
    """A FacilityData's fields (without rooms and closures) from the row; absent values left
    out, as a file leaves them out."""
    record: dict[str, Any] = {
        "key": facility.key,
        "kind": keys.kinds[facility.kind_id],
        "name_ja": facility.name_ja,
        "name_en": facility.name_en,
        "ward": keys.wards[facility.ward_id] if facility.ward_id else None,
        "address": facility.address,
        "phone": facility.phone,
        "external_id": facility.external_id,
        "opens_on": facility.opens_on,
        "closes_on": facility.closes_on,
        "policy": keys.policies[facility.policy_id] if facility.policy_id else None,
        "period_grid": keys.grids[facility.period_grid_id] if facility.period_grid_id else None,
        "opening_hours": _some(facility.opening_hours),
        "estimated_fields": list(facility.estimated_fields),
        "estimate_basis": facility.estimate_basis,
        "notes": facility.notes,
        "sources": list(facility.sources),
    }
    return {name: value for name, value in record.items() if _some(value) is not None}


def room_record(room: Room, units: tuple[str, ...], keys: Keys) -> dict[str, Any]:
    """A RoomData's fields from the row, as facility_record does."""
    record: dict[str, Any] = {
        "key": room.key,
        "name_ja": room.name_ja,
        "name_en": room.name_en,
        "capacity": room.capacity,
        "area_m2": room.area_m2,
        "equipment": list(room.equipment),
        "fees": room.fees,  # {} (free in every period) is a value, unlike an absent table
        "all_day_fee": room.all_day_fee,
        "online_bookable": room.online_bookable,
        "purposes": room.purposes,  # [] allows no purpose; None any
        "units": list(units) if units and units != (room.key,) else None,
        "external_id": room.external_id,
        "policy": keys.policies[room.policy_id] if room.policy_id else None,
        "period_grid": keys.grids[room.period_grid_id] if room.period_grid_id else None,
        "estimated": room.is_estimated,
        "estimated_fields": list(room.estimated_fields),
        "estimate_basis": room.estimate_basis,
        "notes": room.notes,
        "sources": list(room.sources),
    }
    if room.online_bookable:  # the files' default
        del record["online_bookable"]
    if not room.is_estimated:
        del record["estimated"]
    keep = {"fees", "purposes", "online_bookable", "estimated"}
    return {
        name: value
        for name, value in record.items()
        if (value is not None if name in keep else _some(value) is not None)
    }
