"""Invariants of the rendered events, on random rows (Hypothesis; pure, no database):

- the cache of rendered events never serves bytes other than a fresh render would make, across
  changes of the row, its group, its status and the context (language, network revision, URL);
- a public event is a function of what the public sees (the slot, taken or tentative, when that
  last changed) and of nothing else: its UID is stable under every change the public cannot
  see, and two rows make the same bytes exactly when the public sees the same;
- rendering is deterministic (a body's ETag is its hash) and a body moves with what it shows;
- any text (names, addresses, the calendar's name) reads back through a parser as written, less
  the control characters RFC 5545 TEXT cannot carry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import icalendar
import vobject
from hypothesis import given
from hypothesis import strategies as st

from booking.calendars import render
from booking.lottery.models import ApplicationStatus
from booking.reservations.models import BookingStatus
from tests.calendars.calendar_world import NIGHT_ROOM_ID, ROOM_ID, Row, context, parse, win

CODES = ["10", "20", "30", "N1", "N2", "99"]
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - Hypothesis wants naive bounds
    max_value=datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
codes = st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True).map(
    lambda found: sorted(found, key=CODES.index)
)
names = st.text(min_size=1, max_size=12)
# every column of a booking that its event may show (id and group data apart)
booking_fields: dict[str, st.SearchStrategy[Any]] = {
    "room_id": st.sampled_from([ROOM_ID, NIGHT_ROOM_ID]),
    "use_date": st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    "period_codes": codes,
    "updated_at": st.none() | moments,
    "created_at": moments,
    "decided_at": st.none() | moments,
    "event_name": st.none() | names,
    "purpose": st.sampled_from(["singing", "meeting", "karaoke"]),
    "headcount": st.integers(1, 500),
    "fee_total": st.integers(0, 200_000),
}
group_fields: dict[str, st.SearchStrategy[Any]] = {
    "group_name": names,
    "group_email": st.none() | st.sampled_from(["a@example.jp", "b@example.jp"]),
    "group_phone": st.none() | st.sampled_from(["044-200-0000", "044-999-0000"]),
}
rows = st.builds(
    Row,
    id=st.integers(1, 4),
    sequence=st.integers(0, 5),
    status=st.sampled_from(BookingStatus),
    **booking_fields,
    **group_fields,
)
settings_of_context = st.fixed_dictionaries(
    {
        "lang": st.sampled_from(["ja", "en"]),
        "revision": st.integers(1, 2),
        "base_url": st.sampled_from(["https://a.example.jp", "https://b.example.jp"]),
        "host": st.sampled_from(["a.example.jp", "b.example.jp"]),
    }
)


def one_of_fields(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of([st.fixed_dictionaries({name: values}) for name, values in fields.items()])


# A change of the booking itself raises its SEQUENCE (the row's version counter) ...
edits = st.tuples(st.just("edit"), st.fixed_dictionaries({}, optional=booking_fields))
# ... a change of its group does not (the cache keys on the group's data instead) ...
regroups = st.tuples(st.just("group"), one_of_fields(group_fields))
# ... and nor, here, does a change of status (the cache keys on the status too).
restatuses = st.tuples(st.just("status"), st.sampled_from(BookingStatus))
recontexts = st.tuples(st.just("context"), settings_of_context)
steps = st.lists(st.one_of(edits, regroups, restatuses, recontexts), min_size=1, max_size=5)


def _apply(row: Row, step: tuple[str, Any]) -> Row:
    kind, change = step
    if kind == "edit":
        return row.but(**change, sequence=row.sequence + 1)
    if kind == "group":
        return row.but(**change)
    return row.but(status=change)


@given(rows, steps)
def test_a_cached_group_or_staff_event_is_what_a_fresh_render_makes(
    row: Row, changes: list[tuple[str, Any]]
) -> None:
    cache = render.EventCache()
    settings: dict[str, Any] = {}
    for step in [("start", None), *changes]:
        if step[0] == "context":
            settings = step[1]
        elif step[0] != "start":
            row = _apply(row, step)
        for detail in ("group", "staff"):
            cached = render.booking_event(context(cache=cache, **settings), row, detail)
            assert cached == render.booking_event(context(**settings), row, detail)


def one_of_fields(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of([st.fixed_dictionaries({name: values}) for name, values in fields.items()])


SEEN = ("room_id", "use_date", "period_codes", "created_at", "decided_at")
one_field = st.one_of(
    st.fixed_dictionaries({"status": st.sampled_from(BookingStatus)}),
    one_of_fields({"id": st.integers(1, 4)} | {k: booking_fields[k] for k in SEEN}),
    one_of_fields(group_fields | {k: v for k, v in booking_fields.items() if k not in SEEN}),
)
public_steps = st.lists(
    st.one_of(
        st.tuples(st.just("row"), one_field),
        st.tuples(st.just("context"), settings_of_context),
        st.tuples(st.just("feed"), st.sampled_from([b"k1", b"k2"])),
    ),
    max_size=5,
)


@given(rows, public_steps)
def test_a_cached_public_event_is_what_a_fresh_render_makes(
    row: Row, changes: list[tuple[str, Any]]
) -> None:
    cache = render.EventCache()
    settings: dict[str, Any] = {}
    uid_key = b"k1"
    for kind, change in [("start", None), *changes]:  # one thing at a time, no version moved
        if kind == "row":
            row = row.but(**change)
        elif kind == "context":
            settings = change
        elif kind == "feed":
            uid_key = change
        cached = render.public_event(context(cache=cache, **settings), row, uid_key)
        assert cached == render.public_event(context(**settings), row, uid_key)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([ApplicationStatus.WON, ApplicationStatus.CONFIRMED]),
            st.none() | moments,
            settings_of_context,
        ),
        max_size=4,
    )
)
def test_a_cached_win_is_what_a_fresh_render_makes(
    renders: list[tuple[ApplicationStatus, datetime | None, dict[str, Any]]],
) -> None:
    cache = render.EventCache()
    for status, settled_at, settings in renders:  # one application, settled or not
        application = win(status, settled_at=settled_at)
        cached = render.win_event(context(cache=cache, **settings), application)
        assert cached == render.win_event(context(**settings), application)


# The oracle of what the public sees of a booking.
PUBLIC_STATUS = {
    BookingStatus.CONFIRMED: "taken",
    BookingStatus.COMPLETED: "taken",
    BookingStatus.NO_SHOW: "taken",
    BookingStatus.PENDING_APPROVAL: "tentative",
    BookingStatus.HELD: "tentative",
    BookingStatus.CANCELLED: "free",
}


def _seen_by_public(row: Row) -> tuple[object, ...]:
    status = PUBLIC_STATUS[row.status]
    changed = row.created_at if status == "tentative" else (row.decided_at or row.created_at)
    stamp = changed.replace(microsecond=0)  # iCalendar writes whole seconds
    return (row.id, row.room_id, row.use_date, tuple(row.period_codes), status, stamp)


@given(
    rows,
    st.fixed_dictionaries(
        {}, optional={**booking_fields, **group_fields, "status": st.sampled_from(BookingStatus)}
    ),
)
def test_a_public_event_moves_only_with_what_the_public_sees(
    row: Row, change: dict[str, Any]
) -> None:
    other = row.but(**change, sequence=row.sequence + 1)
    before = render.public_event(context(), row, b"key")
    after = render.public_event(context(), other, b"key")
    assert (before == after) == (_seen_by_public(row) == _seen_by_public(other))
    slot = ("id", "room_id", "use_date", "period_codes")  # the same slot, whatever its status
    if all(getattr(row, name) == getattr(other, name) for name in slot):
        assert parse(before)["UID"] == parse(after)["UID"]


shown_changes = st.one_of(
    st.fixed_dictionaries({"status": st.sampled_from(BookingStatus)}),
    st.fixed_dictionaries({"sequence": st.integers(6, 9)}),
    st.fixed_dictionaries({"group_name": names}),
    st.fixed_dictionaries({"id": st.integers(5, 9)}),
)


@given(st.lists(rows, min_size=1, max_size=3), st.data(), shown_changes, settings_of_context)
def test_a_feed_body_is_deterministic_and_moves_with_what_its_events_show(
    first: list[Row], data: st.DataObject, change: dict[str, Any], settings: dict[str, Any]
) -> None:
    # A feed's ETag is the hash of its body: it holds exactly as long as the body does.
    def body(found: list[Row]) -> bytes:
        ctx = context(cache=render.EventCache(), **settings)
        return render.calendar("feed", [render.booking_event(ctx, r, "group") for r in found])

    one = body(first)
    assert body(first) == one  # the same rows, the same bytes
    index = data.draw(st.integers(0, len(first) - 1))
    second = [*first]
    second[index] = first[index].but(**change)  # one event shows another status, name, ...
    before, after = first[index], second[index]
    if (before.status, before.sequence, before.id, _clean(before.group_name)) != (
        after.status,
        after.sequence,
        after.id,
        _clean(after.group_name),
    ):
        assert body(second) != one


def _clean(text: str) -> str:
    """The oracle: lines end in LF, and no control character but TAB and LF."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\t\n" or not (ord(c) < 0x20 or ord(c) == 0x7F))


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_any_text_reads_back_through_the_icalendar_parser(
    event_name: str, group_name: str, address: str
) -> None:
    row = Row(event_name=event_name, group_name=group_name)
    event = parse(render.booking_event(context(address=address), row, "group"))
    assert event["SUMMARY"] == f"{_clean(event_name)} (第1会議室)"
    lines = f"状態: 予約確定\n団体: {group_name}\n目的: 合唱・歌\n人数: 12\n区分: 午前 09:00–12:00"
    assert event["DESCRIPTION"] == _clean(lines + "\n使用料: 12,340円")
    assert event["LOCATION"] == f"川崎市民館 第1会議室, {_clean(address)}"


@given(st.text())
def test_any_calendar_name_reads_back_through_a_parser(name: str) -> None:
    # icalendar leaves an X- property as written; vobject reads it as TEXT
    raw = render.calendar(name, [])
    assert vobject.readOne(raw.decode()).x_wr_calname.value == _clean(name)
    assert icalendar.Calendar.from_ical(raw)["X-WR-TIMEZONE"] == "Asia/Tokyo"
