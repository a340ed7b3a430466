"""The staff's statistics dashboard over HTTP, both databases: who sees which facilities, the
figures shown are report.py's (table() and total()) formatted, a span that cannot be used is the
form again with the reason beside its field (400, never 500), every table downloads as CSV
and XLSX, and the page speaks Japanese or English."""

from __future__ import annotations

import html
import re
from io import BytesIO
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.network import SnapshotCache
from booking.pages.i18n import Texts
from booking.pages.statistics import TABLES, shown_cell
from booking.statistics.counts import CountsCache
from booking.statistics.report import DEMAND, OCCUPANCY, USE, Source, heat_map, table, total
from booking.statistics.span import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, Span
from tests.pages.browsing import cookies, field_error
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import body

PAGE = "/manage/statistics"
FY2026 = Span.fiscal_year(2026)  # the hall's day (February 2027) is in it
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _get(
    client: httpx.AsyncClient, headers: dict[str, str], path: str = PAGE, **params: str
) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path, params=params, headers=headers)


def _as(world: World, role: str, lang: str = "en") -> dict[str, str]:
    return cookies(world, role, lang=lang)


def _hall_manager(hall: Hall, lang: str = "en") -> dict[str, str]:
    return {"Cookie": f"{hall.manager['Cookie']}; lang={lang}"}


async def _book(client: httpx.AsyncClient, world: World, hall: Hall, **changes: Any) -> int:
    made = await client.post(
        "/api/v1/bookings", json=body(world, hall, **changes), headers=world.headers("member")
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _table(page: str, table_id: str) -> list[list[str]]:
    """The table's rows (header row first) as the page shows them, tags dropped."""
    found = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.DOTALL)
    assert found, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", found[1], re.DOTALL)
    return [
        [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        for row in rows
    ]


def _headline(page: str) -> dict[str, tuple[str, str]]:
    """The headline's figures: title -> (value, formula)."""
    found = re.findall(
        r'<div><dt>(.*?)</dt><dd class="figure">(.*?)</dd><dd class="formula">(.*?)</dd></div>',
        page,
    )
    return {html.unescape(t): (html.unescape(v), html.unescape(f)) for t, v, f in found}


async def test_a_manager_sees_their_hall_and_the_figures_are_the_reports(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _book(client, world, hall, period_codes=["10", "20"])
    await _book(client, world, hall, period_codes=["30"], headcount=30)

    page = await _get(client, _hall_manager(hall), facility=str(hall.facility_id))
    assert page.status_code == 200, page.text
    texts = Texts("en", world.settings.tz)
    source = Source(session, await SnapshotCache().get(session), CountsCache(), world.settings.tz)
    hall_only = frozenset({hall.facility_id})
    occupancy = await total(source, OCCUPANCY, FY2026, hall_only)
    demand = await total(source, DEMAND, FY2026, hall_only)
    use = await total(source, USE, FY2026, hall_only)
    assert use[0] == 2  # the two bookings
    assert isinstance(occupancy[1], int)
    assert occupancy[1] >= 3
    headline = _headline(page.text)
    assert headline == {
        "Occupancy": (shown_cell(occupancy[2], "rate", texts), "booked slots ÷ bookable slots"),
        "Applications per slot": (
            "–",  # no lottery application: nothing to divide
            "lottery applications ÷ slots applied for",
        ),
        "Win rate": ("–", "applications drawn ÷ lottery applications"),
        "Bookings": ("2", "bookings confirmed, used or not turned up to"),
        "Fees charged": (
            shown_cell(use[6], "yen", texts),
            "the fees of those bookings plus the charges of late cancellations",
        ),
    }
    assert demand[3] is None
    fees = sum(hall.fees[p] for p in ("10", "20", "30"))
    assert use[6] == fees
    assert headline["Fees charged"][0] == f"¥{fees:,}"

    # Each table as table() makes it: the names, then the figures formatted.
    by_month = await table(source, OCCUPANCY, FY2026, ("month",), hall_only)
    shown = _table(page.text, "occupancy_by_month")
    assert shown[0] == ["Month", "Bookable slots", "Booked slots", "Occupancy"]
    assert shown[1:] == [
        [shown_cell(v, c.unit, texts) for v, c in zip(row, by_month.columns, strict=True)]
        for row in by_month.rows
    ]
    february = next(row for row in shown if row[0] == "Feb 2027")
    assert february[2] == "3"
    rooms = (await heat_map(source, FY2026, "room", "month", hall_only)).table
    shown_rooms = _table(page.text, "occupancy_room_month")
    assert len(shown_rooms) == 1 + len(rooms.rows)
    for category in ("use_by_category", "use_by_residency", "demand_by_month"):
        assert _table(page.text, category)
    # Each chart points at its table.
    for table_id in (
        "occupancy_room_month",
        "occupancy_weekday_period",
        "demand_by_month",
        "occupancy_by_month",
    ):
        assert f'aria-details="{table_id}"' in page.text


async def test_who_sees_which_facilities(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    # An administrator: the whole network, by ward; or one ward's facilities; or one facility.
    city = await _get(client, _as(world, "admin"))
    assert city.status_code == 200, city.text
    assert 'id="occupancy_ward_month"' in city.text
    assert 'href="/manage/statistics" aria-current="page"' in city.text  # the admin nav
    ward = hall.snapshot.facilities[hall.facility_id].ward_id
    assert ward is not None
    wards = await _get(client, _as(world, "admin"), ward="no-such-ward")
    assert wards.status_code == 400
    assert field_error(wards.text, "ward") == "Choose one of the options."
    one = await _get(client, _as(world, "admin"), facility=str(hall.facility_id))
    assert one.status_code == 200
    assert 'id="occupancy_room_month"' in one.text
    assert f'href="/manage/statistics?facility={hall.facility_id}" aria-current="page"' in one.text
    assert (await _get(client, _as(world, "admin"), facility="999999")).status_code == 404
    bad = await _get(client, _as(world, "admin"), facility="hall")
    assert bad.status_code == 400
    assert field_error(bad.text, "facility") == "Choose one of the options."

    # A manager: their own facilities; another's is refused, as on every desk page.
    mine = await _get(client, _hall_manager(hall))
    assert mine.status_code == 200
    assert 'id="occupancy_room_month"' in mine.text  # one facility: its rooms
    theirs = await _get(client, _hall_manager(hall), facility=str(world.here))
    assert theirs.status_code == 403
    assert "That facility is not assigned to you." in theirs.text
    other = await _get(client, _as(world, "manager_here"), facility=str(hall.facility_id))
    assert other.status_code == 403

    # A group's member is no staff; nobody logged in goes to the login.
    assert (await _get(client, _as(world, "member"))).status_code == 403
    assert (await _get(client, _as(world, "representative"))).status_code == 403
    anonymous = await _get(client, {})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fmanage%2Fstatistics"


async def test_a_managers_figures_are_their_facilities_only(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    """The hall's booking counts on its manager's and the administrator's pages, not on
    another facility's manager's."""
    await _book(client, world, hall)
    bookings = {
        role: _headline((await _get(client, headers)).text)["Bookings"][0]
        for role, headers in (
            ("hall", _hall_manager(hall)),
            ("admin", _as(world, "admin")),
            ("elsewhere", _as(world, "manager_here")),
        )
    }
    assert bookings == {"hall": "1", "admin": "1", "elsewhere": "0"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"fiscal_year": "abc"}, "fiscal_year", "Enter a whole number."),
        ({"fiscal_year": "1899"}, "fiscal_year", f"Enter {FIRST_FISCAL_YEAR:,} or more."),
        ({"fiscal_year": "99999"}, "fiscal_year", f"Enter {LAST_FISCAL_YEAR:,} or less."),
        ({"from": "2026-13-01", "to": "2027-01-01"}, "from", "Enter a date as YYYY-MM-DD."),
        ({"from": "2026-04-01"}, "to", "a range needs both from and to"),
        ({"from": "2027-04-01", "to": "2026-04-01"}, "to", "must not be before from"),
        (
            {"from": "2024-04-01", "to": "2026-04-02"},
            "to",
            "a range covers at most 731 days (2 years)",
        ),
        (
            {"fiscal_year": "2026", "from": "2026-04-01", "to": "2026-05-01"},
            "fiscal_year",
            "give fiscal_year or from and to, not both",
        ),
    ],
)
async def test_a_span_that_cannot_be_used_is_the_form_again_with_the_reason(
    world: World, client: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    page = await _get(client, _as(world, "admin"), **params)
    assert page.status_code == 400, page.text
    assert field_error(page.text, field) == message
    assert "At a glance" not in page.text
    download = await _get(client, _as(world, "admin"), f"{PAGE}/use_by_category.csv", **params)
    assert download.status_code == 400
    assert download.headers["content-type"].startswith("text/html")


async def test_a_range_of_dates_and_a_fiscal_year_are_shown_and_kept_by_the_downloads(
    world: World, client: httpx.AsyncClient
) -> None:
    ranged = await _get(client, _as(world, "admin"), **{"from": "2026-04-01", "to": "2026-06-30"})
    assert ranged.status_code == 200
    assert [row[0] for row in _table(ranged.text, "occupancy_by_month")[1:]] == [
        "Apr 2026", "May 2026", "Jun 2026",
    ]  # fmt: skip
    assert (
        "/manage/statistics/occupancy_by_month.csv?from=2026-04-01&amp;to=2026-06-30" in ranged.text
    )
    assert 'rel="prev"' not in ranged.text  # no year before a range of dates
    year = await _get(client, _as(world, "admin"), fiscal_year="2025", ward="kawasaki")
    assert "/manage/statistics/demand_by_month.xlsx?fiscal_year=2025&amp;ward=kawasaki" in year.text
    assert '<a href="?fiscal_year=2024&amp;ward=kawasaki" rel="prev">FY2024</a>' in year.text
    assert '<a href="?fiscal_year=2026&amp;ward=kawasaki" rel="next">FY2026</a>' in year.text
    assert len(_table(year.text, "occupancy_by_month")) == 1 + 12


async def test_every_table_downloads_as_csv_and_xlsx(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    await _book(client, world, hall, period_codes=["10", "20"])
    manager = _hall_manager(hall, lang="ja")
    query = {"facility": str(hall.facility_id), "fiscal_year": "2026"}
    page = await _get(client, manager, **query)
    keys = re.findall(r'href="/manage/statistics/(\w+)\.csv\?', page.text)
    assert len(keys) == 6
    assert set(keys) <= set(TABLES)
    for key in TABLES:
        csv = await _get(client, manager, f"{PAGE}/{key}.csv", **query)
        assert csv.status_code == 200, (key, csv.text)
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"
        assert csv.content.startswith(b"\xef\xbb\xbf"), key
        assert f"{key}_20260401-20270331.csv" in csv.headers["content-disposition"]
        xlsx = await _get(client, manager, f"{PAGE}/{key}.xlsx", **query)
        assert xlsx.status_code == 200, key
        assert xlsx.headers["content-type"] == XLSX
    # A figure cell: February's three booked slots, as a number in both files.
    csv = (await _get(client, manager, f"{PAGE}/occupancy_by_month.csv", **query)).content
    lines = csv.decode("utf-8-sig").splitlines()
    assert lines[0] == "月,利用可能コマ数,利用コマ数,稼働率"
    february = next(line for line in lines if line.startswith("2027年2月"))
    assert february.split(",")[2] == "2"
    book = load_workbook(
        BytesIO((await _get(client, manager, f"{PAGE}/occupancy_by_month.xlsx", **query)).content)
    )
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert next(r for r in rows if r[0] == "2027年2月")[2] == 2

    # The same access as the page; an unknown table or format is not found.
    refused = await _get(client, _as(world, "manager_here"), f"{PAGE}/use_by_category.csv", **query)
    assert refused.status_code == 403
    assert (
        await _get(client, _as(world, "member"), f"{PAGE}/use_by_category.csv")
    ).status_code == 403
    for path in ("bookings.csv", "use_by_category.pdf", "use_by_category", ".csv"):
        assert (await _get(client, manager, f"{PAGE}/{path}")).status_code == 404, path


async def test_the_page_in_japanese_and_in_english(world: World, client: httpx.AsyncClient) -> None:
    ja = await _get(client, _as(world, "admin", lang="ja"))
    assert "<h1>統計</h1>" in ja.text
    assert '<h2 id="at-a-glance">概要</h2>' in ja.text
    assert "<dt>稼働率</dt>" in ja.text
    assert "利用コマ数 ÷ 利用可能コマ数" in ja.text
    assert _table(ja.text, "demand_by_month")[0][:3] == ["月", "利用可能コマ数", "抽選申込コマ数"]
    assert 'value="2026" selected>2026年度' in ja.text
    en = await _get(client, _as(world, "admin", lang="en"))
    assert "<h1>Statistics</h1>" in en.text
    assert "<dt>Occupancy</dt>" in en.text
    assert 'value="2026" selected>FY2026' in en.text
    assert not re.search(
        r"[\u3040-\u30ff]",
        re.sub(r"<(a|option)[^>]*>[^<]*</(a|option)>", "", en.text)
        .split("<main", 1)[1]
        .split("</main>")[0]
        .replace("日本語", ""),
    ), "Japanese on the English page"
