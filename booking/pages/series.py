"""A group's series (定期利用): the dates of a repeated booking shown first, each with its
state and fee, then booked all or none, or only the free ones; the series' page with its
bookings; cancelling the rest with each date's charge shown first.

The booking form (`/book`) sends a repeated booking here (GET `/book/series`, nothing
written); the counter's form has its own address (pages/manage_series.py) on the same pages.
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

from booking.accounts.auth import Auth
from booking.deps import AppSettings, Claims, CurrentClock, DbSession, Network
from booking.errors import BookingError
from booking.inventory.network import NetworkSnapshot, PeriodInfo
from booking.pages.bookings import BOOKING_STATUSES, PAYMENT_STATUSES, book_page, read_booking
from booking.pages.forms import Form, error_text, iso_day
from booking.pages.i18n import Texts
from booking.pages.repeat import (
    OCCURRENCE_STATES,
    PATTERNS,
    change_url,
    read_repeat,
)
from booking.pages.web import Page
from booking.reservations import idempotency
from booking.reservations.models import Booking, Series, SeriesPattern
from booking.reservations.series import (
    Mode,
    SeriesPreview,
    SeriesRequest,
    book_series,
    get_series,
    preview_series,
)
from booking.reservations.series_dates import series_dates
from booking.reservations.series_mail import pattern_words

# The service's fields, as the booking form names them.
SERIES_FIELDS = {
    "group_id": "group_id",
    "period_codes": "periods",
    "purpose": "purpose",
    "headcount": "headcount",
    "event_name": "event_name",
    "room_id": "periods",
    "use_date": "periods",
    "first_date": "periods",
    "last_date": "until",
    "skip_dates": "skip",
}
LIVE = {"confirmed", "pending_approval", "held"}


def query_form(request: Request[Any, Any, Any], texts: Texts) -> Form:
    """The address's values as a form's (a series' dates are a page of their own)."""
    query = request.query_params
    values: dict[str, Any] = {}
    for key in query:
        found = query.getall(key)
        values[key] = found if len(found) > 1 else found[0]
    return Form(values, texts)


def read_series(form: Form, group_field: str = "group_id") -> SeriesRequest | None:
    """The booking form's fields and its repeat choice as a series, each refusal beside its
    field; None when something is missing or refused."""
    wanted = read_booking(form, group_field)
    if not form["repeat"]:
        form.error("repeat", "Choose how the booking repeats.")
    repeat = read_repeat(form, iso_day(form["date"]))
    if wanted is None or repeat is None:
        return None
    return SeriesRequest(
        group_id=wanted.group_id,
        room_id=wanted.room_id,
        period_codes=wanted.period_codes,
        purpose=wanted.purpose,
        headcount=wanted.headcount,
        first_date=wanted.use_date,
        last_date=repeat.last_date,
        every=repeat.every,
        skip_dates=list(repeat.skip_dates),
        event_name=wanted.event_name,
        charges_admission=wanted.charges_admission,
    )


def pattern_text(texts: Texts, every: SeriesPattern, first_date: date) -> str:
    """How a series repeats, in words; the same weekday of each month says which (毎月 第2火曜日,
    as the series' mail does)."""
    if every is SeriesPattern.MONTH_WEEKDAY:
        ja, en = pattern_words(every, first_date)
        return ja if texts.lang == "ja" else en
    return texts.gettext(PATTERNS[every.value])


def occurrence_state(texts: Texts, state: str, reason: str | None) -> str:
    """A date's state in words: the series' own states, else the rule that refused it."""
    if (words := OCCURRENCE_STATES.get(state)) is not None:
        return texts.gettext(words)
    return error_text(texts, state, reason or state)


def preview_page(
    page: Page,
    form: Form,
    network: NetworkSnapshot,
    preview: SeriesPreview,
    *,
    action: str,
    change: str,
    status_code: int = 200,
) -> Template:
    room = preview.room
    periods = [p for p in room.grid.periods if p.code in preview.request.period_codes]
    if not form["request_key"]:
        form.values["request_key"] = secrets.token_urlsafe(16)
    return page.render(
        "series_preview.html",
        status_code=status_code,
        nav="search",
        form=form,
        preview=preview,
        room=room,
        facility=network.facilities[room.facility_id],
        periods=periods,
        states={
            o.use_date: occurrence_state(page.texts, o.state, o.reason) for o in preview.occurrences
        },
        pattern=pattern_text(page.texts, preview.request.every, preview.request.first_date),
        action=action,
        change=change,
    )


async def book_once(  # noqa: PLR0913, PLR0917
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
    network: NetworkSnapshot,
    page: Page,
    form: Form,
    wanted: SeriesRequest,
    mode: Mode,
    key: str,
) -> int | None:
    """The series booked once per form (its request key: a double click books it once), in a
    savepoint: its id, or None with the refusal said at the top of the dates shown again."""
    principal = page.user

    async def create() -> dict[str, Any]:
        made = await book_series(db_session, clock, settings, network, principal, wanted, mode=mode)
        return {"id": made.series.id}

    body = f"series:{mode}:".encode() + msgspec.json.encode(wanted)
    try:
        async with db_session.begin_nested():
            answer = await idempotency.once(db_session, clock, principal.user_id, key, body, create)
    except BookingError as exc:
        form.general.append(error_text(form.texts, exc.code, exc.message))
        return None
    return int(answer[1]["id"])


async def preview_again(
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
    network: NetworkSnapshot,
    page: Page,
    wanted: SeriesRequest,
) -> SeriesPreview | None:
    """The dates as they are now, after a refusal; None when they cannot be shown at all
    (the group is not one's own, the room is gone): the form is shown with the refusal."""
    try:
        return await preview_series(db_session, clock, settings, network, page.user, wanted)
    except BookingError:
        return None


@dataclass(frozen=True, slots=True)
class SeriesShown:
    """A series with its bookings, and the dates of its pattern that have none."""

    series: Series
    group: Any
    bookings: list[Booking]
    facility_name: str
    room_name: str
    periods: list[PeriodInfo]
    not_booked: list[date]

    @property
    def live(self) -> list[Booking]:
        return [b for b in self.bookings if b.status.value in LIVE]


def series_shown(
    network: NetworkSnapshot, texts: Texts, series: Series, group: Any, bookings: list[Booking]
) -> SeriesShown:
    room = network.room(series.room_id)
    facility = network.facilities.get(series.facility_id)
    skipped = {date.fromisoformat(d) for d in series.skip_dates}
    booked = {b.use_date for b in bookings}
    pattern = series_dates(series.every, series.first_date, series.last_date)
    return SeriesShown(
        series,
        group,
        bookings,
        texts.name(facility) if facility else str(series.facility_id),
        texts.name(room) if room else str(series.room_id),
        [p for p in room.grid.periods if p.code in series.period_codes] if room else [],
        [d for d in pattern if d not in booked and d not in skipped],
    )


def series_page(page: Page, item: SeriesShown, *, staff_view: bool, done: str = "") -> Template:
    return page.render(
        "my/series.html",
        nav="manage" if staff_view else "bookings",
        item=item,
        pattern=pattern_text(page.texts, item.series.every, item.series.first_date),
        statuses=BOOKING_STATUSES,
        payments=PAYMENT_STATUSES,
        staff_view=staff_view,
        staff=page.user.manages(item.series.facility_id),
        done=done,
    )


class SeriesPages(Controller):
    include_in_schema = False

    @get("/book/series", name="series_preview")
    async def preview(
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
        form = query_form(request, page.texts)
        wanted = read_series(form)
        if wanted is not None:
            try:
                shown = await preview_series(
                    db_session, clock, settings, network, page.user, wanted
                )
            except BookingError as exc:
                form.fail(exc, SERIES_FIELDS)
            else:
                return preview_page(
                    page,
                    form,
                    network,
                    shown,
                    action="/book/series",
                    change=change_url("/book", form),
                )
        form.values["request_key"] = secrets.token_urlsafe(16)
        return await book_page(
            page, form, db_session, network, claims_cache, clock, settings, status_code=422
        )

    @post("/book/series")
    async def book(
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
        auth.required()  # a form whose session ended: to the login and back
        form = Form(await request.form(), page.texts)
        wanted = read_series(form)
        mode: Mode = "free" if form["mode"] == "free" else "all"
        key = form.text("request_key", max_length=idempotency.MAX_KEY_LENGTH)
        if wanted is None or key is None:
            form.values["request_key"] = secrets.token_urlsafe(16)
            return await book_page(
                page, form, db_session, network, claims_cache, clock, settings, status_code=422
            )

        made = await book_once(db_session, clock, settings, network, page, form, wanted, mode, key)
        if made is not None:
            return Redirect(f"/my/series/{made}?done=booked", status_code=303)
        # Refused: the dates again, as they are now, with the refusal above them.
        shown = await preview_again(db_session, clock, settings, network, page, wanted)
        if shown is None:
            return await book_page(
                page, form, db_session, network, claims_cache, clock, settings, status_code=422
            )
        return preview_page(
            page,
            form,
            network,
            shown,
            action="/book/series",
            change=change_url("/book", form),
            status_code=422,
        )

    @get("/my/series/{series_id:int}", name="my_series")
    async def series(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        series, group, bookings = await get_series(db_session, page.user, series_id)
        item = series_shown(network, page.texts, series, group, bookings)
        done = request.query_params.get("done", "")
        return series_page(page, item, staff_view=False, done=done)
