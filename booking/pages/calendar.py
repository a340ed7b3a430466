"""Subscribing to a calendar: the feed's secret address (shown once, with a webcal://
link), a new address that stops the old one, and stopping it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.calendars import feeds
from booking.calendars.controllers import issued
from booking.calendars.models import FeedKind
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.pages.bookings import member_groups
from booking.pages.forms import Form, attempt, whole_id
from booking.pages.web import Page
from booking.web.fields import TOKEN_NAME_MAX


class CalendarPages(Controller):
    include_in_schema = False

    @get("/my/calendar", name="my_calendar")
    async def my_calendar(
        self, request: Request[Any, Any, Any], auth: Auth, db_session: DbSession
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        return await _calendar_page(page, Form({}, page.texts), db_session, None)

    @post("/my/calendar")
    async def calendar_create(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        target = form["target"]
        kind: FeedKind
        target_id: int | None
        if target == "manager":
            kind, target_id = FeedKind.MANAGER, None
        elif target.startswith("staff:"):
            kind, target_id = FeedKind.FACILITY_STAFF, whole_id(target[6:])
        else:
            kind, target_id = FeedKind.GROUP, whole_id(target.removeprefix("group:"))
        typed = form.text("name", required=False, max_length=TOKEN_NAME_MAX)
        name = typed or page.texts.gettext("My bookings")
        made = (
            await attempt(
                db_session,
                form,
                {"target_id": "target"},
                lambda: feeds.create_feed(
                    db_session, clock, network, principal, kind, target_id, name
                ),
            )
            if form.ok  # a name refused (too long, a line break) makes no feed
            else None
        )
        shown_feed = issued(made.feed, made.token, settings.public_url) if made else None
        return await _calendar_page(page, form, db_session, shown_feed, 201 if made else 422)

    @post("/my/calendar/{feed_id:int}/{action:str}")
    async def calendar_action(
        self,
        request: Request[Any, Any, Any],
        feed_id: FromPath[int],
        action: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form({}, page.texts)
        if action == "rotate":
            made = await attempt(
                db_session,
                form,
                {},
                lambda: feeds.rotate_feed(db_session, clock, principal, feed_id),
            )
            shown_feed = issued(made.feed, made.token, settings.public_url) if made else None
            return await _calendar_page(page, form, db_session, shown_feed, 200 if form.ok else 422)
        if action == "revoke":
            await attempt(
                db_session,
                form,
                {},
                lambda: feeds.revoke_feed(db_session, clock, principal, feed_id),
            )
            return await _calendar_page(page, form, db_session, None, 200 if form.ok else 422)
        raise NotFound(f"no action {action}", code="not_found")


async def _calendar_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    new_feed: Any,
    status_code: int = 200,
) -> Template:
    mine = await member_groups(db_session, page.user)
    owned = await feeds.list_feeds(db_session, page.user)
    targets = [(f"group:{g.id}", g.name) for g in mine]
    texts = page.texts
    if page.user.is_staff:
        targets.append(("manager", texts.gettext("All my facilities (staff)")))
    return page.render(
        "my/calendar.html",
        status_code=status_code,
        nav="calendar",
        feeds=[f for f in owned if f.revoked_at is None],
        targets=targets,
        new_feed=new_feed,
        form=form,
    )
