"""A room's fees from a date (issue 16 §2): what applies today, the schedules to come, and a
new schedule from a date (a fiscal-year revision on 1 April is the model case).

The rules (administrators only, from today on, the data files' checks) are the service's:
booking/inventory/schedules.py. The page reads the form and shows the answer beside its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory import schedules
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.pages.admin import admin_of
from booking.pages.forms import Form, attempt, iso_day
from booking.pages.i18n import N_
from booking.pages.web import Page

FEE_MAX = 10_000_000  # data_format's Yen bound, checked here first to say it in the page's words
DONE = {
    "added": N_("The fees from that date are saved."),
    "withdrawn": N_("The fees from that date are withdrawn."),
}


def active_room(network: NetworkSnapshot, room_id: int) -> RoomInfo:
    room = network.room(room_id)
    if room is None:
        raise NotFound(f"no room {room_id}", field="room_id", code="room_not_found")
    return room


def fee_fields(periods: tuple[PeriodInfo, ...]) -> dict[str, str]:
    """The service's field names -> the form's: one input per period of the room's grid."""
    return {
        "effective_from": "effective_from",
        "all_day_fee": "all_day_fee",
        "fees": "fees",
        **{f"fees.{p.code}": f"fee_{p.code}" for p in periods},
    }


def read_fees(form: Form, periods: tuple[PeriodInfo, ...]) -> dict[str, int] | None:
    """Yen per period from the form's fee_<code> inputs; none filled in: free (None)."""
    fees = {}
    for p in periods:
        value = form.integer(f"fee_{p.code}", required=False, minimum=0, maximum=FEE_MAX)
        if value is not None:
            fees[p.code] = value
    return fees or None


class FeePages(Controller):
    path = "/admin/rooms"
    include_in_schema = False

    @get("/{room_id:int}/fees", name="room_fees")
    async def fees_page(
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        form = Form({}, page.texts)
        done = DONE.get(request.query_params.get("done", ""))
        return await _fees_page(
            page, form, db_session, network, clock, settings, room_id, done=done
        )

    @post("/{room_id:int}/fees")
    async def add_fees(
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
        principal = admin_of(page)
        room = active_room(network, room_id)
        form = Form(await request.form(), page.texts)
        effective_from = form.day("effective_from")
        fees = read_fees(form, room.grid.periods)
        all_day_fee = form.integer("all_day_fee", required=False, minimum=0, maximum=FEE_MAX)
        if form.ok and effective_from is not None:
            saved = await attempt(
                db_session,
                form,
                fee_fields(room.grid.periods),
                lambda: schedules.set_fee_schedule(
                    db_session,
                    clock,
                    settings.tz,
                    principal,
                    room_id,
                    effective_from=effective_from,
                    fees=fees,
                    all_day_fee=all_day_fee,
                ),
            )
            if saved is not None:
                return Redirect(f"/admin/rooms/{room_id}/fees?done=added", status_code=303)
        return await _fees_page(
            page, form, db_session, network, clock, settings, room_id, status_code=422
        )

    @post("/{room_id:int}/fees/{effective_from:str}/withdraw")
    async def withdraw_fees(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        room_id: FromPath[int],
        effective_from: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = admin_of(page)
        day = iso_day(effective_from)
        if day is None:
            raise NotFound(f"no fee schedule from {effective_from!r}", field="effective_from")
        form = Form({}, page.texts)
        done = await attempt(
            db_session,
            form,
            {},
            lambda: _withdrawn(db_session, clock, settings, principal, room_id, day),
        )
        if done:
            return Redirect(f"/admin/rooms/{room_id}/fees?done=withdrawn", status_code=303)
        return await _fees_page(
            page, form, db_session, network, clock, settings, room_id, status_code=422
        )


async def _withdrawn(
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
    principal: Any,
    room_id: int,
    day: date,
) -> bool:
    await schedules.delete_fee_schedule(db_session, clock, settings.tz, principal, room_id, day)
    return True


async def _fees_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    room_id: int,
    *,
    done: str | None = None,
    status_code: int = 200,
) -> Template:
    admin_of(page)
    room = active_room(network, room_id)
    facility = network.facilities[room.facility_id]
    today = local_today(clock, settings.tz)
    rows = await schedules.fee_schedules(db_session, room_id)
    current = room.fees_on(today)
    return page.render(
        "admin/network/fees.html",
        status_code=status_code,
        nav="admin",
        facility=facility,
        room=room,
        periods=room.grid.periods,
        current=current,
        future=[row for row in rows if row.effective_from > today],
        earlier=[row for row in rows if row.effective_from < (current.effective_from or today)],
        today=today,
        form=form,
        done=done,
    )
