"""The facility desk: a day and week board, counter bookings and holds, blocks and closures,
approvals, payment and no-shows, cancelling for the facility, CSV, lottery statistics.

Every action goes through the same services as the API; they check that the facility is
the manager's (an administrator's everywhere)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import groups
from booking.accounts.access import Principal, require_facility, require_staff
from booking.accounts.auth import Auth
from booking.accounts.models import Group
from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory.calendar import is_holiday
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.lottery import reports
from booking.lottery.applications import applicant_counts, next_use_month, parse_month
from booking.pages.bookings import BOOKING_STATUSES, shown
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt, half_width, iso_day, whole_id
from booking.pages.repeat import (
    REPEATED_FIELDS,
    pattern_choices,
    read_repeat,
    series_preview_url,
)
from booking.pages.web import Page
from booking.reservations import idempotency, listing
from booking.reservations.availability import AvailabilityQuery, search_availability
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.models import Booking, BookingStatus
from booking.waitlist.lines import waiting_counts
from booking.web.fields import CARD_NUMBER_MAX, EVENT_NAME_MAX, PURPOSE_MAX

LIVE = {BookingStatus.CONFIRMED, BookingStatus.HELD, BookingStatus.PENDING_APPROVAL}
WEEK = 7
SATURDAY, SUNDAY = 5, 6  # date.weekday()
BOARD_VIEWS = {"day": 1, "week": WEEK}  # a board's name in the address: its number of days


@dataclass
class BoardCell:
    state: str
    booking: Booking | None = None
    group: Group | None = None
    waiting: int | None = None  # groups on the wait list of a taken slot


@dataclass
class BoardDay:
    day: date
    periods: list[PeriodInfo]
    rooms: list[tuple[RoomInfo, dict[str, BoardCell]]] = field(default_factory=list)

    @property
    def day_class(self) -> str:
        """Sundays and holidays red, Saturdays blue, as on the search's month grid."""
        if self.day.weekday() == SUNDAY or is_holiday(self.day):
            return "sun"
        return "sat" if self.day.weekday() == SATURDAY else ""


def staff_of(page: Page) -> Principal:
    require_staff(page.user)
    return page.user


def managed_facility(network: NetworkSnapshot, principal: Principal, facility_id: int) -> Any:
    require_facility(principal, facility_id)
    facility = network.facilities.get(facility_id)
    if facility is None:
        raise NotFound(f"no facility {facility_id}", code="not_found")
    return facility


async def _board(  # noqa: PLR0913
    db_session: DbSession,
    network: NetworkSnapshot,
    claims_cache: Claims,
    principal: Principal,
    *,
    facility_id: int,
    start: date,
    days: int,
    today: date,
) -> list[BoardDay]:
    """Each day's rooms and periods: the state of the slot and the booking on it, if any."""
    end = start + timedelta(days=days - 1)
    query = AvailabilityQuery(start=start, end=end, facility_ids=frozenset({facility_id}))
    counts = await applicant_counts(db_session, start, end)
    room_ids = {room.id for room in network.rooms if room.facility_id == facility_id}
    waiting = await waiting_counts(db_session, room_ids, start, end)
    rooms, _ = await search_availability(
        db_session, network, claims_cache, query, today, counts, waiting=waiting
    )
    found = await listing.facility_bookings(db_session, principal, facility_id, start, end)
    on: dict[tuple[int, date, str], tuple[Booking, Group]] = {}
    for booking, group in found:
        if booking.status in LIVE or booking.status is BookingStatus.COMPLETED:
            for code in booking.period_codes:
                on[(booking.room_id, booking.use_date, code)] = (booking, group)
    names = await catalogue(db_session, network)
    board = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        board_day = BoardDay(day, [])
        seen: dict[str, PeriodInfo] = {}
        for result in rooms:
            room = names.rooms[result.room_id]
            periods = names.periods_on(room, day)
            for p in periods:
                seen.setdefault(p.code, p)
            slots = {s.period: s for d in result.days if d.date == day.isoformat() for s in d.slots}
            cells = {}
            for p in periods:
                taken = on.get((room.id, day, p.code))
                slot = slots.get(p.code)
                cells[p.code] = BoardCell(
                    slot.state if slot else "closed",
                    taken[0] if taken else None,
                    taken[1] if taken else None,
                    slot.waiting if slot else None,
                )
            board_day.rooms.append((room, cells))
        board_day.periods = sorted(seen.values(), key=lambda p: p.start)
        board.append(board_day)
    return board


class ManagePages(Controller):
    path = "/manage"
    include_in_schema = False

    @get("/", name="manage")
    async def home(
        self, request: Request[Any, Any, Any], auth: Auth, network: Network
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        facilities = [
            f
            for f in sorted(network.facilities.values(), key=lambda f: f.id)
            if principal.manages(f.id)
        ]
        return page.render("manage/home.html", nav="manage", facilities=facilities)

    @get("/facilities/{facility_id:int}", name="board")
    async def board(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        facility = managed_facility(network, principal, facility_id)
        today = local_today(clock, settings.tz)
        form = Form(request.query_params, page.texts)
        # A date or a view that cannot be read shows today's day board, and the form says why.
        start = form.day("date", required=False) or today
        view = form["view"] or "day"
        if view not in BOARD_VIEWS:
            form.error("view", "Choose the day board or the week board.")
            view = "day"
        days = BOARD_VIEWS[view]
        board = await _board(
            db_session,
            network,
            claims_cache,
            principal,
            facility_id=facility_id,
            start=start,
            days=days,
            today=today,
        )
        waiting = [
            (b, g)
            for b, g in await listing.facility_bookings(
                db_session, principal, facility_id, today, today + timedelta(days=365)
            )
            if b.status in {BookingStatus.PENDING_APPROVAL, BookingStatus.HELD}
        ]
        return page.render(
            "manage/board.html",
            nav="manage",
            facility=facility,
            board=board,
            start=start,
            end=start + timedelta(days=days - 1),
            view=view,
            prev_day=start - timedelta(days=days),
            next_day=start + timedelta(days=days),
            waiting=[(shown(network, page.texts, b), g) for b, g in waiting],
            statuses=BOOKING_STATUSES,
            today=today,
            export_to=start + timedelta(days=30),
            form=form,
        )

    @get("/facilities/{facility_id:int}/book", name="counter")
    async def counter_form(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        query = request.query_params
        form = Form(
            {
                # Back from a series' dates ("change"), the rest of what was typed too.
                **{name: query.get(name, "") for name in (*REPEATED_FIELDS, "card_number")},
                "room": query.get("room", ""),
                "date": query.get("date", ""),
                "periods": query.getall("period", []) or query.getall("periods", []),
                "mode": "book",
                "request_key": secrets.token_urlsafe(16),
            },
            page.texts,
        )
        return await counter_page(page, form, db_session, network, facility_id, 200)

    @post("/facilities/{facility_id:int}/book")
    async def counter_submit(
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
        # The desk's form, as its GET: the facility's staff only.
        managed_facility(network, staff_of(page), facility_id)
        form = Form(await request.form(), page.texts)
        card = half_width(form.text("card_number", max_length=CARD_NUMBER_MAX) or "")
        room_id = form.integer("room", minimum=1)
        use_date = form.day("date")
        headcount = form.integer("headcount", minimum=1, maximum=10000)
        purpose = form.text("purpose", max_length=PURPOSE_MAX)
        periods = form.all("periods")
        hold = form["mode"] == "hold"
        if not periods:
            form.error("periods", "Choose one or more periods.")
        group = None
        if card:
            # Searched as the desk's search does: a manager finds only the registrations they
            # may serve (city-wide ones and their facilities' own).
            found = await groups.list_groups(
                db_session, principal, groups.GroupQuery(card_number=card, limit=1)
            )
            group = found[0] if found else None
            if group is None:
                form.error("card_number", "No registration has this card number.")
        if form.ok and group and room_id and use_date and headcount and purpose:
            if form["repeat"]:  # a series: its dates are shown first
                if hold:
                    form.error("repeat", "A series is booked, not held: choose a booking.")
                if read_repeat(form, use_date) is None or not form.ok:
                    return await counter_page(page, form, db_session, network, facility_id, 422)
                path = f"/manage/facilities/{facility_id}/series"
                return Redirect(
                    series_preview_url(path, form, group_id=str(group.id)), status_code=303
                )
            wanted = BookingRequest(
                group_id=group.id,
                room_id=room_id,
                use_date=use_date,
                period_codes=periods,
                purpose=purpose,
                headcount=headcount,
                event_name=form.text("event_name", required=False, max_length=EVENT_NAME_MAX),
            )
            key = form["request_key"] or secrets.token_urlsafe(16)

            async def create() -> dict[str, Any]:
                made = await book(
                    db_session, clock, settings, network, principal, wanted, hold=hold
                )
                return {"id": made.id}

            body = (b"hold:" if hold else b"") + msgspec.json.encode(wanted)
            answer = await attempt(
                db_session,
                form,
                {
                    "group_id": "card_number",
                    "period_codes": "periods",
                    "use_date": "periods",
                    "purpose": "purpose",
                    "headcount": "headcount",
                    "room_id": "room",
                },
                lambda: idempotency.once(db_session, clock, principal.user_id, key, body, create),
            )
            if answer is not None:
                return Redirect(f"/manage/bookings/{answer[1]['id']}?done=1", status_code=303)
        return await counter_page(page, form, db_session, network, facility_id, 422)

    @get("/facilities/{facility_id:int}/lottery", name="lottery_stats")
    async def lottery_stats(
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
        facility = managed_facility(network, staff_of(page), facility_id)
        today = local_today(clock, settings.tz)
        wanted = request.query_params.get("month")
        month = (
            parse_month(wanted, "month")
            if wanted
            else next_use_month(today, facility.policy_on(today).lottery)
        )
        report = await reports.cycle_report(db_session, month, facility_id)
        names = await catalogue(db_session, network)
        return page.render(
            "manage/lottery.html",
            nav="manage",
            facility=facility,
            month=month,
            prev_month=(month - timedelta(days=1)).replace(day=1),
            next_month=(month + timedelta(days=32)).replace(day=1),
            report=report,
            rooms=names.rooms,
        )


async def counter_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    facility_id: int,
    status_code: int,
) -> Template:
    facility = managed_facility(network, staff_of(page), facility_id)
    names = await catalogue(db_session, network)
    rooms = [r for r in network.rooms if r.facility_id == facility_id]
    use_date = iso_day(form["date"])
    room_id = whole_id(form["room"])
    room = names.rooms.get(room_id) if room_id else None
    periods = names.periods_on(room, use_date) if room and use_date else []
    return page.render(
        "manage/counter.html",
        status_code=status_code,
        nav="manage",
        facility=facility,
        rooms=[(str(r.id), page.texts.name(r)) for r in rooms],
        room=room,
        periods=periods,
        form=form,
        purposes=[(k, page.texts.named(names.purposes, k)) for k in names.purposes],
        patterns=pattern_choices(page.texts, use_date),
        # Offered by the policy of the date being booked (before a date is chosen: the rooms'
        # standing policy); the service checks the date's own.
        holds_allowed=any(
            (r.policy_on(use_date) if use_date else r.policy).holds.allowed for r in rooms
        ),
    )
