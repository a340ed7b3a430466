"""The pages of a series (定期利用): the repeat choice on the booking form and the counter's,
each date shown with its state and fee before booking, all or none and the free ones, the
series' page, the marks in my bookings and on the board. Over HTTP, both databases.

The clock is the tests' (25 November 2026): the first-come window reaches to 28 February, so
13 Tuesdays from 1 December are all in it, and 29 December is in the New Year closure.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.notifications.models import OutboxMessage
from booking.reservations.models import Booking, BookingStatus, Series
from tests.pages.browsing import alerts, changes, cookies, field_error, footprint, token
from tests.people import World
from tests.places import Hall

FIRST = date(2026, 12, 1)  # a Tuesday
LAST = FIRST + timedelta(weeks=12)  # 23 February 2027: 13 Tuesdays
NEW_YEAR = date(2026, 12, 29)  # the civic halls' year-end closure
BLOCKED = date(2027, 1, 19)


def _form(world: World, hall: Hall, **changed: Any) -> dict[str, Any]:
    return {
        "room": str(hall.room_id),
        "date": FIRST.isoformat(),
        "group_id": str(world.group_a),
        "periods": ["30"],
        "purpose": "meeting",
        "headcount": "12",
        "repeat": "week",
        "until": LAST.isoformat(),
        "skip": "",
        "request_key": "series-pages",
        **changed,
    }


async def _post(
    client: httpx.AsyncClient, world: World, role: str, path: str, form: dict[str, Any]
) -> httpx.Response:
    client.cookies.clear()
    return await client.post(
        path, data={**form, CSRF_FORM_FIELD: token(world, role)}, headers=cookies(world, role)
    )


async def _get(client: httpx.AsyncClient, world: World, role: str, path: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path, headers=cookies(world, role))


def _rows(page: str) -> dict[str, tuple[str, str]]:
    """The dates of a series' table: ISO date -> (state or status, fee), as shown (an
    estimated fee's ≈ left out)."""
    found = re.findall(
        r'<tr class="[^"]*">\s*<th scope="row">(?:<a [^>]*>)?<time datetime="([0-9-]+)">.*?</th>'
        r"\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
        page,
        re.DOTALL,
    )
    return {
        day: (html.unescape(state), html.unescape(re.sub(r"\s*<abbr.*", "", fee)))
        for day, state, fee in found
    }


async def _block(client: httpx.AsyncClient, hall: Hall, day: date) -> None:
    made = await client.post(
        "/api/v1/blocks",
        json={
            "room_id": hall.room_id,
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            "period_codes": ["30"],
            "reason": "maintenance",
        },
        headers=hall.manager,
    )
    assert made.status_code == 201, made.text


async def test_a_series_is_shown_date_by_date_then_the_free_dates_are_booked(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _block(client, hall, BLOCKED)
    before = await footprint(session)
    sent = await _post(client, world, "member", "/book", _form(world, hall))
    assert sent.status_code == 303, sent.text
    preview_path = sent.headers["location"]
    assert preview_path.startswith("/book/series?")
    assert CSRF_FORM_FIELD not in parse_qs(urlsplit(preview_path).query)  # no token in an address
    shown = await _get(client, world, "member", preview_path)
    assert shown.status_code == 200, shown.text
    assert not changes(before, await footprint(session)), "a preview wrote something"
    rows = _rows(shown.text)
    assert len(rows) == 13
    assert rows[NEW_YEAR.isoformat()] == ("休館日", "–")
    assert rows[BLOCKED.isoformat()] == ("利用停止", "–")
    fee = hall.fees["30"]
    assert rows[FIRST.isoformat()] == ("空き", f"￥{fee:,}")
    assert f"空きは11日、合計 ￥{11 * fee:,}" in shown.text

    # All or none: two dates are not free, nothing is booked, the refusal says so.
    fields = _form(world, hall, request_key="series-all")
    refused = await _post(client, world, "member", "/book/series", {**fields, "mode": "all"})
    assert refused.status_code == 422, refused.text
    assert alerts(refused.text) == [
        "予約できない日があります。空いている日だけを予約するか、日程を変えてください。"
    ]
    assert len(_rows(refused.text)) == 13
    assert not changes(before, await footprint(session))

    booked = await _post(client, world, "member", "/book/series", {**fields, "mode": "free"})
    assert booked.status_code == 303, booked.text
    series_id = int(re.findall(r"^/my/series/(\d+)\?done=booked$", booked.headers["location"])[0])
    bookings = (await session.scalars(select(Booking).where(Booking.series_id == series_id))).all()
    assert len(bookings) == 11
    assert {b.status for b in bookings} == {BookingStatus.CONFIRMED}
    # Sent again (a double click): the same series, not a second one.
    again = await _post(client, world, "member", "/book/series", {**fields, "mode": "free"})
    assert again.headers["location"] == booked.headers["location"]
    assert await session.scalar(select(Series.id).where(Series.id > series_id)) is None

    page = await _get(client, world, "member", booked.headers["location"])
    assert page.status_code == 200
    assert "予約しました：11件" in page.text
    rows = _rows(page.text)
    assert len(rows) == 11
    assert set(rows.values()) == {("予約確定", f"￥{fee:,}")}
    not_booked = re.search(r"<h2>予約していない日</h2>\s*<ul[^>]*>(.*?)</ul>", page.text, re.DOTALL)
    assert not_booked is not None
    assert re.findall(r'datetime="([0-9-]+)"', not_booked[1]) == [
        NEW_YEAR.isoformat(),
        BLOCKED.isoformat(),
    ]
    first = next(b for b in bookings if b.use_date == FIRST)
    assert f'href="/my/bookings/{first.id}"' in page.text


async def test_my_bookings_and_the_board_mark_a_series_occurrence(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    until = FIRST + timedelta(weeks=1)
    fields = _form(world, hall, until=until.isoformat(), mode="all")
    booked = await _post(client, world, "member", "/book/series", fields)
    assert booked.status_code == 303, booked.text
    series_id = int(re.findall(r"/my/series/(\d+)", booked.headers["location"])[0])
    mine = await _get(client, world, "member", f"/my/bookings?group={world.group_a}")
    assert mine.text.count(f'href="/my/series/{series_id}"') == 2
    client.cookies.clear()
    board = await client.get(
        f"/manage/facilities/{hall.facility_id}?date={FIRST.isoformat()}", headers=hall.manager
    )
    assert board.status_code == 200
    assert f'href="/manage/series/{series_id}"' in board.text
    staff = await client.get(f"/manage/series/{series_id}", headers=hall.manager)
    assert staff.status_code == 200
    assert len(_rows(staff.text)) == 2
    assert 'href="/manage/bookings/' in staff.text


async def test_the_repeat_fields_refused_beside_them_with_what_was_typed(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await footprint(session)
    cases = [
        ({"until": ""}, "until", "入力してください。"),
        ({"until": "2026-11-30"}, "until", "終了日が開始日より前です。"),
        ({"skip": "12/8"}, "skip", "日付はYYYY-MM-DDの形で、空白で区切って入力してください。"),
        ({"repeat": "daily"}, "repeat", "選択肢から選んでください。"),
    ]
    for changed, name, message in cases:
        shown = await _post(client, world, "member", "/book", _form(world, hall, **changed))
        assert shown.status_code == 422, (changed, shown.text)
        assert field_error(shown.text, name) == message, changed
        assert 'value="12"' in shown.text  # the headcount typed stays
    # Every field at once: the repeat's refusals beside another field's.
    both = await _post(client, world, "member", "/book", _form(world, hall, purpose="", until=""))
    assert field_error(both.text, "purpose") == "入力してください。"
    assert field_error(both.text, "until") == "入力してください。"
    # The service's refusal of a date to leave out, beside its field too.
    wrong = _form(world, hall, skip="2026-12-02")
    sent = await _post(client, world, "member", "/book", wrong)
    shown = await _get(client, world, "member", sent.headers["location"])
    assert shown.status_code == 422
    assert field_error(shown.text, "skip") == "除く日が繰り返しの日ではありません。"
    assert not changes(before, await footprint(session))


async def test_the_series_mail_links_to_the_series_page(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fields = _form(world, hall, until=FIRST.isoformat(), mode="all")
    booked = await _post(client, world, "member", "/book/series", fields)
    assert booked.status_code == 303, booked.text
    mail = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert mail is not None
    links = [w for w in mail.body_text.split() if w.startswith("http")]
    path = urlsplit(next(link for link in links if "/my/series/" in link)).path
    assert path == urlsplit(booked.headers["location"]).path
    followed = await _get(client, world, "representative", path)
    assert followed.status_code == 200, followed.text


async def test_the_rest_of_a_series_is_cancelled_with_each_charge_shown_first(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """From a date on: the dry run lists each date and its charge and changes nothing; the
    cancellation then leaves the earlier dates booked."""
    until = FIRST + timedelta(weeks=3)
    fields = _form(world, hall, until=until.isoformat(), mode="all")
    booked = await _post(client, world, "member", "/book/series", fields)
    series_id = int(re.findall(r"/my/series/(\d+)", booked.headers["location"])[0])
    page = await _get(client, world, "member", f"/my/series/{series_id}")
    assert f'href="/my/series/{series_id}/cancel"' in page.text
    start = FIRST + timedelta(weeks=2)
    before = await footprint(session)
    path = f"/my/series/{series_id}/cancel?from={start.isoformat()}"
    shown = await _get(client, world, "member", path)
    assert shown.status_code == 200, shown.text
    assert not changes(before, await footprint(session)), "a dry run wrote something"
    fee = hall.fees["30"]
    assert _rows(shown.text) == {
        start.isoformat(): (f"￥{fee:,}", "￥0"),
        until.isoformat(): (f"￥{fee:,}", "￥0"),
    }
    assert "2日の取り消しは無料です。" in shown.text
    done = await _post(
        client, world, "member", f"/my/series/{series_id}/cancel", {"from": start.isoformat()}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/my/series/{series_id}?done=cancelled"
    statuses = {
        b.use_date: b.status
        for b in await session.scalars(select(Booking).where(Booking.series_id == series_id))
    }
    assert statuses == {
        FIRST: BookingStatus.CONFIRMED,
        FIRST + timedelta(weeks=1): BookingStatus.CONFIRMED,
        start: BookingStatus.CANCELLED,
        until: BookingStatus.CANCELLED,
    }
    # Nothing left from that date on: said on the page, in Japanese.
    again = await _get(client, world, "member", path)
    assert again.status_code == 422
    assert alerts(again.text) == ["その日以降に取り消せる予約がありません。"]


async def test_the_counter_books_a_series_for_a_group_by_its_card_number(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    form = {
        "card_number": world.card_a,
        "room": str(hall.room_id),
        "date": (FIRST + timedelta(weeks=1)).isoformat(),
        "periods": ["30"],
        "purpose": "meeting",
        "headcount": "12",
        "mode": "book",
        "repeat": "two_weeks",
        "until": (FIRST + timedelta(weeks=5)).isoformat(),
        "request_key": "counter-series",
    }
    client.cookies.clear()
    held = await client.post(
        f"/manage/facilities/{hall.facility_id}/book",
        data={**form, "mode": "hold", CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"]},
        headers={"Cookie": hall.manager["Cookie"]},
    )
    assert held.status_code == 422, held.text
    assert field_error(held.text, "repeat") == (
        "繰り返しの予約は仮予約にできません。「予約」を選んでください。"
    )
    sent = await client.post(
        f"/manage/facilities/{hall.facility_id}/book",
        data={**form, CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"]},
        headers={"Cookie": hall.manager["Cookie"]},
    )
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.startswith(f"/manage/facilities/{hall.facility_id}/series?")
    assert world.card_a not in location
    shown = await client.get(location, headers={"Cookie": hall.manager["Cookie"]})
    assert shown.status_code == 200, shown.text
    assert list(_rows(shown.text)) == [(FIRST + timedelta(weeks=w)).isoformat() for w in (1, 3, 5)]
    booked = await client.post(
        f"/manage/facilities/{hall.facility_id}/series",
        data={
            **{k: v for k, v in form.items() if k != "card_number"},
            "group_id": str(world.group_a),
            "mode": "all",
            CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
        },
        headers={"Cookie": hall.manager["Cookie"]},
    )
    assert booked.status_code == 303, booked.text
    series_id = int(
        re.findall(r"^/manage/series/(\d+)\?done=booked$", booked.headers["location"])[0]
    )
    series = await session.get_one(Series, series_id)
    assert series.channel == "counter"
    desk = await client.get(booked.headers["location"], headers={"Cookie": hall.manager["Cookie"]})
    assert len(_rows(desk.text)) == 3
    assert f'href="/my/series/{series_id}/cancel?next=/manage/series/{series_id}"' in desk.text


async def test_the_same_weekday_of_each_month_says_which_and_lists_its_dates(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    form = await _get(
        client, world, "member", f"/book?room={hall.room_id}&date={FIRST.isoformat()}&period=30"
    )
    assert (
        '<label for="repeat-month_weekday">毎月の同じ週・曜日（毎月 第1火曜日）</label>'
        in form.text
    )
    fields = _form(world, hall, repeat="month_weekday", until="2027-02-28")
    sent = await _post(client, world, "member", "/book", fields)
    shown = await _get(client, world, "member", sent.headers["location"])
    assert shown.status_code == 200, shown.text
    assert list(_rows(shown.text)) == ["2026-12-01", "2027-01-05", "2027-02-02"]
    assert "<dt>繰り返し</dt><dd>毎月 第1火曜日</dd>" in shown.text
    client.cookies.clear()
    english = await client.get(
        sent.headers["location"], headers=cookies(world, "member", lang="en")
    )
    assert "<dt>Repeat</dt><dd>the first Tuesday of each month</dd>" in english.text


async def test_the_desk_cancels_the_rest_with_a_late_dates_charge_the_group_cannot(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Two days ahead is past the online deadline (3 days) and charged in full: the group's
    page says it is the counter's, the desk's page charges it, shown before."""
    late = date(2026, 11, 27)  # the clock's 25 November + 2
    fields = {
        "room": str(hall.room_id),
        "date": late.isoformat(),
        "group_id": str(world.group_a),
        "periods": ["30"],
        "purpose": "meeting",
        "headcount": "12",
        "repeat": "week",
        "until": (late + timedelta(weeks=2)).isoformat(),
        "mode": "all",
        "request_key": "desk-series",
        CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
    }
    client.cookies.clear()
    desk = {"Cookie": hall.manager["Cookie"]}
    booked = await client.post(
        f"/manage/facilities/{hall.facility_id}/series", data=fields, headers=desk
    )
    assert booked.status_code == 303, booked.text
    series_id = int(re.findall(r"/manage/series/(\d+)", booked.headers["location"])[0])
    fee = hall.fees["30"]

    group_view = await _get(client, world, "member", f"/my/series/{series_id}/cancel")
    assert _rows(group_view.text)[late.isoformat()] == (
        f"￥{fee:,}",
        f"施設の窓口でのみ（￥{fee:,}）",
    )
    assert "2日の取り消しは無料です。" in group_view.text

    client.cookies.clear()
    path = f"/my/series/{series_id}/cancel?next=/manage/series/{series_id}"
    desk_view = await client.get(path, headers=desk)
    assert desk_view.status_code == 200, desk_view.text
    assert set(_rows(desk_view.text).values()) == {
        (f"￥{fee:,}", f"￥{fee:,}"),
        (f"￥{fee:,}", "￥0"),
    }
    assert f"今3日を取り消すと、合計￥{fee:,}かかります。" in desk_view.text
    done = await client.post(
        f"/my/series/{series_id}/cancel",
        data={
            "from": "2026-11-25",
            "next": f"/manage/series/{series_id}",
            CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
        },
        headers=desk,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/manage/series/{series_id}?done=cancelled"
    charges = {
        b.use_date: (b.status, b.cancellation_charge)
        for b in await session.scalars(select(Booking).where(Booking.series_id == series_id))
    }
    assert charges == {
        late: (BookingStatus.CANCELLED, fee),
        late + timedelta(weeks=1): (BookingStatus.CANCELLED, 0),
        late + timedelta(weeks=2): (BookingStatus.CANCELLED, 0),
    }


async def test_the_desk_cancels_the_rest_for_the_facilitys_reason_free_shown_first(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The hall needed for an election: the desk chooses the facility's reason, each date's
    charge shows ￥0 before, and all are cancelled free; the group has no such choice and
    asking for it is refused with a single booking's words, nothing cancelled."""
    late = date(2026, 11, 27)  # past the online deadline: in full for the group's reasons
    fields = {
        "room": str(hall.room_id),
        "date": late.isoformat(),
        "group_id": str(world.group_a),
        "periods": ["30"],
        "purpose": "meeting",
        "headcount": "12",
        "repeat": "week",
        "until": (late + timedelta(weeks=2)).isoformat(),
        "mode": "all",
        "request_key": "desk-series-facility",
        CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
    }
    client.cookies.clear()
    desk = {"Cookie": hall.manager["Cookie"]}
    booked = await client.post(
        f"/manage/facilities/{hall.facility_id}/series", data=fields, headers=desk
    )
    assert booked.status_code == 303, booked.text
    series_id = int(re.findall(r"/manage/series/(\d+)", booked.headers["location"])[0])
    fee = hall.fees["30"]

    group_view = await _get(client, world, "member", f"/my/series/{series_id}/cancel")
    assert "施設の都合（無料）" not in group_view.text
    asked = await _post(
        client, world, "member", f"/my/series/{series_id}/cancel",
        {"from": "2026-11-25", "cause": "facility"},
    )  # fmt: skip
    assert asked.status_code == 422, asked.text
    assert "施設の職員のみが行えます。" in alerts(asked.text)

    client.cookies.clear()
    back = f"next=/manage/series/{series_id}"
    plain = await client.get(f"/my/series/{series_id}/cancel?{back}", headers=desk)
    assert "施設の都合（無料）" in plain.text
    assert f"合計￥{fee:,}かかります" in plain.text  # the group's reasons: the late date in full
    chosen = await client.get(f"/my/series/{series_id}/cancel?{back}&cause=facility", headers=desk)
    assert chosen.status_code == 200, chosen.text
    assert set(_rows(chosen.text).values()) == {(f"￥{fee:,}", "￥0")}
    assert "3日の取り消しは無料です。" in chosen.text
    assert re.search(r'id="cause-facility" name="cause" value="facility" checked', chosen.text)
    assert '<input type="hidden" name="cause" value="facility">' in chosen.text
    done = await client.post(
        f"/my/series/{series_id}/cancel",
        data={
            "from": "2026-11-25",
            "cause": "facility",
            "next": f"/manage/series/{series_id}",
            CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
        },
        headers=desk,
    )
    assert done.status_code == 303, done.text
    rows = await session.scalars(select(Booking).where(Booking.series_id == series_id))
    assert {(b.status, b.cancel_cause, b.cancellation_charge) for b in rows} == {
        (BookingStatus.CANCELLED, "facility", 0)
    }
