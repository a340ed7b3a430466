"""iCalendar (RFC 5545) with the `icalendar` library: one VEVENT per booking or pending win.

Rendering an event costs about a fifth of a millisecond; a facility's feed has thousands. Each
event's bytes are kept in a bounded per-process cache keyed by everything they depend on
(the row's id and SEQUENCE, status, language, the feed's level of detail), so a feed is mostly
a concatenation of cached blocks, and a changed booking (new SEQUENCE) is rendered afresh.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import BookingStatus

Lang = Literal["ja", "en"]
Detail = Literal["group", "public", "staff"]
PRODID = "-//booking//Kawasaki public facility booking//JA"
TZID = "Asia/Tokyo"
REFRESH = "PT1H"  # clients poll hourly; Cache-Control says the same
_CACHE_SIZE = 50_000
_STATUS = {
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
    BookingStatus.PENDING_APPROVAL: "TENTATIVE",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}


def _text(lang: Lang, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _span(room: RoomInfo, periods: list[str]) -> tuple[time, time]:
    info = {p.code: p for p in room.grid.periods}
    first, last = info.get(periods[0]), info.get(periods[-1])
    return (first.start if first else time(9)), (last.end if last else time(21))


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
) -> bytes:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", status)
    event.add("sequence", sequence)
    event.add("last-modified", stamp)
    event.add("url", url)
    event.add("transp", "OPAQUE")
    return bytes(event.to_ical())


class EventCache:
    """Rendered events of one app process (one database), least recently used out first."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._events: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

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
    event_name: str | None
    purpose: str
    headcount: int
    fee_total: int
    group_name: str
    group_email: str | None
    group_phone: str | None


def booking_event(
    cache: EventCache,
    snapshot: NetworkSnapshot,
    booking: EventRow,
    lang: Lang,
    detail: Detail,
    base_url: str,
    host: str,
) -> bytes:
    room = snapshot.room(booking.room_id)
    if room is None:
        return b""
    key = ("b", booking.id, booking.sequence, booking.status, lang, detail, snapshot.revision)

    def make() -> bytes:
        tz = ZoneInfo(TZID)
        start_t, end_t = _span(room, booking.period_codes)
        start = datetime.combine(booking.use_date, start_t, tz)
        end = datetime.combine(booking.use_date, end_t, tz)
        stamp = (booking.updated_at or booking.created_at).astimezone(UTC)
        if detail == "public":
            summary = _text(lang, "予約済", "Booked")
            description = _text(lang, "この時間は予約されています。", "This time is booked.")
        else:
            event = booking.event_name or _text(lang, "利用", "Use")
            summary = f"{event} ({_text(lang, room.name_ja, room.name_en)})"
            lines = [
                f"{_text(lang, '団体', 'Group')}: {booking.group_name}",
                f"{_text(lang, '目的', 'Purpose')}: {booking.purpose}",
                f"{_text(lang, '人数', 'Headcount')}: {booking.headcount}",
                f"{_text(lang, '区分', 'Periods')}: {'・'.join(booking.period_codes)}",
                f"{_text(lang, '使用料', 'Fee')}: {booking.fee_total} {_text(lang, '円', 'yen')}",
            ]
            if detail == "staff":
                contact = f"{booking.group_email or ''} {booking.group_phone or ''}".strip()
                lines.append(f"{_text(lang, '連絡先', 'Contact')}: {contact}")
            description = "\n".join(lines)
        return _event(
            f"booking-{booking.id}@{host}",
            sequence=booking.sequence,
            status=_STATUS[booking.status],
            start=start,
            end=end,
            summary=summary,
            location=_location(snapshot, room, lang),
            description=description,
            stamp=stamp,
            url=f"{base_url}/bookings/{booking.id}",
        )

    return cache.get(key, make)


def win_event(
    cache: EventCache,
    snapshot: NetworkSnapshot,
    application: LotteryApplication,
    lang: Lang,
    base_url: str,
    host: str,
) -> bytes:
    """A pending lottery win is TENTATIVE; confirmed (the booking takes over) or lapsed wins
    are CANCELLED so clients drop them."""
    room = snapshot.room(application.room_id)
    if room is None:
        return b""
    settled = application.status is not ApplicationStatus.WON
    key = ("w", application.id, application.status, lang, snapshot.revision)

    def make() -> bytes:
        tz = ZoneInfo(TZID)
        start_t, end_t = _span(room, application.period_codes)
        stamp = (application.settled_at or application.created_at).astimezone(UTC)
        return _event(
            f"lottery-{application.id}@{host}",
            sequence=1 if settled else 0,
            status="CANCELLED" if settled else "TENTATIVE",
            start=datetime.combine(application.use_date, start_t, tz),
            end=datetime.combine(application.use_date, end_t, tz),
            summary=_text(lang, "抽選当選（要確定）", "Lottery win (to confirm)")
            + f" ({_text(lang, room.name_ja, room.name_en)})",
            location=_location(snapshot, room, lang),
            description=_text(
                lang,
                "確認期間内に利用確定の手続きをしてください。",
                "Confirm it in the confirmation period.",
            ),
            stamp=stamp,
            url=f"{base_url}/lottery/applications/{application.id}",
        )

    return cache.get(key, make)


def calendar(name: str, events: Iterable[bytes]) -> bytes:
    """The VCALENDAR around the events, with the VTIMEZONE of Asia/Tokyo."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    cal.add_component(_timezone())
    head, _, tail = bytes(cal.to_ical()).rpartition(b"END:VCALENDAR")
    return head + b"".join(events) + b"END:VCALENDAR" + tail


_TZ_BLOCK: Timezone | None = None


def _timezone() -> Timezone:
    global _TZ_BLOCK  # noqa: PLW0603 - computed once per process
    if _TZ_BLOCK is None:
        _TZ_BLOCK = Timezone.from_tzid(TZID)
    return _TZ_BLOCK
