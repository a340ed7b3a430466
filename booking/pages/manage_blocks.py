"""The facility desk's blocks (maintenance, the facility's own events) and closures."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.inventory.network import NetworkSnapshot
from booking.pages.bookings import shown
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt, iso_day
from booking.pages.i18n import N_
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page
from booking.reservations import blocks
from booking.reservations.models import Booking
from booking.web.fields import NOTE_MAX

BLOCK_REASONS = {"maintenance": N_("Maintenance"), "event": N_("The facility's own event")}


class BlockPages(Controller):
    path = "/manage"
    include_in_schema = False

    @get("/facilities/{facility_id:int}/blocks", name="blocks")
    async def blocks_page(
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
        form = Form({"reason": "maintenance"}, page.texts)
        # After a closure (the POST redirects here, so a reload closes nothing twice): the
        # bookings on its dates, for the desk to call their groups.
        query = request.query_params
        start, end = iso_day(query.get("closed_from", "")), iso_day(query.get("closed_to", ""))
        affected = None
        if start and end:
            principal = staff_of(page)
            affected = await blocks.live_bookings_on(db_session, principal, facility_id, start, end)
        return await _blocks_page(
            page, form, db_session, network, clock, settings, facility_id, affected=affected
        )

    @post("/facilities/{facility_id:int}/blocks")
    async def block_submit(
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
        room_id = form.integer("room", minimum=1)
        start = form.day("start_date")
        end = form.day("end_date")
        reason = form.choice("reason", BLOCK_REASONS)
        note = form.text("note", required=False, max_length=NOTE_MAX)
        if form.ok and room_id and start and end and reason:
            wanted = blocks.BlockRequest(
                room_id=room_id,
                start_date=start,
                end_date=end,
                period_codes=form.all("periods") or None,
                reason=reason,
                note=note,
            )
            made = await attempt(
                db_session,
                form,
                {
                    "room_id": "room",
                    "start_date": "start_date",
                    "end_date": "end_date",
                    "period_codes": "periods",
                },
                lambda: blocks.create_block(db_session, clock, network, principal, wanted),
            )
            if made is not None:
                return Redirect(f"/manage/facilities/{facility_id}/blocks?made=1", status_code=303)
        return await _blocks_page(
            page, form, db_session, network, clock, settings, facility_id, status_code=422
        )

    @post("/blocks/{block_id:int}/release")
    async def block_release(
        self,
        block_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Redirect:
        principal = auth.required()
        block = await blocks.release_block(
            db_session, clock, principal, block_id, settings, network
        )
        return Redirect(f"/manage/facilities/{block.facility_id}/blocks", status_code=303)

    @post("/facilities/{facility_id:int}/closures")
    async def close(
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
        start = form.day("close_from")
        end = form.day("close_to")
        note = form.text("close_note", required=False, max_length=NOTE_MAX)
        if form.ok and start and end:
            closed = await attempt(
                db_session,
                form,
                {"from": "close_from", "to": "close_to"},
                lambda: blocks.close_dates(
                    db_session,
                    clock,
                    settings,
                    principal,
                    facility_id,
                    start=start,
                    end=end,
                    note=note,
                ),
            )
            if closed is not None:
                return Redirect(
                    f"/manage/facilities/{facility_id}/blocks"
                    f"?closed_from={start.isoformat()}&closed_to={end.isoformat()}",
                    status_code=303,
                )
        return await _blocks_page(
            page, form, db_session, network, clock, settings, facility_id, status_code=422
        )


async def _blocks_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    facility_id: int,
    *,
    status_code: int = 200,
    affected: list[Booking] | None = None,
) -> Template:
    facility = managed_facility(network, staff_of(page), facility_id)
    names = await catalogue(db_session, network)
    today = local_today(clock, settings.tz)
    live = await blocks.live_blocks(db_session, staff_of(page), facility_id, today)
    rooms = [r for r in network.rooms if r.facility_id == facility_id]
    codes = sorted({p.code: p for r in rooms for p in r.grid.periods}.items())
    return page.render(
        "manage/blocks.html",
        status_code=status_code,
        nav="manage",
        facility=facility,
        rooms=[(str(r.id), page.texts.name(r)) for r in rooms],
        room_names=names.rooms,
        periods=codes,
        blocks=live,
        reasons=BLOCK_REASONS,
        form=form,
        affected=[shown(network, page.texts, b) for b in affected or []],
        closed=affected is not None,
        made="made" in page.request.query_params,
    )
