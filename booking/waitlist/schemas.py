"""Request and response shapes of the wait list (msgspec, as the bookings')."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from booking.reservations.schemas import MAX_HEADCOUNT, BookingRead, PeriodCode
from booking.waitlist.models import EntryStatus, OfferStatus
from booking.web.fields import EVENT_NAME_MAX, PURPOSE_MAX, Id, OneLine


class WaitlistIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    group_id: Id
    room_id: Id
    use_date: date
    period_codes: Annotated[
        list[PeriodCode],
        msgspec.Meta(min_length=1, max_length=8, description="consecutive periods of one day"),
    ]


class OfferRead(msgspec.Struct):
    id: int
    entry_id: int
    group_id: int
    room_id: int
    use_date: date
    period_codes: list[str]
    status: OfferStatus
    made_at: datetime
    expires_at: datetime  # accept by then (never past the date's online booking deadline)
    booking_id: int | None


class EntryRead(msgspec.Struct):
    id: int
    group_id: int
    room_id: int
    facility_id: int
    use_date: date
    period_codes: list[str]
    status: EntryStatus
    joined_at: datetime
    # 1 = next to be offered a freed slot; None while an offer is open (or the entry ended)
    position: int | None = None
    offer: OfferRead | None = None  # the open offer


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a booking needs beyond the offered slot."""

    purpose: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=PURPOSE_MAX)]
    headcount: Annotated[int, msgspec.Meta(ge=1, le=MAX_HEADCOUNT)]
    event_name: Annotated[OneLine, msgspec.Meta(max_length=EVENT_NAME_MAX)] | None = None
    charges_admission: bool = False


class AcceptRead(msgspec.Struct):
    offer: OfferRead
    booking: BookingRead
