"""Finding a free room: the search page (a list of free slots and a month grid) and the
facility page. Both read the same availability as /api/v1/availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network
from booking.errors import BookingError, NotFound
from booking.inventory import estimates, notices, services
from booking.inventory.closures import closed_dates
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.lottery.applications import applicant_counts
from booking.pages.catalogue import DAY_TYPES, Catalogue, catalogue
from booking.pages.fee_table import days_text, same_every_day, shows_estimates
from booking.pages.forms import Form
from booking.pages.i18n import N_
from booking.pages.manage_estimates import confirmed, field_name
from booking.pages.search_grid import grid_head, grid_rows
from booking.pages.web import Page
from booking.reservations.availability import (
    GRID_ROOM_DAYS,
    MAX_DAYS,
    STAFF_GRID_ROOM_DAYS,
    AvailabilityQuery,
    SearchTooLarge,
    SlotState,
    search_availability,
)
from booking.waitlist.lines import waiting_counts

PAGE_SIZE = 50
# Free slots; counter-only ones are free too (listed, marked, with how to book them).
FREE = frozenset({SlotState.OPEN, SlotState.LOTTERY, SlotState.COUNTER_ONLY})
DEFAULT_SPAN = 13  # days after `from` when no `to` is given: two weeks of free slots,
MONTH_SPAN = 30  # or a month in the grid
WEEK_SPAN = 6  # or a week (view=week)
TOO_LARGE = N_(
    "%(rooms)s rooms for %(days)s days is more than one search can show (at most %(limit)s "
    "rooms × days). Choose a ward or a kind of facility, or fewer days."
)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    day: date
    room: RoomInfo
    facility_name: str
    room_name: str
    period: PeriodInfo
    state: str
    applicants: int | None


@dataclass
class Criteria:
    """The search form, read and checked."""

    ward: str | None
    kind: str | None
    start: date
    end: date
    period: str | None
    capacity: int | None
    purpose: str | None
    view: str
    page: int
    week: bool = False  # the grid over one week from `from` (view=week: phones)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def read_criteria(form: Form, names: Catalogue, today: date) -> Criteria:
    view = "grid" if form["view"] in ("grid", "week") else "list"
    week = form["view"] == "week"
    start = form.day("from", required=False) or today
    span = MONTH_SPAN if view == "grid" else DEFAULT_SPAN
    if week:  # seven days from `from`, whatever `to` says: the week links move `from` only
        end = start + timedelta(days=WEEK_SPAN)
    else:
        end = form.day("to", required=False) or start + timedelta(days=span)
    if end < start:
        form.error("to", "The last date is before the first.")
    elif (end - start).days + 1 > MAX_DAYS:
        form.error("to", "At most %(n)s days at a time.", n=MAX_DAYS)
    ward = form["ward"] or None
    if ward is not None and ward not in names.wards:
        form.error("ward", "Choose one of the options.")
    kind = form["kind"] or None
    if kind is not None and kind not in names.kinds:
        form.error("kind", "Choose one of the options.")
    purpose = form["purpose"] or None
    if purpose is not None and purpose not in names.purposes:
        form.error("purpose", "Choose one of the options.")
    period = form["period"] or None
    if period is not None and period not in period_choices(names):
        form.error("period", "Choose one of the options.")
    return Criteria(
        ward=ward,
        kind=kind,
        start=start,
        end=end,
        period=period,
        capacity=form.integer("capacity", required=False, minimum=1, maximum=10000),
        purpose=purpose,
        view=view,
        page=page_number(form["page"]),
        week=week,
    )


def page_number(raw: str) -> int:
    """The page of results a link asks for: the pager's links carry it, not the form, so a
    stale or hand-made one (page=0, page=x) is the first page, never an error."""
    raw = raw.strip()
    return max(1, int(raw)) if raw.isdecimal() and len(raw) <= 6 else 1


def period_choices(names: Catalogue) -> dict[str, PeriodInfo]:
    """Every period code of the network with its first-seen definition (codes are shared by
    the grids: 10 morning, 20 afternoon, 30 evening...)."""
    found: dict[str, PeriodInfo] = {}
    for room in names.rooms.values():
        for period in room.grid.periods:
            found.setdefault(period.code, period)
    return dict(sorted(found.items()))


async def run_search(
    db_session: DbSession,
    snapshot: NetworkSnapshot,
    claims: Claims,
    criteria: Criteria,
    today: date,
    staff: bool = False,
) -> tuple[list[Any], int]:
    """The free slots (list view) or the rows of the grid, and the number of slots. What one
    search may cost is bounded (rooms × days): the grid's markup is ten times the list's."""
    room_ids: frozenset[int] = frozenset()
    if criteria.purpose is not None:
        room_ids = frozenset(
            r.id for r in snapshot.rooms if r.purposes is None or criteria.purpose in r.purposes
        )
        if not room_ids:
            return [], 0
    query = AvailabilityQuery(
        start=criteria.start,
        end=criteria.end,
        wards=frozenset({criteria.ward}) if criteria.ward else frozenset(),
        kinds=frozenset({criteria.kind}) if criteria.kind else frozenset(),
        room_ids=room_ids,
        min_capacity=criteria.capacity,
        periods=frozenset({criteria.period}) if criteria.period else frozenset(),
        states=FREE if criteria.view == "list" else frozenset(),
    )
    limit = None  # the list: as the API (SLOTS_ROOM_DAYS)
    if criteria.view == "grid":
        limit = STAFF_GRID_ROOM_DAYS if staff else GRID_ROOM_DAYS
    applicants = await applicant_counts(db_session, query.start, query.end)
    # The list shows free slots only: a wait list's length is for the grid's taken ones.
    waiting = None
    if criteria.view == "grid":
        waiting = await waiting_counts(db_session, room_ids or None, query.start, query.end)
    return await search_availability(
        db_session,
        snapshot,
        claims,
        query,
        today,
        applicants,
        max_room_days=limit,
        waiting=waiting,
    )


def free_slots(rooms: list[Any], names: Catalogue, lang: str) -> list[FreeSlot]:
    slots: list[FreeSlot] = []
    for found in rooms:
        room = names.rooms[found.room_id]
        periods = {p.code: p for p in room.grid.periods}
        facility_name = found.facility_name_ja if lang == "ja" else found.facility_name_en
        room_name = found.room_name_ja if lang == "ja" else found.room_name_en
        for day in found.days:
            use_date = date.fromisoformat(day.date)
            slots.extend(
                FreeSlot(
                    use_date,
                    room,
                    facility_name,
                    room_name,
                    periods[slot.period],
                    slot.state,
                    slot.applicants,
                )
                for slot in day.slots
            )
    slots.sort(key=lambda s: (s.day, s.period.start))  # stable: rooms stay in network order
    return slots


class SearchPages(Controller):
    include_in_schema = False

    @get(["/", "/search"], name="search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        names = await catalogue(db_session, network)
        today = local_today(clock, settings.tz)
        form = Form(request.query_params, page.texts)
        criteria = read_criteria(form, names, today)
        results: list[Any] = []
        count = 0
        searched = bool(request.query_params)
        staff = page.principal is not None and page.principal.is_staff
        if form.ok and searched:
            try:
                rooms, count = await run_search(
                    db_session, network, claims_cache, criteria, today, staff
                )
            except SearchTooLarge as exc:
                form.error("to", TOO_LARGE, rooms=exc.rooms, days=exc.days, limit=exc.limit)
            except BookingError as exc:
                form.fail(exc, {"from": "from", "to": "to", "ward": "ward", "kind": "kind"})
            else:
                if criteria.view == "grid":
                    results = grid_rows(rooms, names, page.texts.lang, today, criteria.days())
                else:
                    results = free_slots(rooms, names, page.texts.lang)
        total = len(results)
        pages = max(1, -(-total // PAGE_SIZE))
        criteria.page = min(criteria.page, pages)  # a stale link past the last page: the last
        if criteria.view == "list":
            first = (criteria.page - 1) * PAGE_SIZE
            results = results[first : first + PAGE_SIZE]
        days = [
            criteria.start + timedelta(days=i)
            for i in range((criteria.end - criteria.start).days + 1)
        ]
        return page.render(
            "search.html",
            status_code=200 if form.ok else 400,
            nav="search",
            form=form,
            criteria=criteria,
            names=names,
            periods=period_choices(names),
            results=results,
            total=total,
            pages=pages,
            count=count,
            searched=searched,
            days=days,
            today=today,
            grid_limit=STAFF_GRID_ROOM_DAYS if staff else GRID_ROOM_DAYS,
            grid=grid_head(days, request.url.query, today, page.texts),
        )

    @get("/facilities/{facility_id:int}", name="facility")
    async def facility(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        info = network.facilities.get(facility_id)
        if info is None:
            raise NotFound(f"no facility {facility_id}", code="not_found")
        detail = await services.get_facility(db_session, facility_id)
        names = await catalogue(db_session, network)
        today = local_today(clock, settings.tz)
        rooms = [r for r in network.rooms if r.facility_id == facility_id]
        closed = sorted(closed_dates(info.closures, today, today + timedelta(days=59)))
        room_rows = {row.id: row for row in detail.rooms}
        guesses = estimates.estimated(detail.facility)
        return page.render(
            "facility.html",
            nav="search",
            facility=detail.facility,
            kind=detail.kind,
            ward=detail.ward,
            info=info,
            rooms=rooms,
            names=names,
            closed=closed,
            today=today,
            opening_hours=detail.facility.opening_hours or detail.kind.opening_hours,
            closure_rules=detail.closure_rules,
            day_types=DAY_TYPES,
            notices=await notices.current_notices(db_session, facility_id, today),
            # Estimates stay marked (≈) until staff confirm them; then who (a role) and when.
            room_rows=room_rows,
            estimated=estimates.estimated,
            confirmed=lambda row: confirmed(row, page.texts),
            facility_guesses=page.texts.join(field_name(page.texts, f) for f in guesses),
            # One "every day" line instead of the same three day types on every row.
            same_every_day=same_every_day,
            days_text=lambda day_types: days_text(day_types, page.texts),
            shows_estimates=shows_estimates(guesses, rooms, room_rows, today),
        )
