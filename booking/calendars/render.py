"""iCalendar (RFC 5545) with the `icalendar` library: one VEVENT per booking or pending win.

Rendering an event costs about a fifth of a millisecond; a facility's feed has thousands. Each
event's bytes are kept in a bounded per-process cache keyed by every input they are made of
(the row's version, status and group data, the language, the level of detail, the network's
revision for room, facility, period and purpose names), so a feed is mostly a concatenation of
cached blocks, and a changed booking or group is rendered afresh.

Three levels of detail, three sets of UIDs: a group's feed uses `booking-<id>@host`, a staff
feed `booking-<id>.staff@host` (it shows the contact too), and a public feed an opaque UID
(an HMAC under the feed's own key of the booking and its slot) whose SEQUENCE and
LAST-MODIFIED move only with what the public sees: the slot and whether it is tentative.

An occurrence of a series (a recurring booking) stays an event of its own (clients handle
single events best, and each is cancelled or moved on its own) with RELATED-TO naming its
series by a UID of the same scheme: `series-<id>@host`, `series-<id>.staff@host`, or opaque
under a public feed's key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import icalendar
from icalendar import Calendar, Event, Timezone, vText

from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import BookingStatus

Lang = Literal["ja", "en"]
Names = Mapping[str, tuple[str, str]]  # key -> (ja, en)
PRODID = "-//booking//Kawasaki public facility booking//JA"
TZID = "Asia/Tokyo"
REFRESH = "PT1H"  # clients poll hourly; Cache-Control says the same
_CACHE_SIZE = 50_000
_BODY_BYTES = 64 * 1024 * 1024  # a group's feed is ~0.3 MB, a big hall's staff feed ~3 MB
# Part of every feed's fingerprint: a deploy that changes how events are written changes
# every ETag, so no client keeps a body this code would no longer produce.
CODE_VERSION = hashlib.sha256(
    Path(__file__).read_bytes()
    + Path(__file__).with_name("feeds.py").read_bytes()
    + icalendar.__version__.encode()
).hexdigest()[:16]
# RFC 5545 STATUS of a booking seen by its group or staff. A no-show did not take place: the
# room stood empty, so it is CANCELLED (the description says why); a use that happened stays
# CONFIRMED; a hold (仮予約) and a booking waiting for approval may still fall through.
_STATUS = {
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CANCELLED",
    BookingStatus.PENDING_APPROVAL: "TENTATIVE",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}
# What the public sees of a live booking: the slot is taken (for a no-show too: it was held
# for the group), or tentatively taken. A public feed shows no cancelled booking.
_PUBLIC_STATUS = {
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
    BookingStatus.PENDING_APPROVAL: "TENTATIVE",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}
_PUBLIC_SEQUENCE = {"TENTATIVE": 0, "CONFIRMED": 1, "CANCELLED": 2}
_STATUS_NAMES = {  # the same words as the pages (booking/pages/bookings.py)
    BookingStatus.HELD: ("仮予約", "Held (provisional)"),
    BookingStatus.PENDING_APPROVAL: ("承認待ち", "Waiting for approval"),
    BookingStatus.CONFIRMED: ("予約確定", "Confirmed"),
    BookingStatus.CANCELLED: ("取消済み", "Cancelled"),
    BookingStatus.COMPLETED: ("利用済み", "Used"),
    BookingStatus.NO_SHOW: ("無断不使用", "Not used (no-show)"),
}
_ROOMS_BY_ID = "calendars.rooms_by_id"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows none but TAB and LF


def _text(lang: Lang, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _clean(value: str) -> str:
    """RFC 5545 TEXT: no control characters (vText escapes the rest: \\ ; , and newlines)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _periods(room: RoomInfo, codes: list[str]) -> list[PeriodInfo | str]:
    info = {p.code: p for p in room.grid.periods}
    return [info.get(code, code) for code in codes]


def _span(room: RoomInfo, periods: list[str]) -> tuple[time, time]:
    found = [p for p in _periods(room, periods) if isinstance(p, PeriodInfo)]
    return (found[0].start if found else time(9)), (found[-1].end if found else time(21))


def _period_names(room: RoomInfo, codes: list[str], lang: Lang) -> str:
    shown = []
    for period in _periods(room, codes):
        if isinstance(period, str):  # a code the grid no longer has
            shown.append(period)
        else:
            name = _text(lang, period.name_ja, period.name_en)
            shown.append(f"{name} {period.start:%H:%M}–{period.end:%H:%M}")
    return _text(lang, "・", ", ").join(shown)


def _location(snapshot: NetworkSnapshot, room: RoomInfo, lang: Lang) -> str:
    facility = snapshot.facilities[room.facility_id]
    place = _text(lang, facility.name_ja, facility.name_en)
    name = f"{place} {_text(lang, room.name_ja, room.name_en)}"
    return f"{name}, {facility.address}" if facility.address else name


def _event(  # noqa: PLR0913
    uid: str,
    *,
    sequence: int,
    status: str,
    start: datetime,
    end: datetime,
    summary: str,
    location: str,
    description: str,
    stamp: datetime,
    url: str,
    related: str | None = None,
) -> bytes:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", _clean(summary))
    event.add("location", _clean(location))
    event.add("description", _clean(description))
    event.add("status", status)
    event.add("sequence", sequence)
    event.add("last-modified", stamp)
    event.add("url", url)
    if related is not None:  # RELTYPE defaults to PARENT: the series this occurrence is of
        event.add("related-to", related)
    event.add("transp", "OPAQUE")
    return bytes(event.to_ical())


class BodyCache:
    """Whole feed bodies of one app process: each feed's last body with its version (the
    digest of everything the body is made of, controllers._version) and its ETag. The same
    version makes the same bytes, so a feed asked for again unchanged is neither read nor
    rendered; least recently used feeds out first past `max_bytes`."""

    def __init__(self, max_bytes: int = _BODY_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._bodies: OrderedDict[int, tuple[str, bytes, str]] = OrderedDict()

    def get(self, feed_id: int, version: str) -> tuple[bytes, str] | None:
        """(body, ETag) of the feed at this version, if this process made it last."""
        found = self._bodies.get(feed_id)
        if found is None or found[0] != version:
            return None
        self._bodies.move_to_end(feed_id)
        return found[1], found[2]

    def put(self, feed_id: int, version: str, body: bytes, etag: str) -> None:
        old = self._bodies.pop(feed_id, None)
        if old is not None:
            self._bytes -= len(old[1])
        if len(body) > self._max_bytes:
            return
        self._bodies[feed_id] = (version, body, etag)
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            _, (_, dropped, _) = self._bodies.popitem(last=False)
            self._bytes -= len(dropped)


class EventCache:
    """Rendered events of one app process (one database), least recently used out first,
    and the whole bodies of the feeds last served (`bodies`)."""

    def __init__(self, size: int = _CACHE_SIZE, body_bytes: int = _BODY_BYTES) -> None:
        self._size = size
        self._events: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self.bodies = BodyCache(body_bytes)

    def get(self, key: tuple[object, ...], make: Callable[[], bytes]) -> bytes:
        found = self._events.get(key)
        if found is None:
            found = make()
            self._events[key] = found
            if len(self._events) > self._size:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        return found


@dataclass(frozen=True, slots=True)
class Context:
    """What every event of one response is rendered with."""

    cache: EventCache
    snapshot: NetworkSnapshot
    purposes: Names  # the purposes' names (they change with the network's revision)
    lang: Lang
    base_url: str
    host: str
    # what every cached event of this context depends on besides its row (made once)
    key: tuple[object, ...] = field(init=False)
    rooms: dict[int, RoomInfo] = field(init=False)  # by id (the snapshot's is a list)

    def __post_init__(self) -> None:
        key = (self.lang, self.snapshot.revision, self.base_url, self.host)
        object.__setattr__(self, "key", key)
        rooms = self.snapshot.derived.get(_ROOMS_BY_ID)
        if not isinstance(rooms, dict):
            rooms = {room.id: room for room in self.snapshot.rooms}
            self.snapshot.derived[_ROOMS_BY_ID] = rooms
        object.__setattr__(self, "rooms", rooms)


class EventRow(Protocol):
    """The columns of a booking that an event shows (feeds.EVENT_COLUMNS)."""

    id: int
    sequence: int
    status: BookingStatus
    room_id: int
    use_date: date
    period_codes: list[str]
    updated_at: datetime | None
    created_at: datetime
    decided_at: datetime | None
    event_name: str | None
    purpose: str
    headcount: int
    fee_total: int
    series_id: int | None
    group_name: str
    group_email: str | None
    group_phone: str | None


def _times(room: RoomInfo, day: date, codes: list[str]) -> tuple[datetime, datetime]:
    tz = ZoneInfo(TZID)
    start_t, end_t = _span(room, codes)
    return datetime.combine(day, start_t, tz), datetime.combine(day, end_t, tz)


def public_uid(uid_key: bytes, booking: EventRow) -> str:
    """Opaque and per feed: the booking's id and slot under the feed's key. Another slot is
    another event (the old one leaves the feed), and nothing counts bookings."""
    slot = f"{booking.id}|{booking.room_id}|{booking.use_date}|{','.join(booking.period_codes)}"
    return hmac.new(uid_key, slot.encode(), hashlib.sha256).hexdigest()[:32]


def public_series_uid(uid_key: bytes, series_id: int) -> str:
    """A series' UID in a public feed: opaque under the feed's key, as its events' are."""
    return hmac.new(uid_key, f"series|{series_id}".encode(), hashlib.sha256).hexdigest()[:32]


def series_uid(
    series_id: int, host: str, detail: Literal["group", "staff", "public"], uid_key: bytes = b""
) -> str:
    """The UID an occurrence's RELATED-TO names: of the same scheme as the feed's events."""
    if detail == "public":
        return f"{public_series_uid(uid_key, series_id)}@{host}"
    return f"series-{series_id}{'.staff' if detail == 'staff' else ''}@{host}"


def public_event(ctx: Context, booking: EventRow, uid_key: bytes) -> bytes:
    """A busy block: the slot and whether it is tentative, nothing else of the booking."""
    room = ctx.rooms.get(booking.room_id)
    if room is None:
        return b""
    status = _PUBLIC_STATUS[booking.status]
    # It changed last when it was made, or when it was approved or its hold completed.
    changed = booking.created_at if status == "TENTATIVE" else booking.decided_at
    stamp = (changed or booking.created_at).astimezone(UTC)
    slot = (booking.id, booking.room_id, booking.use_date, tuple(booking.period_codes))
    key = ("p", uid_key, slot, status, stamp, *ctx.key)

    def make() -> bytes:
        lang = ctx.lang
        uid = public_uid(uid_key, booking)
        start, end = _times(room, booking.use_date, booking.period_codes)
        return _event(
            f"{uid}@{ctx.host}",
            sequence=_PUBLIC_SEQUENCE[status],
            status=status,
            start=start,
            end=end,
            summary=_text(lang, "予約済", "Booked"),
            location=_location(ctx.snapshot, room, lang),
            description=_text(lang, "この時間は予約されています。", "This time is booked."),
            stamp=stamp,
            url=f"{ctx.base_url}/facilities/{room.facility_id}",
            related=(
                series_uid(booking.series_id, ctx.host, "public", uid_key)
                if booking.series_id is not None
                else None
            ),
        )

    return ctx.cache.get(key, make)


def booking_event(ctx: Context, booking: EventRow, detail: Literal["group", "staff"]) -> bytes:
    """A booking as its group (its own page) or the facility's staff (the desk's page) see it."""
    room = ctx.rooms.get(booking.room_id)
    if room is None:
        return b""
    key = (
        "b",
        detail,
        booking.id,
        booking.sequence,
        booking.status,
        booking.group_name,
        booking.group_email,
        booking.group_phone,
        *ctx.key,
    )

    def make() -> bytes:
        lang = ctx.lang
        start, end = _times(room, booking.use_date, booking.period_codes)
        stamp = (booking.updated_at or booking.created_at).astimezone(UTC)
        event = booking.event_name or _text(lang, "利用", "Use")
        purpose = ctx.purposes.get(booking.purpose)
        lines = [
            f"{_text(lang, '状態', 'Status')}: {_text(lang, *_STATUS_NAMES[booking.status])}",
            f"{_text(lang, '団体', 'Group')}: {booking.group_name}",
            f"{_text(lang, '目的', 'Purpose')}: "
            + (_text(lang, *purpose) if purpose else booking.purpose),
            f"{_text(lang, '人数', 'Headcount')}: {booking.headcount}",
            f"{_text(lang, '区分', 'Periods')}: {_period_names(room, booking.period_codes, lang)}",
            f"{_text(lang, '使用料', 'Fee')}: "
            + _text(lang, f"{booking.fee_total:,}円", f"¥{booking.fee_total:,}"),
        ]
        if detail == "staff":
            contact = f"{booking.group_email or ''} {booking.group_phone or ''}".strip()
            lines.append(f"{_text(lang, '連絡先', 'Contact')}: {contact}")
            page, suffix = f"/manage/bookings/{booking.id}", ".staff"
        else:
            page, suffix = f"/my/bookings/{booking.id}", ""
        return _event(
            f"booking-{booking.id}{suffix}@{ctx.host}",
            sequence=booking.sequence,
            status=_STATUS[booking.status],
            start=start,
            end=end,
            summary=f"{event} ({_text(lang, room.name_ja, room.name_en)})",
            location=_location(ctx.snapshot, room, lang),
            description="\n".join(lines),
            stamp=stamp,
            url=ctx.base_url + page,
            related=(
                series_uid(booking.series_id, ctx.host, detail)
                if booking.series_id is not None
                else None
            ),
        )

    return ctx.cache.get(key, make)


def win_event(ctx: Context, application: LotteryApplication) -> bytes:
    """A pending lottery win is TENTATIVE; confirmed (the booking takes over) or lapsed wins
    are CANCELLED so clients drop them."""
    room = ctx.rooms.get(application.room_id)
    if room is None:
        return b""
    settled = application.status is not ApplicationStatus.WON
    key = ("w", application.id, application.status, application.settled_at, *ctx.key)

    def make() -> bytes:
        lang = ctx.lang
        start, end = _times(room, application.use_date, application.period_codes)
        stamp = (application.settled_at or application.created_at).astimezone(UTC)
        purpose = ctx.purposes.get(application.purpose)
        return _event(
            f"lottery-{application.id}@{ctx.host}",
            sequence=1 if settled else 0,
            status="CANCELLED" if settled else "TENTATIVE",
            start=start,
            end=end,
            summary=_text(lang, "抽選当選（要確定）", "Lottery win (to confirm)")
            + f" ({_text(lang, room.name_ja, room.name_en)})",
            location=_location(ctx.snapshot, room, lang),
            description="\n".join(
                [
                    _text(
                        lang,
                        "確認期間内に利用確定の手続きをしてください。",
                        "Confirm it in the confirmation period.",
                    ),
                    f"{_text(lang, '目的', 'Purpose')}: "
                    + (_text(lang, *purpose) if purpose else application.purpose),
                    f"{_text(lang, '区分', 'Periods')}: "
                    + _period_names(room, application.period_codes, lang),
                ]
            ),
            stamp=stamp,
            url=f"{ctx.base_url}/my/lottery",
        )

    return ctx.cache.get(key, make)


def calendar(name: str, events: Iterable[bytes]) -> bytes:
    """The VCALENDAR around the events, with the VTIMEZONE of Asia/Tokyo."""
    head, tail = _frame(name)
    return head + b"".join(events) + tail


@functools.lru_cache(maxsize=256)
def _frame(name: str) -> tuple[bytes, bytes]:
    """The calendar's bytes before and after its events (made once per name: writing the
    VTIMEZONE cost more than joining a group's 500 cached events)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # An X- property is written as given: TEXT must be escaped by hand (a comma, a newline).
    cal.add("x-wr-calname", vText(_clean(name)))
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    cal.add_component(_timezone())
    head, _, tail = bytes(cal.to_ical()).rpartition(b"END:VCALENDAR")
    return head, b"END:VCALENDAR" + tail


_TZ_BLOCK: Timezone | None = None


def _timezone() -> Timezone:
    global _TZ_BLOCK  # noqa: PLW0603 - computed once per process
    if _TZ_BLOCK is None:
        _TZ_BLOCK = Timezone.from_tzid(TZID)
    return _TZ_BLOCK
