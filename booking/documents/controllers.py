"""HTTP for documents: a booking's permit, its receipts (refunds, waivers) as PDFs, the list
of its documents, and the desk's check of a printed number and code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, Parameter

from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.clock import Clock
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.documents.checks import DocumentCheck, check_document
from booking.documents.codes import PERMIT
from booking.documents.permits import issue_permit
from booking.documents.reading import booking_documents, receipt_facts
from booking.documents.render import permit_pdf, receipt_pdf
from booking.documents.schemas import CoveredRead, DocumentCheckRead, DocumentRead, PeriodRead
from booking.inventory.network import NetworkSnapshot
from booking.settings import Settings
from booking.web.errors import error_responses
from booking.web.fields import DOCUMENT_CODE_MAX, DOCUMENT_NUMBER_MAX, ONE_LINE

PDF = "application/pdf"
NumberText = Annotated[str, Parameter(max_length=DOCUMENT_NUMBER_MAX, pattern=ONE_LINE)]
CodeText = Annotated[str, Parameter(max_length=DOCUMENT_CODE_MAX, pattern=ONE_LINE)]


def document_url(booking_id: int, receipt_id: int | None) -> str:
    base = f"/api/v1/bookings/{booking_id}"
    if receipt_id is None:
        return f"{base}/permit.pdf"
    return f"{base}/receipts/{receipt_id}/receipt.pdf"


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

    @get(
        "/{booking_id:int}/documents",
        summary="A booking's documents: its permit, receipts, refunds and waivers",
        description="Its group's members and the facility's staff. The permit is listed for a "
        "confirmed booking (number null until its first download); a receipt (領収書) for each "
        "payment recorded, a refund (還付) and a waiver (減免) likewise, oldest first, each "
        "numbered per facility, fiscal year of its issue (April to March) and kind.",
        responses=error_responses(400, 401, 404),
    )
    async def documents(
        self, booking_id: FromPath[int], auth: Auth, db_session: DbSession
    ) -> list[DocumentRead]:
        found = await booking_documents(db_session, auth.required(), booking_id)
        return [
            DocumentRead(
                kind=d.kind,
                receipt_id=d.receipt_id,
                number=d.number,
                amount=d.amount,
                method=d.method,
                issued_at=d.issued_at,
                url=document_url(booking_id, None if d.kind == PERMIT else d.receipt_id),
            )
            for d in found
        ]

    @get(
        "/{booking_id:int}/receipts/{receipt_id:int}/receipt.pdf",
        summary="A receipt (領収書), refund (還付) or waiver (減免) of a booking, as a PDF",
        description="Its group's members and the facility's staff; a receipt of another "
        "booking answers 404 receipt_not_found.",
        media_type=PDF,
        responses=error_responses(400, 401, 404),
    )
    async def receipt(
        self,
        booking_id: FromPath[int],
        receipt_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"]] = "ja",
    ) -> Response[bytes]:
        return await receipt_response(
            db_session, settings, network, auth.required(), booking_id, receipt_id, lang
        )


class DocumentCheckController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/check",
        summary="Check a printed permit, receipt, refund or waiver (staff)",
        description="The number (2026-0017-000001; R-, RF-, W- for a receipt, refund, waiver) "
        "and the verification code printed on it. An unknown number, a wrong code and another "
        "facility's document all answer valid false, reason not_found; a permit whose booking "
        "is no longer confirmed, booking_not_final; one whose booking changed since, "
        "booking_changed. Not staff: 403.",
        responses=error_responses(400, 401, 403),
    )
    async def check(
        self,
        number: FromQuery[NumberText],
        code: FromQuery[CodeText],
        auth: Auth,
        db_session: DbSession,
        settings: AppSettings,
        network: Network,
    ) -> DocumentCheckRead:
        found = await check_document(db_session, settings, network, auth.required(), number, code)
        return check_read(found)


def check_read(found: DocumentCheck) -> DocumentCheckRead:
    covers = found.covers
    return DocumentCheckRead(
        valid=found.valid,
        reason=found.reason,
        kind=found.kind,
        number=found.number,
        covers=None
        if covers is None
        else CoveredRead(
            booking_id=covers.booking_id,
            booking_status=covers.booking_status,
            payment_status=covers.payment_status,
            facility_name_ja=covers.facility_ja,
            facility_name_en=covers.facility_en,
            room_name_ja=covers.room_ja,
            room_name_en=covers.room_en,
            use_date=covers.use_date,
            periods=[PeriodRead(p.name_ja, p.name_en, p.start, p.end) for p in covers.periods],
            group_name=covers.group_name,
            amount=covers.amount,
            issued_on=covers.issued_on,
        ),
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


async def receipt_response(
    db_session: DbSession,
    settings: Settings,
    network: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
    receipt_id: int,
    lang: Literal["ja", "en"],
) -> Response[bytes]:
    """A receipt as the answer to a request: the API's and the group's and desk's pages."""
    facts = await receipt_facts(db_session, settings, network, principal, booking_id, receipt_id)
    return Response(
        await receipt_pdf(facts, lang),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{facts.kind}-{facts.number}.pdf"'},
    )
