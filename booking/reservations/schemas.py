"""Response shapes of availability. msgspec structs: a month of the network is ~20k slots."""

from __future__ import annotations

from datetime import date

import msgspec


class SlotRead(msgspec.Struct, frozen=True, omit_defaults=True):
    period: str
    state: str  # open, booked, closed, blocked, lottery, not_yet_open, past
    applicants: int | None = None  # lottery applications so far, on `lottery` slots


class DayRead(msgspec.Struct, frozen=True):
    date: str
    slots: list[SlotRead]


class RoomAvailabilityRead(msgspec.Struct, frozen=True):
    room_id: int
    room_name_ja: str
    room_name_en: str
    facility_id: int
    facility_name_ja: str
    facility_name_en: str
    capacity: int | None
    online_bookable: bool
    period_grid: str
    days: list[DayRead]


class AvailabilityRead(msgspec.Struct, frozen=True):
    from_: date = msgspec.field(name="from")
    to: date
    today: date
    room_count: int
    slot_count: int
    rooms: list[RoomAvailabilityRead]
