"""The search page's grid over HTTP (issue 18): a line per period with its label, Sundays and
public holidays alike, counter-only rooms marked 窓 with the facility's phone, a week view."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.inventory.models import Facility
from booking.inventory.services import bump_revision
from tests.helpers import room_id

DAY_HEADER = re.compile(
    r'<th scope="col" class="day ([a-z]*)"><time datetime="([\d-]+)" aria-hidden="true">(\d+)'
    r'<small>([^<]*)</small></time><span class="visually-hidden">([^<]*)</span></th>'
)
LINE = re.compile(r'<th scope="row" class="period">([^<]*)</th>(.*?)</tr>', re.DOTALL)
CELL = re.compile(r"<td>(.*?)</td>", re.DOTALL)


@dataclass
class Grid:
    days: dict[date, tuple[str, str]]  # each day's header class and its words (screen readers)
    rooms: dict[str, tuple[str, dict[str, list[str]]]]  # room: (its header, {label: cells})
    text: str


def read_grid(text: str) -> Grid:
    days = {
        date.fromisoformat(iso): (kind, html.unescape(words))
        for kind, iso, _, _, words in DAY_HEADER.findall(text)
    }
    rooms = {}
    for part in text.split("<tbody>")[1:]:
        body = part[: part.index("</tbody>")]
        header = body[body.index('<th scope="rowgroup"') : body.index("</th>")]
        name = html.unescape(re.sub(r"<[^>]+>", "", header.split("</a>", 1)[1])).strip()
        lines = {
            html.unescape(label): list(CELL.findall(cells)) for label, cells in LINE.findall(body)
        }
        rooms[name.split("窓")[0].split("Counter")[0].strip()] = (header, lines)
    return Grid(days, rooms, text)


async def grid(client: httpx.AsyncClient, lang: str, **params: str) -> Grid:
    page = await client.get("/search", params=params, headers={"Cookie": f"lang={lang}"})
    assert page.status_code == 200, page.text
    return read_grid(page.text)


def href(text: str, words: str) -> str:
    """The address of the link with these words."""
    found = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(words) + "<", text)
    assert found is not None, words
    return html.unescape(found.group(1))


async def test_each_line_names_its_period_and_holidays_are_red_like_sundays(
    client: httpx.AsyncClient, test_network: AsyncSession, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 12, 20, 1, 0, tzinfo=UTC))
    params = {"ward": "nakahara", "from": "2027-01-08", "to": "2027-01-14", "view": "grid"}
    ja = await grid(client, "ja", **params)
    # Saturday 9th, Sunday 10th, 成人の日 Monday 11th (a public holiday: red like a Sunday).
    assert ja.days[date(2027, 1, 9)][0] == "sat"
    assert ja.days[date(2027, 1, 10)][0] == "sun"
    assert ja.days[date(2027, 1, 11)] == ("sun", "1月11日(月) 成人の日")
    assert ja.days[date(2027, 1, 12)][0] == ""
    lines = ja.rooms["第1集会室"][1]
    assert list(lines) == ["午前", "午後", "夜間"]
    days = sorted(ja.days)
    evening = dict(zip(days, lines["夜間"], strict=True))
    # No evening on Sundays and holidays: an empty cell, never another period's mark.
    assert evening[date(2027, 1, 10)] == evening[date(2027, 1, 11)] == ""
    assert "夜間 空き" in evening[date(2027, 1, 12)]  # the link's words name the period
    for label, cells in lines.items():
        for cell in cells:
            assert cell == "" or f"{label} " in cell, (label, cell)

    en = await grid(client, "en", **params)
    assert en.days[date(2027, 1, 11)] == ("sun", "Mon, Jan 11 public holiday")
    assert list(en.rooms["Meeting Room 1"][1]) == ["Morning", "Afternoon", "Evening"]


async def test_a_counter_only_room_is_marked_with_the_phone_to_book_it(
    client: httpx.AsyncClient, test_network: AsyncSession
) -> None:
    await test_network.execute(
        update(Facility).where(Facility.key == "test-hall").values(phone="044-200-3939")
    )
    await bump_revision(test_network, datetime(2026, 11, 25, tzinfo=UTC))
    await test_network.commit()
    big = await room_id(test_network, "test-hall", "big-hall")
    params = {"ward": "nakahara", "from": "2026-12-10", "to": "2026-12-11", "view": "grid"}
    ja = await grid(client, "ja", **params)
    header, lines = ja.rooms["大ホール"]
    assert "窓口のみ：電話で予約" in header  # a Japanese colon
    assert '電話で予約 <a href="tel:044-200-3939">044-200-3939</a>' in header
    marks = [cell for cells in lines.values() for cell in cells]
    assert marks
    assert all('<span class="mark counter_only" role="img" aria-label="' in m for m in marks)
    assert (
        '<span class="mark counter_only" role="img" aria-label="午前 窓口のみ">窓</span>' in marks
    )
    assert f"/book?room={big}&" not in ja.text  # no online booking from the grid
    assert '<span class="mark counter_only">窓</span> 窓口のみ' in ja.text  # the key
    online = ja.rooms["第1集会室"][1]["午前"]
    assert all('<a class="mark open" href="/book?room=' in cell for cell in online)

    en = await grid(client, "en", **params)
    assert "Counter only: book by phone" in en.rooms["Main Hall"][0]
    # The list of free slots shows them too: they are free, at the counter.
    listed = await client.get(
        "/search", params={**params, "view": "list"}, headers={"Cookie": "lang=en"}
    )
    assert listed.status_code == 200
    assert "Main Hall" in listed.text


async def test_the_week_view_shows_seven_days_and_moves_by_weeks(
    client: httpx.AsyncClient, test_network: AsyncSession
) -> None:
    today = date(2026, 11, 25)
    month = await client.get(
        "/search", params={"ward": "nakahara", "from": today.isoformat(), "view": "grid"}
    )
    assert month.status_code == 200
    assert len(read_grid(month.text).days) == 31
    week = await client.get(href(month.text, "週表示"))
    assert week.status_code == 200
    shown = read_grid(week.text)
    assert sorted(shown.days) == [today + timedelta(days=i) for i in range(7)]
    assert '<input type="radio" name="view" value="week" checked>' in week.text
    assert "前の週" not in week.text  # no week before today to show
    following = await client.get(href(week.text, "次の週"))
    assert min(read_grid(following.text).days) == today + timedelta(days=7)
    back = await client.get(href(following.text, "前の週"))
    assert sorted(read_grid(back.text).days) == sorted(shown.days)
    again = await client.get(href(back.text, "月表示"))
    assert len(read_grid(again.text).days) == 31
    # A week whatever `to` says: the links move `from` only.
    long = await grid(client, "ja", ward="nakahara", view="week", to="2027-01-31")
    assert len(long.days) == 7
