"""An in-memory snapshot of the facility network, resolved for fast reads.

The network (about 70 facilities, a few hundred rooms) changes rarely; availability reads it
on every request. Each process keeps one snapshot and reloads it when the database's inventory
revision moves, so every process sees a change on its next request (DESIGN.md: stateless app
processes, shared state in the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.calendar import DayType
from booking.inventory.closures import ClosureSpec, closed_dates, closure_spec_adapter
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
    Ward,
)
from booking.inventory.policy import ReservationPolicy, effective_policy
from booking.inventory.services import current_revision


@dataclass(frozen=True, slots=True)
class PeriodInfo:
    code: str
    name_ja: str
    name_en: str
    start: time
    end: time
    day_types: frozenset[DayType]
    estimated_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GridInfo:
    id: int
    key: str
    name_ja: str
    name_en: str
    periods: tuple[PeriodInfo, ...]
    codes_by_day_type: dict[DayType, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class FacilityInfo:
    id: int
    key: str
    kind: str
    ward_id: int | None
    name_ja: str
    name_en: str
    opens_on: date | None
    closes_on: date | None
    closures: tuple[ClosureSpec, ...]
    policy: ReservationPolicy  # the kind's and the facility's layers
    grid: GridInfo
    address: str | None = None


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: int
    facility_id: int
    key: str
    name_ja: str
    name_en: str
    capacity: int | None
    online_bookable: bool
    unit_ids: tuple[int, ...]
    grid: GridInfo
    policy: ReservationPolicy
    fees: dict[str, int] | None = None  # yen per period code; None: free
    all_day_fee: int | None = None
    purposes: frozenset[str] | None = None  # None: any purpose
    fee_is_estimate: bool = False  # the data marks the fees as estimates: shown with ≈


@dataclass
class NetworkSnapshot:
    revision: int
    ward_keys: dict[str, int]
    kinds: frozenset[str]
    facilities: dict[int, FacilityInfo]
    purposes: frozenset[str]  # the vocabulary of purposes
    rooms: tuple[RoomInfo, ...]  # active rooms, ordered by ward, facility, room
    _closed: dict[tuple[int, int], frozenset[date]] = field(default_factory=dict)
    # Caches of values derived from this snapshot alone, by their owner (e.g. availability);
    # they go with the snapshot when the inventory changes.
    derived: dict[object, object] = field(default_factory=dict)

    def closed_dates(self, facility_id: int, year: int) -> frozenset[date]:
        """The dates of `year` on which the facility's closure rules close it (memoised)."""
        cache_key = (facility_id, year)
        found = self._closed.get(cache_key)
        if found is None:
            rules = self.facilities[facility_id].closures
            found = closed_dates(rules, date(year, 1, 1), date(year, 12, 31))
            self._closed[cache_key] = found
        return found

    def room(self, room_id: int) -> RoomInfo | None:
        return next((room for room in self.rooms if room.id == room_id), None)


class SnapshotCache:
    """Holds the current snapshot of one process; `get` checks the revision on every call."""

    def __init__(self) -> None:
        self._snapshot: NetworkSnapshot | None = None

    async def get(self, session: AsyncSession) -> NetworkSnapshot:
        revision = await current_revision(session)
        if self._snapshot is None or self._snapshot.revision != revision:
            self._snapshot = await build_snapshot(session, revision)
        return self._snapshot


async def build_snapshot(session: AsyncSession, revision: int) -> NetworkSnapshot:
    grids = await _grids(session)
    policies = {p.id: p.settings for p in (await session.scalars(select(Policy))).all()}
    kinds = {k.id: k for k in (await session.scalars(select(FacilityKind))).all()}
    wards = {w.id: w for w in (await session.scalars(select(Ward))).all()}
    rules = await _closure_rules(session)
    facility_rows = (await session.scalars(select(Facility).where(Facility.active.is_(True)))).all()
    policy_of = _PolicyLayers(policies)

    facilities: dict[int, FacilityInfo] = {}
    for row in facility_rows:
        kind = kinds[row.kind_id]
        facilities[row.id] = FacilityInfo(
            id=row.id,
            key=row.key,
            kind=kinds[row.kind_id].key,
            ward_id=row.ward_id,
            name_ja=row.name_ja,
            name_en=row.name_en,
            opens_on=row.opens_on,
            closes_on=row.closes_on,
            closures=(*rules.get(("kind", row.kind_id), ()), *rules.get(("facility", row.id), ())),
            policy=policy_of((kind.policy_id, row.policy_id)),
            grid=grids[row.period_grid_id or kind.period_grid_id],
            address=row.address,
        )
    units: dict[int, list[int]] = {}
    for room_id, unit_id in await session.execute(select(RoomUnit.room_id, RoomUnit.unit_id)):
        units.setdefault(room_id, []).append(unit_id)
    rooms: list[tuple[tuple[Any, ...], RoomInfo]] = []
    by_id = {row.id: row for row in facility_rows}
    room_rows = (await session.scalars(select(Room).where(Room.active.is_(True)))).all()
    for room in room_rows:
        facility = by_id.get(room.facility_id)
        if facility is None:
            continue
        kind = kinds[facility.kind_id]
        grid_id = room.period_grid_id or facility.period_grid_id or kind.period_grid_id
        ward = wards.get(facility.ward_id) if facility.ward_id else None
        order = (ward.sort_order if ward else 99, facility.kind_id, facility.id, room.sort_order)
        rooms.append(
            (
                order,
                RoomInfo(
                    id=room.id,
                    facility_id=facility.id,
                    key=room.key,
                    name_ja=room.name_ja,
                    name_en=room.name_en,
                    capacity=room.capacity,
                    online_bookable=room.online_bookable,
                    unit_ids=tuple(sorted(units.get(room.id, ()))),
                    grid=grids[grid_id],
                    policy=policy_of((kind.policy_id, facility.policy_id, room.policy_id)),
                    fees=dict(room.fees) if room.fees else None,
                    all_day_fee=room.all_day_fee,
                    purposes=frozenset(room.purposes) if room.purposes is not None else None,
                    fee_is_estimate=room.is_estimated or "fees" in room.estimated_fields,
                ),
            )
        )
    rooms.sort(key=lambda item: item[0])
    return NetworkSnapshot(
        revision=revision,
        ward_keys={w.key: w.id for w in wards.values()},
        kinds=frozenset(k.key for k in kinds.values()),
        facilities=facilities,
        purposes=frozenset((await session.scalars(select(Purpose.key))).all()),
        rooms=tuple(room for _, room in rooms),
    )


class _PolicyLayers:
    """Effective policies by their layers (kind, facility[, room] policy ids), each merged once
    and shared: availability memoises per policy object."""

    def __init__(self, policies: dict[int, dict[str, Any]]) -> None:
        self._policies = policies
        self._resolved: dict[tuple[int | None, ...], ReservationPolicy] = {}

    def __call__(self, layers: tuple[int | None, ...]) -> ReservationPolicy:
        if layers not in self._resolved:
            self._resolved[layers] = effective_policy(
                *(self._policies.get(i) if i else None for i in layers)
            )
        return self._resolved[layers]


async def _closure_rules(session: AsyncSession) -> dict[tuple[str, int], list[ClosureSpec]]:
    """Closure rules by owner: ("kind", kind id) or ("facility", facility id)."""
    rules: dict[tuple[str, int], list[ClosureSpec]] = {}
    for rule in (await session.scalars(select(ClosureRule).order_by(ClosureRule.id))).all():
        owner = (
            ("kind", rule.facility_kind_id)
            if rule.facility_kind_id
            else ("facility", rule.facility_id)
        )
        spec: ClosureSpec = closure_spec_adapter.validate_python(rule.spec)
        rules.setdefault(owner, []).append(spec)  # type: ignore[arg-type]
    return rules


async def _grids(session: AsyncSession) -> dict[int, GridInfo]:
    periods: dict[int, list[PeriodInfo]] = {}
    rows = await session.scalars(select(Period).order_by(Period.grid_id, Period.sort_order))
    for row in rows.all():
        day_types = frozenset(
            day_type
            for day_type, on in (
                (DayType.WEEKDAY, row.on_weekday),
                (DayType.SATURDAY, row.on_saturday),
                (DayType.SUNDAY_HOLIDAY, row.on_sunday_holiday),
            )
            if on
        )
        periods.setdefault(row.grid_id, []).append(
            PeriodInfo(
                code=row.code,
                name_ja=row.name_ja,
                name_en=row.name_en,
                start=row.start_time,
                end=row.end_time,
                day_types=day_types,
                estimated_fields=tuple(row.estimated_fields),
            )
        )
    grids: dict[int, GridInfo] = {}
    for grid in (await session.scalars(select(PeriodGrid))).all():
        own = tuple(periods.get(grid.id, ()))
        grids[grid.id] = GridInfo(
            id=grid.id,
            key=grid.key,
            name_ja=grid.name_ja,
            name_en=grid.name_en,
            periods=own,
            codes_by_day_type={
                day_type: tuple(
                    p.code for p in sorted(own, key=lambda p: p.start) if day_type in p.day_types
                )
                for day_type in DayType
            },
        )
    return grids
