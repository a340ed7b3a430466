"""Rooms kept in the system (issue 16 §2): administrators add rooms to a facility, edit,
retire and reinstate them; a facility's managers edit its rooms from the desk.

One form for both (names, capacity, area, equipment, purposes, online or counter-only, the
parts of a combined room); the rules and who may do what are the editing service's
(booking/inventory/editing.py), which says which field a refusal is about.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.inventory import editing, services
from booking.inventory.data_format import Area, Capacity
from booking.inventory.estimates import estimated as still_estimated
from booking.inventory.models import Facility, Room
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.pages import manage_estimates as estimates
from booking.pages.admin import admin_of
from booking.pages.admin_network import LIMITS, bound, read_key
from booking.pages.catalogue import Names, catalogue
from booking.pages.forms import NOT_A_CHOICE, Form, attempt, half_width, whole_id
from booking.pages.i18n import N_
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page

ROOM_TEXT = ("name_ja", "name_en", "external_id")
ROOM_FIELDS = {
    name: name
    for name in (
        "key",
        *ROOM_TEXT,
        "capacity",
        "area_m2",
        "equipment",
        "purposes",
        "online_bookable",
        "parts",
        "notes",
    )
}
BOOKING_WAYS = {"online": N_("Online and at the counter"), "counter": N_("At the counter only")}
DONE = {
    "created": N_("The room is created."),
    "saved": N_("Saved."),
    "retired": N_("The room is retired: it is no longer shown or bookable."),
    "reinstated": N_("The room is back in service."),
}
CAPACITY_MAX = bound(Capacity, "le")
AREA_MAX = bound(Area, "le")
NOT_AN_AREA = N_("Enter the area in square metres, e.g. 45.5.")
EQUIPMENT_TOO_LONG = N_("Each line at most %(max)s characters.")
AREA = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?")


def read_room(form: Form, purposes: Names, parts: dict[int, RoomInfo]) -> dict[str, Any]:
    """The room's values by the service's names; blank optional fields are None."""
    values: dict[str, Any] = {
        name: form.text(name, max_length=LIMITS[name], required=name != "external_id")
        for name in ROOM_TEXT
    }
    values["capacity"] = form.integer("capacity", required=False, minimum=1, maximum=CAPACITY_MAX)
    values["area_m2"] = _area(form)
    values["equipment"] = _equipment(form)
    chosen = form.all("purposes")
    if any(key not in purposes for key in chosen):
        form.error("purposes", NOT_A_CHOICE)
    values["purposes"] = chosen or None  # none ticked: any purpose
    values["online_bookable"] = form.choice("online_bookable", BOOKING_WAYS) != "counter"
    ids = [whole_id(value) for value in form.all("parts")]
    if any(i is None or i not in parts for i in ids):
        form.error("parts", NOT_A_CHOICE)
    values["parts"] = [i for i in ids if i is not None]
    values["notes"] = form.text("notes", max_length=LIMITS["notes"], required=False, multiline=True)
    return values


def _area(form: Form) -> float | None:
    raw = half_width(form["area_m2"].strip()).replace("．", ".")
    if not raw:
        return None
    if not AREA.fullmatch(raw) or not 0 < float(raw) <= AREA_MAX:
        form.error("area_m2", NOT_AN_AREA)
        return None
    return float(raw)


def _equipment(form: Form) -> list[str]:
    text = form.text("equipment", max_length=4000, required=False, multiline=True) or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(len(line) > LIMITS["name_ja"] for line in lines):
        form.error("equipment", EQUIPMENT_TOO_LONG, max=LIMITS["name_ja"])
    return lines


def room_form(page: Page, room: Room, parts: list[int]) -> Form:
    """The form filled in with what the room holds now."""
    values: dict[str, Any] = {
        "key": room.key,
        **{name: getattr(room, name) or "" for name in ROOM_TEXT},
        "capacity": room.capacity or "",
        "area_m2": f"{room.area_m2:g}" if room.area_m2 else "",
        "equipment": "\n".join(room.equipment or []),
        "purposes": list(room.purposes or []),
        "online_bookable": "online" if room.online_bookable else "counter",
        "parts": [str(i) for i in parts],
        "notes": room.notes or "",
    }
    return Form(values, page.texts)


def part_choices(network: NetworkSnapshot, facility_id: int, room_id: int | None) -> dict[int, Any]:
    """The facility's other rooms in service: what a combined room may be made of."""
    return {r.id: r for r in network.rooms if r.facility_id == facility_id and r.id != room_id}


def parts_of(network: NetworkSnapshot, room_id: int) -> list[int]:
    """A combined room's parts: the facility's rooms whose units are some of its own."""
    room = network.room(room_id)
    if room is None or len(room.unit_ids) < 2:
        return []
    units = set(room.unit_ids)
    return [
        r.id
        for r in network.rooms
        if r.facility_id == room.facility_id and r.id != room.id and set(r.unit_ids) < units
    ]


class RoomPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/facilities/{facility_id:int}/rooms/new", name="admin_room_new")
    async def new_room(
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
        form = Form({"online_bookable": "online"}, page.texts)
        return await _room_page(page, form, db_session, network, found.facility, None)

    @post("/facilities/{facility_id:int}/rooms/new")
    async def create_room(
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
        key = read_key(form)
        values = read_room(form, names.purposes, part_choices(network, facility_id, None))
        if form.ok and key is not None:
            wanted = {k: v for k, v in values.items() if v not in (None, [])}
            wanted["online_bookable"] = values["online_bookable"]
            made = await attempt(
                db_session,
                form,
                ROOM_FIELDS,
                lambda: editing.create_room(
                    db_session, clock, settings, principal, facility_id, key, wanted
                ),
            )
            if made is not None:
                return Redirect(f"/admin/rooms/{made.id}?done=created", status_code=303)
        return await _room_page(
            page, form, db_session, network, found.facility, None, status_code=422
        )

    @get("/rooms/{room_id:int}", name="admin_room")
    async def room(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        room, facility = await services.staff_room(db_session, room_id)
        form = room_form(page, room, parts_of(network, room_id))
        return await _room_page(page, form, db_session, network, facility, room)

    @post("/rooms/{room_id:int}")
    async def save_room(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        admin_of(page)
        return await _save(page, db_session, network, clock, settings, room_id, "/admin/rooms")

    @post("/rooms/{room_id:int}/retire")
    async def retire(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        return await _set_active(page, db_session, network, clock, settings, room_id, active=False)

    @post("/rooms/{room_id:int}/reinstate")
    async def reinstate(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        return await _set_active(page, db_session, network, clock, settings, room_id, active=True)


class DeskRoomPages(Controller):
    """A facility's managers keep its rooms from the desk."""

    path = "/manage"
    include_in_schema = False

    @get("/facilities/{facility_id:int}/rooms", name="desk_rooms")
    async def rooms(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        facility = managed_facility(network, staff_of(page), facility_id)
        found = await services.staff_facility(db_session, facility_id)
        return page.render("manage/rooms.html", nav="manage", facility=facility, rooms=found.rooms)

    @get("/rooms/{room_id:int}", name="desk_room")
    async def room(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        room, facility = await services.staff_room(db_session, room_id)
        managed_facility(network, staff_of(page), facility.id)
        form = room_form(page, room, parts_of(network, room_id))
        return await _room_page(page, form, db_session, network, facility, room)

    @post("/rooms/{room_id:int}")
    async def save_room(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        _, facility = await services.staff_room(db_session, room_id)
        managed_facility(network, staff_of(page), facility.id)  # another's room: 403, as its GET
        return await _save(page, db_session, network, clock, settings, room_id, "/manage/rooms")


async def _save(
    page: Page,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    room_id: int,
    base: str,
) -> Template | Redirect:
    principal = page.user
    room, facility = await services.staff_room(db_session, room_id)
    names = await catalogue(db_session, network)
    form = Form(await page.request.form(), page.texts)
    values = read_room(form, names.purposes, part_choices(network, facility.id, room_id))
    # The parts go to the service only when changed: a combined room of the data files may
    # span units that no single part holds.
    if set(values["parts"]) == set(parts_of(network, room_id)):
        del values["parts"]
    if form.ok:
        saved = await attempt(
            db_session,
            form,
            ROOM_FIELDS,
            lambda: editing.update_room(db_session, clock, settings, principal, room_id, values),
        )
        if saved is not None:
            return Redirect(f"{base}/{room_id}?done=saved", status_code=303)
    form.values["key"] = room.key
    return await _room_page(page, form, db_session, network, facility, room, status_code=422)


async def _set_active(
    page: Page,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    room_id: int,
    *,
    active: bool,
) -> Template | Redirect:
    principal = admin_of(page)
    room, facility = await services.staff_room(db_session, room_id)
    form = room_form(page, room, parts_of(network, room_id))
    saved = await attempt(
        db_session,
        form,
        {},
        lambda: editing.update_room(
            db_session, clock, settings, principal, room_id, {"active": active}
        ),
    )
    if saved is not None:
        done = "reinstated" if active else "retired"
        return Redirect(f"/admin/rooms/{room_id}?done={done}", status_code=303)
    return await _room_page(page, form, db_session, network, facility, room, status_code=422)


async def _room_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    facility: Facility,
    room: Room | None,
    *,
    status_code: int = 200,
) -> Template:
    principal: Principal = page.user
    names = await catalogue(db_session, network)
    admin = principal.is_admin
    return page.render(
        "admin/network/room.html",
        status_code=status_code,
        nav="admin" if admin else "manage",
        admin=admin,
        facility=facility,
        room=room,
        action=(
            f"/admin/facilities/{facility.id}/rooms/new"
            if room is None
            else f"/{'admin' if admin else 'manage'}/rooms/{room.id}"
        ),
        purposes=[(key, page.texts.named(names.purposes, key)) for key in names.purposes],
        parts=[
            (str(r.id), page.texts.name(r))
            for r in part_choices(network, facility.id, room.id if room else None).values()
        ],
        ways=BOOKING_WAYS,
        form=form,
        limits_here=LIMITS,
        confirmed=estimates.confirmed(room, page.texts) if room else [],
        estimated=[estimates.field_name(page.texts, f) for f in still_estimated(room)]
        if room
        else [],
        done=DONE.get(page.request.query_params.get("done", "")),
    )
