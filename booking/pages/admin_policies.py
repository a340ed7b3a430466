"""The reservation policies from a date (issue 16 §2): each policy, where it applies, its
settings today and the revisions to come, and a new revision from a date.

The form carries the settings a city administrator changes (the windows, online cancellation,
holds, approval, the lottery on or off); only those filled in are sent, as a partial override.
The rest (the lottery's days, fees, the cancellation charges) go through the API
(POST /api/v1/policies/{id}/revisions). The rules are the service's: schedules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.inventory import schedules
from booking.inventory.models import Facility, FacilityKind, Policy, PolicyRevision, Room
from booking.inventory.policy import MAX_DAYS_BEFORE, merge_layers
from booking.pages.admin import admin_of
from booking.pages.forms import Form, attempt
from booking.pages.i18n import N_
from booking.pages.web import Page


@dataclass(frozen=True, slots=True)
class Setting:
    field: str  # the form's input
    key: str  # the policy's dotted key
    label: str
    maximum: int | None  # None: a yes/no choice
    minimum: int = 0


SETTINGS = (
    Setting(
        "opens_months_before",
        "first_come_opens_months_before",
        N_("Online booking opens, months before the month of use"),
        24,
    ),
    Setting("opens_day", "first_come_opens_day", N_("Online booking opens on this day"), 31, 1),
    Setting(
        "closes_days_before",
        "first_come_closes_days_before",
        N_("Online booking closes, days before use"),
        MAX_DAYS_BEFORE,
    ),
    Setting(
        "cancel_days_before",
        "cancellation.online_until_days_before",
        N_("Online cancellation until, days before use"),
        MAX_DAYS_BEFORE,
    ),
    Setting("requires_approval", "requires_approval", N_("Bookings need approval"), None),
    Setting("holds_allowed", "holds.allowed", N_("Holds by phone are taken"), None),
    Setting("hold_days", "holds.days", N_("A hold lasts, days"), MAX_DAYS_BEFORE),
    Setting("lottery_enabled", "lottery.enabled", N_("Monthly lottery"), None),
)
LABELS = {s.key: s.label for s in SETTINGS}
YES_NO = {"yes": True, "no": False}
NOTHING = N_("Fill in at least one setting.")
DONE = {"added": N_("The policy from that date is saved.")}


def flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested partial policy as dotted keys (lottery.enabled ...), for reading."""
    found: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            found.update(flat(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def nested(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys back into the nested partial policy the service takes."""
    settings: dict[str, Any] = {}
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        into = settings
        for part in parents:
            into = into.setdefault(part, {})
        into[last] = value
    return settings


def read_settings(form: Form) -> dict[str, Any]:
    """The settings filled in (dotted keys); an empty input is left as it is."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if not form[s.field].strip():
            continue
        if s.maximum is None:
            choice = form.choice(s.field, YES_NO)
            if choice is not None:
                values[s.key] = YES_NO[choice]
        else:
            number = form.integer(s.field, minimum=s.minimum, maximum=s.maximum)
            if number is not None:
                values[s.key] = number
    return values


async def where_used(db_session: DbSession) -> dict[int, list[Any]]:
    """Policy id -> the facility kinds, facilities and rooms that name it (three queries)."""
    used: dict[int, list[Any]] = {}
    models: tuple[type[FacilityKind | Facility | Room], ...] = (
        FacilityKind,
        Facility,
        Room,
    )
    for model in models:
        rows = await db_session.execute(
            select(model.policy_id, model.name_ja, model.name_en)
            .where(model.policy_id.is_not(None))
            .order_by(model.key)
        )
        for row in rows.all():
            used.setdefault(row.policy_id, []).append(row)
    return used


def today_and_later(
    policy: Policy, revisions: list[PolicyRevision], today: date
) -> tuple[dict[str, Any], list[PolicyRevision]]:
    """The policy's own settings as they stand today (dotted), and the revisions to come."""
    in_effect = [r.settings for r in revisions if r.effective_from <= today]
    return (
        flat(merge_layers(policy.settings, *in_effect)),
        [r for r in revisions if r.effective_from > today],
    )


class PolicyPages(Controller):
    path = "/admin/policies"
    include_in_schema = False

    @get("/", name="admin_policies")
    async def policies_page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.logged_in(request, auth)
        admin_of(page)
        today = local_today(clock, settings.tz)
        used = await where_used(db_session)
        rows = [
            (policy, *today_and_later(policy, revisions, today), used.get(policy.id, []))
            for policy, revisions in await schedules.all_policies(db_session)
        ]
        return page.render(
            "admin/policies.html", nav="admin", rows=rows, labels=LABELS, today=today
        )

    @get("/{policy_id:int}", name="admin_policy")
    async def policy_page(
        self,
        request: Request[Any, Any, Any],
        policy_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        done = DONE.get(request.query_params.get("done", ""))
        form = Form({}, page.texts)
        return await _policy_page(page, form, db_session, clock, settings, policy_id, done=done)

    @post("/{policy_id:int}")
    async def add_revision(
        self,
        request: Request[Any, Any, Any],
        policy_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = admin_of(page)
        await schedules.policy_revisions(db_session, policy_id)  # an unknown policy: 404
        form = Form(await request.form(), page.texts)
        effective_from = form.day("effective_from")
        values = read_settings(form)
        if form.ok and not values:
            form.error("settings", NOTHING)
        if form.ok and effective_from is not None:
            fields = {
                "effective_from": "effective_from",
                "settings": "settings",
                **{f"settings.{s.key}": s.field for s in SETTINGS},
            }
            saved = await attempt(
                db_session,
                form,
                fields,
                lambda: schedules.add_policy_revision(
                    db_session,
                    clock,
                    settings.tz,
                    principal,
                    policy_id,
                    effective_from=effective_from,
                    settings=nested(values),
                ),
            )
            if saved is not None:
                return Redirect(f"/admin/policies/{policy_id}?done=added", status_code=303)
        return await _policy_page(
            page, form, db_session, clock, settings, policy_id, status_code=422
        )


async def _policy_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
    policy_id: int,
    *,
    done: str | None = None,
    status_code: int = 200,
) -> Template:
    revisions = await schedules.policy_revisions(db_session, policy_id)  # NotFound first
    policy = await db_session.get_one(Policy, policy_id)
    today = local_today(clock, settings.tz)
    current, future = today_and_later(policy, revisions, today)
    used = await where_used(db_session)
    return page.render(
        "admin/policy.html",
        status_code=status_code,
        nav="admin",
        policy=policy,
        current=current,
        future=[(r.effective_from, flat(r.settings)) for r in future],
        used=used.get(policy_id, []),
        settings=SETTINGS,
        labels=LABELS,
        today=today,
        form=form,
        done=done,
    )
