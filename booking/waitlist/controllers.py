"""HTTP for the wait list: parse, call the services, shape. No rules here."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.reservations import idempotency
from booking.reservations.booking_controllers import booking_read
from booking.waitlist import lines, offers
from booking.waitlist.models import WaitlistEntry, WaitlistOffer
from booking.waitlist.schemas import AcceptIn, AcceptRead, EntryRead, OfferRead, WaitlistIn
from booking.web.errors import error_responses
from booking.web.fields import Id


def offer_read(offer: WaitlistOffer) -> OfferRead:
    return OfferRead(
        id=offer.id,
        entry_id=offer.entry_id,
        group_id=offer.group_id,
        room_id=offer.room_id,
        use_date=offer.use_date,
        period_codes=list(offer.period_codes),
        status=offer.status,
        made_at=offer.made_at,
        expires_at=offer.expires_at,
        booking_id=offer.booking_id,
    )


def entry_read(
    entry: WaitlistEntry, position: int | None = None, offer: WaitlistOffer | None = None
) -> EntryRead:
    return EntryRead(
        id=entry.id,
        group_id=entry.group_id,
        room_id=entry.room_id,
        facility_id=entry.facility_id,
        use_date=entry.use_date,
        period_codes=list(entry.period_codes),
        status=entry.status,
        joined_at=entry.joined_at,
        position=position,
        offer=offer_read(offer) if offer else None,
    )


class WaitlistController(Controller):
    path = "/api/v1/waitlist"
    tags = ["wait list"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Join the wait list (キャンセル待ち) of a taken slot in the first-come window",
        description="A group member for their group, or the facility's staff for a group. "
        "When the slot frees it is offered to the groups in line in the order they joined. "
        "Send an Idempotency-Key header to make retries safe.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def join(
        self,
        data: JSONBody[WaitlistIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        idempotency_key: idempotency.IdempotencyKey = None,
    ) -> Response[Any]:
        principal = auth.required()

        async def create() -> dict[str, Any]:
            entry = await lines.join(
                db_session,
                clock,
                settings,
                network,
                principal,
                group_id=data.group_id,
                room_id=data.room_id,
                use_date=data.use_date,
                period_codes=list(data.period_codes),
            )
            return msgspec.to_builtins(entry_read(entry))  # type: ignore[no-any-return]

        status, body = await idempotency.once(
            db_session, clock, principal.user_id, idempotency_key, msgspec.json.encode(data), create
        )
        return Response(body, status_code=status)

    @get(
        "/",
        summary="A group's live wait-list entries, each with its position and open offer",
        responses=error_responses(400, 401, 404),
    )
    async def group_lines(
        self, auth: Auth, db_session: DbSession, network: Network, group_id: Id
    ) -> list[EntryRead]:
        found = await lines.group_lines(db_session, auth.required(), network, group_id)
        return [entry_read(line.entry, line.position, line.offer) for line in found]

    @delete(
        "/{entry_id:int}",
        summary="Leave the wait list (with an open offer: decline it)",
        responses=error_responses(400, 401, 404, 409),
    )
    async def leave(
        self,
        entry_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> None:
        await lines.leave(db_session, clock, settings, network, auth.required(), entry_id)

    @post(
        "/offers/{offer_id:int}/accept",
        status_code=HTTP_201_CREATED,
        summary="Accept an offer: the slot is booked (its fee, permit and mail as any booking)",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def accept(
        self,
        offer_id: FromPath[int],
        data: JSONBody[AcceptIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> AcceptRead:
        booking = await offers.accept(
            db_session,
            clock,
            settings,
            network,
            auth.required(),
            offer_id,
            purpose=data.purpose,
            headcount=data.headcount,
            event_name=data.event_name,
            charges_admission=data.charges_admission,
        )
        offer = await offers.get_offer(db_session, auth.required(), offer_id)
        return AcceptRead(offer=offer_read(offer), booking=booking_read(booking))

    @post(
        "/offers/{offer_id:int}/decline",
        status_code=HTTP_200_OK,
        summary="Decline an offer: the slot goes to the next group in line (or opens)",
        responses=error_responses(400, 401, 404, 409),
    )
    async def decline(
        self,
        offer_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> OfferRead:
        offer = await offers.decline(
            db_session, clock, settings, network, auth.required(), offer_id
        )
        return offer_read(offer)
