"""Finding a free room: the search page (a list of free slots and a month grid) and the
facility page. Both read the same availability as /api/v1/availability."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network, ReadSession
from booking.errors import BookingError, NotFound
from booking.inventory import estimates, notices, services
from booking.inventory.closures import closed_dates
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.lottery.applications import applicant_counts
from booking.pages.catalogue import DAY_TYPES, Catalogue, catalogue
from booking.pages.fee_table import days_text, same_every_day, shows_estimates
from booking.pages.forms import Form, half_width, iso_day, whole_id
from booking.pages.i18n import N_, Texts
from booking.pages.manage_estimates import confirmed, field_name
from booking.pages.search_grid import grid_head, grid_rows
from booking.pages.web import Page, remembered_cookie
from booking.reservations.availability import (
    GRID_ROOM_DAYS,
    MAX_DAYS,
    STAFF_GRID_ROOM_DAYS,
    UNKNOWN_WARD,
    AvailabilityQuery,
    SearchTooLarge,
    SlotState,
    search_availability,
)
from booking.reservations.schemas import RoomAvailabilityRead
from booking.waitlist.lines import waiting_counts

LAST_SEARCH_COOKIE = "last_search"
LAST_SEARCH_BYTES = 1024
# The query parameters a search is made of (the list's `day` is no part of it).
SEARCH_FIELDS = (
    *("ward", "kind", "facility", "room", "from", "to"),
    *("period", "capacity", "purpose", "view"),
)
# Free slots; counter-only ones are free too (listed, marked, with how to book them).
FREE = frozenset({SlotState.OPEN, SlotState.LOTTERY, SlotState.COUNTER_ONLY})
DEFAULT_SPAN = 13  # days after `from` when no `to` is given: two weeks of free slots,
MONTH_SPAN = 30  # or a month in the grid
WEEK_SPAN = 6  # or a week (view=week)
UNKNOWN_WARD_TEXT = N_("Ward not set")
AT_LEAST = N_("%(n)s or more people")
TOO_LARGE = N_(
    "%(rooms)s rooms for %(days)s days is more than one search can show (at most %(limit)s "
    "rooms × days). Choose a ward or a kind of facility, or fewer days."
)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    """One free period of a room's day: a chip of the list."""

    period: PeriodInfo
    state: str
    applicants: int | None


@dataclass(frozen=True, slots=True)
class RoomDay:
    """A room's free slots of one day: one block of the list."""

    room: RoomInfo
    facility_name: str
    room_name: str
    slots: list[FreeSlot]
    phone: str | None


@dataclass(frozen=True, slots=True)
class DayOfSlots:
    """A day of the list: its rooms in the network's order, and how many free slots."""

    day: date
    rooms: list[RoomDay]
    count: int

    @property
    def by_facility(self) -> list[list[RoomDay]]:
        """The rooms under their facility (the network lists a facility's rooms together)."""
        groups: list[list[RoomDay]] = []
        for block in self.rooms:
            if not groups or groups[-1][0].room.facility_id != block.room.facility_id:
                groups.append([])
            groups[-1].append(block)
        return groups


@dataclass(frozen=True, slots=True)
class ListPage:
    """The list pages by day: every day with free slots (how many) as links, and one day's
    slots shown. A ward's month is one screen of days and one day's rooms; what a page costs
    to render is one day's, whatever the range (a month's chips were 390 KB and 350 ms)."""

    days: list[DayOfSlots]
    shown: DayOfSlots | None

    @property
    def before(self) -> DayOfSlots | None:
        i = self.days.index(self.shown) if self.shown else 0
        return self.days[i - 1] if i > 0 else None

    @property
    def after(self) -> DayOfSlots | None:
        i = self.days.index(self.shown) if self.shown else len(self.days)
        return self.days[i + 1] if i + 1 < len(self.days) else None


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
    day: date | None  # the day of the list shown (its links carry it, not the form)
    facility: int | None = None
    room: int | None = None
    week: bool = False  # the grid over one week from `from` (view=week: phones)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def read_criteria(form: Form, names: Catalogue, snapshot: NetworkSnapshot, today: date) -> Criteria:
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
    if ward is not None and ward not in names.wards and ward != UNKNOWN_WARD:
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
    facility, room = read_place(form, names, snapshot)
    return Criteria(
        ward=ward,
        kind=kind,
        start=start,
        end=end,
        period=period,
        capacity=form.integer("capacity", required=False, minimum=1, maximum=10000),
        purpose=purpose,
        view=view,
        day=iso_day(half_width(form["day"].strip())),
        facility=facility,
        room=room,
        week=week,
    )


def read_place(
    form: Form, names: Catalogue, snapshot: NetworkSnapshot
) -> tuple[int | None, int | None]:
    """The facility and room asked for (a room's 「空きを探す」 link names both): ids of the
    network, else the field's error. A room alone names its facility too."""
    facility = room = None
    if form["room"].strip():
        room = whole_id(form["room"].strip())
        if room is None or room not in names.rooms:
            form.error("room", "Choose one of the options.")
            room = None
    if form["facility"].strip():
        facility = whole_id(form["facility"].strip())
        if facility is None or facility not in snapshot.facilities:
            form.error("facility", "Choose one of the options.")
            return None, None
    if room is not None:
        of_room = names.rooms[room].facility_id
        if facility is not None and facility != of_room:
            form.error("room", "Choose one of the options.")
            return facility, None
        facility = of_room
        form.values["facility"] = str(facility)  # shown chosen in the form
    return facility, room


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
    if criteria.room is not None:
        if room_ids and criteria.room not in room_ids:
            return [], 0  # the room does not take that purpose
        room_ids = frozenset({criteria.room})
    query = AvailabilityQuery(
        start=criteria.start,
        end=criteria.end,
        wards=frozenset({criteria.ward}) if criteria.ward else frozenset(),
        kinds=frozenset({criteria.kind}) if criteria.kind else frozenset(),
        room_ids=room_ids,
        min_capacity=criteria.capacity,
        periods=frozenset({criteria.period}) if criteria.period else frozenset(),
        facility_ids=frozenset({criteria.facility}) if criteria.facility else frozenset(),
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


def free_days(rooms: list[RoomAvailabilityRead], names: Catalogue, lang: str) -> list[DayOfSlots]:
    """The free slots by day, then room (in the network's order), then period."""
    by_day: dict[str, list[RoomDay]] = {}
    for found in rooms:
        room = names.rooms[found.room_id]
        periods = {p.code: p for p in room.grid.periods}
        facility_name = found.facility_name_ja if lang == "ja" else found.facility_name_en
        room_name = found.room_name_ja if lang == "ja" else found.room_name_en
        for day in found.days:
            slots = [FreeSlot(periods[s.period], s.state, s.applicants) for s in day.slots]
            slots.sort(key=lambda s: s.period.start)
            by_day.setdefault(day.date, []).append(
                RoomDay(room, facility_name, room_name, slots, found.phone)
            )
    return [
        DayOfSlots(date.fromisoformat(iso), blocks, sum(len(b.slots) for b in blocks))
        for iso, blocks in sorted(by_day.items())
    ]


def list_page(days: list[DayOfSlots], wanted: date | None) -> ListPage:
    """The day asked for (a link of the list's days), else the first with free slots from it,
    else the first: a stale or hand-made `day` shows a day, never an error."""
    shown = next((d for d in days if wanted is None or d.day >= wanted), None)
    return ListPage(days, shown or (days[0] if days else None))


@dataclass(frozen=True, slots=True)
class Filter:
    """One chosen condition, in words, and the search without it (facility and room)."""

    text: str
    drop: str | None = None


def search_query(items: Iterable[tuple[str, str]]) -> str:
    """The search's own parameters, non-blank, each once, in the form's order (no day)."""
    found: dict[str, str] = {}
    for key, value in items:
        if key in SEARCH_FIELDS and value.strip() and key not in found:
            found[key] = value.strip()
    return urlencode([(key, found[key]) for key in SEARCH_FIELDS if key in found])


def remembered(raw: str | None, today: date) -> str | None:
    """The last search from its cookie, checked as anything typed is (the caller reads it
    through the form as well): past dates are dropped, so it searches from today."""
    if not raw or len(raw) > LAST_SEARCH_BYTES or not raw.isascii():
        return None
    query = unquote(raw)
    if not query.isprintable():
        return None
    try:
        pairs = parse_qsl(query, strict_parsing=True, max_num_fields=len(SEARCH_FIELDS))
    except ValueError:
        return None
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys) or not set(keys) <= set(SEARCH_FIELDS):
        return None
    values = dict(pairs)
    first = iso_day(values.get("from", ""))
    if first is not None and first < today:
        values.pop("from")
        values.pop("to", None)
    return search_query(values.items()) or None


def without(query: str, *names: str) -> str:
    kept = [(k, v) for k, v in parse_qsl(query) if k not in names]
    return "/search?" + urlencode(kept)


def summary(
    criteria: Criteria, names: Catalogue, snapshot: NetworkSnapshot, texts: Texts, query: str
) -> list[Filter]:
    """The chosen conditions in one line: ward, kind, dates, period, people, purpose, place."""
    if criteria.ward == UNKNOWN_WARD:
        ward = texts.gettext(UNKNOWN_WARD_TEXT)
    elif criteria.ward:
        ward = texts.named(names.wards, criteria.ward)
    else:
        ward = texts.gettext("All wards")
    found = [Filter(ward)]
    if criteria.kind:
        found.append(Filter(texts.named(names.kinds, criteria.kind)))
    dates = texts.day(criteria.start)
    if criteria.end != criteria.start:
        dates = f"{dates} – {texts.day(criteria.end)}"
    found.append(Filter(dates))
    if criteria.period and (period := period_choices(names).get(criteria.period)):
        found.append(Filter(texts.name(period)))
    if criteria.capacity:
        found.append(Filter(texts.gettext(AT_LEAST, n=criteria.capacity)))
    if criteria.purpose:
        found.append(Filter(texts.named(names.purposes, criteria.purpose)))
    if criteria.facility is not None and criteria.facility in snapshot.facilities:
        drop = without(query, "facility", "room")
        found.append(Filter(texts.name(snapshot.facilities[criteria.facility]), drop))
    if criteria.room is not None and criteria.room in names.rooms:
        found.append(Filter(texts.name(names.rooms[criteria.room]), without(query, "room")))
    return found


def facility_choices(snapshot: NetworkSnapshot, texts: Texts) -> list[tuple[str, str]]:
    """The facilities for the form's select, by name (a secretary looks for the one near)."""
    return sorted(
        ((str(f.id), texts.name(f)) for f in snapshot.facilities.values()),
        key=lambda choice: choice[1],
    )


class SearchPages(Controller):
    include_in_schema = False

    @get(["/", "/search"], name="search")
    async def search(  # noqa: PLR0913, PLR0917 - Litestar passes them by name
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        read_session: ReadSession,
        network: Network,
        claims_cache: Claims,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[str]:
        page = Page.of(request, auth)
        names = await catalogue(db_session, network)
        today = local_today(clock, settings.tz)
        form = Form(request.query_params, page.texts)
        criteria = read_criteria(form, names, network, today)
        days = criteria.days()
        results: list[Any] = []
        listed = ListPage([], None)
        count = 0
        searched = bool(request.query_params)
        staff = page.principal is not None and page.principal.is_staff
        if form.ok and searched:
            try:
                rooms, count = await run_search(  # anonymous: the read replica's, if one is set
                    read_session, network, claims_cache, criteria, today, staff
                )
            except SearchTooLarge as exc:
                form.error("to", TOO_LARGE, rooms=exc.rooms, days=exc.days, limit=exc.limit)
            except BookingError as exc:
                form.fail(
                    exc,
                    {f: f for f in ("from", "to", "ward", "kind", "facility", "room", "period")},
                )
            else:
                if criteria.view == "grid":
                    results = grid_rows(rooms, names, page.texts.lang, today, days)
                else:
                    listed = list_page(free_days(rooms, names, page.texts.lang), criteria.day)
        query = search_query(request.query_params.items())
        # Offered, not redirected to: a blank form is what the search link promises.
        last: tuple[str, list[Filter]] | None = None
        kept = None if searched else remembered(request.cookies.get(LAST_SEARCH_COOKIE), today)
        if kept is not None:
            last_form = Form(dict(parse_qsl(kept)), page.texts)
            last_criteria = read_criteria(last_form, names, network, today)
            if last_form.ok:
                last = (kept, summary(last_criteria, names, network, page.texts, kept))
        # A month grid is ~2,400 marks: rendered in slices, bookings beside it wait a slice.
        rendered = await page.render_in_steps(
            "search.html",
            status_code=200 if form.ok else 400,
            nav="search",
            form=form,
            criteria=criteria,
            names=names,
            periods=period_choices(names),
            results=results,
            listed=listed,
            count=count,
            searched=searched,
            days=days,
            today=today,
            grid_limit=STAFF_GRID_ROOM_DAYS if staff else GRID_ROOM_DAYS,
            grid=grid_head(days, query, today, page.texts),
            summary=summary(criteria, names, network, page.texts, query) if searched else [],
            day_url=f"/search?{query}&day=" if query else "/search?day=",
            last=last,
            facilities=facility_choices(network, page.texts),
            rooms_of=[
                (str(r.id), page.texts.name(r))
                for r in network.rooms
                if r.facility_id == criteria.facility
            ],
            unknown_ward=UNKNOWN_WARD,
        )
        quoted = quote(query, safe="")  # only cookie-safe characters
        if searched and form.ok and len(quoted) <= LAST_SEARCH_BYTES:
            cookie = remembered_cookie(request, LAST_SEARCH_COOKIE, quoted, httponly=True)
            rendered.cookies.append(cookie)
        return rendered

    @get("/facilities/{facility_id:int}", name="facility")
    async def facility(  # noqa: PLR0913, PLR0917 - Litestar passes them by name
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        read_session: ReadSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        info = network.facilities.get(facility_id)
        if info is None:
            raise NotFound(f"no facility {facility_id}", code="not_found")
        # The inventory as the network snapshot has it (the primary's); notices may lag.
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
            notices=await notices.current_notices(read_session, facility_id, today),
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
