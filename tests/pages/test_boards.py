"""The facility desk's boards over HTTP, both databases: the week board is one table (a row
for each day's period, a column for each room) that still shows what the day board shows (the
group and its booking's state, a free slot's link to book it, a block); the day board is one
table a day; a date or a view that cannot be read shows today's day board and says why."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from booking.pages.manage import WEEK
from tests.pages.browsing import field_error
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import body


def _rows(page: str) -> list[str]:
    """The week table's body rows, in order."""
    body = page[page.index('<table class="board week">') :]
    body = body[: body.index("</table>")]
    return re.findall(r"<tr>(.*?)</tr>", body[body.index("</thead>") :], re.DOTALL)


def _cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)


async def _week(client: httpx.AsyncClient, hall: Hall, **params: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get(
        f"/manage/facilities/{hall.facility_id}",
        params={"view": "week", **params},
        headers={"Cookie": f"{hall.manager['Cookie']}; lang=en"},
    )


async def test_the_week_board_is_one_table_of_days_periods_and_rooms(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/api/v1/bookings",
        json=body(world, hall, purpose="meeting", headcount=10, event_name=None),
        headers=world.headers("member"),
    )
    assert made.status_code == 201, made.text
    next_day = hall.day + timedelta(days=1)
    blocked = await client.post(
        "/api/v1/blocks",
        json={
            "room_id": hall.room_id,
            "start_date": next_day.isoformat(),
            "end_date": next_day.isoformat(),
            "reason": "maintenance",
        },
        headers=hall.manager,
    )
    assert blocked.status_code == 201, blocked.text

    page = await _week(client, hall, date=hall.day.isoformat())
    assert page.status_code == 200
    assert page.text.count("<table") == 1
    rooms = [r for r in hall.snapshot.rooms if r.facility_id == hall.facility_id]
    header = page.text[page.text.index("<thead>") : page.text.index("</thead>")]
    assert header.count('<th scope="col"') == 2 + len(rooms)  # day, period, each room
    days = re.findall(r'<th scope="rowgroup"[^>]*><time datetime="([0-9-]+)"', page.text)
    assert days == [(hall.day + timedelta(days=n)).isoformat() for n in range(WEEK)]
    rows = _rows(page.text)
    assert all(len(_cells(row)) == len(rooms) for row in rows)
    column = [r.id for r in rooms].index(hall.room_id)

    # The hall's day: the morning's booking (the group, its state) in the room's column.
    morning = _cells(rows[0])[column]
    assert f'href="/manage/bookings/{made.json()["id"]}"' in morning
    assert "川崎合唱団" in morning
    assert "Confirmed" in morning
    # Its afternoon is free: a link to book it at the counter, named for a screen reader.
    afternoon = _cells(rows[1])[column]
    book = (
        f'href="/manage/facilities/{hall.facility_id}/book?room={hall.room_id}'
        f'&amp;date={hall.day.isoformat()}&amp;period=20"'
    )
    assert book in afternoon
    # The next day is blocked, every period.
    start_next = next(i for i, row in enumerate(rows) if next_day.isoformat() in row)
    assert "Not available" in _cells(rows[start_next])[column]


async def test_the_day_board_is_one_table_and_the_week_is_seven_days_on(
    hall: Hall, client: httpx.AsyncClient
) -> None:
    client.cookies.clear()
    day = await client.get(
        f"/manage/facilities/{hall.facility_id}",
        params={"date": hall.day.isoformat()},
        headers=hall.manager,
    )
    assert day.status_code == 200
    assert day.text.count('<table class="board day">') == 1
    assert '<table class="board week">' not in day.text
    week = await _week(client, hall, date=hall.day.isoformat())
    later = (hall.day + timedelta(days=WEEK)).isoformat()
    assert f"view=week&amp;date={later}" in week.text


async def test_a_date_or_view_that_cannot_be_read_shows_today_and_says_why(
    hall: Hall, client: httpx.AsyncClient
) -> None:
    for params, field, words in [
        ({"view": "week", "date": "2027-02-30"}, "date", "Enter a date as YYYY-MM-DD."),
        ({"view": "week", "date": "\x00"}, "date", "Enter a date as YYYY-MM-DD."),
        ({"view": "fortnight"}, "view", "Choose the day board or the week board."),
        ({"view": "x" * 5000}, "view", "Choose the day board or the week board."),
    ]:
        client.cookies.clear()
        page = await client.get(
            f"/manage/facilities/{hall.facility_id}",
            params=params,
            headers={"Cookie": f"{hall.manager['Cookie']}; lang=en"},
        )
        assert page.status_code == 200, params
        error = field_error(page.text, field)
        assert error is not None, params
        assert error.startswith(words), (params, error)
        if field == "view":
            assert '<table class="board day">' in page.text
        else:
            assert 'aria-invalid="true"' in page.text


async def test_the_week_board_reads_with_as_many_statements_as_the_day_board(
    hall: Hall, client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    """Seven days cost no more round trips than one: the board's queries cover a range of
    dates, never one a day or a room."""
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]).split()[0])

    async def board(view: str) -> httpx.Response:
        client.cookies.clear()
        return await client.get(
            f"/manage/facilities/{hall.facility_id}",
            params={"view": view, "date": hall.day.isoformat()},
            headers=hall.manager,
        )

    for view in ("day", "week"):  # the session's first use and the caches: not counted
        await board(view)
    costs = []
    for view in ("day", "week"):
        event.listen(connection.sync_connection, "before_cursor_execute", seen)
        try:
            statements.clear()
            shown = await board(view)
            costs.append(Counter(statements))
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", seen)
        assert shown.status_code == 200
    assert costs[0] == costs[1], costs
    assert costs[1]["SELECT"] <= 12, costs  # a handful, whatever the week
