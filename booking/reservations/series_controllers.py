"""HTTP for recurring bookings (series): parse, call the service, shape. No rules here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.reservations import idempotency
from booking.reservations.booking_controllers import booking_read
from booking.reservations.models import Booking, Series
from booking.reservations.series import (
    Occurrence,
    SeriesRequest,
    book_series,
    get_series,
    preview_series,
)
from booking.reservations.series_cancel import cancel_series
from booking.reservations.series_dates import series_dates
from booking.reservations.series_schemas import (
    OccurrenceCancelRead,
    OccurrenceRead,
    SeriesCancelIn,
    SeriesCancelRead,
    SeriesIn,
    SeriesPreviewRead,
    SeriesRead,
)
from booking.web.errors import error_responses


def request_of(data: SeriesIn) -> SeriesRequest:
    return SeriesRequest(
        group_id=data.group_id,
        room_id=data.room_id,
        period_codes=list(data.period_codes),
        purpose=data.purpose,
        headcount=data.headcount,
        first_date=data.first_date,
        last_date=data.last_date,
        every=data.every,
        skip_dates=list(data.skip_dates),
        event_name=data.event_name,
        charges_admission=data.charges_admission,
    )


def occurrence_read(o: Occurrence) -> OccurrenceRead:
    return OccurrenceRead(o.use_date, o.state, o.reason, o.fee, o.booking_id)


def booked_occurrences(series: Series, bookings: Sequence[Booking]) -> list[OccurrenceRead]:
    """Every date of the pattern: a booked one with its booking's status, others not_booked."""
    by_date = {b.use_date: b for b in bookings}
    skip = [date.fromisoformat(d) for d in series.skip_dates]
    dates = sorted(
        set(series_dates(series.every, series.first_date, series.last_date, skip)) | set(by_date)
    )
    found = []
    for day in dates:
        booking = by_date.get(day)
        if booking is None:
            found.append(OccurrenceRead(day, "not_booked", None, None))
        else:
            found.append(
                OccurrenceRead(day, booking.status.value, None, booking.fee_total, booking.id)
            )
    return found


def series_read(
    series: Series, bookings: Sequence[Booking], occurrences: list[OccurrenceRead]
) -> SeriesRead:
    return SeriesRead(
        id=series.id,
        group_id=series.group_id,
        room_id=series.room_id,
        facility_id=series.facility_id,
        period_codes=list(series.period_codes),
        every=series.every,
        first_date=series.first_date,
        last_date=series.last_date,
        skip_dates=list(series.skip_dates),
        purpose=series.purpose,
        headcount=series.headcount,
        event_name=series.event_name,
        charges_admission=series.charges_admission,
        channel=series.channel,
        occurrences=occurrences,
        bookings=[booking_read(b) for b in bookings],
    )


class SeriesController(Controller):
    path = "/api/v1/series"
    tags = ["bookings"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Book a recurring slot (a series), or with dry_run=true preview each date",
        description="Every week, every other week or the nth weekday of each month, one room "
        "and consecutive periods, at most a year. The preview gives each date's state (free, "
        "taken, blocked, closed, outside_window, over_cap, ...) and fee; mode all books every "
        "date or nothing (409 series_not_free naming them), mode free the free ones. Each "
        "date is an ordinary booking with series_id. Send an Idempotency-Key header to make "
        "retries safe.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def create(  # noqa: PLR0913, PLR0917 - Litestar passes handler arguments by name
        self,
        data: JSONBody[SeriesIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        dry_run: FromQuery[bool] = False,
        idempotency_key: idempotency.IdempotencyKey = None,
    ) -> Response[Any]:
        principal = auth.required()
        wanted = request_of(data)
        if dry_run:
            preview = await preview_series(db_session, clock, settings, network, principal, wanted)
            read = SeriesPreviewRead(
                group_id=preview.group.id,
                room_id=preview.room.id,
                channel=preview.channel,
                occurrences=[occurrence_read(o) for o in preview.occurrences],
                free_count=len(preview.free),
                fee_total=preview.fee_total,
            )
            return Response(msgspec.to_builtins(read), status_code=HTTP_200_OK)

        async def create() -> dict[str, Any]:
            outcome = await book_series(
                db_session, clock, settings, network, principal, wanted, mode=data.mode
            )
            occurrences = [occurrence_read(o) for o in outcome.occurrences]
            read = series_read(outcome.series, outcome.bookings, occurrences)
            return msgspec.to_builtins(read)  # type: ignore[no-any-return]

        status, body = await idempotency.once(
            db_session, clock, principal.user_id, idempotency_key, msgspec.json.encode(data), create
        )
        return Response(body, status_code=status)

    @get(
        "/{series_id:int}",
        summary="A series with its dates and bookings (its group's members, the facility's staff)",
        responses=error_responses(400, 401, 404),
    )
    async def read(self, series_id: FromPath[int], auth: Auth, db_session: DbSession) -> SeriesRead:
        series, _, bookings = await get_series(db_session, auth.required(), series_id)
        return series_read(series, bookings, booked_occurrences(series, bookings))

    @post(
        "/{series_id:int}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a series from a date on, or with dry_run=true say what each would cost",
        description="A group cancels online the dates still before the online deadline "
        "(default 3 days before), free; the later ones come back with needs_counter and the "
        "charge the facility's counter takes. The facility's staff cancel every date, each "
        "with its charge by the schedule it was booked under, or with facility_cause (the "
        "facility's own reasons: a renovation, the hall needed for an election) each free of "
        "charge; a group asking that gets 403 facility_staff_only. One mail for the series.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def cancel(  # noqa: PLR0913, PLR0917
        self,
        series_id: FromPath[int],
        data: JSONBody[SeriesCancelIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        dry_run: FromQuery[bool] = False,
    ) -> SeriesCancelRead:
        outcome = await cancel_series(
            db_session,
            clock,
            settings,
            network,
            auth.required(),
            series_id,
            data.from_date,
            facility_cause=data.facility_cause,
            dry_run=dry_run,
        )
        return SeriesCancelRead(
            series_id=outcome.series.id,
            applied=outcome.applied,
            charge_total=outcome.charge_total,
            occurrences=[
                OccurrenceCancelRead(
                    booking_id=o.booking.id,
                    date=o.booking.use_date,
                    charge=o.charge,
                    cause=o.cause,
                    applied=o.applied,
                    needs_counter=o.needs_counter,
                )
                for o in outcome.occurrences
            ],
        )
