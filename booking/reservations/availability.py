"""Availability: the state of every room, date and period over a range (DESIGN.md, issue 2).

States, first match wins: `closed` (a closure rule, or outside the facility's service dates),
`blocked` (a manager's block claims a unit of the room), `booked` (any other live claim on a
unit of the room: booking, hold, unconfirmed lottery win), then the phase of the room's policy
at the clock's today: `lottery` (with its applicants), `open`, `not_yet_open` or `past`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import InvalidInput
from booking.inventory.calendar import day_type
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import Phase, ReservationPolicy, booking_phase
from booking.reservations.models import Claim, ClaimKind
from booking.reservations.schemas import DayRead, RoomAvailabilityRead, SlotRead

MAX_DAYS = 93


class SlotState(enum.StrEnum):
    OPEN = "open"
    BOOKED = "booked"
    CLOSED = "closed"
    BLOCKED = "blocked"
    LOTTERY = "lottery"
    NOT_YET_OPEN = "not_yet_open"
    PAST = "past"


_PHASE_STATE = {
    Phase.OPEN: SlotState.OPEN,
    Phase.LOTTERY: SlotState.LOTTERY,
    Phase.NOT_YET_OPEN: SlotState.NOT_YET_OPEN,
    Phase.PAST: SlotState.PAST,
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
    ward_ids = set()
    for ward in query.wards:
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


async def load_claims(
    session: AsyncSession, start: date, end: date, unit_ids: Iterable[int] | None
) -> dict[tuple[int, date, str], ClaimKind]:
    """Live claims in the range, by (unit, date, period)."""
    statement = select(Claim.unit_id, Claim.use_date, Claim.period_code, Claim.kind).where(
        Claim.use_date >= start, Claim.use_date <= end
    )
    if unit_ids is not None:
        statement = statement.where(Claim.unit_id.in_(list(unit_ids)))
    rows = await session.execute(statement)
    return {(unit, day, code): kind for unit, day, code, kind in rows}


async def search_availability(
    session: AsyncSession,
    snapshot: NetworkSnapshot,
    query: AvailabilityQuery,
    today: date,
    applicants: Mapping[tuple[int, date, str], int] | None = None,
) -> tuple[list[RoomAvailabilityRead], int]:
    """The rooms with their days and slots, and the number of slots returned.

    `applicants` counts lottery applications per (room, date, period); the lottery adds it.
    """
    rooms = select_rooms(snapshot, query)
    whole_network = len(rooms) == len(snapshot.rooms)
    unit_ids = None if whole_network else {u for room in rooms for u in room.unit_ids}
    claims = await load_claims(session, query.start, query.end, unit_ids)
    grid = _SlotGrid(snapshot, query, today, claims, applicants or {})
    result = []
    count = 0
    for room in rooms:
        days = grid.room_days(room)
        if days:
            result.append(_room_header(snapshot, room, days))
            count += sum(len(day.slots) for day in days)
    return result, count


def _room_header(
    snapshot: NetworkSnapshot, room: RoomInfo, days: list[DayRead]
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
        period_grid=room.grid.key,
        days=days,
    )


class _SlotGrid:
    """Works out states for one request, sharing what rooms have in common.

    Slots are immutable and shared: a month of the whole network is tens of
    thousands of slots, and building each anew would cost more than the rest of the request.
    """

    def __init__(
        self,
        snapshot: NetworkSnapshot,
        query: AvailabilityQuery,
        today: date,
        claims: dict[tuple[int, date, str], ClaimKind],
        applicants: Mapping[tuple[int, date, str], int],
    ) -> None:
        self.snapshot = snapshot
        self.query = query
        self.today = today
        self.claims = claims
        self.applicants = applicants
        self.days = [(day, day.isoformat(), day_type(day)) for day in query.days]
        self.claimed_units = {unit for unit, _, _ in claims}
        self._phases: dict[tuple[int, date], SlotState] = {}
        self._slots: dict[tuple[str, SlotState], SlotRead] = {}

    def room_days(self, room: RoomInfo) -> list[DayRead]:
        facility = self.snapshot.facilities[room.facility_id]
        periods, states = self.query.periods, self.query.states
        has_claims = any(unit in self.claimed_units for unit in room.unit_ids)
        days = []
        for day, iso, kind_of_day in self.days:
            codes = room.grid.codes_by_day_type[kind_of_day]
            if periods:
                codes = tuple(code for code in codes if code in periods)
            if not codes:
                continue
            if (
                (facility.opens_on and day < facility.opens_on)
                or (facility.closes_on and day > facility.closes_on)
                or day in self.snapshot.closed_dates(facility.id, day.year)
            ):
                slots = [self._slot(code, SlotState.CLOSED) for code in codes]
            else:
                phase = self._phase(room.policy, day)
                slots = [
                    self._state(room, day, code, phase if not has_claims else None)
                    for code in codes
                ]
            if states:
                slots = [slot for slot in slots if slot.state in states]
            if slots:
                days.append(DayRead(date=iso, slots=slots))
        return days

    def _state(self, room: RoomInfo, day: date, code: str, phase: SlotState | None) -> SlotRead:
        if phase is None:  # the room has claims in the range: look this slot up
            held = [self.claims.get((unit, day, code)) for unit in room.unit_ids]
            if ClaimKind.BLOCK in held:
                return self._slot(code, SlotState.BLOCKED)
            if any(held):
                return self._slot(code, SlotState.BOOKED)
            phase = self._phase(room.policy, day)
        if phase is SlotState.LOTTERY:
            count = self.applicants.get((room.id, day, code), 0)
            if count:
                return SlotRead(period=code, state=SlotState.LOTTERY, applicants=count)
            return self._slot(code, SlotState.LOTTERY, applicants=True)
        return self._slot(code, phase)

    def _phase(self, policy: ReservationPolicy, day: date) -> SlotState:
        key = (id(policy), day)
        state = self._phases.get(key)
        if state is None:
            state = _PHASE_STATE[booking_phase(policy, day, self.today)]
            self._phases[key] = state
        return state

    def _slot(self, code: str, state: SlotState, *, applicants: bool = False) -> SlotRead:
        slot = self._slots.get((code, state))
        if slot is None:
            slot = SlotRead(period=code, state=state, applicants=0 if applicants else None)
            self._slots[(code, state)] = slot
        return slot
