"""A booking's receipts (refunds, waivers) as PDFs where its pages link them, and the desk's
check of a printed permit or receipt: its number and verification code."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from booking.accounts.auth import Auth
from booking.deps import AppSettings, DbSession, Network
from booking.documents.checks import check_document
from booking.documents.controllers import receipt_response
from booking.errors import BookingError
from booking.pages.bookings import BOOKING_STATUSES, DOCUMENT_KINDS, PAYMENT_STATUSES
from booking.pages.forms import Form
from booking.pages.i18n import N_
from booking.pages.manage import staff_of
from booking.pages.web import Page
from booking.web.fields import DOCUMENT_CODE_MAX, DOCUMENT_NUMBER_MAX

CHECK_REASONS = {
    "valid": N_("Valid: this document was issued by the system and still holds."),
    "not_found": N_(
        "Not valid: no document of your facilities has this number and code. Check what you typed."
    ),
    "booking_not_final": N_("Not valid: the booking is no longer confirmed."),
    "booking_changed": N_(
        "Not valid: the booking changed after this permit was printed. Print it again."
    ),
}


class DocumentPages(Controller):
    include_in_schema = False

    @get("/my/bookings/{booking_id:int}/receipts/{receipt_id:int}/receipt.pdf", name="my_receipt")
    async def receipt(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        receipt_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"] | None] = None,
    ) -> Response[bytes]:
        """A receipt where the group's booking page and the desk's link it (the login first
        for whoever is logged out)."""
        page = Page.logged_in(request, auth)
        return await receipt_response(
            db_session,
            settings,
            network,
            page.user,
            booking_id,
            receipt_id,
            lang or page.texts.lang,
        )

    @get("/manage/documents/check", name="desk_check")
    async def check(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        settings: AppSettings,
        network: Network,
    ) -> Template:
        """The form, and once a number and a code are given, what they check as."""
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        query = request.query_params
        form = Form({"number": query.get("number", ""), "code": query.get("code", "")}, page.texts)
        found = None
        if form["number"] or form["code"]:
            number = form.text("number", max_length=DOCUMENT_NUMBER_MAX)
            code = form.text("code", max_length=DOCUMENT_CODE_MAX)
            if number and code:
                try:
                    found = await check_document(
                        db_session, settings, network, principal, number, code
                    )
                except BookingError as exc:
                    form.fail(exc, {"number": "number", "code": "code"})
        return page.render(
            "manage/check.html",
            status_code=200 if form.ok else 422,
            nav="manage",
            form=form,
            found=found,
            kinds=DOCUMENT_KINDS,
            reasons=CHECK_REASONS,
            statuses=BOOKING_STATUSES,
            payments=PAYMENT_STATUSES,
        )
