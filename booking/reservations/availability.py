"""Availability: the state of every room, date and period over a range (DESIGN.md, issue 2).

States, first match wins: `closed` (a closure rule, or outside the facility's service dates),
`blocked` (a manager's block claims a unit of the room), `booked` (any other live claim on a
unit of the room: booking, hold, unconfirmed lottery win, wait-list offer), then the phase of
the room's policy at the clock's today: `lottery` (with its applicants), `open`,
`not_yet_open` or `past`. A room bookable at the counter only (not `online_bookable`) is
`counter_only` where it would be `open` or `lottery`: free, but not for booking online.
A `booked` slot says how many groups wait for it (`waiting`, the
wait list's live entries of that room, date and period), when any do.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import InvalidInput
from booking.inventory.calendar import day_type, usable_day
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import Phase, booking_phase
from booking.reservations.claims_cache import ClaimsCache, MonthClaims, Signature, parse
from booking.reservations.models import ClaimKind
from booking.reservations.schemas import DayRead, FeesRead, RoomAvailabilityRead, SlotRead

MAX_DAYS = 93
# The ward filter's value for the facilities whose ward is not set (ward_id NULL).
UNKNOWN_WARD = "unknown"
# What one request may cost, in rooms × days: the rooms the filters keep times the days of the
# range. Measured (in-process, the bundled network with 30% of the slots taken, 2026-12-02):
# the month grid page costs about 0.12 ms and 350 bytes a room-day (the whole network over 93
# days: 1.9 s and 4.9 MB); the list page and the API a tenth of that (140 and 63 ms).
GRID_ROOM_DAYS = 28 * 31  # a month of the ward with the most rooms (高津区, 28 rooms)
STAFF_GRID_ROOM_DAYS = 160 * 31  # logged-in staff: the whole network (156 rooms) over a month
SLOTS_ROOM_DAYS = 160 * MAX_DAYS  # the list and the API: the whole network at the longest range


class SearchTooLarge(InvalidInput):
    """More rooms × days than one request may ask for: narrow by ward, kind or dates."""

    code = "search_too_large"

    def __init__(self, rooms: int, days: int, limit: int) -> None:
        super().__init__(
            f"{rooms} rooms × {days} days is more than one request may ask for (at most {limit} "
            "rooms × days): narrow it by ward, kind, facility, room or dates",
            field="to",
        )
        self.rooms, self.days, self.limit = rooms, days, limit


class SlotState(enum.StrEnum):
    OPEN = "open"
    BOOKED = "booked"
    CLOSED = "closed"
    BLOCKED = "blocked"
    LOTTERY = "lottery"
    NOT_YET_OPEN = "not_yet_open"
    PAST = "past"
    COUNTER_ONLY = "counter_only"  # free, but booked at the counter or by phone only


_PHASE_STATE = {
    Phase.OPEN: SlotState.OPEN,
    Phase.LOTTERY: SlotState.LOTTERY,
    Phase.NOT_YET_OPEN: SlotState.NOT_YET_OPEN,
    Phase.PAST: SlotState.PAST,
}
# A counter-only room's phases: free is free, but never open (or a lottery) online.
_COUNTER_STATE = {
    **_PHASE_STATE,
    Phase.OPEN: SlotState.COUNTER_ONLY,
    Phase.LOTTERY: SlotState.COUNTER_ONLY,
}


@dataclass(frozen=True)
class AvailabilityQuery:
    start: date
    end: date
    wards: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    facility_ids: frozenset[int] = frozenset()
    room_ids: frozenset[int] = frozenset()
    min_capacity: int | None = None
    periods: frozenset[str] = frozenset()
    states: frozenset[SlotState] = frozenset()

    def __post_init__(self) -> None:
        usable_day(self.start, "from")
        usable_day(self.end, "to")
        if self.end < self.start:
            raise InvalidInput("'to' is before 'from'", field="to")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise InvalidInput(f"at most {MAX_DAYS} days at a time", field="to")
        if self.min_capacity is not None and self.min_capacity < 1:
            raise InvalidInput("must be 1 or more", field="min_capacity")

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def select_rooms(snapshot: NetworkSnapshot, query: AvailabilityQuery) -> list[RoomInfo]:
    """The rooms the filters keep; an unknown filter value is an error naming its field."""
    ward_ids: set[int | None] = set()
    for ward in query.wards:
        if ward == UNKNOWN_WARD:  # facilities no source places in a ward, until staff do
            ward_ids.add(None)
            continue
        if ward not in snapshot.ward_keys:
            raise InvalidInput(f"unknown ward {ward!r}", field="ward")
        ward_ids.add(snapshot.ward_keys[ward])
    if unknown := query.kinds - snapshot.kinds:
        raise InvalidInput(f"unknown facility kind {min(unknown)!r}", field="kind")
    if unknown_ids := query.facility_ids - snapshot.facilities.keys():
        raise InvalidInput(f"unknown facility {min(unknown_ids)}", field="facility")
    room_ids = {room.id for room in snapshot.rooms}
    if unknown_ids := query.room_ids - room_ids:
        raise InvalidInput(f"unknown room {min(unknown_ids)}", field="room")
    if query.periods and not any(
        code in room.grid.codes_by_day_type[t]
        for room in snapshot.rooms
        for t in room.grid.codes_by_day_type
        for code in query.periods
    ):
        raise InvalidInput(f"unknown period {min(query.periods)!r}", field="period")
    kept = []
    for room in snapshot.rooms:
        facility = snapshot.facilities[room.facility_id]
        if (
            (ward_ids and facility.ward_id not in ward_ids)
            or (query.kinds and facility.kind not in query.kinds)
            or (query.facility_ids and facility.id not in query.facility_ids)
            or (query.room_ids and room.id not in query.room_ids)
            or (
                query.min_capacity is not None
                and (room.capacity is None or room.capacity < query.min_capacity)
            )
        ):
            continue
        kept.append(room)
    return kept


async def search_availability(  # noqa: PLR0913 - the counts the lottery and the wait list add
    session: AsyncSession,
    snapshot: NetworkSnapshot,
    claims_cache: ClaimsCache,
    query: AvailabilityQuery,
    today: date,
    applicants: Mapping[tuple[int, date, str], int] | None = None,
    *,
    max_room_days: int | None = None,
    waiting: Mapping[tuple[int, date, str], int] | None = None,
) -> tuple[list[RoomAvailabilityRead], int]:
    """The rooms with their days and slots, and the number of slots returned.

    `applicants` counts lottery applications per (room, date, period); the lottery adds it.
    `waiting` counts the wait list's live entries per (room, date, period); a `booked` slot
    carries its count (the wait list adds it).
    More than `max_room_days` (default SLOTS_ROOM_DAYS) rooms × days is refused before any
    work (SearchTooLarge).
    """
    rooms = select_rooms(snapshot, query)
    limit = SLOTS_ROOM_DAYS if max_room_days is None else max_room_days
    span = (query.end - query.start).days + 1
    if len(rooms) * span > limit:
        raise SearchTooLarge(len(rooms), span, limit)
    claims = await claims_cache.months(session, query.start, query.end)
    grid = _SlotGrid(snapshot, query, today, claims, applicants or {}, waiting or {})
    result = []
    count = 0
    for room in rooms:
        days, slots = grid.room_days(room)
        if days:
            result.append(_room_header(snapshot, room, days, grid.fees(room)))
            count += slots
    return result, count


def fees_within(room: RoomInfo, query: AvailabilityQuery) -> list[FeesRead]:
    """The fee tables that apply to the range's dates, each from its first date in it."""
    first = room.fees_on(query.start)
    tables = [(query.start, first)] + [
        (table.effective_from, table)
        for table in room.fee_schedules
        if table.effective_from is not None and query.start < table.effective_from <= query.end
    ]
    return [
        FeesRead(
            from_=start,
            fees=t.fees,
            all_day_fee=t.all_day_fee,
            estimate=t.is_estimate and bool(t.fees),
        )
        for start, t in tables
    ]


def _room_header(
    snapshot: NetworkSnapshot, room: RoomInfo, days: list[DayRead], fees: list[FeesRead]
) -> RoomAvailabilityRead:
    facility = snapshot.facilities[room.facility_id]
    return RoomAvailabilityRead(
        room_id=room.id,
        room_name_ja=room.name_ja,
        room_name_en=room.name_en,
        facility_id=facility.id,
        facility_name_ja=facility.name_ja,
        facility_name_en=facility.name_en,
        capacity=room.capacity,
        online_bookable=room.online_bookable,
        counter_only=not room.online_bookable,
        phone=facility.phone,
        period_grid=room.grid.key,
        days=days,
        fees=fees,
    )


@dataclass(frozen=True, slots=True)
class _Row:
    """One (facility, policy, grid, online or not)'s days over a range, before claims."""

    closed: list[bool]
    phases: list[SlotState]
    codes: list[tuple[str, ...]]
    days: list[DayRead | None]
    present: list[DayRead]
    slot_count: int


class _Memo:
    """What availability derives from the network and the day alone, kept across requests.

    Rows and days depend on the snapshot (closures, policies, grids), today, and the query's
    range and filters, never on claims: they are shared by every request of the same day until
    the inventory changes. Days and slots are immutable, so equal ones are one object.
    """

    # Bounds on memory: past them the memo starts afresh (distinct ranges and filters add up).
    DAY_LIMIT = 100_000
    ROW_LIMIT = 5_000

    def __init__(self, today: date) -> None:
        self.today = today
        self.rows: dict[tuple[Any, ...], _Row] = {}
        self.days: dict[tuple[Any, ...], DayRead | None] = {}
        self.phases: dict[tuple[int, bool, date, date], list[SlotState]] = {}
        self.closed: dict[tuple[int, date, date], list[bool]] = {}
        self.slots: dict[tuple[str, SlotState], SlotRead] = {}
        self.fees: dict[tuple[int, date, date], list[FeesRead]] = {}

    @classmethod
    def of(cls, snapshot: NetworkSnapshot, today: date) -> _Memo:
        memo = snapshot.derived.get(_Memo)
        if (
            not isinstance(memo, _Memo)
            or memo.today != today
            or len(memo.days) > cls.DAY_LIMIT
            or len(memo.rows) > cls.ROW_LIMIT
            or len(memo.fees) > cls.DAY_LIMIT
        ):
            memo = cls(today)
            snapshot.derived[_Memo] = memo
        return memo


class _SlotGrid:
    """Works out the states of one request.

    A month of the whole network is tens of thousands of slots. Each room starts from the row
    of days its facility, policy and grid give (memoised across requests), and only the days
    with claims or applicants are looked at one by one.
    """

    def __init__(
        self,
        snapshot: NetworkSnapshot,
        query: AvailabilityQuery,
        today: date,
        claims: list[MonthClaims],
        applicants: Mapping[tuple[int, date, str], int],
        waiting: Mapping[tuple[int, date, str], int],
    ) -> None:
        self.snapshot = snapshot
        self.query = query
        self.claims = claims
        self.memo = _Memo.of(snapshot, today)
        self.applicants = _by_room_and_day(applicants)
        # Looked up only where a room's day is claimed: the flat counts, and which room-days
        # have any (cheaper to make than a nested copy, which cost more than the lookups).
        self.waiting = waiting
        self.waited = {(room, day) for room, day, _ in waiting}
        self.days = query.days
        self.index = {day: i for i, day in enumerate(self.days)}
        self.isos = [day.isoformat() for day in self.days]
        self.filters = (tuple(sorted(query.periods)), tuple(sorted(query.states)))

    def room_days(self, room: RoomInfo) -> tuple[list[DayRead], int]:
        """The room's days that have slots to show, and how many slots they hold."""
        row = self._row(room)
        taken = _room_claims(self.claims, room.unit_ids)
        counts = self.applicants.get(room.id)
        if not taken and not counts:
            return row.present, row.slot_count
        days = list(row.days)
        slot_count = row.slot_count
        for day in {*(taken or ()), *(counts or ())}:
            index = self.index.get(day)
            if index is None or row.closed[index] or not row.codes[index]:
                continue
            day_counts = counts.get(day) if counts else None
            signature = taken.get(day, "") if taken else ""
            if day_counts and row.phases[index] is SlotState.LOTTERY:
                found = self._contested_day(index, row, signature, day_counts)
            elif signature:
                found = self._day(index, row.codes[index], row.phases[index], signature)
            else:
                continue
            if found is not None and (room.id, day) in self.waited:
                found = _with_waiting(found, self.waiting, room.id, day)
            before = days[index]
            slot_count += (len(found.slots) if found else 0) - (len(before.slots) if before else 0)
            days[index] = found
        return [day for day in days if day is not None], slot_count

    def fees(self, room: RoomInfo) -> list[FeesRead]:
        """The room's fee tables within the range (memoised: they depend on the network only)."""
        key = (room.id, self.query.start, self.query.end)
        found = self.memo.fees.get(key)
        if found is None:
            found = self.memo.fees[key] = fees_within(room, self.query)
        return found

    def _row(self, room: RoomInfo) -> _Row:
        key = (
            room.facility_id,
            id(_policies(room)),
            room.grid.id,
            room.online_bookable,
            self.query.start,
            self.query.end,
            self.filters,
        )
        row = self.memo.rows.get(key)
        if row is None:
            closed = self._closed_vector(room.facility_id)
            phases = [
                SlotState.CLOSED if shut else phase
                for phase, shut in zip(self._phase_vector(room), closed, strict=True)
            ]
            codes = self._codes_vector(room)
            days = [
                self._day(i, codes[i], phases[i], "") if codes[i] else None
                for i in range(len(self.days))
            ]
            present = [day for day in days if day is not None]
            row = _Row(closed, phases, codes, days, present, sum(len(d.slots) for d in present))
            self.memo.rows[key] = row
        return row

    def _closed_vector(self, facility_id: int) -> list[bool]:
        key = (facility_id, self.query.start, self.query.end)
        vector = self.memo.closed.get(key)
        if vector is None:
            facility = self.snapshot.facilities[facility_id]
            vector = [
                bool(
                    (facility.opens_on and day < facility.opens_on)
                    or (facility.closes_on and day > facility.closes_on)
                    or day in self.snapshot.closed_dates(facility_id, day.year)
                )
                for day in self.days
            ]
            self.memo.closed[key] = vector
        return vector

    def _phase_vector(self, room: RoomInfo) -> list[SlotState]:
        """Each day's phase under the policy that applies to that day (revisions included), as
        a state: a counter-only room's free days are `counter_only`."""
        policies = _policies(room)
        key = (id(policies), room.online_bookable, self.query.start, self.query.end)
        vector = self.memo.phases.get(key)
        if vector is None:
            today = self.memo.today
            policy_on = room.policy_on
            states = _PHASE_STATE if room.online_bookable else _COUNTER_STATE
            vector = [states[booking_phase(policy_on(day), day, today)] for day in self.days]
            self.memo.phases[key] = vector
        return vector

    def _codes_vector(self, room: RoomInfo) -> list[tuple[str, ...]]:
        wanted = self.query.periods
        by_type = {
            kind: tuple(c for c in codes if not wanted or c in wanted)
            for kind, codes in room.grid.codes_by_day_type.items()
        }
        return [by_type[day_type(day)] for day in self.days]

    def _day(
        self, index: int, codes: tuple[str, ...], phase: SlotState, signature: Signature
    ) -> DayRead | None:
        """The day's slots given its phase and the claims on it."""
        key = (self.isos[index], codes, phase, signature, self.filters[1])
        if key in self.memo.days:
            return self.memo.days[key]
        taken = parse(signature) if signature else {}
        slots = [self._slot(code, _claimed_state(taken.get(code)) or phase) for code in codes]
        self.memo.days[key] = found = self._present(index, slots)
        return found

    def _contested_day(
        self, index: int, row: _Row, signature: Signature, counts: dict[str, int]
    ) -> DayRead | None:
        taken = parse(signature) if signature else {}
        slots = []
        for code in row.codes[index]:
            state = _claimed_state(taken.get(code))
            if state is None and counts.get(code):
                slots.append(
                    SlotRead(period=code, state=SlotState.LOTTERY, applicants=counts[code])
                )
            else:
                slots.append(self._slot(code, state or row.phases[index]))
        return self._present(index, slots)

    def _present(self, index: int, slots: list[SlotRead]) -> DayRead | None:
        if self.query.states:
            slots = [slot for slot in slots if slot.state in self.query.states]
        return DayRead(date=self.isos[index], slots=slots) if slots else None

    def _slot(self, code: str, state: SlotState) -> SlotRead:
        slot = self.memo.slots.get((code, state))
        if slot is None:
            # A lottery slot always says how many applied, even none yet.
            slot = SlotRead(
                period=code, state=state, applicants=0 if state is SlotState.LOTTERY else None
            )
            self.memo.slots[(code, state)] = slot
        return slot


def _by_room_and_day(
    counts: Mapping[tuple[int, date, str], int],
) -> dict[int, dict[date, dict[str, int]]]:
    nested: dict[int, dict[date, dict[str, int]]] = {}
    for (room, day, code), count in counts.items():
        nested.setdefault(room, {}).setdefault(day, {})[code] = count
    return nested


def _with_waiting(
    day: DayRead, waiting: Mapping[tuple[int, date, str], int], room_id: int, use_date: date
) -> DayRead:
    """The day with each taken slot's wait-list length (a new day: memoised ones are shared)."""
    slots = [
        SlotRead(period=slot.period, state=slot.state, waiting=count)
        if slot.state == SlotState.BOOKED
        and (count := waiting.get((room_id, use_date, slot.period)))
        else slot
        for slot in day.slots
    ]
    if all(new is old for new, old in zip(slots, day.slots, strict=True)):
        return day
    return DayRead(date=day.date, slots=slots)


def _policies(room: RoomInfo) -> object:
    """What a room's policies over dates are, shared by every room of the same layers: its
    timeline, or (a room built by hand, without one) its policy."""
    timeline = room.timeline
    return timeline if timeline is not None and timeline.base is room.policy else room.policy


def _claimed_state(kind: str | None) -> SlotState | None:
    if kind is None:
        return None
    return SlotState.BLOCKED if kind == ClaimKind.BLOCK.value else SlotState.BOOKED


def _room_claims(claims: list[MonthClaims], units: tuple[int, ...]) -> dict[date, Signature] | None:
    """The claims on a room's units by day; for a combined room, merged (a block wins)."""
    if len(units) == 1 and len(claims) == 1:
        return claims[0].get(units[0])
    if len(units) == 1:
        joined: dict[date, Signature] = {}
        for month in claims:
            joined.update(month.get(units[0], {}))
        return joined or None
    merged: dict[date, dict[str, str]] = {}
    for unit in units:
        for day, signature in (item for month in claims for item in month.get(unit, {}).items()):
            into = merged.setdefault(day, {})
            for code, kind in parse(signature).items():
                if into.get(code) != ClaimKind.BLOCK.value:
                    into[code] = kind
    return {
        day: ",".join(f"{code}:{kind}" for code, kind in sorted(taken.items()))
        for day, taken in merged.items()
    } or None
