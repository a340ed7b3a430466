"""HTTP for availability search across the whole network."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, Network, ReadSession
from booking.errors import InvalidInput
from booking.lottery.applications import applicant_counts
from booking.reservations.availability import AvailabilityQuery, SlotState, search_availability
from booking.reservations.schemas import MAX_HEADCOUNT, AvailabilityRead
from booking.waitlist.lines import waiting_counts
from booking.web.errors import error_responses
from booking.web.path_ids import MAX_ID

ListParam = Annotated[list[str] | None, QueryParameter(description="repeat or comma-separate")]


class AvailabilityController(Controller):
    path = "/api/v1/availability"
    tags = ["availability"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/",
        summary="The state of every room, date and period in a range (at most 93 days)",
        description=(
            "States: open, booked, closed, blocked, lottery (in the lottery application window, "
            "with its applicant count), not_yet_open, past (the online window has ended). A "
            "booked slot that groups wait for carries `waiting`, the length of its wait list."
        ),
        responses=error_responses(400),
    )
    async def search(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        read_session: ReadSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
        from_: Annotated[date, QueryParameter(name="from", description="first date, inclusive")],
        to: Annotated[date, QueryParameter(description="last date, inclusive")],
        ward: ListParam = None,
        kind: ListParam = None,
        facility: ListParam = None,
        room: ListParam = None,
        min_capacity: Annotated[int | None, QueryParameter(ge=1, le=MAX_HEADCOUNT)] = None,
        period: ListParam = None,
        slot_state: Annotated[
            list[str] | None, QueryParameter(name="state", description="repeat or comma-separate")
        ] = None,
    ) -> AvailabilityRead:
        query = AvailabilityQuery(
            start=from_,
            end=to,
            wards=_words(ward),
            kinds=_words(kind),
            facility_ids=_ids(facility, "facility"),
            room_ids=_ids(room, "room"),
            min_capacity=min_capacity,
            periods=_words(period),
            states=_states(slot_state),
        )
        today = local_today(clock, settings.tz)
        # Public data: the read replica's, if one is set and the request is anonymous.
        applicants = await applicant_counts(read_session, query.start, query.end)
        waiting = await waiting_counts(read_session, query.room_ids or None, query.start, query.end)
        rooms, slots = await search_availability(
            read_session, network, claims_cache, query, today, applicants, waiting=waiting
        )
        return AvailabilityRead(
            from_=from_, to=to, today=today, room_count=len(rooms), slot_count=slots, rooms=rooms
        )


def _words(values: list[str] | None) -> frozenset[str]:
    return frozenset(w.strip() for v in values or () for w in v.split(",") if w.strip())


def _ids(values: list[str] | None, field: str) -> frozenset[int]:
    words = _words(values)
    if not all(
        w.isascii() and w.isdigit() and len(w) <= 10 and 1 <= int(w) <= MAX_ID for w in words
    ):
        raise InvalidInput(f"must be ids from 1 to {MAX_ID}", field=field)
    return frozenset(int(w) for w in words)


def _states(values: list[str] | None) -> frozenset[SlotState]:
    words = _words(values)
    known = {s.value for s in SlotState}
    if unknown := words - known:
        raise InvalidInput(
            f"unknown state {min(unknown)!r}; one of {', '.join(sorted(known))}",
            field="state",
        )
    return frozenset(SlotState(w) for w in words)
