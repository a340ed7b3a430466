"""The pure rules of a feed's fetch: the window of days it shows (each bound on both sides), the
validators after a render (Last-Modified a second either side of the last), and the conditional
request (If-None-Match, If-Modified-Since at the Last-Modified and a second either side)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from litestar import Request

from booking.calendars import feeds
from booking.calendars.controllers import _not_modified
from booking.errors import InvalidInput

JST = ZoneInfo("Asia/Tokyo")
TODAY = date(2027, 1, 3)


@pytest.mark.parametrize(
    ("past_days", "future_days"),
    [(0, 1), (feeds.MAX_PAST_DAYS, feeds.MAX_FUTURE_DAYS), (90, 400)],
)
def test_a_window_shows_its_first_and_last_day(past_days: int, future_days: int) -> None:
    win = feeds.window(TODAY, JST, past_days, future_days)
    assert win.start == TODAY - timedelta(days=past_days)
    assert win.end == TODAY + timedelta(days=future_days)


def test_a_window_at_its_limits() -> None:
    assert (feeds.MAX_PAST_DAYS, feeds.MAX_FUTURE_DAYS) == (366, 800)
    assert feeds.window(TODAY, JST, 366, 800).start == date(2026, 1, 2)
    assert feeds.window(TODAY, JST, 366, 800).end == date(2029, 3, 13)


@pytest.mark.parametrize(
    ("past_days", "future_days", "field"),
    [
        (-1, 1, "past_days"),
        (feeds.MAX_PAST_DAYS + 1, 1, "past_days"),
        (0, 0, "future_days"),
        (0, feeds.MAX_FUTURE_DAYS + 1, "future_days"),
    ],
)
def test_a_window_one_day_past_its_limits_is_refused(
    past_days: int, future_days: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        feeds.window(TODAY, JST, past_days, future_days)
    assert refused.value.field == field


def test_cancellations_stay_thirty_days_from_midnight_in_jst() -> None:
    win = feeds.window(TODAY, JST, 90, 400)
    assert win.since == datetime(2026, 12, 4, 0, 0, tzinfo=JST)  # 2026-12-03 15:00 UTC
    assert win.since.astimezone(UTC) == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


LAST = datetime(2026, 12, 1, 3, 0, 0, tzinfo=UTC)
SERVED = feeds.Validators("v1", "body-1", LAST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (LAST - timedelta(seconds=1), LAST + timedelta(seconds=1)),  # a clock set back
        (LAST, LAST + timedelta(seconds=1)),  # the same second: one later
        (LAST + timedelta(microseconds=999_999), LAST + timedelta(seconds=1)),
        (LAST + timedelta(seconds=1), LAST + timedelta(seconds=1)),
        (LAST + timedelta(seconds=2, microseconds=1), LAST + timedelta(seconds=2)),
    ],
)
def test_a_new_body_is_modified_at_least_a_second_after_the_last(
    now: datetime, expected: datetime
) -> None:
    new = feeds.after_render(SERVED, "v2", "body-2", now)
    assert new == feeds.Validators("v2", "body-2", expected)


@pytest.mark.parametrize("now", [LAST - timedelta(days=1), LAST, LAST + timedelta(days=1)])
def test_the_same_body_keeps_its_last_modified(now: datetime) -> None:
    assert feeds.after_render(SERVED, "v2", "body-1", now) == feeds.Validators("v2", "body-1", LAST)


def test_a_first_body_is_modified_now_in_whole_utc_seconds() -> None:
    now = datetime(2026, 12, 1, 12, 0, 5, 900_000, tzinfo=JST)
    new = feeds.after_render(feeds.Validators(None, None, None), "v1", "body-1", now)
    assert new == feeds.Validators("v1", "body-1", datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC))
    assert new.last_modified is not None
    assert new.last_modified.tzinfo is UTC


def request(*headers: tuple[str, str]) -> Request[object, object, object]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ical/x.ics",
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }
    return Request(scope=scope)  # type: ignore[arg-type]


ETAG = '"abc"'


@pytest.mark.parametrize(
    ("offset", "not_modified"),
    [(-1, False), (0, True), (1, True)],
)
def test_if_modified_since_at_and_a_second_either_side_of_last_modified(
    offset: int, not_modified: bool
) -> None:
    since = format_datetime(LAST + timedelta(seconds=offset), usegmt=True)
    # the stored Last-Modified has a fraction of a second: HTTP-dates have whole seconds
    stored = LAST + timedelta(microseconds=500_000)
    assert _not_modified(request(("if-modified-since", since)), ETAG, stored) is not_modified


@pytest.mark.parametrize(
    ("header", "not_modified"),
    [
        ("Tue, 01 Dec 2026 12:00:00 +0900", True),  # the same instant in JST
        ("Tue, 01 Dec 2026 11:59:59 +0900", False),
        ("Tue, 01 Dec 2026 03:00:00 -0000", True),  # UTC of unknown origin
        ("not a date", False),
        ("", False),
    ],
)
def test_if_modified_since_in_other_forms(header: str, not_modified: bool) -> None:
    assert _not_modified(request(("if-modified-since", header)), ETAG, LAST) is not_modified


def test_no_last_modified_means_modified() -> None:
    since = format_datetime(LAST, usegmt=True)
    assert not _not_modified(request(("if-modified-since", since)), ETAG, None)
    assert not _not_modified(request(), ETAG, LAST)


@pytest.mark.parametrize(
    ("headers", "not_modified"),
    [
        ([ETAG], True),
        (["W/" + ETAG], True),  # weak comparison
        (['"abc-"'], False),
        (['"ab"'], False),
        (["abc"], False),  # not quoted: another tag
        (['"x", ' + ETAG], True),  # a list
        (['"x",W/"y" , ' + ETAG + " "], True),
        (['"x"', ETAG], True),  # two header lines
        (['"x"', '"y"'], False),
        (["*"], True),
        ([""], False),
    ],
)
def test_if_none_match_compares_each_tag_of_each_line(
    headers: list[str], not_modified: bool
) -> None:
    found = request(*(("if-none-match", value) for value in headers))
    assert _not_modified(found, ETAG, LAST) is not_modified


def test_if_none_match_wins_over_if_modified_since() -> None:
    since = format_datetime(LAST + timedelta(days=1), usegmt=True)
    both = request(("if-none-match", '"stale"'), ("if-modified-since", since))
    assert not _not_modified(both, ETAG, LAST)
    old = format_datetime(LAST - timedelta(days=1), usegmt=True)
    matching = request(("if-none-match", ETAG), ("if-modified-since", old))
    assert _not_modified(matching, ETAG, LAST)
