"""Request and response shapes of recurring bookings (series)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec

from booking.reservations.models import SeriesPattern
from booking.reservations.schemas import MAX_HEADCOUNT, BookingRead, PeriodCode
from booking.web.fields import EVENT_NAME_MAX, PURPOSE_MAX, Id, OneLine

MAX_SKIP_DATES = 53  # no series has more dates than a year of weeks


class SeriesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    group_id: Id
    room_id: Id
    period_codes: Annotated[
        list[PeriodCode],
        msgspec.Meta(min_length=1, max_length=8, description="consecutive periods of one day"),
    ]
    purpose: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=PURPOSE_MAX)]
    headcount: Annotated[int, msgspec.Meta(ge=1, le=MAX_HEADCOUNT)]
    first_date: date
    last_date: Annotated[date, msgspec.Meta(description="inclusive; at most 366 days after")]
    every: SeriesPattern
    skip_dates: Annotated[list[date], msgspec.Meta(max_length=MAX_SKIP_DATES)] = msgspec.field(
        default_factory=list
    )
    mode: Literal["all", "free"] = "all"
    event_name: Annotated[OneLine, msgspec.Meta(max_length=EVENT_NAME_MAX)] | None = None
    charges_admission: bool = False


class OccurrenceRead(msgspec.Struct):
    date: date
    # free, taken, blocked, closed, outside_window, over_cap, not_online, or the code of
    # another check that refuses the date (past_date, bad_periods, registration_expires, ...)
    state: str
    reason: str | None
    fee: int | None
    booking_id: int | None = None


class SeriesPreviewRead(msgspec.Struct):
    """The answer of a dry run: nothing is written."""

    group_id: int
    room_id: int
    channel: str
    occurrences: list[OccurrenceRead]
    free_count: int
    fee_total: int  # of the free occurrences


class SeriesRead(msgspec.Struct):
    id: int
    group_id: int
    room_id: int
    facility_id: int
    period_codes: list[str]
    every: SeriesPattern
    first_date: date
    last_date: date
    skip_dates: list[str]
    purpose: str
    headcount: int
    event_name: str | None
    charges_admission: bool
    channel: str
    occurrences: list[OccurrenceRead]  # as asked when created; the bookings' states below
    bookings: list[BookingRead]


class SeriesCancelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    from_date: date
    facility_cause: bool = False  # the facility's staff only: each date free of charge


class OccurrenceCancelRead(msgspec.Struct):
    booking_id: int
    date: date
    charge: int
    cause: str | None
    applied: bool
    needs_counter: bool  # past the online deadline: only at the facility's counter


class SeriesCancelRead(msgspec.Struct):
    series_id: int
    applied: bool
    charge_total: int
    occurrences: list[OccurrenceCancelRead]
