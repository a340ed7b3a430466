"""Estimates on the desk: the facility's and its rooms' values still marked as estimates, each
with a button to confirm it (as it is, or corrected), and, for the public facility page, who
confirmed what and when.

The public sees the role of whoever confirmed (the facility's staff, the city's administrator)
and the day: the city stands behind the value, not a named employee; the audit trail keeps the
person for administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.inventory import estimates, services
from booking.inventory.models import Facility, Room
from booking.pages.forms import Form, attempt, whole_id
from booking.pages.i18n import N_, Texts
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page
from booking.web.fields import NAME_MAX

# The fields the data marks as estimates, in words (others show their own name).
FIELD_NAMES = {
    "capacity": N_("Capacity"),
    "fees": N_("Fees per period"),
    "all_day_fee": N_("All-day fee"),
    "area_m2": N_("Floor area"),
    "address": N_("Address"),
    "opens_on": N_("First day of service"),
    "closes_on": N_("Last day of service"),
    estimates.WHOLE_ROOM: N_("The room and its fees"),  # a room from a kind's template
}
CONFIRMED_BY = {"admin": N_("the city's administrator"), "manager": N_("the facility's staff")}
# How a correction is typed on the page, by field; the others are confirmed as they are.
CORRECTIONS = {"capacity": "number", "address": "text", "opens_on": "date", "closes_on": "date"}
# A typed address is as long as the column (and the data files' Address) takes.
ADDRESS_MAX = 300  # Facility.address: String(300)


@dataclass(frozen=True, slots=True)
class Confirmed:
    field: str
    by: str  # the role, in words
    day: date


def confirmed(row: Facility | Room, texts: Texts) -> list[Confirmed]:
    """What staff confirmed on this facility or room, for the public page."""
    shown = []
    for field, mark in sorted(row.confirmations.items()):
        at = datetime.fromisoformat(mark["at"]).astimezone(texts.tz)
        role = CONFIRMED_BY.get(mark.get("role", "admin"), CONFIRMED_BY["admin"])
        shown.append(Confirmed(field_name(texts, field), texts.gettext(role), at.date()))
    return shown


def field_name(texts: Texts, field: str) -> str:
    return texts.gettext(FIELD_NAMES[field]) if field in FIELD_NAMES else field


@dataclass(frozen=True, slots=True)
class Estimate:
    target: str  # the form's value: "facility" or "room:<id>"
    label: str  # the facility's or the room's name
    field: str
    value: Any
    may_confirm: bool
    correction: str | None  # the input's type, when a correction may be typed


class EstimatePages(Controller):
    path = "/manage/facilities/{facility_id:int}/estimates"
    include_in_schema = False

    @get("/", name="estimates")
    async def estimates_page(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template:
        page = Page.logged_in(request, auth)
        form = Form({}, page.texts)
        return await _estimates_page(page, form, db_session, network, facility_id)

    @post("/")
    async def confirm(
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
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        target = _target(form["target"], facility_id)
        field = form.text("field", max_length=NAME_MAX)
        kind = CORRECTIONS.get(field or "")
        value: Any = None
        if kind == "number":
            value = form.integer("value", required=False, minimum=1, maximum=100_000)
        elif kind == "date":
            value = form.day("value", required=False)
        elif kind == "text":
            value = form.text("value", required=False, max_length=ADDRESS_MAX)
        if target is None:
            form.error("target", N_("Choose one of the options."))
        if form.ok and target and field:
            done = await attempt(
                db_session,
                form,
                {"field": "value", "value": "value"},
                lambda: estimates.confirm_estimate(
                    db_session, clock, settings, principal, target, field, value
                ),
            )
            if done is not None:
                return Redirect(
                    f"/manage/facilities/{facility_id}/estimates?confirmed=1", status_code=303
                )
        return await _estimates_page(page, form, db_session, network, facility_id, status_code=422)


def _target(value: str, facility_id: int) -> tuple[estimates.Target, int] | None:
    if value == "facility":
        return ("facility", facility_id)
    room_id = whole_id(value.removeprefix("room:")) if value.startswith("room:") else None
    return ("room", room_id) if room_id else None


async def _estimates_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: Network,
    facility_id: int,
    *,
    status_code: int = 200,
) -> Template:
    principal = staff_of(page)
    facility = managed_facility(network, principal, facility_id)
    detail = await services.get_facility(db_session, facility_id)
    rows: list[tuple[str, str, Facility | Room]] = [
        ("facility", page.texts.name(detail.facility), detail.facility),
        *((f"room:{r.id}", page.texts.name(r), r) for r in detail.rooms),
    ]
    items = [
        Estimate(
            target=target,
            label=label,
            field=field,
            value=getattr(row, field, None),
            may_confirm=estimates.may_confirm(
                principal, "facility" if target == "facility" else "room", row, field
            ),
            correction=CORRECTIONS.get(field),
        )
        for target, label, row in rows
        for field in estimates.estimated(row)
    ]
    return page.render(
        "manage/estimates.html",
        status_code=status_code,
        nav="manage",
        facility=facility,
        form=form,
        items=items,
        confirmed=[(label, confirmed(row, page.texts)) for _, label, row in rows],
        field_name=lambda field: field_name(page.texts, field),
        done="confirmed" in page.request.query_params,
        address_max=ADDRESS_MAX,
    )
