"""A group's wait list (キャンセル待ち): joining the line of a taken slot, its lines with their
places, leaving one, and an offer of a freed slot: accept it (a booking) or decline it.

The rules are the wait list's (booking/waitlist/lines.py, offers.py); these pages read forms,
call them and show what they answer, each refusal beside its field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import groups
from booking.accounts.auth import Auth
from booking.accounts.models import Group
from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.inventory.policy import Phase, booking_phase
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt, iso_day, whole_id
from booking.pages.i18n import N_, Texts
from booking.pages.web import Page
from booking.reservations import idempotency
from booking.reservations.availability import AvailabilityQuery, search_availability
from booking.reservations.schemas import SlotRead
from booking.waitlist import lines, offers
from booking.waitlist.models import WaitlistEntry, WaitlistOffer
from booking.web.fields import EVENT_NAME_MAX, PURPOSE_MAX

# The services' fields, as the forms name them.
JOIN_FIELDS = {
    "group_id": "group_id",
    "period_codes": "periods",
    "use_date": "periods",
    "room_id": "periods",
}
ACCEPT_FIELDS = {
    "purpose": "purpose",
    "headcount": "headcount",
    "event_name": "event_name",
    "group_id": "purpose",
    "period_codes": "purpose",
    "use_date": "purpose",
    "room_id": "purpose",
}
OFFER_STATUSES = {
    "open": N_("Offered to your group"),
    "accepted": N_("Accepted: booked"),
    "declined": N_("Declined"),
    "expired": N_("Expired (not accepted in time)"),
}
NOTICES = {
    "joined": N_("Your group is on the wait list. We will mail you if the slot is freed."),
    "left": N_("Your group has left the wait list for that slot."),
    "declined": N_("The offer was declined: the slot goes to the next in line."),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """Where and when an entry or an offer is, with the names the pages show."""

    room: RoomInfo | None
    facility_name: str
    room_name: str
    use_date: date
    periods: list[PeriodInfo]


def slot_of(snapshot: NetworkSnapshot, texts: Texts, record: WaitlistEntry | WaitlistOffer) -> Slot:
    room = snapshot.room(record.room_id)
    facility = snapshot.facilities.get(record.facility_id)
    return Slot(
        room,
        texts.name(facility) if facility else str(record.facility_id),
        texts.name(room) if room else str(record.room_id),
        record.use_date,
        [p for p in room.grid.periods if p.code in record.period_codes] if room else [],
    )


async def offer_notices(
    db_session: DbSession, snapshot: NetworkSnapshot, page: Page
) -> list[tuple[WaitlistOffer, Slot]]:
    """The open offers of the visitor's groups, soonest deadline first: the notice on the
    group's pages that links to them."""
    found: list[WaitlistOffer] = []
    for group_id in sorted(page.user.memberships):
        found.extend(await offers.open_offers(db_session, page.user, group_id))
    found.sort(key=lambda o: (o.expires_at, o.id))
    return [(o, slot_of(snapshot, page.texts, o)) for o in found]


async def member_groups(db_session: DbSession, page: Page) -> list[Group]:
    return [await groups.get_group(db_session, gid) for gid in sorted(page.user.memberships)]


class WaitlistPages(Controller):
    include_in_schema = False

    @get("/my/waitlist", name="my_waitlist")
    async def my_waitlist(
        self, request: Request[Any, Any, Any], auth: Auth, db_session: DbSession, network: Network
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        return await _lines_page(page, Form({}, page.texts), db_session, network)

    @get("/my/waitlist/join", name="waitlist_join")
    async def join_form(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        query = request.query_params
        form = Form(
            {
                "room": query.get("room", ""),
                "date": query.get("date", ""),
                "periods": query.getall("period", []),
                "request_key": secrets.token_urlsafe(16),
            },
            page.texts,
        )
        return await _join_page(page, form, db_session, network, claims_cache, clock, settings)

    @post("/my/waitlist")
    async def join(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        room_id = form.integer("room", minimum=1)
        use_date = form.day("date")
        group_id = form.integer("group_id", minimum=1)
        periods = form.all("periods")
        if not periods:
            form.error("periods", "Choose one or more periods.")
        key = form.text("request_key", required=False, max_length=idempotency.MAX_KEY_LENGTH)
        if form.ok and room_id and use_date and group_id:

            async def create() -> dict[str, Any]:
                entry = await lines.join(
                    db_session,
                    clock,
                    settings,
                    network,
                    principal,
                    group_id=group_id,
                    room_id=room_id,
                    use_date=use_date,
                    period_codes=periods,
                )
                return {"id": entry.id, "group_id": entry.group_id}

            body = b"waitlist:" + msgspec.json.encode([group_id, room_id, use_date, periods])
            answer = await attempt(
                db_session,
                form,
                JOIN_FIELDS,
                lambda: idempotency.once(db_session, clock, principal.user_id, key, body, create),
            )
            if answer is not None:
                return Redirect("/my/waitlist?joined=1", status_code=303)
        return await _join_page(
            page, form, db_session, network, claims_cache, clock, settings, status_code=422
        )

    @post("/my/waitlist/{entry_id:int}/leave")
    async def leave(
        self,
        request: Request[Any, Any, Any],
        entry_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form({}, page.texts)
        done = await attempt(
            db_session,
            form,
            {},
            lambda: lines.leave(db_session, clock, settings, network, principal, entry_id),
        )
        if done is not None:
            return Redirect("/my/waitlist?left=1", status_code=303)
        return await _lines_page(page, form, db_session, network, status_code=422)

    @get("/my/waitlist/offers/{offer_id:int}", name="waitlist_offer")
    async def offer_page(
        self,
        request: Request[Any, Any, Any],
        offer_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        form = Form({}, page.texts)
        return await _offer_page(page, form, db_session, network, clock, offer_id)

    @post("/my/waitlist/offers/{offer_id:int}/accept")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        offer_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        headcount = form.integer("headcount", minimum=1, maximum=10000)
        purpose = form.text("purpose", max_length=PURPOSE_MAX)
        event_name = form.text("event_name", required=False, max_length=EVENT_NAME_MAX)
        if form.ok and headcount and purpose:
            booking = await attempt(
                db_session,
                form,
                ACCEPT_FIELDS,
                lambda: offers.accept(
                    db_session,
                    clock,
                    settings,
                    network,
                    principal,
                    offer_id,
                    purpose=purpose,
                    headcount=headcount,
                    event_name=event_name,
                    charges_admission=form["charges_admission"] == "yes",
                ),
            )
            if booking is not None:
                return Redirect(f"/my/bookings/{booking.id}?done=1", status_code=303)
        return await _offer_page(page, form, db_session, network, clock, offer_id, 422)

    @post("/my/waitlist/offers/{offer_id:int}/decline")
    async def decline(
        self,
        request: Request[Any, Any, Any],
        offer_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form({}, page.texts)
        done = await attempt(
            db_session,
            form,
            {},
            lambda: offers.decline(db_session, clock, settings, network, principal, offer_id),
        )
        if done is not None:
            return Redirect("/my/waitlist?declined=1", status_code=303)
        return await _offer_page(page, form, db_session, network, clock, offer_id, 422)


async def _lines_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    status_code: int = 200,
) -> Template:
    sections = []
    for group in await member_groups(db_session, page):
        found = await lines.group_lines(db_session, page.user, network, group.id)
        sections.append(
            (group, [(line, slot_of(network, page.texts, line.entry)) for line in found])
        )
    notice = next((k for k in NOTICES if k in page.request.query_params), None)
    return page.render(
        "my/waitlist.html",
        status_code=status_code,
        nav="waitlist",
        form=form,
        sections=sections,
        notice=NOTICES[notice] if notice else None,
    )


async def _join_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    claims_cache: Claims,
    clock: CurrentClock,
    settings: AppSettings,
    *,
    status_code: int = 200,
) -> Template:
    room_id = whole_id(form["room"])
    room = network.room(room_id) if room_id else None
    use_date = iso_day(form["date"])
    if room is None or use_date is None:
        raise NotFound("choose a taken slot from the search first", code="room_not_found")
    names = await catalogue(db_session, network)
    today = local_today(clock, settings.tz)
    mine = [g for g in await member_groups(db_session, page) if groups.may_book(g, today)]
    return page.render(
        "waitlist_join.html",
        status_code=status_code,
        nav="waitlist",
        form=form,
        room=room,
        facility=network.facilities[room.facility_id],
        use_date=use_date,
        periods=names.periods_on(room, use_date),
        slots=await day_slots(db_session, network, claims_cache, room, use_date, today),
        first_come=booking_phase(room.policy_on(use_date), use_date, today) is Phase.OPEN,
        groups=[(str(g.id), g.name) for g in mine],
    )


async def day_slots(
    db_session: DbSession,
    network: NetworkSnapshot,
    claims_cache: Claims,
    room: RoomInfo,
    use_date: date,
    today: date,
) -> dict[str, SlotRead]:
    """The room's slots of the day, with the wait list's length on the taken ones."""
    query = AvailabilityQuery(start=use_date, end=use_date, room_ids=frozenset({room.id}))
    waiting = await lines.waiting_counts(db_session, {room.id}, use_date, use_date)
    rooms, _ = await search_availability(
        db_session, network, claims_cache, query, today, waiting=waiting
    )
    return {slot.period: slot for found in rooms for day in found.days for slot in day.slots}


async def _offer_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    offer_id: int,
    status_code: int = 200,
) -> Template:
    offer = await offers.get_offer(db_session, page.user, offer_id)
    group = await groups.get_group(db_session, offer.group_id)
    room = network.room(offer.room_id)
    names = await catalogue(db_session, network)
    purposes = [
        (k, page.texts.named(names.purposes, k))
        for k in names.purposes
        if room is None or room.purposes is None or k in room.purposes
    ]
    return page.render(
        "my/offer.html",
        status_code=status_code,
        nav="waitlist",
        form=form,
        offer=offer,
        group=group,
        slot=slot_of(network, page.texts, offer),
        live=offer.status.value == "open" and offer.expires_at > clock.now(),
        statuses=OFFER_STATUSES,
        purposes=purposes,
        fees=room.fees_on(offer.use_date) if room else None,
    )
