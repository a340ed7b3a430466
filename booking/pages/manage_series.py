"""A series at the facility desk: the counter's form sends a repeated booking here (its dates
shown first, as on the group's form), and the desk's view of a series, which cancels the rest
through the group's cancel page with the desk's way back."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import BookingError
from booking.inventory.network import NetworkSnapshot
from booking.pages.forms import Form
from booking.pages.manage import counter_page, managed_facility, staff_of
from booking.pages.repeat import change_url
from booking.pages.series import (
    SERIES_FIELDS,
    book_once,
    preview_again,
    preview_page,
    query_form,
    read_series,
    series_page,
    series_shown,
)
from booking.pages.web import Page
from booking.reservations import idempotency
from booking.reservations.series import (
    Mode,
    SeriesPreview,
    get_series,
    preview_series,
)

# The counter's form names the group by its card number.
COUNTER_FIELDS = {**SERIES_FIELDS, "group_id": "card_number", "room_id": "room"}


def _preview(
    page: Page, form: Form, network: NetworkSnapshot, facility_id: int, shown: SeriesPreview
) -> Template:
    return preview_page(
        page,
        form,
        network,
        shown,
        action=f"/manage/facilities/{facility_id}/series",
        change=change_url(f"/manage/facilities/{facility_id}/book", form)
        + f"&card_number={shown.group.card_number or ''}",
    )


class DeskSeriesPages(Controller):
    path = "/manage"
    include_in_schema = False

    @get("/facilities/{facility_id:int}/series", name="counter_series")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        managed_facility(network, principal, facility_id)
        form = query_form(request, page.texts)
        wanted = read_series(form)
        if wanted is not None:
            try:
                shown = await preview_series(
                    db_session, clock, settings, network, principal, wanted
                )
            except BookingError as exc:
                form.fail(exc, COUNTER_FIELDS)
            else:
                return _preview(page, form, network, facility_id, shown)
        form.values["request_key"] = secrets.token_urlsafe(16)
        return await counter_page(page, form, db_session, network, facility_id, 422)

    @post("/facilities/{facility_id:int}/series")
    async def book(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        auth.required()  # a form whose session ended: to the login (staff_of: 403 others)
        managed_facility(network, staff_of(page), facility_id)
        form = Form(await request.form(), page.texts)
        wanted = read_series(form)
        mode: Mode = "free" if form["mode"] == "free" else "all"
        key = form.text("request_key", max_length=idempotency.MAX_KEY_LENGTH)
        if wanted is None or key is None:
            form.values["request_key"] = secrets.token_urlsafe(16)
            return await counter_page(page, form, db_session, network, facility_id, 422)
        made = await book_once(db_session, clock, settings, network, page, form, wanted, mode, key)
        if made is not None:
            return Redirect(f"/manage/series/{made}?done=booked", status_code=303)
        shown = await preview_again(db_session, clock, settings, network, page, wanted)
        if shown is None:
            return await counter_page(page, form, db_session, network, facility_id, 422)
        response = _preview(page, form, network, facility_id, shown)
        response.status_code = 422
        return response

    @get("/series/{series_id:int}", name="desk_series")
    async def series(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        series, group, bookings = await get_series(db_session, principal, series_id)
        managed_facility(network, principal, series.facility_id)
        item = series_shown(network, page.texts, series, group, bookings)
        done = request.query_params.get("done", "")
        return series_page(page, item, staff_view=True, done=done)
