"""Apply validated facility data to the database: all or nothing, and idempotent.

Rows are matched by their keys and only changed where a value differs, so a second load of
the same files changes nothing. Facilities and rooms that left the data are retired, never
deleted, and units are never deleted, so bookings and claims keep pointing at real rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.data_format import FacilityData, NetworkData, RoomData
from booking.inventory.datafiles import Network
from booking.inventory.models import (
    ClosureRule,
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
from booking.inventory.services import bump_revision

T = TypeVar("T")


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    retired: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def summary(self) -> str:
        if not self.changed:
            return "no changes"
        parts = []
        for label, counter in (
            ("created", self.created),
            ("updated", self.updated),
            ("retired", self.retired),
        ):
            if counter:
                items = ", ".join(f"{n} {table}" for table, n in sorted(counter.items()))
                parts.append(f"{label} {items}")
        return "; ".join(parts)


class _Loader:
    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.report = LoadReport()

    def assign(self, table: str, row: Any, values: dict[str, Any]) -> bool:
        """Set the values that differ; count an update; tell whether anything changed."""
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            self.report.updated[table] += 1
            if hasattr(row, "updated_at"):
                row.updated_at = self.now
        return changed

    def create(self, table: str, row: T) -> T:
        self.session.add(row)
        self.report.created[table] += 1
        return row

    async def existing(self, model: type[T], *where: Any) -> list[T]:
        return list((await self.session.scalars(select(model).where(*where))).all())


async def load_network(session: AsyncSession, network: Network, now: datetime) -> LoadReport:
    """Bring the database in line with `network`. The caller owns the transaction."""
    loader = _Loader(session, now)
    data = network.network
    await _load_simple(loader, data)
    grids = await _load_grids(loader, data)
    policies = await _load_policies(loader, data)
    kinds = await _load_kinds(loader, data, grids, policies)
    wards = {w.key: w.id for w in await loader.existing(Ward)}
    facilities = {f.key: f for f in await loader.existing(Facility)}
    for sourced in network.facilities:
        facility = await _load_facility(
            loader, sourced.data, facilities, kinds, wards, grids, policies
        )
        await _load_closures(
            loader,
            facility_id=facility.id,
            kind_id=None,
            specs=[
                c.model_dump(by_alias=True, mode="json", exclude_none=True)
                for c in sourced.data.closures
            ],
        )
        await _load_rooms(loader, facility, sourced.rooms, grids, policies)
    wanted = {s.data.key for s in network.facilities}
    for key, facility in facilities.items():
        if key not in wanted and facility.active:
            facility.active = False
            facility.updated_at = now
            loader.report.retired["facilities"] += 1
    await session.flush()
    if loader.report.changed:
        await bump_revision(session, now)
    return loader.report


async def _load_simple(loader: _Loader, data: NetworkData) -> None:
    wards = {w.key: w for w in await loader.existing(Ward)}
    for order, ward in enumerate(data.wards):
        values = {"name_ja": ward.name_ja, "name_en": ward.name_en, "sort_order": order}
        if ward.key in wards:
            loader.assign("wards", wards[ward.key], values)
        else:
            loader.create("wards", Ward(key=ward.key, **values))
    purposes = {p.key: p for p in await loader.existing(Purpose)}
    for key, purpose in data.purposes.items():
        values = {"name_ja": purpose.name_ja, "name_en": purpose.name_en}
        if key in purposes:
            loader.assign("purposes", purposes[key], values)
        else:
            loader.create("purposes", Purpose(key=key, **values))
    await loader.session.flush()


async def _load_grids(loader: _Loader, data: NetworkData) -> dict[str, int]:
    grids = {g.key: g for g in await loader.existing(PeriodGrid)}
    for key, grid_data in data.period_grids.items():
        values: dict[str, Any] = {
            "name_ja": grid_data.name_ja,
            "name_en": grid_data.name_en,
            "estimated_fields": list(grid_data.estimated_fields),
            "estimate_basis": grid_data.estimate_basis,
        }
        if key in grids:
            loader.assign("period_grids", grids[key], values)
        else:
            grids[key] = loader.create("period_grids", PeriodGrid(key=key, **values))
    await loader.session.flush()
    for key, grid_data in data.period_grids.items():
        grid = grids[key]
        periods = {p.code: p for p in await loader.existing(Period, Period.grid_id == grid.id)}
        for order, period in enumerate(grid_data.periods):
            values = {
                "name_ja": period.name_ja,
                "name_en": period.name_en,
                "start_time": period.start,
                "end_time": period.end,
                "on_weekday": "weekday" in period.day_types,
                "on_saturday": "saturday" in period.day_types,
                "on_sunday_holiday": "sunday_holiday" in period.day_types,
                "sort_order": order,
                "estimated_fields": list(period.estimated_fields),
            }
            if period.code in periods:
                loader.assign("periods", periods.pop(period.code), values)
            else:
                loader.create("periods", Period(grid_id=grid.id, code=period.code, **values))
        for gone in periods.values():
            # Claims name a period by code, not by row, so a removed period breaks nothing.
            await loader.session.delete(gone)
            loader.report.retired["periods"] += 1
    await loader.session.flush()
    return {key: grid.id for key, grid in grids.items()}


async def _load_policies(loader: _Loader, data: NetworkData) -> dict[str, int]:
    policies = {p.key: p for p in await loader.existing(Policy)}
    for key, policy in data.policies.items():
        values = {"settings": policy.overrides(), "estimate_basis": policy.estimate_basis}
        if key in policies:
            loader.assign("policies", policies[key], values)
        else:
            policies[key] = loader.create("policies", Policy(key=key, **values))
    await loader.session.flush()
    return {key: policy.id for key, policy in policies.items()}


async def _load_kinds(
    loader: _Loader, data: NetworkData, grids: dict[str, int], policies: dict[str, int]
) -> dict[str, int]:
    kinds = {k.key: k for k in await loader.existing(FacilityKind)}
    for key, kind in data.kinds.items():
        values = {
            "name_ja": kind.name_ja,
            "name_en": kind.name_en,
            "policy_id": policies[kind.policy] if kind.policy else None,
            "period_grid_id": grids[kind.period_grid],
            "opening_hours": kind.opening_hours.as_json(),
        }
        if key in kinds:
            loader.assign("facility_kinds", kinds[key], values)
        else:
            kinds[key] = loader.create("facility_kinds", FacilityKind(key=key, **values))
    await loader.session.flush()
    for key, kind in data.kinds.items():
        specs = [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in kind.closures]
        await _load_closures(loader, facility_id=None, kind_id=kinds[key].id, specs=specs)
    return {key: kind.id for key, kind in kinds.items()}


async def _load_closures(
    loader: _Loader, *, facility_id: int | None, kind_id: int | None, specs: list[dict[str, Any]]
) -> None:
    """Replace the data-made closure rules of one owner when they differ; keep managers' own."""
    owner = (
        ClosureRule.facility_id == facility_id
        if facility_id is not None
        else ClosureRule.facility_kind_id == kind_id
    )
    current = await loader.existing(ClosureRule, owner, ClosureRule.origin == "data")
    wanted = [({k: v for k, v in spec.items() if k != "note"}, spec.get("note")) for spec in specs]
    if [(rule.spec, rule.note) for rule in current] == wanted:
        return
    await loader.session.execute(delete(ClosureRule).where(owner, ClosureRule.origin == "data"))
    loader.report.updated["closure_rules"] += 1
    for spec, note in wanted:
        loader.session.add(
            ClosureRule(
                facility_id=facility_id,
                facility_kind_id=kind_id,
                spec=spec,
                note=note,
                origin="data",
            )
        )


async def _load_facility(
    loader: _Loader,
    data: FacilityData,
    facilities: dict[str, Facility],
    kinds: dict[str, int],
    wards: dict[str, int],
    grids: dict[str, int],
    policies: dict[str, int],
) -> Facility:
    values = facility_values(data, kinds, wards, grids, policies)
    facility = facilities.get(data.key)
    if facility is None:
        facility = loader.create(
            "facilities",
            Facility(key=data.key, created_at=loader.now, updated_at=loader.now, **values),
        )
        facilities[data.key] = facility
        await loader.session.flush()
    else:
        loader.assign("facilities", facility, values)
    return facility


def facility_values(
    data: FacilityData,
    kinds: dict[str, int],
    wards: dict[str, int],
    grids: dict[str, int],
    policies: dict[str, int],
) -> dict[str, Any]:
    """The columns of a facility row that hold this record (the load and staff edits alike)."""
    return {
        "kind_id": kinds[data.kind],
        "name_ja": data.name_ja,
        "name_en": data.name_en,
        "ward_id": wards[data.ward] if data.ward else None,
        "address": data.address,
        "phone": data.phone,
        "external_id": data.external_id,
        "opens_on": data.opens_on,
        "closes_on": data.closes_on,
        "policy_id": policies[data.policy] if data.policy else None,
        "period_grid_id": grids[data.period_grid] if data.period_grid else None,
        "opening_hours": data.opening_hours.as_json() if data.opening_hours else None,
        "estimated_fields": list(data.estimated_fields),
        "estimate_basis": data.estimate_basis,
        "notes": data.notes,
        "sources": list(data.sources),
        "active": True,
    }


async def _load_rooms(
    loader: _Loader,
    facility: Facility,
    rooms: tuple[RoomData, ...],
    grids: dict[str, int],
    policies: dict[str, int],
) -> None:
    existing = {r.key: r for r in await loader.existing(Room, Room.facility_id == facility.id)}
    units = {u.key: u for u in await loader.existing(Unit, Unit.facility_id == facility.id)}
    for key in {k for room in rooms for k in room.unit_keys} - set(units):
        units[key] = loader.create("units", Unit(facility_id=facility.id, key=key))
    await loader.session.flush()
    for order, data in enumerate(rooms):
        values = room_values(data, order, grids, policies)
        room = existing.pop(data.key, None)
        if room is None:
            room = loader.create(
                "rooms",
                Room(
                    facility_id=facility.id,
                    key=data.key,
                    created_at=loader.now,
                    updated_at=loader.now,
                    **values,
                ),
            )
            await loader.session.flush()
        else:
            loader.assign("rooms", room, values)
        await _load_room_units(loader, room.id, {units[k].id for k in data.unit_keys})
    for room in existing.values():
        if room.active:
            room.active = False
            room.updated_at = loader.now
            loader.report.retired["rooms"] += 1


def room_values(
    data: RoomData, order: int, grids: dict[str, int], policies: dict[str, int]
) -> dict[str, Any]:
    """The columns of a room row that hold this record (the load and staff edits alike)."""
    return {
        "name_ja": data.name_ja,
        "name_en": data.name_en,
        "capacity": data.capacity,
        "area_m2": data.area_m2,
        "equipment": list(data.equipment),
        "fees": dict(data.fees) if data.fees is not None else None,
        "all_day_fee": data.all_day_fee,
        "online_bookable": data.online_bookable,
        "purposes": list(data.purposes) if data.purposes is not None else None,
        "external_id": data.external_id,
        "policy_id": policies[data.policy] if data.policy else None,
        "period_grid_id": grids[data.period_grid] if data.period_grid else None,
        "is_estimated": data.estimated,
        "estimated_fields": list(data.estimated_fields),
        "estimate_basis": data.estimate_basis,
        "notes": data.notes,
        "sources": list(data.sources),
        "sort_order": order,
        "active": True,
    }


async def _load_room_units(loader: _Loader, room_id: int, wanted: set[int]) -> None:
    current = {ru.unit_id for ru in await loader.existing(RoomUnit, RoomUnit.room_id == room_id)}
    if current == wanted:
        return
    loader.report.updated["room_units"] += 1
    if current - wanted:
        await loader.session.execute(
            delete(RoomUnit).where(
                RoomUnit.room_id == room_id, RoomUnit.unit_id.in_(current - wanted)
            )
        )
    for unit_id in wanted - current:
        loader.session.add(RoomUnit(room_id=room_id, unit_id=unit_id))
