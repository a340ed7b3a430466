"""A group's lottery: its applications with their states, the quota left, withdrawing
before the window closes and confirming a win before the deadline. Applying is the booking
form's (bookings.py): a date in the lottery window makes it an application."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot
from booking.lottery import applications
from booking.pages.bookings import member_groups, shown
from booking.pages.forms import Form, attempt
from booking.pages.i18n import N_
from booking.pages.web import Page
from booking.reservations.models import Booking

APPLICATION_STATUSES = {
    "applied": N_("Applied"),
    "withdrawn": N_("Withdrawn"),
    "won": N_("Won: confirm it"),
    "lost": N_("Not drawn"),
    "confirmed": N_("Won and confirmed"),
    "lapsed": N_("Lapsed (not confirmed in time)"),
}


class LotteryPages(Controller):
    include_in_schema = False

    @get("/my/lottery", name="my_lottery")
    async def my_lottery(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        return await _lottery_page(page, Form({}, page.texts), db_session, network, clock, settings)

    @post("/my/lottery/{application_id:int}/{action:str}")
    async def lottery_action(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        application_id: FromPath[int],
        action: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form({}, page.texts)
        if action not in {"confirm", "withdraw"}:
            raise NotFound(f"no action {action}", code="not_found")
        work = applications.confirm if action == "confirm" else applications.withdraw
        done = await attempt(
            db_session,
            form,
            {},
            lambda: work(db_session, clock, settings, network, principal, application_id),
        )
        if done is not None:
            if isinstance(done, Booking):
                return Redirect(f"/my/bookings/{done.id}?done=1", status_code=303)
            return Redirect("/my/lottery?withdrawn=1", status_code=303)
        return await _lottery_page(page, form, db_session, network, clock, settings, 422)


async def _lottery_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    status_code: int = 200,
) -> Template:
    today = local_today(clock, settings.tz)
    open_month = None
    for facility in network.facilities.values():
        if facility.policy_on(today).lottery.enabled:
            open_month = applications.next_use_month(today, facility.policy_on(today).lottery)
            break
    sections = []
    for group in await member_groups(db_session, page.user):
        found = await applications.group_applications(db_session, page.user, group.id, None)
        quota = [
            (page.texts.name(network.facilities[q.facility_id]), q.use_month, q.left, q.limit)
            for q in await applications.quota_left(db_session, network, group.id)
            if q.facility_id in network.facilities
        ]
        sections.append((group, [shown(network, page.texts, a) for a in found], quota))
    return page.render(
        "my/lottery.html",
        status_code=status_code,
        nav="lottery",
        sections=sections,
        open_month=open_month,
        statuses=APPLICATION_STATUSES,
        form=form,
        notice=next((k for k in ("applied", "withdrawn") if k in page.request.query_params), None),
        today=today,
    )
