"""HTTP for bookings: parse, authorise through the services, shape. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import ONE_STATEMENT, AppSettings, Context, CurrentClock, DbSession, Network
from booking.reservations import blocks, changes, holds, idempotency, listing
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.models import Block, Booking
from booking.reservations.schemas import (
    BlockIn,
    BlockRead,
    BookingIn,
    BookingRead,
    CancelIn,
    CancelRead,
    ClosureIn,
    ClosureRead,
    PaymentIn,
)
from booking.web.errors import error_responses
from booking.web.fields import Id
from booking.web.spreadsheet import CSV_MEDIA_TYPE, csv_response


def booking_read(booking: Booking) -> BookingRead:
    return BookingRead(
        id=booking.id,
        group_id=booking.group_id,
        room_id=booking.room_id,
        facility_id=booking.facility_id,
        use_date=booking.use_date,
        period_codes=list(booking.period_codes),
        status=booking.status,
        purpose=booking.purpose,
        headcount=booking.headcount,
        event_name=booking.event_name,
        charges_admission=booking.charges_admission,
        fee_total=booking.fee_total,
        fee_breakdown=booking.fee_breakdown,
        payment_status=booking.payment_status,
        payment_method=booking.payment_method,
        channel=booking.channel,
        created_at=booking.created_at,
        cancelled_at=booking.cancelled_at,
        cancel_cause=booking.cancel_cause,
        cancellation_charge=booking.cancellation_charge,
        moved_to_booking_id=booking.moved_to_booking_id,
        series_id=booking.series_id,
    )


def request_of(data: BookingIn) -> BookingRequest:
    return BookingRequest(
        group_id=data.group_id,
        room_id=data.room_id,
        use_date=data.use_date,
        period_codes=list(data.period_codes),
        purpose=data.purpose,
        headcount=data.headcount,
        event_name=data.event_name,
        charges_admission=data.charges_admission,
    )


class BookingController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Book free slots first-come (a group member), or at the counter (staff)",
        description="One or more consecutive periods of one day, all or nothing. Send an "
        "Idempotency-Key header to make retries safe.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
        opt={ONE_STATEMENT: True},
    )
    async def create(
        self,
        data: JSONBody[BookingIn],
        auth: Auth,
        context: Context,
        idempotency_key: idempotency.IdempotencyKey = None,
    ) -> Response[Any]:
        principal = auth.required()
        ctx = context

        async def create() -> dict[str, Any]:
            wanted = request_of(data)
            booking = await book(
                ctx.session, ctx.clock, ctx.settings, ctx.network, principal, wanted
            )
            return msgspec.to_builtins(booking_read(booking))  # type: ignore[no-any-return]

        status, body = await idempotency.once(
            ctx.session,
            ctx.clock,
            principal.user_id,
            idempotency_key,
            msgspec.json.encode(data),
            create,
        )
        return Response(body, status_code=status)

    @get(
        "/",
        summary="A group's bookings: upcoming, past or cancelled",
        responses=error_responses(400, 401, 404),
    )
    async def mine(
        self,
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        group_id: Id,
        when: FromQuery[Literal["upcoming", "past", "cancelled"] | None] = None,
    ) -> list[BookingRead]:
        principal = auth.required()
        today = local_today(clock, settings.tz)
        found = await listing.group_bookings(db_session, principal, group_id, when, today)
        return [booking_read(b) for b in found]

    @get(
        "/{booking_id:int}",
        summary="One booking (its group's members, the facility's staff)",
        responses=error_responses(400, 401, 404),
    )
    async def read(
        self, booking_id: FromPath[int], auth: Auth, db_session: DbSession
    ) -> BookingRead:
        booking, _ = await changes.get_booking(db_session, auth.required(), booking_id)
        return booking_read(booking)

    @post(
        "/{booking_id:int}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel, or with dry_run=true say what it would cost",
        description="A group cancels online free until the deadline (default 3 days before); "
        "later only staff, and the charge follows the room's schedule. Staff may cancel for "
        "the facility's reasons (free) and move the booking in the same step.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def cancel(  # noqa: PLR0913, PLR0917 - Litestar passes handler arguments by name
        self,
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        dry_run: FromQuery[bool] = False,
        data: JSONBody[CancelIn | None] = None,
    ) -> CancelRead:
        principal = auth.required()
        options = data or CancelIn()
        outcome = await changes.cancel(
            db_session,
            clock,
            settings,
            network,
            principal,
            booking_id,
            facility_cause=options.facility_cause,
            move_to=request_of(options.move_to) if options.move_to else None,
            dry_run=dry_run,
        )
        return CancelRead(
            booking=booking_read(outcome.booking),
            charge=outcome.charge,
            cause=outcome.cause,
            applied=outcome.applied,
            moved_to=booking_read(outcome.moved_to) if outcome.moved_to else None,
        )

    @post(
        "/{booking_id:int}/complete",
        status_code=HTTP_200_OK,
        summary="Complete a hold (仮予約): it becomes a confirmed booking (the facility's staff)",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def complete(
        self,
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> BookingRead:
        booking = await holds.complete_hold(
            db_session, clock, settings, network, auth.required(), booking_id
        )
        return booking_read(booking)

    @post(
        "/{booking_id:int}/approve",
        status_code=HTTP_200_OK,
        summary="Approve a booking waiting for approval (the facility's staff)",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def approve(
        self,
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> BookingRead:
        booking = await changes.decide(
            db_session, clock, settings, network, auth.required(), booking_id, approve=True
        )
        return booking_read(booking)

    @post(
        "/{booking_id:int}/reject",
        status_code=HTTP_200_OK,
        summary="Reject a booking waiting for approval: its slots are freed",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def reject(
        self,
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> BookingRead:
        booking = await changes.decide(
            db_session, clock, settings, network, auth.required(), booking_id, approve=False
        )
        return booking_read(booking)

    @post(
        "/{booking_id:int}/payment",
        status_code=HTTP_200_OK,
        summary="Record the payment status and method (the facility's staff)",
        description="Paid issues a receipt (領収書), refunded (from paid only) a refund (還付), "
        "waived (not from paid) a waiver (減免), each numbered per facility, fiscal year and "
        "kind (GET /api/v1/bookings/{id}/documents). The same status again issues nothing new. "
        "From paid, only refunded: 409 payment_received; refunded when nothing was paid: 409 "
        "nothing_paid.",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def payment(
        self,
        booking_id: FromPath[int],
        data: JSONBody[PaymentIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> BookingRead:
        booking = await changes.set_payment(
            db_session, clock, settings, auth.required(), booking_id, data.status, data.method
        )
        return booking_read(booking)

    @post(
        "/{booking_id:int}/no-show",
        status_code=HTTP_200_OK,
        summary="Record a no-show: the full fee is due (the facility's staff)",
        responses=error_responses(400, 401, 403, 404, 409, 422),
    )
    async def no_show(
        self,
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> BookingRead:
        booking = await changes.record_no_show(
            db_session, clock, settings, auth.required(), booking_id
        )
        return booking_read(booking)


DateParam = Annotated[date, QueryParameter(description="inclusive")]


class FacilityBookingsController(Controller):
    path = "/api/v1/facilities/{facility_id:int}"
    tags = ["bookings"]  # noqa: RUF012

    @get(
        "/bookings",
        summary="A facility's bookings in a date range (its staff)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def search(
        self,
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        from_: Annotated[date, QueryParameter(name="from")],
        to: DateParam,
    ) -> list[BookingRead]:
        rows = await listing.facility_bookings(db_session, auth.required(), facility_id, from_, to)
        return [booking_read(b) for b, _ in rows]

    @get(
        "/bookings.csv",
        summary="The same as CSV (UTF-8 with BOM) for spreadsheets",
        media_type=CSV_MEDIA_TYPE,
        responses=error_responses(400, 401, 403, 404),
    )
    async def export(
        self,
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        from_: Annotated[date, QueryParameter(name="from")],
        to: DateParam,
    ) -> Response[str]:
        rows = await listing.facility_bookings(db_session, auth.required(), facility_id, from_, to)
        name = f"bookings-{facility_id}-{from_.isoformat()}-{to.isoformat()}.csv"
        return csv_response(name, listing.CSV_COLUMNS, listing.csv_rows(rows))

    @post(
        "/closures",
        summary="Close the facility on a range of dates (臨時休館; its staff)",
        description="Live bookings on those dates stay and are listed; their groups are told. "
        "Move or cancel them with facility_cause (free).",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def close(
        self,
        facility_id: FromPath[int],
        data: JSONBody[ClosureIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> ClosureRead:
        affected = await blocks.close_dates(
            db_session,
            clock,
            settings,
            auth.required(),
            facility_id,
            start=data.from_,
            end=data.to,
            note=data.note,
        )
        return ClosureRead(affected=[booking_read(b) for b in affected])


def block_read(block: Block) -> BlockRead:
    return BlockRead(
        id=block.id,
        facility_id=block.facility_id,
        room_id=block.room_id,
        start_date=block.start_date,
        end_date=block.end_date,
        period_codes=list(block.period_codes),
        reason=block.reason,
        note=block.note,
        released_at=block.released_at,
    )


class HoldController(Controller):
    path = "/api/v1/holds"
    tags = ["bookings"]  # noqa: RUF012

    @post(
        "/",
        summary="Take a hold (仮予約) by phone for a group (the facility's staff)",
        description="Where the room's policy allows holds; void unless completed by the "
        "policy's deadline (default 17:00 on the third day), then released by the worker.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
        opt={ONE_STATEMENT: True},
    )
    async def create(self, data: JSONBody[BookingIn], auth: Auth, context: Context) -> BookingRead:
        ctx, principal = context, auth.required()
        wanted = request_of(data)
        booking = await book(
            ctx.session, ctx.clock, ctx.settings, ctx.network, principal, wanted, hold=True
        )
        return booking_read(booking)


class BlockController(Controller):
    path = "/api/v1/blocks"
    tags = ["bookings"]  # noqa: RUF012

    @post(
        "/",
        summary="Block a room's slots over a date range (maintenance or own event; its staff)",
        description="Never over a booking: any in the way are listed in a 409 and nothing "
        "is blocked.",
        responses=error_responses(400, 401, 403, 409, 415),
    )
    async def create(
        self,
        data: JSONBody[BlockIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        network: Network,
    ) -> BlockRead:
        request = blocks.BlockRequest(
            room_id=data.room_id,
            start_date=data.start_date,
            end_date=data.end_date,
            period_codes=list(data.period_codes) if data.period_codes else None,
            reason=data.reason,
            note=data.note,
        )
        block = await blocks.create_block(db_session, clock, network, auth.required(), request)
        return block_read(block)

    @delete(
        "/{block_id:int}",
        summary="Release a block: its slots are free again",
        responses=error_responses(400, 401, 404),
    )
    async def release(
        self,
        block_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> None:
        await blocks.release_block(db_session, clock, auth.required(), block_id, settings, network)
