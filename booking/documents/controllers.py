"""HTTP for documents: a booking's permit as a PDF."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery

from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.clock import Clock
from booking.deps import AppSettings, CurrentClock, Network
from booking.documents.permits import issue_permit
from booking.documents.render import permit_pdf
from booking.inventory.network import NetworkSnapshot
from booking.settings import Settings
from booking.web.errors import error_responses

PDF = "application/pdf"


class PermitController(Controller):
    path = "/api/v1/bookings"
    tags = ["documents"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/{booking_id:int}/permit.pdf",
        summary="The usage permit (利用許可書) of a confirmed booking, as a PDF",
        description="Its group's members and the facility's staff. The permit number is given "
        "on the first download and kept; the verification code lets staff check a print. A "
        "booking that is not confirmed (held, pending approval, cancelled...) answers 409 "
        "booking_not_final.",
        media_type=PDF,
        responses=error_responses(400, 401, 404, 409),
    )
    async def permit(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"]] = "ja",
    ) -> Response[bytes]:
        return await permit_response(
            request, clock, settings, network, auth.required(), booking_id, lang
        )


async def permit_response(
    request: Request[Any, Any, Any],
    clock: Clock,
    settings: Settings,
    network: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
    lang: Literal["ja", "en"],
) -> Response[bytes]:
    """The permit as the answer to a request: the API's and the page a mail links to."""
    facts = await issue_permit(
        request.app.state.sessionmaker, clock, settings, network, principal, booking_id
    )
    return Response(
        await permit_pdf(facts, lang),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="permit-{facts.number}.pdf"'},
    )
