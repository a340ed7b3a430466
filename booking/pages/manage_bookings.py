"""A booking at the facility desk: approve or reject it, complete a hold, record payment
and a no-show; cancelling goes through the group's cancel page with the facility's choices."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.documents.reading import booking_documents
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot
from booking.pages.bookings import BOOKING_STATUSES, DOCUMENT_KINDS, PAYMENT_STATUSES, shown
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page
from booking.reservations import changes, holds
from booking.reservations.models import PaymentStatus
from booking.web.fields import PAYMENT_METHOD_MAX


class DeskBookingPages(Controller):
    path = "/manage"
    include_in_schema = False

    @get("/bookings/{booking_id:int}", name="desk_booking")
    async def booking_page(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        return await _desk_booking(page, Form({}, page.texts), db_session, network, booking_id)

    @post("/bookings/{booking_id:int}/{action:str}")
    async def booking_action(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        action: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        work: Any
        if action in {"approve", "reject"}:

            async def work() -> Any:
                return await changes.decide(
                    db_session,
                    clock,
                    settings,
                    network,
                    principal,
                    booking_id,
                    approve=action == "approve",
                )

        elif action == "complete":

            async def work() -> Any:
                return await holds.complete_hold(
                    db_session, clock, settings, network, principal, booking_id
                )

        elif action == "no-show":

            async def work() -> Any:
                return await changes.record_no_show(
                    db_session, clock, settings, principal, booking_id
                )

        elif action == "payment":
            status = PaymentStatus(form.choice("payment_status", PAYMENT_STATUSES) or "unpaid")
            method = form.text("payment_method", required=False, max_length=PAYMENT_METHOD_MAX)

            async def work() -> Any:
                return await changes.set_payment(
                    db_session, clock, settings, principal, booking_id, status, method
                )

        else:
            raise NotFound(f"no action {action}", code="not_found")
        done = await attempt(db_session, form, {}, work) if form.ok else None
        if done is not None:
            return Redirect(f"/manage/bookings/{booking_id}?done=1", status_code=303)
        return await _desk_booking(page, form, db_session, network, booking_id, 422)


async def _desk_booking(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    booking_id: int,
    status_code: int = 200,
) -> Template:
    principal = staff_of(page)
    booking, group = await changes.get_booking(db_session, principal, booking_id)
    managed_facility(network, principal, booking.facility_id)
    names = await catalogue(db_session, network)
    return page.render(
        "manage/booking.html",
        purpose=page.texts.named(names.purposes, booking.purpose),
        status_code=status_code,
        nav="manage",
        item=shown(network, page.texts, booking),
        group=group,
        statuses=BOOKING_STATUSES,
        payments=PAYMENT_STATUSES,
        documents=await booking_documents(db_session, principal, booking_id),
        document_kinds=DOCUMENT_KINDS,
        form=form,
        done="done" in page.request.query_params,
    )
