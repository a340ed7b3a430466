"""A group's bookings: book first-come or apply for the lottery (one form: the date decides),
see, download and cancel bookings with the charge shown first. Also what the other pages
show of a booking or application (`shown`) and of its statuses."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.accounts.models import Group
from booking.accounts.standing import member_standings
from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network
from booking.documents.controllers import permit_response
from booking.documents.reading import booking_documents
from booking.errors import BookingError, NotFound
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.inventory.policy import Phase, booking_phase
from booking.lottery import applications
from booking.lottery.models import LotteryApplication
from booking.pages.account import STATUSES
from booking.pages.catalogue import Catalogue, catalogue
from booking.pages.forms import Form, attempt, iso_day, whole_id
from booking.pages.i18n import N_, Texts
from booking.pages.next_steps import DOCUMENTS, blocked
from booking.pages.repeat import (
    REPEATED_FIELDS,
    pattern_choices,
    read_repeat,
    series_preview_url,
)
from booking.pages.waitlist import offer_notices
from booking.pages.web import Page
from booking.reservations import changes, idempotency, listing
from booking.reservations.availability import AvailabilityQuery, search_availability
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.models import Booking
from booking.waitlist.lines import waiting_counts
from booking.web.fields import EVENT_NAME_MAX, PURPOSE_MAX
from booking.web.spreadsheet import csv_response

BOOKING_STATUSES = {
    "held": N_("Held (provisional)"),
    "pending_approval": N_("Waiting for approval"),
    "confirmed": N_("Confirmed"),
    "cancelled": N_("Cancelled"),
    "completed": N_("Used"),
    "no_show": N_("Not used (no-show)"),
}
PAYMENT_STATUSES = {
    "unpaid": N_("Unpaid"),
    "paid": N_("Paid"),
    "waived": N_("No charge"),
    "refunded": N_("Refunded"),
}
# A booking's documents (booking/documents), as its pages name them.
DOCUMENT_KINDS = {
    "permit": N_("Usage permit"),
    "receipt": N_("Receipt"),
    "refund": N_("Refund notice"),
    "waiver": N_("Fee waiver notice"),
}
WHEN = {"upcoming": N_("Upcoming"), "past": N_("Past"), "cancelled": N_("Cancelled")}
BOOK_FIELDS = {
    "group_id": "group_id",
    "period_codes": "periods",
    "purpose": "purpose",
    "headcount": "headcount",
    "event_name": "event_name",
    "use_date": "periods",
    "room_id": "periods",
}


@dataclass(frozen=True, slots=True)
class Shown:
    """A booking or application with the names the pages show."""

    record: Any
    room: RoomInfo | None
    facility_name: str
    room_name: str
    periods: list[PeriodInfo]


def shown(snapshot: NetworkSnapshot, texts: Texts, record: Booking | LotteryApplication) -> Shown:
    room = snapshot.room(record.room_id)
    facility = snapshot.facilities.get(record.facility_id)
    periods = [p for p in room.grid.periods if p.code in record.period_codes] if room else []
    return Shown(
        record,
        room,
        texts.name(facility) if facility else str(record.facility_id),
        texts.name(room) if room else str(record.room_id),
        periods,
    )


async def member_groups(db_session: DbSession, principal: Principal) -> list[Group]:
    return [await groups.get_group(db_session, gid) for gid in sorted(principal.memberships)]


class BookingPages(Controller):
    include_in_schema = False

    @get("/book", name="book")
    async def book_form(
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
                # Back from a series' dates ("change"), the rest of what was typed too.
                **{name: query.get(name, "") for name in REPEATED_FIELDS},
                "room": query.get("room", ""),
                "date": query.get("date", ""),
                "periods": query.getall("period", []) or query.getall("periods", []),
                "request_key": secrets.token_urlsafe(16),
            },
            page.texts,
        )
        return await book_page(
            page, form, db_session, network, claims_cache, clock, settings, status_code=200
        )

    @post("/book")
    async def book_submit(
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
        wanted = read_booking(form)
        repeat = read_repeat(form, iso_day(form["date"]))
        key = form.text(
            "request_key", max_length=idempotency.MAX_KEY_LENGTH
        ) or secrets.token_urlsafe(16)
        if form["repeat"]:  # a series: its dates are shown first
            if wanted is not None and repeat is not None:
                return Redirect(series_preview_url("/book/series", form), status_code=303)
        elif wanted is not None:
            single = wanted
            room = network.room(single.room_id)
            use_date = single.use_date
            today = local_today(clock, settings.tz)
            lottery = room is not None and (
                booking_phase(room.policy_on(use_date), use_date, today) is Phase.LOTTERY
            )

            async def create() -> dict[str, Any]:
                if lottery:
                    made = await applications.apply(
                        db_session, clock, settings, network, principal, single
                    )
                    return {"application_id": made.id}
                booking = await book(db_session, clock, settings, network, principal, single)
                return {"id": booking.id}

            body = (b"lottery:" if lottery else b"") + msgspec.json.encode(single)
            answer = await attempt(
                db_session,
                form,
                BOOK_FIELDS,
                lambda: idempotency.once(db_session, clock, principal.user_id, key, body, create),
            )
            if answer is not None:
                _, result = answer
                if "application_id" in result:
                    return Redirect("/my/lottery?applied=1", status_code=303)
                return Redirect(f"/my/bookings/{result['id']}?done=1", status_code=303)
        return await book_page(
            page, form, db_session, network, claims_cache, clock, settings, status_code=422
        )

    @get("/my/bookings", name="my_bookings")
    async def my_bookings(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        mine = await member_groups(db_session, page.user)
        group, when = _chosen(request, mine)
        today = local_today(clock, settings.tz)
        found = (
            await listing.group_bookings(db_session, page.user, group.id, when, today)
            if group
            else []
        )
        return page.render(
            "my/bookings.html",
            nav="bookings",
            groups=mine,
            group=group,
            when=when,
            whens=WHEN,
            bookings=[shown(network, page.texts, b) for b in found],
            offer_notices=await offer_notices(db_session, network, page),
            statuses=BOOKING_STATUSES,
            payments=PAYMENT_STATUSES,
        )

    @get("/my/bookings.csv", name="my_bookings_csv")
    async def my_bookings_csv(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[str]:
        principal = auth.required()
        mine = await member_groups(db_session, principal)
        group, when = _chosen(request, mine)
        if group is None:
            raise NotFound("no group", code="group_not_found")
        today = local_today(clock, settings.tz)
        found = await listing.group_bookings(db_session, principal, group.id, when, today)
        return csv_response(
            f"bookings-{group.id}-{when}.csv",
            listing.CSV_COLUMNS,
            listing.csv_rows([(b, group) for b in found]),
        )

    @get("/my/bookings/{booking_id:int}", name="my_booking")
    async def booking_page(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        booking, group = await changes.get_booking(db_session, page.user, booking_id)
        return page.render(
            "my/booking.html",
            documents=await booking_documents(db_session, page.user, booking_id),
            document_kinds=DOCUMENT_KINDS,
            nav="bookings",
            item=shown(network, page.texts, booking),
            group=group,
            statuses=BOOKING_STATUSES,
            payments=PAYMENT_STATUSES,
            done="done" in request.query_params,
            staff=page.user.manages(booking.facility_id),
        )

    @get("/my/bookings/{booking_id:int}/permit.pdf", name="my_permit")
    async def permit(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"] | None] = None,
    ) -> Response[bytes]:
        """The usage permit where the mail and the booking's page link it: whoever is not
        logged in goes to the login first and comes back here."""
        page = Page.logged_in(request, auth)
        return await permit_response(
            request, clock, settings, network, page.user, booking_id, lang or page.texts.lang
        )

    @get("/my/bookings/{booking_id:int}/cancel", name="cancel_preview")
    async def cancel_preview(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        return await _cancel_page(
            page, Form({}, page.texts), db_session, network, clock, settings, booking_id
        )

    @post("/my/bookings/{booking_id:int}/cancel")
    async def cancel_submit(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        facility_cause = form["cause"] == "facility"
        done = await attempt(
            db_session,
            form,
            {},
            lambda: changes.cancel(
                db_session,
                clock,
                settings,
                network,
                principal,
                booking_id,
                facility_cause=facility_cause,
            ),
        )
        if done is not None:
            back = form["next"] if form["next"].startswith("/manage/") else None
            return Redirect(back or f"/my/bookings/{booking_id}", status_code=303)
        return await _cancel_page(page, form, db_session, network, clock, settings, booking_id)


def read_booking(form: Form, group_field: str = "group_id") -> BookingRequest | None:
    """The booking form's fields (the counter's too, its group found by card number), each
    refusal beside its field; None when one is missing or refused."""
    room_id = form.integer("room", minimum=1)
    use_date = form.day("date")
    group_id = form.integer(group_field, minimum=1) if group_field else None
    headcount = form.integer("headcount", minimum=1, maximum=10000)
    purpose = form.text("purpose", max_length=PURPOSE_MAX)
    event_name = form.text("event_name", required=False, max_length=EVENT_NAME_MAX)
    periods = form.all("periods")
    if not periods:
        form.error("periods", "Choose one or more periods.")
    if not (form.ok and room_id and use_date and headcount and purpose):
        return None
    if group_field and not group_id:
        return None
    return BookingRequest(
        group_id=group_id or 0,
        room_id=room_id,
        use_date=use_date,
        period_codes=periods,
        purpose=purpose,
        headcount=headcount,
        event_name=event_name,
        charges_admission=form["charges_admission"] == "yes",
    )


def _chosen(
    request: Request[Any, Any, Any], mine: list[Group]
) -> tuple[Group | None, Literal["upcoming", "past", "cancelled"]]:
    wanted = request.query_params.get("group", "")
    group = next((g for g in mine if str(g.id) == wanted), mine[0] if mine else None)
    when = request.query_params.get("when", "upcoming")
    if when not in WHEN:
        when = "upcoming"
    return group, when  # type: ignore[return-value]


async def book_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    claims_cache: Claims,
    clock: CurrentClock,
    settings: AppSettings,
    *,
    status_code: int,
) -> Template:
    names = await catalogue(db_session, network)
    room_id = whole_id(form["room"])
    room = network.room(room_id) if room_id else None
    use_date = iso_day(form["date"])
    if room is None or use_date is None:
        raise NotFound("choose a free slot from the search first", code="room_not_found")
    today = local_today(clock, settings.tz)
    states = await _day_states(db_session, network, claims_cache, room, use_date, today)
    # A registration that may not book is said so before the form (what to do about it),
    # not after a refused submit; the form offers only the groups that may book.
    standings = await member_standings(db_session, clock, settings, page.user)
    return page.render(
        "book.html",
        status_code=status_code,
        nav="search",
        form=form,
        room=room,
        facility=network.facilities[room.facility_id],
        use_date=use_date,
        periods=names.periods_on(room, use_date),
        states=states,
        lottery=booking_phase(room.policy_on(use_date), use_date, today) is Phase.LOTTERY,
        first_come=booking_phase(room.policy_on(use_date), use_date, today) is Phase.OPEN,
        fees=room.fees_on(use_date),  # the fees of the date, a revision's from its day on
        groups=[(str(s.group_id), s.name) for s in standings if s.may_book],
        blocked=blocked(standings),
        statuses=STATUSES,
        documents=DOCUMENTS,
        purposes=_purposes(names, room, page.texts),
        patterns=pattern_choices(page.texts, use_date),
    )


async def _day_states(
    db_session: DbSession,
    network: NetworkSnapshot,
    claims_cache: Claims,
    room: RoomInfo,
    use_date: date,
    today: date,
) -> dict[str, tuple[str, int | None]]:
    query = AvailabilityQuery(start=use_date, end=use_date, room_ids=frozenset({room.id}))
    counts = await applications.applicant_counts(db_session, use_date, use_date)
    waiting = await waiting_counts(db_session, {room.id}, use_date, use_date)
    rooms, _ = await search_availability(
        db_session, network, claims_cache, query, today, counts, waiting=waiting
    )
    # a lottery slot's applicants, or a taken one's groups waiting
    return {
        slot.period: (slot.state, slot.applicants if slot.waiting is None else slot.waiting)
        for found in rooms
        for day in found.days
        for slot in day.slots
    }


def _purposes(names: Catalogue, room: RoomInfo, texts: Texts) -> list[tuple[str, str]]:
    keys = [k for k in names.purposes if room.purposes is None or k in room.purposes]
    return [(k, texts.named(names.purposes, k)) for k in keys]


async def _cancel_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    clock: CurrentClock,
    settings: AppSettings,
    booking_id: int,
) -> Template:
    booking, group = await changes.get_booking(db_session, page.user, booking_id)
    staff = page.user.manages(booking.facility_id)
    preview = None
    try:
        preview = await changes.cancel(
            db_session, clock, settings, network, page.user, booking_id, dry_run=True
        )
    except BookingError as exc:
        form.fail(exc)
    return page.render(
        "my/cancel.html",
        status_code=200 if form.ok else 422,
        nav="bookings",
        item=shown(network, page.texts, booking),
        group=group,
        preview=preview,
        form=form,
        staff=staff,
        back=page.request.query_params.get("next", ""),
    )
