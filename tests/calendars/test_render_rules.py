"""The events of every feed kind, rendered by the pure functions of booking.calendars.render
(no HTTP, no database) and read back with icalendar: STATUS and SEQUENCE for every booking and
win status, times of periods in JST at the day's edges, text in each language, UIDs and links
per feed kind, the stamps, the calendar around the events and the cache of rendered events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import icalendar
import pytest

from booking.calendars import render
from booking.lottery.models import ApplicationStatus
from booking.reservations.models import BookingStatus
from tests.calendars.calendar_world import (
    BASE_URL,
    CREATED,
    FACILITY_ID,
    HOST,
    NIGHT_ROOM_ID,
    Row,
    context,
    parse,
    win,
)

JST = ZoneInfo("Asia/Tokyo")
Detail = Literal["group", "staff"]
# booking status -> (STATUS for its group and staff, the word in their description (ja, en),
# STATUS and SEQUENCE in a public feed)
BOOKING_STATUSES = {
    BookingStatus.CONFIRMED: ("CONFIRMED", "予約確定", "Confirmed", "CONFIRMED", 1),
    BookingStatus.COMPLETED: ("CONFIRMED", "利用済み", "Used", "CONFIRMED", 1),
    # the room stood empty: not a use that took place; the public saw the slot taken
    BookingStatus.NO_SHOW: ("CANCELLED", "無断不使用", "Not used (no-show)", "CONFIRMED", 1),
    BookingStatus.PENDING_APPROVAL: (
        "TENTATIVE",
        "承認待ち",
        "Waiting for approval",
        "TENTATIVE",
        0,
    ),
    BookingStatus.HELD: ("TENTATIVE", "仮予約", "Held (provisional)", "TENTATIVE", 0),
    BookingStatus.CANCELLED: ("CANCELLED", "取消済み", "Cancelled", "CANCELLED", 2),
}


def test_the_status_table_covers_every_booking_status() -> None:
    assert set(BOOKING_STATUSES) == set(BookingStatus)


@pytest.mark.parametrize("status", list(BookingStatus))
@pytest.mark.parametrize("detail", ["group", "staff"])
def test_each_booking_status_has_its_status_and_words_for_group_and_staff(
    status: BookingStatus, detail: Detail
) -> None:
    expected, ja, en, _, _ = BOOKING_STATUSES[status]
    row = Row(status=status, sequence=4)
    event = parse(render.booking_event(context("ja"), row, detail))
    assert event["STATUS"] == expected
    assert int(event["SEQUENCE"]) == 4  # the row's own version, whatever its status
    assert str(event["DESCRIPTION"]).startswith(f"状態: {ja}\n")
    english = parse(render.booking_event(context("en"), row, detail))
    assert str(english["DESCRIPTION"]).startswith(f"Status: {en}\n")


@pytest.mark.parametrize("status", list(BookingStatus))
def test_each_booking_status_has_its_public_status_and_sequence(status: BookingStatus) -> None:
    _, _, _, expected, sequence = BOOKING_STATUSES[status]
    event = parse(render.public_event(context(), Row(status=status, sequence=9), b"key"))
    assert (event["STATUS"], int(event["SEQUENCE"])) == (expected, sequence)


@pytest.mark.parametrize(
    ("status", "expected", "sequence"),
    [
        (ApplicationStatus.WON, "TENTATIVE", 0),  # to confirm: may still lapse
        (ApplicationStatus.CONFIRMED, "CANCELLED", 1),  # its booking takes over
        (ApplicationStatus.LAPSED, "CANCELLED", 1),  # the slot went back to first-come
    ],
)
def test_each_win_status_shown_in_a_group_feed_has_its_status_and_sequence(
    status: ApplicationStatus, expected: str, sequence: int
) -> None:
    settled = None if status is ApplicationStatus.WON else CREATED + timedelta(days=3)
    event = parse(render.win_event(context(), win(status, settled_at=settled)))
    assert (event["STATUS"], int(event["SEQUENCE"])) == (expected, sequence)


# periods -> (start, end) in JST on the use date
HALL_SPANS = [
    (["10"], time(9), time(12)),
    (["20"], time(13), time(17)),
    (["30"], time(17, 30), time(21)),
    (["10", "20"], time(9), time(17)),
    (["20", "30"], time(13), time(21)),
    (["10", "20", "30"], time(9), time(21)),  # 全日: one timed event over the opening hours
    (["99"], time(9), time(21)),  # a code the grid no longer has: the opening hours
    (["99", "30"], time(17, 30), time(21)),  # only the periods the grid knows count
]


@pytest.mark.parametrize(("codes", "start", "end"), HALL_SPANS)
def test_an_event_spans_its_periods_in_jst(codes: list[str], start: time, end: time) -> None:
    day = date(2026, 12, 3)
    for make in (
        lambda ctx, row: render.booking_event(ctx, row, "group"),
        lambda ctx, row: render.public_event(ctx, row, b"key"),
        lambda ctx, row: render.win_event(
            ctx, win(use_date=row.use_date, period_codes=row.period_codes)
        ),
    ):
        event = parse(make(context(), Row(use_date=day, period_codes=codes)))
        assert event.decoded("DTSTART") == datetime.combine(day, start, JST)
        assert event.decoded("DTEND") == datetime.combine(day, end, JST)
        # timed, never all-day (VALUE=DATE), and in the Tokyo zone the calendar defines
        assert isinstance(event.decoded("DTSTART"), datetime)
        assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
        assert event["DTEND"].params["TZID"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("day", "codes", "start_utc", "end_utc"),
    [
        # 00:00 JST on New Year's Day is 15:00 UTC on New Year's Eve
        (
            date(2027, 1, 1),
            ["N1"],
            datetime(2026, 12, 31, 15, tzinfo=UTC),
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
        ),
        # 21:00-23:59:59 JST on New Year's Eve stays on that UTC day
        (
            date(2026, 12, 31),
            ["N2"],
            datetime(2026, 12, 31, 12, tzinfo=UTC),
            datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC),
        ),
        # the whole JST day: two UTC dates
        (
            date(2027, 3, 1),
            ["N1", "N2"],
            datetime(2027, 2, 28, 15, tzinfo=UTC),
            datetime(2027, 3, 1, 14, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_periods_at_the_edges_of_the_day_are_on_the_use_date_in_jst(
    day: date, codes: list[str], start_utc: datetime, end_utc: datetime
) -> None:
    row = Row(room_id=NIGHT_ROOM_ID, use_date=day, period_codes=codes)
    event = parse(render.booking_event(context(), row, "group"))
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start, end) == (start_utc, end_utc)  # the same instants
    assert start.astimezone(JST).date() == day
    assert end.astimezone(JST).date() == day


def test_the_stamps_are_in_utc_from_the_last_change_of_what_each_reader_sees() -> None:
    made = datetime(2026, 11, 2, 9, 30, tzinfo=JST)  # 00:30 UTC
    decided = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    updated = datetime(2026, 11, 6, 11, 0, tzinfo=UTC)

    def stamps(event: bytes) -> tuple[datetime, datetime]:
        parsed = parse(event)
        assert b"DTSTAMP:" in event
        assert b"Z\r\n" in event.split(b"DTSTAMP:")[1][:20]  # UTC, written with Z
        return parsed.decoded("DTSTAMP"), parsed.decoded("LAST-MODIFIED")

    # A group or staff event changed last when its row did; never changed: when it was made.
    row = Row(created_at=made, updated_at=updated, decided_at=decided)
    assert stamps(render.booking_event(context(), row, "group")) == (updated, updated)
    fresh = row.but(updated_at=None)
    assert stamps(render.booking_event(context(), fresh, "staff")) == (made, made)
    # The public sees a tentative booking change when it was made, a taken one when decided.
    for status in (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL):
        held = row.but(status=status)
        assert stamps(render.public_event(context(), held, b"k")) == (made, made)
    assert stamps(render.public_event(context(), row, b"k")) == (decided, decided)
    undecided = row.but(decided_at=None)  # booked first-come: taken when made
    assert stamps(render.public_event(context(), undecided, b"k")) == (made, made)
    # A win changed when it was settled; pending, when it was made.
    assert stamps(render.win_event(context(), win(created_at=made))) == (made, made)
    lapsed = win(ApplicationStatus.LAPSED, created_at=made, settled_at=decided)
    assert stamps(render.win_event(context(), lapsed)) == (decided, decided)


def test_a_group_event_in_japanese() -> None:
    row = Row(period_codes=["10", "20"])
    event = parse(render.booking_event(context("ja"), row, "group"))
    assert event["UID"] == f"booking-41@{HOST}"
    assert event["URL"] == f"{BASE_URL}/my/bookings/41"
    assert event["SUMMARY"] == "定期練習 (第1会議室)"
    assert event["LOCATION"] == "川崎市民館 第1会議室, 川崎区東田町8"
    assert event["DESCRIPTION"] == (
        "状態: 予約確定\n団体: 川崎合唱団\n目的: 合唱・歌\n人数: 12\n"
        "区分: 午前 09:00–12:00・午後 13:00–17:00\n使用料: 12,340円"
    )
    assert event["TRANSP"] == "OPAQUE"


def test_a_group_event_in_english() -> None:
    row = Row(period_codes=["10", "20"], event_name=None, fee_total=1680)
    event = parse(render.booking_event(context("en"), row, "group"))
    assert event["SUMMARY"] == "Use (Meeting room 1)"
    assert event["LOCATION"] == "Kawasaki Civic Hall Meeting room 1, 川崎区東田町8"
    assert event["DESCRIPTION"] == (
        "Status: Confirmed\nGroup: 川崎合唱団\nPurpose: Singing\nHeadcount: 12\n"
        "Periods: Morning 09:00–12:00, Afternoon 13:00–17:00\nFee: ¥1,680"
    )


def test_an_unnamed_use_of_an_unknown_purpose_on_a_facility_without_address() -> None:
    row = Row(event_name=None, purpose="karaoke", period_codes=["30", "99"])
    event = parse(render.booking_event(context("ja", address=None), row, "group"))
    assert event["SUMMARY"] == "利用 (第1会議室)"
    assert event["LOCATION"] == "川崎市民館 第1会議室"
    assert "目的: karaoke\n" in str(event["DESCRIPTION"])
    assert "区分: 夜間 17:30–21:00・99\n" in str(event["DESCRIPTION"])


@pytest.mark.parametrize(
    ("email", "phone", "contact"),
    [
        ("rep-a@example.jp", "044-200-0000", "rep-a@example.jp 044-200-0000"),
        (None, "044-200-0000", "044-200-0000"),
        ("rep-a@example.jp", None, "rep-a@example.jp"),
        (None, None, ""),
    ],
)
def test_a_staff_event_shows_the_contact_and_links_to_the_desk(
    email: str | None, phone: str | None, contact: str
) -> None:
    row = Row(group_email=email, group_phone=phone)
    for lang, label in (("ja", "連絡先"), ("en", "Contact")):
        event = parse(render.booking_event(context(lang), row, "staff"))
        assert event["UID"] == f"booking-41.staff@{HOST}"
        assert event["URL"] == f"{BASE_URL}/manage/bookings/41"
        assert str(event["DESCRIPTION"]).endswith(f"\n{label}: {contact}")
    group = str(parse(render.booking_event(context(), row, "group"))["DESCRIPTION"])
    assert "連絡先" not in group
    if email:
        assert email not in group


@pytest.mark.parametrize(
    ("lang", "summary", "description", "location"),
    [
        ("ja", "予約済", "この時間は予約されています。", "川崎市民館 第1会議室, 川崎区東田町8"),
        (
            "en",
            "Booked",
            "This time is booked.",
            "Kawasaki Civic Hall Meeting room 1, 川崎区東田町8",
        ),
    ],
)
def test_a_public_event_is_a_busy_block_in_the_feeds_language(
    lang: render.Lang, summary: str, description: str, location: str
) -> None:
    raw = render.public_event(context(lang), Row(), b"key")
    event = parse(raw)
    assert (event["SUMMARY"], event["DESCRIPTION"], event["LOCATION"]) == (
        summary,
        description,
        location,
    )
    assert event["UID"] == f"{render.public_uid(b'key', Row())}@{HOST}"
    assert event["URL"] == f"{BASE_URL}/facilities/{FACILITY_ID}"
    unfolded = raw.decode().replace("\r\n ", "")
    for secret in ("川崎合唱団", "定期練習", "rep-a", "044-200", "12,340", "合唱", "41"):
        assert secret not in unfolded, secret


@pytest.mark.parametrize(
    ("lang", "summary", "description"),
    [
        (
            "ja",
            "抽選当選（要確定） (第1会議室)",
            "確認期間内に利用確定の手続きをしてください。\n目的: 会議\n区分: 午後 13:00–17:00",
        ),
        (
            "en",
            "Lottery win (to confirm) (Meeting room 1)",
            (
                "Confirm it in the confirmation period.\nPurpose: Meeting\n"
                "Periods: Afternoon 13:00–17:00"
            ),
        ),
    ],
)
def test_a_pending_win_in_the_feeds_language(
    lang: render.Lang, summary: str, description: str
) -> None:
    event = parse(render.win_event(context(lang), win()))
    assert (event["SUMMARY"], event["DESCRIPTION"]) == (summary, description)
    assert event["UID"] == f"lottery-5@{HOST}"
    assert event["URL"] == f"{BASE_URL}/my/lottery"
    unknown = parse(render.win_event(context(lang), win(purpose="karaoke")))
    assert ": karaoke\n" in str(unknown["DESCRIPTION"])


def test_an_event_of_a_room_no_longer_in_the_network_is_left_out() -> None:
    gone = 999
    assert render.booking_event(context(), Row(room_id=gone), "group") == b""
    assert render.booking_event(context(), Row(room_id=gone), "staff") == b""
    assert render.public_event(context(), Row(room_id=gone), b"key") == b""
    assert render.win_event(context(), win(room_id=gone)) == b""


def test_public_uids_are_opaque_per_feed_and_per_slot() -> None:
    uid = render.public_uid(b"key", Row())
    assert len(uid) == 32
    assert int(uid, 16) >= 0  # hexadecimal
    assert render.public_uid(b"other key", Row()) != uid
    for moved in (
        Row(id=42),
        Row(room_id=NIGHT_ROOM_ID),
        Row(use_date=date(2026, 12, 4)),
        Row(period_codes=["10", "20"]),
        Row(period_codes=["20"]),
    ):
        assert render.public_uid(b"key", moved) != uid, moved


def test_the_calendar_around_the_events() -> None:
    first = render.booking_event(context(), Row(id=1), "group")
    second = render.booking_event(context(), Row(id=2), "group")
    raw = render.calendar("合唱団, 本番; C:\\練習", [first, second])
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(second + b"END:VCALENDAR\r\n")
    assert raw.index(first) < raw.index(second)
    cal = icalendar.Calendar.from_ical(raw)
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [f"booking-1@{HOST}", f"booking-2@{HOST}"]
    assert cal["PRODID"] == render.PRODID
    assert (cal["VERSION"], cal["CALSCALE"], cal["METHOD"]) == ("2.0", "GREGORIAN", "PUBLISH")
    assert "X-WR-CALNAME:合唱団\\, 本番\\; C:\\\\練習\r\n".encode() in raw
    assert cal["X-WR-TIMEZONE"] == "Asia/Tokyo"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in raw
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in raw
    (zone,) = cal.walk("VTIMEZONE")
    assert zone["TZID"] == "Asia/Tokyo"
    (standard,) = zone.walk("STANDARD")
    assert standard.decoded("TZOFFSETTO") == timedelta(hours=9)
    assert render.calendar("空", []).count(b"BEGIN:VEVENT") == 0


def test_the_event_cache_keeps_the_most_recently_used() -> None:
    made: list[str] = []

    def maker(name: str) -> Callable[[], bytes]:
        def make() -> bytes:
            made.append(name)
            return name.encode()

        return make

    cache = render.EventCache(size=2)
    assert cache.get(("a",), maker("a")) == b"a"
    assert cache.get(("b",), maker("b")) == b"b"
    assert cache.get(("a",), maker("a")) == b"a"  # a hit: not made again, and now the newest
    assert made == ["a", "b"]
    cache.get(("c",), maker("c"))  # over the size: the least recently used (b) goes
    cache.get(("a",), maker("a"))
    assert made == ["a", "b", "c"]
    cache.get(("b",), maker("b"))  # made again; c, the least recently used, goes
    assert made == ["a", "b", "c", "b"]
    cache.get(("a",), maker("a"))
    cache.get(("b",), maker("b"))
    assert made == ["a", "b", "c", "b"]
    cache.get(("c",), maker("c"))
    assert made == ["a", "b", "c", "b", "c"]


# Each input a cached event is kept under, changed alone: the cache must not serve the old bytes.
BOOKING_KEY_CHANGES = [
    {"id": 42},
    {"sequence": 2, "headcount": 99},  # any edit of the booking raises its version
    {"status": BookingStatus.CANCELLED},
    {"group_name": "川崎少年合唱団"},
    {"group_email": "new@example.jp"},
    {"group_phone": "044-999-0000"},
]
PUBLIC_KEY_CHANGES = [
    {"id": 42},
    {"room_id": NIGHT_ROOM_ID},
    {"use_date": date(2026, 12, 4)},
    {"period_codes": ["10", "99"]},  # the same hours, another slot
    {"status": BookingStatus.CANCELLED},  # the same stamp (decided), another STATUS
    {"decided_at": CREATED + timedelta(days=1)},
]
CONTEXT_CHANGES = [
    {"lang": "en"},
    {"revision": 2},
    {"base_url": "https://b.example"},
    {"host": "b"},
]


@pytest.mark.parametrize("change", BOOKING_KEY_CHANGES)
def test_a_cached_group_or_staff_event_moves_with_each_input(change: dict[str, object]) -> None:
    cache = render.EventCache()
    row = Row(decided_at=CREATED)
    for detail in ("group", "staff"):
        render.booking_event(context(cache=cache), row, detail)
    for detail in ("group", "staff"):
        cached = render.booking_event(context(cache=cache), row.but(**change), detail)
        assert cached == render.booking_event(context(), row.but(**change), detail)


def test_a_cached_group_event_is_not_served_to_staff() -> None:
    cache = render.EventCache()
    render.booking_event(context(cache=cache), Row(), "group")
    staff = parse(render.booking_event(context(cache=cache), Row(), "staff"))
    assert staff["UID"] == f"booking-41.staff@{HOST}"
    assert "連絡先: rep-a@example.jp" in str(staff["DESCRIPTION"])


@pytest.mark.parametrize("change", PUBLIC_KEY_CHANGES)
def test_a_cached_public_event_moves_with_each_input(change: dict[str, object]) -> None:
    cache = render.EventCache()
    row = Row(decided_at=CREATED)
    render.public_event(context(cache=cache), row, b"key")
    cached = render.public_event(context(cache=cache), row.but(**change), b"key")
    assert cached == render.public_event(context(), row.but(**change), b"key")
    # and a held booking, whose stamp is when it was made
    held = Row(status=BookingStatus.HELD)
    render.public_event(context(cache=cache), held, b"key")
    later = held.but(created_at=CREATED + timedelta(hours=1))
    cached = render.public_event(context(cache=cache), later, b"key")
    assert cached == render.public_event(context(), later, b"key")


def test_a_cached_public_event_is_not_served_to_another_feed() -> None:
    cache = render.EventCache()
    render.public_event(context(cache=cache), Row(), b"one feed")
    other = render.public_event(context(cache=cache), Row(), b"another feed")
    assert other == render.public_event(context(), Row(), b"another feed")


def test_a_cached_win_moves_with_its_settlement() -> None:
    cache = render.EventCache()
    settled = CREATED + timedelta(days=3)
    steps = [
        win(),
        win(ApplicationStatus.CONFIRMED),  # the same (no) settlement time, another status
        win(ApplicationStatus.CONFIRMED, settled_at=settled),
        win(ApplicationStatus.CONFIRMED, settled_at=settled + timedelta(hours=1)),
    ]
    for application in steps:
        cached = render.win_event(context(cache=cache), application)
        assert cached == render.win_event(context(), application)


@pytest.mark.parametrize("change", CONTEXT_CHANGES)
def test_a_cached_event_is_not_served_in_another_context(change: dict[str, Any]) -> None:
    cache = render.EventCache()
    makers = [
        lambda ctx: render.booking_event(ctx, Row(), "group"),
        lambda ctx: render.booking_event(ctx, Row(), "staff"),
        lambda ctx: render.public_event(ctx, Row(), b"key"),
        lambda ctx: render.win_event(ctx, win()),
    ]
    for make in makers:
        make(context(cache=cache))
        assert make(context(cache=cache, **change)) == make(context(**change))


def test_a_public_uid_is_the_same_in_every_release() -> None:
    # A subscribed client knows an event by its UID: a release that computed UIDs otherwise
    # would make every client drop each busy block and add it again. The HMAC-SHA256 under the
    # feed's key of "id|room|date|codes", its first 32 hex digits:
    row = Row(id=41, room_id=70, use_date=date(2026, 12, 3), period_codes=["10", "20"])
    assert render.public_uid(b"key", row) == "e7a557b07496c78802d21c609d657ee2"


def test_a_calendar_named_like_its_own_end_keeps_its_events_inside() -> None:
    # A feed's name is the owner's free text; a name that reads END:VCALENDAR must not be
    # taken for the end of the calendar the events go before.
    event = render.booking_event(context(), Row(), "group")
    raw = render.calendar("END:VCALENDAR", [event])
    assert raw.endswith(event + b"END:VCALENDAR\r\n")
    cal = icalendar.Calendar.from_ical(raw)
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [f"booking-41@{HOST}"]


def test_line_ends_of_any_kind_are_one_line_feed() -> None:
    row = Row(event_name="練習\r\n本番\r予備\n終了")
    event = parse(render.booking_event(context(), row, "group"))
    assert event["SUMMARY"] == "練習\n本番\n予備\n終了 (第1会議室)"


def test_rooms_by_id_are_built_once_per_network_snapshot() -> None:
    # A feed renders thousands of events with contexts of one snapshot: the map is kept with it.
    snapshot = context().snapshot
    first = render.Context(render.EventCache(), snapshot, {}, "ja", BASE_URL, HOST)
    second = render.Context(render.EventCache(), snapshot, {}, "en", BASE_URL, HOST)
    assert first.rooms is second.rooms
    assert sorted(first.rooms) == sorted(room.id for room in snapshot.rooms)
