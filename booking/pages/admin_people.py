"""The administrator's pages about people: finding a person, suspending and reinstating them,
and the audit trail with its filters (the API's query: booking/audit/service.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import staff
from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.accounts.models import User, UserStatus
from booking.accounts.people import clean_email, names_of, user_by_email
from booking.audit.models import AuditEvent
from booking.audit.service import AuditQuery, list_events
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import InvalidInput
from booking.inventory.network import NetworkSnapshot
from booking.pages.account import STATUSES
from booking.pages.admin import ROLES, admin_of, facility_name
from booking.pages.forms import Form, attempt, whole_id
from booking.pages.web import Page
from booking.web.fields import NOTE_MAX, SEARCH_MAX

PEOPLE_PAGE = 50
AUDIT_PAGE = 50
# The page of an audit event's target, where one exists (an admin may open each).
TARGET_PAGES = {
    "booking": "/manage/bookings/{}",
    "group": "/manage/registrations/{}",
    "facility": "/admin/facilities/{}",  # a retired one too, unlike the desk's board
    "room": "/admin/rooms/{}",
    "notice": "/manage/notices/{}",
    "user": "/admin/people/{}",
    "series": "/manage/series/{}",  # the desk's view of a series (issue 17)
    # An offer's page is its group's and the facility's staff's; a wait-list entry has no
    # page of its own (a group's lines are on its /my/waitlist), so it is named, not linked.
    "waitlist_offer": "/my/waitlist/offers/{}",
}
FACILITY_KEYS = frozenset({"facility_ids", "facility_id"})
# Free text of the audit filters: as long as the API's query parameters.
ACTION_MAX, TARGET_TYPE_MAX, TARGET_ID_MAX = 60, 30, 300


def target_page(target_type: str, target_id: str) -> str | None:
    pattern = TARGET_PAGES.get(target_type)
    return pattern.format(target_id) if pattern and whole_id(target_id) else None


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def shown_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(shown_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes_of(event: AuditEvent, facility: Callable[[int], str]) -> list[Change]:
    """The event's state before and after, key by key, in the order the service wrote them;
    facilities by their names (a manager's facility_ids, a registration's facility_id)."""
    before, after = event.before or {}, event.after or {}
    keys = [*before, *(k for k in after if k not in before)]

    def shown(key: str, value: Any) -> str:
        if key in FACILITY_KEYS and value is not None:
            ids = value if isinstance(value, list) else [value]
            return shown_value([facility(i) if isinstance(i, int) else i for i in ids])
        return shown_value(value)

    return [Change(k, shown(k, before.get(k)), shown(k, after.get(k))) for k in keys]


class AdminPeoplePages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/people", name="admin_people")
    async def people(
        self, request: Request[Any, Any, Any], auth: Auth, db_session: DbSession
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = admin_of(page)
        form = Form(request.query_params, page.texts)
        text = form.text("q", required=False, max_length=SEARCH_MAX)
        found = (
            await staff.find_users(db_session, principal, text, limit=PEOPLE_PAGE) if text else []
        )
        return page.render(
            "admin/people.html",
            status_code=200 if form.ok else 400,
            nav="admin",
            form=form,
            searched=bool(text),
            people=found,
            roles=ROLES,
            limit=PEOPLE_PAGE,
        )

    @get("/people/{user_id:int}", name="admin_person")
    async def person(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        form = Form({}, page.texts)
        return await _person_page(page, form, db_session, network, user_id)

    @post("/people/{user_id:int}/suspend")
    async def suspend(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        admin_of(page)
        form = Form(await request.form(), page.texts)
        reason = form.text("reason", max_length=NOTE_MAX)
        if form.ok and reason:
            done = await attempt(
                db_session,
                form,
                {"reason": "reason"},
                lambda: staff.set_user_status(
                    db_session, clock, principal, user_id, UserStatus.SUSPENDED, reason=reason
                ),
            )
            if done is not None:
                return Redirect(f"/admin/people/{user_id}?done=suspended", status_code=303)
        return await _person_page(page, form, db_session, network, user_id, status_code=422)

    @post("/people/{user_id:int}/reinstate")
    async def reinstate(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Redirect:
        principal = auth.required()
        await staff.set_user_status(db_session, clock, principal, user_id, UserStatus.ACTIVE)
        return Redirect(f"/admin/people/{user_id}?done=reinstated", status_code=303)

    @get("/audit", name="admin_audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        form = Form(request.query_params, page.texts)
        query = await _audit_query(form, db_session, settings)
        events: list[AuditEvent] = []
        if form.ok and query is not None:
            # One more than shown: whether an older page exists.
            events = list(await list_events(db_session, query))
        older = events[AUDIT_PAGE - 1].id if len(events) > AUDIT_PAGE else None

        def named(facility_id: int) -> str:
            return facility_name(network, page, facility_id)

        events = events[:AUDIT_PAGE]
        filters = [(k, v) for k, v in request.query_params.items() if k != "before" and v]
        actors = await names_of(db_session, (e.actor_user_id for e in events))
        return page.render(
            "admin/audit.html",
            status_code=200 if form.ok else 400,
            nav="admin",
            form=form,
            events=[
                (e, changes_of(e, named), target_page(e.target_type, e.target_id)) for e in events
            ],
            actors=actors,
            older=older,
            newest_url=f"/admin/audit?{urlencode(filters)}",
            older_url=f"/admin/audit?{urlencode([*filters, ('before', str(older))])}",
        )


async def _audit_query(
    form: Form, db_session: DbSession, settings: AppSettings
) -> AuditQuery | None:
    """The filters as the API's query; the dates are Tokyo's days, from the first's start to
    the end of the last."""
    action = form.text("action", required=False, max_length=ACTION_MAX)
    actor = await _actor(form, db_session)
    target_type = form.text("target_type", required=False, max_length=TARGET_TYPE_MAX)
    target_id = form.text("target_id", required=False, max_length=TARGET_ID_MAX)
    first = form.day("from", required=False)
    last = form.day("to", required=False)
    before = form["before"]
    before_id = whole_id(before) if before else None
    if before and before_id is None:
        form.error("before", "Enter a whole number.")
    if first and last and last < first:
        form.error("to", "The last date is before the first.")
    if not form.ok:
        return None
    return AuditQuery(
        action=action,
        actor_user_id=actor,
        target_type=target_type,
        target_id=target_id,
        since=datetime.combine(first, time(), settings.tz) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), settings.tz) if last else None,
        before_id=before_id,
        limit=AUDIT_PAGE + 1,
    )


async def _actor(form: Form, db_session: DbSession) -> int | None:
    """Who acted: a user id, or the e-mail address of someone with a login."""
    text = form.text("actor", required=False, max_length=SEARCH_MAX)
    if not text:
        return None
    if (user_id := whole_id(text)) is not None:
        return user_id
    try:
        email = clean_email(text, "actor")
    except InvalidInput:
        form.error("actor", "Enter an e-mail address or a user number.")
        return None
    user = await user_by_email(db_session, email)
    if user is None:
        form.error("actor", "No one has this e-mail address.")
        return None
    return user.id


async def _person_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    user_id: int,
    *,
    status_code: int = 200,
) -> Template:
    principal: Principal = admin_of(page)
    user: User = await staff.view_user(db_session, principal, user_id)
    suspension = None
    if user.status is UserStatus.SUSPENDED:
        latest = await list_events(
            db_session,
            AuditQuery(
                action="user.suspended", target_type="user", target_id=str(user.id), limit=1
            ),
        )
        suspension = latest[0] if latest else None
    facilities = [
        (fid, facility_name(network, page, fid))
        for fid in await staff.facilities_of(db_session, user.id)
    ]
    return page.render(
        "admin/person.html",
        status_code=status_code,
        nav="admin",
        person=user,
        groups=await staff.groups_of(db_session, principal, user.id),
        facilities=facilities,
        roles=ROLES,
        group_statuses=STATUSES,
        group_link=lambda group_id: target_page("group", str(group_id)),
        suspension=suspension,
        is_self=user.id == principal.user_id,
        form=form,
        done=page.request.query_params.get("done", "") if status_code == 200 else "",
    )
