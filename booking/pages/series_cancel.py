"""Cancelling the rest of a series: each date's charge shown first (a dry run), then done.

The group's members cancel online what is still before the online deadline; the facility's
staff reach the same page from the desk (`next`), and cancel the later dates too, with the
group's charges or for the facility's own reasons free of charge (`cause=facility`, chosen
before the dates are shown). One date alone is cancelled as any booking is (its own cancel
page)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import BookingError
from booking.inventory.network import NetworkSnapshot
from booking.pages.forms import Form, attempt
from booking.pages.series import query_form, series_shown
from booking.pages.web import Page
from booking.reservations.series import get_series
from booking.reservations.series_cancel import cancel_series


def _back(value: str, series_id: int) -> str:
    """Where the page leads after: the desk's view of the series, or the group's."""
    return value if value == f"/manage/series/{series_id}" else f"/my/series/{series_id}"


class SeriesCancelPages(Controller):
    path = "/my/series"
    include_in_schema = False

    @get("/{series_id:int}/cancel", name="series_cancel_preview")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        form = query_form(request, page.texts)
        return await _cancel_page(page, form, db_session, network, clock, settings, series_id)

    @post("/{series_id:int}/cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        start = form.day("from", required=False) or local_today(clock, settings.tz)
        facility_cause = form["cause"] == "facility"
        if form.ok:
            done = await attempt(
                db_session,
                form,
                {"from_date": "from"},
                lambda: cancel_series(
                    db_session,
                    clock,
                    settings,
                    network,
                    principal,
                    series_id,
                    start,
                    facility_cause=facility_cause,
                ),
            )
            if done is not None:
                back = _back(form["next"], series_id)
                return Redirect(f"{back}?done=cancelled", status_code=303)
        return await _cancel_page(page, form, db_session, network, clock, settings, series_id)


async def _cancel_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    series_id: int,
) -> Template:
    series, group, bookings = await get_series(db_session, page.user, series_id)
    today = local_today(clock, settings.tz)
    start = form.day("from", required=False) or today
    start = max(start, today)
    staff = page.user.manages(series.facility_id)
    facility_cause = form["cause"] == "facility"
    preview = None
    if form.ok:
        try:
            preview = await cancel_series(
                db_session, clock, settings, network, page.user, series_id, start,
                facility_cause=facility_cause, dry_run=True,
            )  # fmt: skip
        except BookingError as exc:
            form.fail(exc, {"from_date": "from"})
    staff_view = form["next"] == f"/manage/series/{series_id}"
    return page.render(
        "my/series_cancel.html",
        status_code=200 if form.ok else 422,
        nav="manage" if staff_view else "bookings",
        item=series_shown(network, page.texts, series, group, bookings),
        preview=preview,
        start=start,
        today=today,
        form=form,
        back=_back(form["next"], series_id),
        next=form["next"] if staff_view else "",
        staff=staff,
        facility_cause=facility_cause,
    )
