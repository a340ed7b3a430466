"""Request and response shapes of availability and bookings (msgspec structs: a month of the
network is ~20k slots)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from booking.reservations.models import BookingStatus, PaymentStatus
from booking.web.fields import EVENT_NAME_MAX, NOTE_MAX, PURPOSE_MAX, Id, OneLine

# A period's code, as the data defines them (facilities_data: 1 to 8 letters or digits).
PeriodCode = Annotated[OneLine, msgspec.Meta(min_length=1, max_length=8)]
MAX_HEADCOUNT = 10_000  # more people than any room of the network holds


class SlotRead(msgspec.Struct, frozen=True, omit_defaults=True):
    period: str
    state: str  # open, booked, closed, blocked, lottery, not_yet_open, past
    applicants: int | None = None  # lottery applications so far, on `lottery` slots
    waiting: int | None = None  # groups on the wait list, on `booked` slots that have any


class DayRead(msgspec.Struct, frozen=True):
    date: str
    slots: list[SlotRead]


class FeesRead(msgspec.Struct, frozen=True):
    """The room's base fees (yen per period code, before a group's coefficient and the weekend
    uplift) for the dates from `from` on, within the range asked for."""

    from_: date = msgspec.field(name="from")
    fees: dict[str, int] | None = None  # None: free of charge
    all_day_fee: int | None = None
    estimate: bool = False


class RoomAvailabilityRead(msgspec.Struct, frozen=True):
    room_id: int
    room_name_ja: str
    room_name_en: str
    facility_id: int
    facility_name_ja: str
    facility_name_en: str
    capacity: int | None
    online_bookable: bool
    # Bookable at the counter or by phone only: its free slots are `counter_only`, and
    # `phone` (the facility's, when known) is how to book them.
    counter_only: bool
    phone: str | None
    period_grid: str
    days: list[DayRead]
    # The fee tables that apply within the range, earliest first: a fee revision (e.g. on
    # 1 April) starts a new entry from its date.
    fees: list[FeesRead] = msgspec.field(default_factory=list)


class AvailabilityRead(msgspec.Struct, frozen=True):
    from_: date = msgspec.field(name="from")
    to: date
    today: date
    room_count: int
    slot_count: int
    rooms: list[RoomAvailabilityRead]


class BookingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    group_id: Id
    room_id: Id
    use_date: date
    period_codes: Annotated[
        list[PeriodCode],
        msgspec.Meta(min_length=1, max_length=8, description="consecutive periods of one day"),
    ]
    purpose: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=PURPOSE_MAX)]
    headcount: Annotated[int, msgspec.Meta(ge=1, le=MAX_HEADCOUNT)]
    event_name: Annotated[OneLine, msgspec.Meta(max_length=EVENT_NAME_MAX)] | None = None
    charges_admission: bool = False


class BookingRead(msgspec.Struct):
    id: int
    group_id: int
    room_id: int
    facility_id: int
    use_date: date
    period_codes: list[str]
    status: BookingStatus
    purpose: str
    headcount: int
    event_name: str | None
    charges_admission: bool
    fee_total: int
    fee_breakdown: dict[str, Any]
    payment_status: PaymentStatus
    payment_method: str | None
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    cancel_cause: str | None
    cancellation_charge: int | None
    moved_to_booking_id: int | None
    series_id: int | None = None  # one occurrence of a series (GET /api/v1/series/{id})


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # staff only: the facility's own reason (closure, disaster, infection control): free
    facility_cause: bool = False
    # staff only, with facility_cause: book this instead, in the same transaction
    move_to: BookingIn | None = None


class CancelRead(msgspec.Struct):
    booking: BookingRead
    charge: int
    cause: str
    applied: bool
    moved_to: BookingRead | None = None


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: PaymentStatus
    method: Literal["counter", "bank_debit", "online"] | None = None


class BlockIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    room_id: Id
    start_date: date
    end_date: date
    # None: every period of each day
    period_codes: Annotated[list[PeriodCode], msgspec.Meta(min_length=1, max_length=8)] | None = (
        None
    )
    reason: Literal["maintenance", "event"]
    note: Annotated[OneLine, msgspec.Meta(max_length=NOTE_MAX)] | None = None


class BlockRead(msgspec.Struct):
    id: int
    facility_id: int
    room_id: int
    start_date: date
    end_date: date
    period_codes: list[str]
    reason: str
    note: str | None
    released_at: datetime | None


class ClosureIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    note: Annotated[OneLine, msgspec.Meta(max_length=NOTE_MAX)] | None = None


class ClosureRead(msgspec.Struct):
    # live bookings on the closed dates: their groups are told; move or cancel them (free)
    affected: list[BookingRead]
