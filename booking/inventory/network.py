"""An in-memory snapshot of the facility network, resolved for fast reads.

The network (about 70 facilities, a few hundred rooms) changes rarely; availability reads it
on every request. Each process keeps one snapshot and reloads it when the database's inventory
revision moves, so every process sees a change on its next request (DESIGN.md: stateless app
processes, shared state in the database).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
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
    PolicyRevision,
    Purpose,
    Room,
    RoomFeeSchedule,
    RoomUnit,
    Ward,
)
from booking.inventory.policy import ReservationPolicy, effective_policy, merge_layers
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
class RevisionInfo:
    """A policy revision as the snapshot resolves it (inventory/schedules.py has the rule)."""

    id: int
    layer: int  # 0 the kind's policy, 1 the facility's, 2 the room's
    effective_from: date
    created_at: datetime
    settings: dict[str, Any]


class PolicyTimeline:
    """The effective policy of one set of layers (kind, facility[, room]) over use dates.

    A revision governs use dates from its `effective_from` for bookings made after it was
    entered (`created_at`): `at(day)` answers for a booking made now, `at(day, made_at)` for
    one made then, so a booking keeps the policy it was made under. Each layer is its policy's
    settings with its revisions up to the date merged over them, in date order. Timelines are
    shared by every room of the same layers, and without revisions `at` returns `base` itself,
    so availability's memo (keyed by the timeline) and the booking path stay as fast as before.
    """

    __slots__ = ("_policies", "_resolve", "_steps", "base", "revisions")

    def __init__(
        self,
        base: ReservationPolicy,
        revisions: tuple[RevisionInfo, ...],
        resolve: Callable[[frozenset[int]], ReservationPolicy],
    ) -> None:
        self.base = base
        self.revisions = tuple(sorted(revisions, key=lambda r: (r.effective_from, r.layer)))
        self._resolve = resolve  # frozenset of revision ids -> ReservationPolicy (memoised)
        days = sorted({r.effective_from for r in self.revisions})
        self._steps = days
        self._policies = [
            resolve(frozenset(r.id for r in self.revisions if r.effective_from <= day))
            for day in days
        ]

    def at(self, day: date, made_at: datetime | None = None) -> ReservationPolicy:
        """The policy for a booking of `day` made at `made_at` (None: now, every revision known)."""
        if not self.revisions:
            return self.base
        if made_at is None:
            index = bisect_right(self._steps, day)
            return self._policies[index - 1] if index else self.base
        known = frozenset(
            r.id for r in self.revisions if r.effective_from <= day and r.created_at <= made_at
        )
        return self._resolve(known) if known else self.base

    def changes_after(self, day: date) -> list[tuple[date, ReservationPolicy]]:
        """The policy from each revision date after `day` on (pages announce what is coming)."""
        return [(d, p) for d, p in zip(self._steps, self._policies, strict=True) if d > day]


def _on(
    timeline: PolicyTimeline | None,
    policy: ReservationPolicy,
    day: date,
    made_at: datetime | None,
) -> ReservationPolicy:
    """The timeline's answer, unless the info's policy is not the timeline's (an info copied
    with another policy, as tests do): then that policy, as before revisions existed."""
    if timeline is None or timeline.base is not policy:
        return policy
    return timeline.at(day, made_at)


@dataclass(frozen=True, slots=True)
class FeeTable:
    """A room's fees from a date: yen per period code (None: free), the all-day tariff."""

    effective_from: date | None  # None: the room's own fees, before any schedule
    fees: dict[str, int] | None
    all_day_fee: int | None
    is_estimate: bool


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
    policy: ReservationPolicy  # the kind's and the facility's layers, before any revision
    grid: GridInfo
    address: str | None = None
    timeline: PolicyTimeline | None = None  # None: no revision (tests build infos by hand)
    phone: str | None = None  # how to book a room that is bookable at the counter only

    def policy_on(self, day: date, made_at: datetime | None = None) -> ReservationPolicy:
        """The facility's policy for use date `day`, for a booking made at `made_at` (None:
        now). The lottery's calendar of a use month reads it on the month's first day."""
        return _on(self.timeline, self.policy, day, made_at)


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
    # Before any revision or schedule: the rules read policy_on / fees_on with the use date.
    policy: ReservationPolicy
    fees: dict[str, int] | None = None  # yen per period code; None: free
    all_day_fee: int | None = None
    purposes: frozenset[str] | None = None  # None: any purpose
    fee_is_estimate: bool = False  # the data marks the fees as estimates: shown with ≈
    timeline: PolicyTimeline | None = None  # None: no revision (tests build infos by hand)
    fee_schedules: tuple[FeeTable, ...] = ()  # from their dates on, earliest first
    own_fees: FeeTable | None = None  # the room's own, made once (None: made on each call)

    def policy_on(self, day: date, made_at: datetime | None = None) -> ReservationPolicy:
        """The room's policy for use date `day`, for a booking made at `made_at` (None: now);
        an existing booking passes its created_at and keeps the policy it was made under."""
        return _on(self.timeline, self.policy, day, made_at)

    def fees_on(self, day: date) -> FeeTable:
        """The fees for use date `day`: the last schedule from that date or before, else the
        room's own. A booking stores its fee when made, so later schedules never touch it."""
        for table in reversed(self.fee_schedules):
            if table.effective_from is not None and table.effective_from <= day:
                return table
        return self.own_fees or FeeTable(None, self.fees, self.all_day_fee, self.fee_is_estimate)


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
        return await self.at(session, await current_revision(session))

    async def at(self, session: AsyncSession, revision: int) -> NetworkSnapshot:
        """The snapshot of a revision the caller read itself (a feed reads it with its token)."""
        if self._snapshot is None or self._snapshot.revision != revision:
            self._snapshot = await build_snapshot(session, revision)
        return self._snapshot


async def build_snapshot(session: AsyncSession, revision: int) -> NetworkSnapshot:
    grids = await _grids(session)
    policies = {p.id: p.settings for p in (await session.scalars(select(Policy))).all()}
    revisions: dict[int, list[PolicyRevision]] = {}
    for change in (await session.scalars(select(PolicyRevision))).all():
        revisions.setdefault(change.policy_id, []).append(change)
    fee_schedules: dict[int, list[RoomFeeSchedule]] = {}
    for schedule in (
        await session.scalars(select(RoomFeeSchedule).order_by(RoomFeeSchedule.effective_from))
    ).all():
        fee_schedules.setdefault(schedule.room_id, []).append(schedule)
    kinds = {k.id: k for k in (await session.scalars(select(FacilityKind))).all()}
    wards = {w.id: w for w in (await session.scalars(select(Ward))).all()}
    rules = await _closure_rules(session)
    facility_rows = (await session.scalars(select(Facility).where(Facility.active.is_(True)))).all()
    policy_of = _PolicyLayers(policies, revisions)

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
            timeline=policy_of.timeline((kind.policy_id, row.policy_id)),
            phone=row.phone,
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
        layers = (kind.policy_id, facility.policy_id, room.policy_id)
        estimate = room.is_estimated or "fees" in room.estimated_fields
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
                    policy=policy_of(layers),
                    fees=dict(room.fees) if room.fees else None,
                    all_day_fee=room.all_day_fee,
                    purposes=frozenset(room.purposes) if room.purposes is not None else None,
                    fee_is_estimate=estimate,
                    own_fees=FeeTable(
                        None, dict(room.fees) if room.fees else None, room.all_day_fee, estimate
                    ),
                    timeline=policy_of.timeline(layers),
                    fee_schedules=tuple(
                        FeeTable(
                            s.effective_from,
                            dict(s.fees) if s.fees else None,
                            s.all_day_fee,
                            # What staff entered is the ordinance's figure; the data's keeps
                            # the room's estimate mark.
                            estimate and s.origin != "staff",
                        )
                        for s in fee_schedules.get(room.id, ())
                    ),
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
    and shared: availability memoises per policy object, and per timeline."""

    def __init__(
        self, policies: dict[int, dict[str, Any]], revisions: dict[int, list[PolicyRevision]]
    ) -> None:
        self._policies = policies
        self._revisions = revisions
        self._resolved: dict[tuple[tuple[int | None, ...], frozenset[int]], ReservationPolicy] = {}
        self._timelines: dict[tuple[int | None, ...], PolicyTimeline] = {}

    def __call__(
        self, layers: tuple[int | None, ...], applied: frozenset[int] = frozenset()
    ) -> ReservationPolicy:
        """The policy of these layers with the revisions of ids `applied` merged in."""
        key = (layers, applied)
        if key not in self._resolved:
            self._resolved[key] = effective_policy(
                *(self._layer(i, applied) if i else None for i in layers)
            )
        return self._resolved[key]

    def _layer(self, policy_id: int, applied: frozenset[int]) -> dict[str, Any] | None:
        own = self._policies.get(policy_id)
        dated = [r for r in self._revisions.get(policy_id, ()) if r.id in applied]
        if not dated:
            return own
        dated.sort(key=lambda r: r.effective_from)
        return merge_layers(own, *(r.settings for r in dated))

    def timeline(self, layers: tuple[int | None, ...]) -> PolicyTimeline:
        found = self._timelines.get(layers)
        if found is None:
            revisions = tuple(
                RevisionInfo(r.id, index, r.effective_from, r.created_at, r.settings)
                for index, policy_id in enumerate(layers)
                if policy_id
                for r in self._revisions.get(policy_id, ())
            )
            found = PolicyTimeline(self(layers), revisions, lambda applied: self(layers, applied))
            self._timelines[layers] = found
        return found


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
