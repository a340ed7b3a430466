"""The network kept in the system (issue 16 §2): administrators list, create, edit, retire and
reinstate facilities, and add rooms to them (the rooms' own pages are admin_rooms.py).

The rules are the editing services' (booking/inventory/editing.py: the data files' checks,
the audit, the snapshot's revision); these pages read the form, call one service and show
its refusal beside the field it names.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.inventory import editing, services
from booking.inventory.data_format import Address, ExternalId, Name, Phone, Remark
from booking.inventory.estimates import estimated as still_estimated
from booking.inventory.network import NetworkSnapshot
from booking.pages import manage_estimates as estimates
from booking.pages.admin import admin_of
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt, half_width
from booking.pages.i18n import N_
from booking.pages.web import Page

FACILITY_TEXT = ("name_ja", "name_en", "address", "phone", "external_id")
FACILITY_DATES = ("opens_on", "closes_on")
# The form's fields are the service's (the data files') names: each refusal goes beside its own.
FACILITY_FIELDS = {
    name: name for name in ("key", "kind", "ward", *FACILITY_TEXT, *FACILITY_DATES, "notes")
}
DONE = {
    "created": N_("The facility is created."),
    "saved": N_("Saved."),
    "retired": N_("The facility is retired: it is no longer shown or bookable."),
    "reinstated": N_("The facility is back in service."),
}
# Reasons the data files' rules give, word for word, so that the catalog translates them
# where they appear beside a field.
NETWORK_REASONS = (
    N_("an English name must not contain Japanese: put remarks in notes"),
    N_("closes_on is before opens_on"),
    N_("a room is not a part of itself"),
    N_("a room is named twice"),
)
BAD_KEY = N_("Lower-case letters, digits, - and _ only, starting with a letter or digit.")
BAD_PHONE = N_("Digits, +, -, brackets and spaces only, 6 to 40 characters.")


def bound(kind: Any, name: str) -> Any:
    """A bound of a data-file field type (max_length, pattern, le...): the one definition."""
    for meta in getattr(kind, "__metadata__", ()):
        for part in [meta, *getattr(meta, "metadata", ())]:
            found = getattr(part, name, None)
            if found is not None:
                return found
    raise LookupError(f"{kind} has no {name}")


LIMITS = {
    "name_ja": bound(Name, "max_length"),
    "name_en": bound(Name, "max_length"),
    "address": bound(Address, "max_length"),
    "phone": 40,
    "external_id": bound(ExternalId, "max_length"),
    "notes": bound(Remark, "max_length"),
}
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PHONE_PATTERN = re.compile(bound(Phone, "pattern"))


def read_key(form: Form) -> str | None:
    key = form.text("key", max_length=64)
    if key is not None and not KEY_PATTERN.fullmatch(key):
        form.error("key", BAD_KEY)
        return None
    return key


def read_facility(form: Form, kinds: dict[str, Any], wards: dict[str, Any]) -> dict[str, Any]:
    """The facility's values by the service's names; blank optional fields are None."""
    values: dict[str, Any] = {"kind": form.choice("kind", kinds)}
    ward = form["ward"].strip()
    if ward and ward not in wards:
        form.error("ward", "Choose one of the options.")
    values["ward"] = ward or None
    for name in FACILITY_TEXT:
        required = name in {"name_ja", "name_en"}
        values[name] = form.text(name, max_length=LIMITS[name], required=required)
    if values["phone"] is not None:
        values["phone"] = half_width(values["phone"])
        if not PHONE_PATTERN.fullmatch(values["phone"]):
            form.error("phone", BAD_PHONE)
    for name in FACILITY_DATES:
        values[name] = form.day(name, required=False)
    values["notes"] = form.text("notes", max_length=LIMITS["notes"], required=False, multiline=True)
    return values


def facility_form(page: Page, found: services.StaffFacility) -> Form:
    """The form filled in with what the facility holds now."""
    facility = found.facility
    values: dict[str, Any] = {
        "key": facility.key,
        "kind": found.kind,
        "ward": found.ward or "",
        **{name: getattr(facility, name) or "" for name in FACILITY_TEXT},
        **{name: getattr(facility, name) or "" for name in FACILITY_DATES},
        "notes": facility.notes or "",
    }
    values = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
    return Form(values, page.texts)


class NetworkPages(Controller):
    path = "/admin/facilities"
    include_in_schema = False

    @get("/", name="admin_facilities")
    async def facilities(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        rows, _ = await services.list_facilities(
            db_session, services.FacilityFilter(include_retired=True, limit=500)
        )
        names = await catalogue(db_session, network)
        estimated_rooms: dict[int, int] = {}
        for room in network.rooms:
            if room.fee_is_estimate:
                estimated_rooms[room.facility_id] = estimated_rooms.get(room.facility_id, 0) + 1
        return page.render(
            "admin/network/facilities.html",
            nav="admin",
            active=[row for row in rows if row[0].active],
            retired=[row for row in rows if not row[0].active],
            estimated_rooms=estimated_rooms,
            names=names,
        )

    @get("/new", name="admin_facility_new")
    async def new_facility(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        form = Form({"kind": "civic_hall"}, page.texts)
        return await _facility_page(page, form, db_session, network, None)

    @post("/new")
    async def create_facility(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = admin_of(page)
        names = await catalogue(db_session, network)
        form = Form(await request.form(), page.texts)
        key = read_key(form)
        values = read_facility(form, names.kinds, names.wards)
        if form.ok and key is not None:
            wanted = {k: v for k, v in values.items() if v is not None}
            made = await attempt(
                db_session,
                form,
                FACILITY_FIELDS,
                lambda: editing.create_facility(
                    db_session, clock, settings, principal, key, wanted
                ),
            )
            if made is not None:
                return Redirect(f"/admin/facilities/{made.id}?done=created", status_code=303)
        return await _facility_page(page, form, db_session, network, None, status_code=422)

    @get("/{facility_id:int}", name="admin_facility")
    async def facility(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        found = await services.staff_facility(db_session, facility_id)
        form = facility_form(page, found)
        return await _facility_page(page, form, db_session, network, found)

    @post("/{facility_id:int}")
    async def save_facility(
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
        principal = admin_of(page)
        found = await services.staff_facility(db_session, facility_id)
        names = await catalogue(db_session, network)
        form = Form(await request.form(), page.texts)
        values = read_facility(form, names.kinds, names.wards)
        if form.ok:
            saved = await attempt(
                db_session,
                form,
                FACILITY_FIELDS,
                lambda: editing.update_facility(
                    db_session, clock, settings, principal, facility_id, values
                ),
            )
            if saved is not None:
                return Redirect(f"/admin/facilities/{facility_id}?done=saved", status_code=303)
        form.values["key"] = found.facility.key
        return await _facility_page(page, form, db_session, network, found, status_code=422)

    @post("/{facility_id:int}/retire")
    async def retire(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        return await _set_active(
            request, auth, db_session, network, clock, settings, facility_id, active=False
        )

    @post("/{facility_id:int}/reinstate")
    async def reinstate(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        return await _set_active(
            request, auth, db_session, network, clock, settings, facility_id, active=True
        )


async def _set_active(  # noqa: PLR0913
    request: Request[Any, Any, Any],
    auth: Auth,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    facility_id: int,
    *,
    active: bool,
) -> Template | Redirect:
    page = Page.of(request, auth)
    principal = admin_of(page)
    found = await services.staff_facility(db_session, facility_id)
    form = facility_form(page, found)
    saved = await attempt(
        db_session,
        form,
        {"active": "active"},
        lambda: editing.update_facility(
            db_session, clock, settings, principal, facility_id, {"active": active}
        ),
    )
    if saved is not None:
        done = "reinstated" if active else "retired"
        return Redirect(f"/admin/facilities/{facility_id}?done={done}", status_code=303)
    return await _facility_page(page, form, db_session, network, found, status_code=422)


async def _facility_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    found: services.StaffFacility | None,
    *,
    status_code: int = 200,
) -> Template:
    admin_of(page)
    names = await catalogue(db_session, network)
    done = DONE.get(page.request.query_params.get("done", ""))
    return page.render(
        "admin/network/facility.html",
        status_code=status_code,
        nav="admin",
        found=found,
        facility=found.facility if found else None,
        rooms=found.rooms if found else [],
        names=names,
        form=form,
        limits_here=LIMITS,
        confirmed=estimates.confirmed(found.facility, page.texts) if found else [],
        estimated=[estimates.field_name(page.texts, f) for f in still_estimated(found.facility)]
        if found
        else [],
        done=done,
    )
