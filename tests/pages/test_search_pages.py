"""The search page as a group's secretary uses it (issue 18): results first with the chosen
conditions in one line and the form folded behind「条件を変える」; the free slots by day and
room, each free period a chip whose words name the day, the room and the period, pages of
whole days; a facility's or a room's own search; the last search remembered; the facilities
no source places in a ward under「区不明」; counts with separators. Over HTTP, both engines.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.inventory.network import NetworkSnapshot, RoomInfo, SnapshotCache
from booking.pages import search
from tests.helpers import jst
from tests.lottery.test_cycle import application, login
from tests.pages.browsing import field_error
from tests.people import World
from tests.places import Hall, open_weekday

START = date(2026, 11, 26)  # the day after the tests' today
JA = {"Cookie": "lang=ja"}
EN = {"Cookie": "lang=en"}
# The bundled network: facilities whose ward no source gives (ward_id NULL), until staff set it.
WARDLESS_FACILITIES = 33


def _largest_ward(snapshot: NetworkSnapshot) -> tuple[str, int]:
    wards = (snapshot.facilities[r.facility_id].ward_id for r in snapshot.rooms)
    ward_id, rooms = Counter(w for w in wards if w is not None).most_common(1)[0]
    return next(k for k, v in snapshot.ward_keys.items() if v == ward_id), rooms


@pytest.fixture
async def snapshot(session: AsyncSession) -> NetworkSnapshot:
    return await SnapshotCache().get(session)


def _days(first: date, n: int) -> dict[str, str]:
    return {"from": first.isoformat(), "to": (first + timedelta(days=n - 1)).isoformat()}


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _results(page: str) -> str:
    return page.split('<section id="results"', 1)[1]


def _day_links(page: str) -> list[tuple[str, str]]:
    """(href, ISO date) of each link of the list's days."""
    nav = re.findall(r'<nav class="days"[^>]*>(.*?)</nav>', page, re.DOTALL)
    if not nav:
        return []
    found = re.findall(r'<a href="([^"]+)"[^>]*><time datetime="([0-9-]+)">', nav[0])
    return [(html.unescape(href), day) for href, day in found]


def _shown_day(page: str) -> tuple[str, str]:
    """(ISO date, markup) of the day the list shows."""
    found = re.findall(
        r'<section class="day"[^>]*>\s*<h3 id="day-heading"><time datetime="([0-9-]+)">'
        r"(.*?)</section>",
        page,
        re.DOTALL,
    )
    assert len(found) == 1
    return found[0]


def _chips(snapshot: NetworkSnapshot, page: str, day: str, block: str) -> set[tuple[int, str, str]]:
    """The day's bookable chips, each checked to name what it does, the day, the room."""
    label = _text(re.findall(rf'<time datetime="{day}">(.*?)</time>', page)[0])
    names = {r.id: r.name_ja for r in snapshot.rooms}
    listed = set()
    for href, words in re.findall(
        r'<a class="button chip [a-z_]+" href="([^"]+)">(.*?)</a>', block, re.DOTALL
    ):
        query = dict(parse_qsl(urlsplit(html.unescape(href)).query))
        assert query["date"] == day
        listed.add((int(query["room"]), day, query["period"]))
        # The chip's words: what it does, the day, the room, then the period shown.
        said = " ".join(_text(words).split())
        assert said.startswith(("予約する：", "抽選に申し込む：")), said
        assert label in said, said
        assert names[int(query["room"])] in said, said
    return listed


def _free(api: dict[str, Any]) -> set[tuple[int, str, str]]:
    return {
        (room["room_id"], day["date"], slot["period"])
        for room in api["rooms"]
        for day in room["days"]
        for slot in day["slots"]
    }


async def _api_free(client: httpx.AsyncClient, params: dict[str, str]) -> dict[str, Any]:
    found = await client.get(
        "/api/v1/availability", params={**params, "state": "open,lottery,counter_only"}
    )
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


# 1. Results first: the conditions in one line, the form folded behind「条件を変える」.


async def test_results_come_first_with_the_conditions_in_one_line(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    ward, _ = _largest_ward(snapshot)
    asked = {
        "ward": ward,
        "kind": "civic_hall",
        **_days(date(2027, 1, 4), 28),
        "period": "20",
        "capacity": "20",
        "purpose": "meeting",
    }
    shown = await client.get("/search", params=asked, headers=JA)
    assert shown.status_code == 200, field_error(shown.text, "to")
    page = shown.text
    main = page.split("<main", 1)[1]
    # The heading, the conditions' line, the folded form, then the results: nothing between.
    assert main.index('<p class="criteria">') < main.index('<details class="search-form">')
    assert main.index('<details class="search-form">') < main.index('id="results-heading"')
    assert '<details class="search-form">\n  <summary>条件を変える</summary>' in main
    criteria = _text(re.findall(r'<p class="criteria">(.*?)</p>', main, re.DOTALL)[0])
    ward_name = html.unescape(
        re.findall(r'<option value="' + ward + r'" selected>([^<]+)', main)[0]
    )
    assert criteria == (
        f"検索条件： {ward_name}、市民館、1月4日(月) – 1月31日(日)、午後、20人以上、会議・打合せ"
    ), criteria
    # The folded form still holds what was asked, to change one thing and search again.
    assert re.search(r'<input id="f-capacity" name="capacity" type="number" value="20"', main)
    english = await client.get("/search", params=asked, headers=EN)
    line = _text(re.findall(r'<p class="criteria">(.*?)</p>', english.text, re.DOTALL)[0])
    assert "Civic hall, Mon, Jan 4 – Sun, Jan 31, Afternoon, 20 or more people" in line, line
    assert "<summary>Change the conditions</summary>" in english.text


async def test_a_first_visit_and_a_bad_search_show_the_form_open(
    client: httpx.AsyncClient,
) -> None:
    for query in ("", "?ward=nonsense", "?facility=abc"):
        shown = await client.get(f"/search{query}", headers=JA)
        assert shown.status_code == (200 if not query else 400), query
        assert "<details" not in shown.text.split("<main", 1)[1], query  # nothing folded
        assert '<p class="criteria">' not in shown.text
        assert '<form method="get" action="/search" class="search"' in shown.text


# 2. By day and room, each free period a chip; pages of whole days.


async def test_a_ward_month_is_its_days_and_one_day_by_facility_and_room(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    ward, rooms = _largest_ward(snapshot)
    asked = {"ward": ward, **_days(START, 31)}
    shown = await client.get("/search", params=asked, headers=JA)
    assert shown.status_code == 200
    page = shown.text
    api = await _api_free(client, asked)
    free = _free(api)
    bookable = {f for f in free if snapshot_room(snapshot, f[0]).online_bookable}
    # Every day with a free slot is a link, once, in order; the first is shown.
    links = _day_links(page)
    assert [d for _, d in links] == sorted({day for _, day, _ in free})
    day, block = _shown_day(page)
    assert day == links[0][1]
    assert re.search(rf'datetime="{day}">[^<]*</time> <span class="count">', page)
    assert page.count('aria-current="page"><time') == 1
    items = re.findall(r'<li class="slot">', block)
    assert 1 <= len(items) <= rooms
    # Under its facility's heading, each room once.
    assert block.count('<h4 class="facility">') == len(
        {snapshot_room(snapshot, r).facility_id for r, d, _ in free if d == day}
    )
    assert _chips(snapshot, page, day, block) == {f for f in bookable if f[1] == day}
    # The count says every free slot of the month, with separators (1,227件).
    total = api["slot_count"]
    assert isinstance(total, int)
    assert total >= 1000
    assert f"{total:,}件" in page


def snapshot_room(snapshot: NetworkSnapshot, room_id: int) -> RoomInfo:
    return next(r for r in snapshot.rooms if r.id == room_id)


async def test_each_days_link_shows_that_day_and_a_stale_day_shows_a_day(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    ward, _ = _largest_ward(snapshot)
    asked = {"ward": ward, **_days(START, 7)}
    first = await client.get("/search", params=asked, headers=JA)
    links = _day_links(first.text)
    assert len(links) > 1
    bookable = {
        f
        for f in _free(await _api_free(client, asked))
        if snapshot_room(snapshot, f[0]).online_bookable
    }
    seen: set[tuple[int, str, str]] = set()
    for number, (href, day) in enumerate(links):
        shown = await client.get(href, headers=JA)  # each link leads to its day
        assert shown.status_code == 200
        assert _shown_day(shown.text)[0] == day
        seen |= _chips(snapshot, shown.text, day, _shown_day(shown.text)[1])
        # The day before and after, by name.
        before = re.findall(r'rel="prev">前の日', shown.text)
        after = re.findall(r'rel="next">次の日', shown.text)
        assert bool(before) == (number > 0)
        assert bool(after) == (number < len(links) - 1)
        # The day is no part of the search remembered.
        assert "day" not in unquote_cookie(shown)
    assert seen == bookable  # every free slot of the week on its day, none twice
    # A stale or hand-made day: the first day with free slots from it, else the first.
    for value, expected in [
        ("abc", links[0][1]),
        ("0001-01-01", links[0][1]),
        ("9999-12-31", links[0][1]),
        (
            "２０２６－１２－０１",
            "2026-12-01" if any(d == "2026-12-01" for _, d in links) else None,
        ),
        (links[-1][1], links[-1][1]),
    ]:
        shown = await client.get("/search", params={**asked, "day": value}, headers=JA)
        assert shown.status_code == 200, value
        assert 'role="alert"' not in shown.text
        if expected:
            assert _shown_day(shown.text)[0] == expected, value


def unquote_cookie(response: httpx.Response) -> str:
    header = _set_cookie(response, "last_search") or ""
    return unquote(header.split(";", 1)[0])


# 3. A facility's or a room's own search.


async def test_a_facility_and_a_room_are_searched_alone_and_can_be_dropped(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    room = next(
        r
        for r in snapshot.rooms
        if r.online_bookable and sum(x.facility_id == r.facility_id for x in snapshot.rooms) > 1
    )
    facility = snapshot.facilities[room.facility_id]
    asked = {**_days(START, 7), "facility": str(facility.id)}
    shown = await client.get("/search", params=asked, headers=JA)
    assert shown.status_code == 200
    results = _results(shown.text)
    facility_links = set(re.findall(r'<a href="/facilities/(\d+)">', results))
    assert facility_links == {str(facility.id)}
    assert facility.name_ja in _text(re.findall(r'<p class="criteria">(.*?)</p>', shown.text)[0])
    drop = re.findall(r'<p class="drops"><a href="([^"]+)">([^<]+)</a>', shown.text)
    assert drop[0][1] == html.escape(f"「{facility.name_ja}」の指定を外す", quote=False)
    wider = await client.get(html.unescape(drop[0][0]), headers=JA)  # the link leads somewhere
    assert wider.status_code == 200
    assert len(set(re.findall(r'<a href="/facilities/(\d+)">', _results(wider.text)))) > 1

    # A room's 「空きを探す」: that room alone, its facility chosen in the form, the room too.
    alone = await client.get("/search", params={**asked, "room": str(room.id)}, headers=JA)
    assert alone.status_code == 200
    rooms_found = {
        dict(parse_qsl(urlsplit(html.unescape(h)).query))["room"]
        for h in re.findall(r'class="button chip [a-z_]+" href="([^"]+)"', alone.text)
    }
    assert rooms_found == {str(room.id)}
    assert re.search(rf'<option value="{facility.id}" selected>', alone.text)
    assert re.search(rf'<option value="{room.id}" selected>', alone.text)
    drops = {
        html.unescape(t): html.unescape(h)
        for h, t in re.findall(
            r'<a href="([^"]+)">([^<]+)</a>',
            alone.text.split('<p class="drops">')[1].split("</p>")[0],
        )
    }
    room_only = drops[f"「{room.name_ja}」の指定を外す"]
    assert "facility=" in room_only
    assert "room=" not in room_only
    # A room alone names its facility.
    by_room = await client.get("/search", params={**_days(START, 7), "room": str(room.id)})
    assert by_room.status_code == 200
    assert re.search(rf'<option value="{facility.id}" selected>', by_room.text)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("facility=abc", "facility"),
        ("facility=999999", "facility"),
        ("facility=0", "facility"),
        ("facility=-3", "facility"),
        ("facility=99999999999999999999999", "facility"),
        ("facility=%EF%BC%91", "facility"),  # a full-width １ is no id of a link
        ("room=abc", "room"),
        ("room=999999", "room"),
        ("room=99999999999999999999999", "room"),
        ("ward=nonsense", "ward"),
        ("capacity=99999999999999999999", "capacity"),
    ],
)
async def test_bad_places_are_the_fields_error_never_a_500(
    client: httpx.AsyncClient, query: str, name: str
) -> None:
    for lang, message in (
        ("ja", "選択肢から選んでください。"),
        ("en", "Choose one of the options."),
    ):
        shown = await client.get(f"/search?{query}", headers={"Cookie": f"lang={lang}"})
        assert shown.status_code == 400, (query, shown.status_code)
        if name != "capacity":
            assert field_error(shown.text, name) == message, (query, lang)
        else:
            assert field_error(shown.text, name) is not None
        assert 'id="results-heading"' not in shown.text
        assert "last_search" not in shown.headers.get("set-cookie", "")


async def test_a_room_of_another_facility_is_the_rooms_error(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    room = snapshot.rooms[0]
    other = next(f for f in snapshot.facilities if f != room.facility_id)
    shown = await client.get(f"/search?facility={other}&room={room.id}", headers=EN)
    assert shown.status_code == 400
    assert field_error(shown.text, "room") == "Choose one of the options."


# 4. The last search remembered.


def _set_cookie(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


async def test_the_last_search_is_remembered_and_offered_on_a_blank_form(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    ward, _ = _largest_ward(snapshot)
    asked = {"ward": ward, **_days(date(2027, 1, 4), 7), "capacity": "20", "page": "1"}
    shown = await client.get("/search", params=asked, headers=JA)
    header = _set_cookie(shown, "last_search")
    assert header is not None
    attributes = header.lower()
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "httponly" in attributes
    assert "max-age=31622400" in attributes
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert len(value) <= 1024
    blank = await client.get("/search", headers={"Cookie": f"lang=ja; last_search={value}"})
    assert blank.status_code == 200
    offered = re.findall(
        r'<p class="last-search"><a href="([^"]+)">前回の条件で探す</a>：? ?(.*?)</p>', blank.text
    )
    assert offered, blank.text.split("<main", 1)[1][:800]
    href, words = offered[0]
    assert "page=" not in href  # the search, not the page it was on
    assert "20人以上" in _text(words)
    again = await client.get(html.unescape(href), headers=JA)  # the link leads to the search
    assert again.status_code == 200
    assert 'id="results-heading"' in again.text
    # A search with parameters is not redirected or replaced by the last one.
    other = await client.get(
        "/search", params=_days(START, 1), headers={"Cookie": f"last_search={value}"}
    )
    assert 'class="last-search"' not in other.text


async def test_a_last_search_from_the_past_searches_from_today(
    client: httpx.AsyncClient,
) -> None:
    stale = quote(
        urlencode({"kind": "civic_hall", "from": "2026-01-05", "to": "2026-01-09"}), safe=""
    )
    blank = await client.get("/search", headers={"Cookie": f"last_search={stale}"})
    href = html.unescape(re.findall(r'<p class="last-search"><a href="([^"]+)"', blank.text)[0])
    assert href == "/search?kind=civic_hall"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        quote("ward=nonsense", safe=""),
        quote("facility=999999", safe=""),
        quote("evil=1&ward=kawasaki", safe=""),
        quote("ward=kawasaki&ward=saiwai", safe=""),
        quote("kind=civic_hall&from=" + "9" * 2000, safe=""),
        quote("kind=civic_hall%0Aline", safe=""),
        "%",
    ],
)
async def test_a_bad_last_search_cookie_is_ignored(client: httpx.AsyncClient, value: str) -> None:
    blank = await client.get("/search", headers={"Cookie": f"last_search={value}"})
    assert blank.status_code == 200
    assert 'class="last-search"' not in blank.text


def test_a_remembered_search_is_at_most_a_kilobyte() -> None:
    """What a valid search keeps is far below 1 KB (its values are keys, dates and a number);
    a cookie past that, or with anything else in it, is read as none."""
    assert search.remembered(quote("view=" + "x" * 1100, safe=""), START) is None
    kept = search.remembered(quote("kind=civic_hall&view=list", safe=""), START)
    assert kept == "kind=civic_hall&view=list"


# 5. Facilities without a ward.


async def test_the_wardless_facilities_are_found_under_ward_not_set(
    client: httpx.AsyncClient, snapshot: NetworkSnapshot
) -> None:
    wardless = {f.id for f in snapshot.facilities.values() if f.ward_id is None}
    assert len(wardless) == WARDLESS_FACILITIES  # the bundled data's, until staff set them
    with_rooms = {r.facility_id for r in snapshot.rooms} & wardless
    api = await client.get("/api/v1/availability", params={"ward": "unknown", **_days(START, 14)})
    assert api.status_code == 200, api.text
    assert {room["facility_id"] for room in api.json()["rooms"]} == with_rooms
    assert with_rooms
    assert all(snapshot.facilities[f].ward_id is None for f in with_rooms)
    # No ward: every facility; a ward: none of these.
    ward, _ = _largest_ward(snapshot)
    in_ward = await client.get("/api/v1/availability", params={"ward": ward, **_days(START, 1)})
    assert not {r["facility_id"] for r in in_ward.json()["rooms"]} & wardless
    # Both wards at once: the union.
    both = await client.get(
        "/api/v1/availability",
        params=[("ward", ward), ("ward", "unknown"), *_days(START, 14).items()],
    )
    facilities = {r["facility_id"] for r in both.json()["rooms"]}
    assert with_rooms <= facilities
    assert facilities - with_rooms

    page = await client.get("/search", params={"ward": "unknown", **_days(START, 14)}, headers=JA)
    assert page.status_code == 200
    assert '<option value="unknown" selected>区不明</option>' in page.text
    assert "職員がまだ区を登録していません" in page.text
    assert "区不明" in _text(re.findall(r'<p class="criteria">(.*?)</p>', page.text)[0])
    shown = set(map(int, re.findall(r'<a href="/facilities/(\d+)">', _results(page.text))))
    assert shown
    assert shown <= with_rooms
    english = await client.get("/search", params={"ward": "unknown"}, headers=EN)
    assert "staff have not set it" in english.text
    assert '<option value="unknown" selected>Ward not set</option>' in english.text
    blank = await client.get("/search", headers=JA)
    assert '<option value="unknown">区不明</option>' in blank.text


async def test_the_api_refuses_a_ward_that_is_not_one(client: httpx.AsyncClient) -> None:
    refused = await client.get(
        "/api/v1/availability", params={"ward": "nonsense", **_days(START, 1)}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "ward"


async def test_a_lottery_chip_shows_its_applicants_and_the_key_says_what_they_are(
    world: World, hall: Hall, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A sighted secretary sees how many applied beside 抽 and a key saying what 抽 and the
    number are; a day with no lottery slot has no key."""
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    clock.set(jst(date(2027, 4, 17), 10))
    admin = await login(client, "admin@city.example")
    for group in (world.group_a, world.group_b):
        renewed = await client.post(f"/api/v1/groups/{group}/renew", headers=admin)
        assert renewed.status_code == 200, renewed.text
    for group, who in ((world.group_a, "member-a@example.jp"), (world.group_b, "rep-b@example.jp")):
        applied = await client.post(
            "/api/v1/lottery/applications",
            json=application(world, hall, day, ["10"], group),
            headers=await login(client, who),
        )
        assert applied.status_code == 201, applied.text
    params = {"facility": str(hall.facility_id), "room": str(hall.room_id), "period": "10"}
    page = await client.get("/search", params={**params, **_days(day, 1)}, headers=JA)
    assert page.status_code == 200
    lottery = rf'<a class="button chip lottery" href="[^"]*date={day}[^"]*">(.*?)</a>'
    chip = re.search(lottery, page.text)
    assert chip is not None
    assert '<span class="mark lottery" aria-hidden="true">抽<small>2</small></span>' in chip[1]
    room = snapshot_room(hall.snapshot, hall.room_id).name_ja
    assert _text(chip[1]).endswith(f"{room} 午前 抽2（抽選、応募2件）")
    assert "数字はこれまでの申込数です。" in _text(_results(page.text))
    # The first-come window: free slots, no lottery, no key.
    later = open_weekday(hall.snapshot, hall.facility_id, date(2027, 5, 10))
    plain = await client.get("/search", params={**params, **_days(later, 1)}, headers=JA)
    assert "button chip open" in plain.text
    assert "数字はこれまでの申込数です。" not in plain.text
