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
from booking.inventory.schedules import (
    fee_revisions_data,
    fee_schedules,
    load_fee_revisions,
    load_policy_revisions,
    policy_revisions,
    policy_revisions_data,
)
from booking.inventory.services import bump_revision

T = TypeVar("T")


# Columns of facilities and rooms by the data files' field names (staff_edits' keys).
_FIELD_OF_COLUMN = {
    "kind_id": "kind",
    "ward_id": "ward",
    "policy_id": "policy",
    "period_grid_id": "period_grid",
    "is_estimated": "estimated",
}


@dataclass(frozen=True)
class LoadConflict:
    """A value staff set (or confirmed) in the system that the file would change."""

    target: str  # the facility's key, or "facility/room"
    field: str
    live: Any
    file: Any
    by: int | None  # who set it
    at: str | None  # when (ISO)
    taken: bool  # the file's value was taken (--take-file), not the live one kept

    def __str__(self) -> str:
        who = f"user {self.by}, {self.at}" if self.by is not None else "staff"
        if self.taken:
            return (
                f"{self.target} {self.field}: took the file's {self.file!r} over "
                f"{self.live!r} set in the system ({who})"
            )
        return (
            f"{self.target} {self.field}: kept {self.live!r} set in the system ({who}); the "
            f"file has {self.file!r} (--take-file {self.target}:{self.field} takes it)"
        )


@dataclass(frozen=True)
class TakeFile:
    """Which conflicts take the file's value: selectors `*` (all), `FACILITY`,
    `FACILITY/ROOM`, each optionally `:FIELD` (`hall:phone`, `hall/room-1:capacity`)."""

    selectors: frozenset[str] = frozenset()

    def __call__(self, target: str, field: str) -> bool:
        return bool({"*", f"*:{field}", target, f"{target}:{field}"} & self.selectors)


KEEP_STAFF_EDITS = TakeFile()  # the default: every staff edit stays


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    retired: Counter[str] = field(default_factory=Counter)
    conflicts: list[LoadConflict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def summary(self) -> str:
        kept = sum(not c.taken for c in self.conflicts)
        taken = len(self.conflicts) - kept
        notes = [f"{n} staff edit(s) kept" for n in [kept] if n] + [
            f"{n} staff edit(s) replaced by the file" for n in [taken] if n
        ]
        if not self.changed:
            return "; ".join(["no changes", *notes])
        parts = []
        for label, counter in (
            ("created", self.created),
            ("updated", self.updated),
            ("retired", self.retired),
        ):
            if counter:
                items = ", ".join(f"{n} {table}" for table, n in sorted(counter.items()))
                parts.append(f"{label} {items}")
        return "; ".join(parts + notes)


class _Loader:
    def __init__(self, session: AsyncSession, now: datetime, take_file: TakeFile) -> None:
        self.session = session
        self.now = now
        self.take_file = take_file
        self.report = LoadReport()
        # id -> key of the rows a facility or room points at, to report conflicts in keys
        self.keys_of: dict[str, dict[int, str]] = {}

    def assign(
        self, table: str, row: Any, values: dict[str, Any], target: str | None = None
    ) -> bool:
        """Set the values that differ; count an update; tell whether anything changed.

        With a `target` (a facility or a room), a value staff set or confirmed in the system
        is a conflict when the file's differs: reported, and kept unless take_file says so.
        """
        changed = False
        for name, value in values.items():
            if getattr(row, name) == value or (target and name == "estimated_fields"):
                continue
            field = _FIELD_OF_COLUMN.get(name, name)
            values_shown = (self.shown(name, getattr(row, name)), self.shown(name, value))
            if target is not None and not self.staff_yield(row, target, field, values_shown):
                continue
            setattr(row, name, value)
            changed = True
        if target is not None and "estimated_fields" in values:
            # A confirmed estimate stays confirmed: the file's mark does not come back.
            confirmed = set(row.confirmations)
            wanted = [f for f in values["estimated_fields"] if f not in confirmed]
            if row.estimated_fields != wanted:
                row.estimated_fields = wanted
                changed = True
        if changed:
            self.report.updated[table] += 1
            if hasattr(row, "updated_at"):
                row.updated_at = self.now
        return changed

    def staff_yield(self, row: Any, target: str, field: str, values: tuple[Any, Any]) -> bool:
        """Whether the file's value may replace the row's: yes unless staff set or confirmed
        this field; then a conflict is reported, and the marks go when the file's is taken.
        `values`: the live one and the file's, as the report shows them."""
        mark = row.staff_edits.get(field) or row.confirmations.get(field)
        if mark is None:
            return True
        taken = self.take_file(target, field)
        self.report.conflicts.append(
            LoadConflict(
                target,
                field,
                *values,
                mark.get("by"),
                mark.get("at"),
                taken,
            )
        )
        if taken:
            row.staff_edits = {k: v for k, v in row.staff_edits.items() if k != field}
            row.confirmations = {k: v for k, v in row.confirmations.items() if k != field}
        return taken

    def shown(self, column: str, value: Any) -> Any:
        keys = self.keys_of.get(column)
        return keys.get(value, value) if keys is not None and value is not None else value

    def create(self, table: str, row: T) -> T:
        self.session.add(row)
        self.report.created[table] += 1
        return row

    async def existing(self, model: type[T], *where: Any) -> list[T]:
        return list((await self.session.scalars(select(model).where(*where))).all())


async def load_network(
    session: AsyncSession, network: Network, now: datetime, take_file: TakeFile = KEEP_STAFF_EDITS
) -> LoadReport:
    """Bring the database in line with `network`. The caller owns the transaction.

    What staff set or confirmed in the system (staff_edits, confirmations) is never silently
    overwritten: each differing file value is a conflict in the report, and the live value
    stays unless `take_file` selects it.
    """
    loader = _Loader(session, now, take_file)
    data = network.network
    await _load_simple(loader, data)
    grids = await _load_grids(loader, data)
    policies = await _load_policies(loader, data)
    kinds = await _load_kinds(loader, data, grids, policies)
    wards = {w.key: w.id for w in await loader.existing(Ward)}
    for column, ids in (
        ("kind_id", kinds),
        ("ward_id", wards),
        ("policy_id", policies),
        ("period_grid_id", grids),
    ):
        loader.keys_of[column] = {row_id: key for key, row_id in ids.items()}
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
            _retire(loader, "facilities", facility, key)
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
    for key, policy in data.policies.items():
        row_id = policies[key].id
        before = policy_revisions_data(await policy_revisions(loader.session, row_id))
        for day in await load_policy_revisions(
            loader.session, row_id, policy.revisions, loader.now
        ):
            live = next((r for r in before if r["effective_from"] == day), None)
            file = next(r for r in policy.revisions if r.effective_from == day)
            loader.report.conflicts.append(
                LoadConflict(
                    f"policies.{key}",
                    f"revisions[{day.isoformat()}]",
                    live,
                    file.model_dump(mode="json"),
                    None,
                    None,
                    taken=False,
                )
            )
        if policy_revisions_data(await policy_revisions(loader.session, row_id)) != before:
            loader.report.updated["policy_revisions"] += 1
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
        loader.assign("facilities", facility, values, target=data.key)
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
    keep_order = _same_order(existing, rooms)
    for order, data in enumerate(rooms):
        values = room_values(data, order, grids, policies)
        room = existing.pop(data.key, None)
        if room is not None and keep_order:
            values["sort_order"] = room.sort_order
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
            loader.assign("rooms", room, values, target=f"{facility.key}/{data.key}")
        target = f"{facility.key}/{data.key}"
        wanted = {units[k].id: k for k in data.unit_keys}
        await _load_room_units(loader, room, target, wanted, {u.id: k for k, u in units.items()})
        await _load_fee_revisions(loader, room, target, data)
    for room in existing.values():
        if room.active:
            _retire(loader, "rooms", room, f"{facility.key}/{room.key}")


def _retire(loader: _Loader, table: str, row: Facility | Room, target: str) -> None:
    """A row that left the data is retired, unless staff made or reinstated it in the system."""
    if not loader.staff_yield(row, target, "active", (row.active, False)):
        return
    row.active = False
    row.updated_at = loader.now
    loader.report.retired[table] += 1


def _same_order(existing: dict[str, Room], rooms: tuple[RoomData, ...]) -> bool:
    """Whether the file lists the live rooms in their live order: then their sort_order
    values stay (staff may have left gaps), and a load of an export changes nothing."""
    live = sorted(
        (room for key, room in existing.items() if room.active),
        key=lambda room: (room.sort_order, room.id),
    )
    listed = [room.key for room in rooms if room.key in existing]
    return [room.key for room in live if room.key in set(listed)] == listed and all(
        existing[key].active for key in listed
    )


async def _load_fee_revisions(loader: _Loader, room: Room, target: str, data: RoomData) -> None:
    """The room's dated fees (inventory/schedules.py keeps them): staff-entered dates the
    file differs on are conflicts, kept."""
    before = fee_revisions_data(await fee_schedules(loader.session, room.id))
    conflicts = await load_fee_revisions(loader.session, room.id, data.fee_revisions, loader.now)
    for day in conflicts:
        live = next((r for r in before if r["effective_from"] == day), None)
        file = next(r for r in data.fee_revisions if r.effective_from == day)
        loader.report.conflicts.append(
            LoadConflict(
                target,
                f"fee_revisions[{day.isoformat()}]",
                live,
                file.model_dump(mode="json", exclude_none=True),
                None,
                None,
                taken=False,
            )
        )
    if fee_revisions_data(await fee_schedules(loader.session, room.id)) != before:
        loader.report.updated["room_fee_schedules"] += 1


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


async def _load_room_units(
    loader: _Loader, room: Room, target: str, units: dict[int, str], names: dict[int, str]
) -> None:
    """The units a room occupies: its parts', for a combined room (`units`: id -> key)."""
    room_id, wanted = room.id, set(units)
    current = {ru.unit_id for ru in await loader.existing(RoomUnit, RoomUnit.room_id == room_id)}
    if current == wanted:
        return
    live = sorted(names[unit_id] for unit_id in current)
    if not loader.staff_yield(room, target, "units", (live, sorted(units.values()))):
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
