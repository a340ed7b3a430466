"""Issue 19: the open data. A room-month's figures are published only when at least
`open_data_minimum_groups` (3) distinct groups are behind them: two groups leave them blank and
flagged 秘匿, the rates made of them too; three publish them; nobody publishes 0. The CSV is
UTF-8 with a BOM, CRLF, Japanese column names and every cell neutralised (a room named "=1+1");
the JSON carries the licence, the schema's address and English keys; no group's name is in any
file; the page lists the files and every link on it works."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group, User
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.statistics import figures
from booking.statistics.open_data import (
    DATASETS,
    LICENCE_URL,
    NOTES_EN,
    OpenColumn,
    Published,
    _hidden,
    _shown,
    json_document,
    schema_document,
    suppressed,
)
from booking.statistics.open_data import OCCUPANCY as OPEN_OCCUPANCY
from booking.statistics.tables import Column
from booking.waitlist.models import EntryStatus, WaitlistEntry
from tests.conftest import DEFAULT_NOW
from tests.people import World
from tests.places import Hall
from tests.statistics.test_api import book

OPEN = "/api/v1/open-data"
LICENCE = {
    "name": "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）",
    "name_en": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "url": "https://creativecommons.org/licenses/by/4.0/deed.ja",
}


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def room_month(rows: list[dict[str, str]], room_key: str, month: date) -> dict[str, str]:
    found = [r for r in rows if r["室場ID"] == room_key and r["月"] == f"{month:%Y-%m}"]
    assert len(found) == 1, found
    return found[0]


def hall_room_key(hall: Hall) -> str:
    return next(r.key for r in hall.snapshot.rooms if r.id == hall.room_id)


async def apply(session: AsyncSession, hall: Hall, group_id: int, day: date, *, won: bool) -> None:
    session.add(
        LotteryApplication(
            use_month=day.replace(day=1),
            group_id=group_id,
            room_id=hall.room_id,
            facility_id=hall.facility_id,
            use_date=day,
            period_codes=["10"],
            purpose="meeting",
            headcount=10,
            status=ApplicationStatus.WON if won else ApplicationStatus.LOST,
            created_at=DEFAULT_NOW,
        )
    )
    await session.commit()


async def test_occupancy_is_published_from_the_threshold_of_groups_on(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert world.settings.open_data_minimum_groups == 3
    month, key = hall.day.replace(day=1), hall_room_key(hall)
    await book(session, hall, world.group_a, hall.day, "10")
    await book(session, hall, world.group_b, hall.day, "20")
    await book(session, hall, world.group_b, hall.day, "30")  # the same group again
    url = f"{OPEN}/occupancy.csv?fiscal_year=2026"
    two = room_month(csv_rows(await client.get(url)), key, month)
    assert int(two["利用可能コマ数"]) > 0
    assert (two["利用コマ数"], two["稼働率"], two["秘匿"]) == ("", "", "1")
    as_json = (await client.get(f"{OPEN}/occupancy.json?fiscal_year=2026")).json()
    row = next(r for r in as_json["rows"] if r["room_id"] == key and r["month"] == f"{month:%Y-%m}")
    assert (row["booked_slots"], row["occupancy"], row["suppressed"]) == (None, None, True)
    assert row["bookable_slots"] == int(two["利用可能コマ数"])

    await book(session, hall, world.centre_group, hall.day + timedelta(days=1), "10")
    rows = csv_rows(await client.get(url))
    three = room_month(rows, key, month)
    assert (three["利用コマ数"], three["秘匿"]) == ("4", "0")
    assert float(three["稼働率"]) == round(4 / int(three["利用可能コマ数"]), 4)
    nobody = room_month(rows, key, date(2026, 5, 1))  # nothing booked: 0 identifies nobody
    assert (nobody["利用コマ数"], nobody["稼働率"], nobody["秘匿"]) == ("0", "0.0", "0")
    rooms = len(hall.snapshot.rooms)
    assert len(rows) == rooms * 12  # every active room every month, and no totals row


async def test_demand_is_published_from_the_threshold_of_groups_on(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    month, key = hall.day.replace(day=1), hall_room_key(hall)
    await apply(session, hall, world.group_a, hall.day, won=True)
    await apply(session, hall, world.group_b, hall.day, won=False)
    url = f"{OPEN}/demand.csv?fiscal_year=2026"
    two = room_month(csv_rows(await client.get(url)), key, month)
    hidden = [
        "抽選申込コマ数",
        "抽選申込数",
        "1コマあたり申込数",
        "複数申込コマ数",
        "当選数",
        "当選率",
    ]
    assert [two[h] for h in hidden] == [""] * len(hidden)
    assert two["秘匿"] == "1"
    assert two["利用可能コマ数"]
    await apply(session, hall, world.centre_group, hall.day, won=False)
    three = room_month(csv_rows(await client.get(url)), key, month)
    assert [three[h] for h in hidden] == ["1", "3", "3.0", "1", "1", "0.3333"]
    assert three["秘匿"] == "0"


async def test_wait_list_joins_without_lottery_applicants_are_withheld(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Wait-list entries carry no count of their groups: withheld, not guessed."""
    key = hall_room_key(hall)
    session.add(
        WaitlistEntry(
            group_id=world.group_a,
            room_id=hall.room_id,
            facility_id=hall.facility_id,
            use_date=hall.day,
            period_codes=["10"],
            periods_key="10",
            status=EntryStatus.WAITING,
            joined_at=DEFAULT_NOW,
        )
    )
    await session.commit()
    rows = csv_rows(await client.get(f"{OPEN}/demand.csv?fiscal_year=2026"))
    row = room_month(rows, key, hall.day.replace(day=1))
    assert (row["キャンセル待ち登録数"], row["秘匿"]) == ("", "1")
    # The wait list is demand: the room-month's occupancy (nobody booked) is published as 0
    rows = csv_rows(await client.get(f"{OPEN}/occupancy.csv?fiscal_year=2026"))
    row = room_month(rows, key, hall.day.replace(day=1))
    assert (row["利用コマ数"], row["秘匿"]) == ("0", "0")
    # Its place in words: the ward's and the kind's Japanese names
    place = (row["区"], row["施設種別"], row["施設ID"])
    assert place == ("川崎区", "市民館", "kawasaki-civic-hall")


async def test_csv_is_japanese_municipal_style_and_neutralised(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = await client.post(
        f"/api/v1/facilities/{hall.facility_id}/rooms",
        json={"key": "formula-room", "name_ja": "=1+1", "name_en": "=1+1"},
        headers=world.headers("admin"),
    )
    assert made.status_code == 201, made.text
    response = await client.get(f"{OPEN}/occupancy.csv?fiscal_year=2026")
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-type"].startswith("text/csv")
    assert b"\r\n" in response.content
    assert "\n" not in response.content.decode("utf-8-sig").replace("\r\n", "")
    header = response.content.decode("utf-8-sig").split("\r\n", 1)[0].split(",")
    assert header == [c.name_ja for c in DATASETS["occupancy"].all_columns]
    assert header[:3] == ["年度", "月", "区"]
    names = {row["室場名"] for row in csv_rows(response)}
    assert "'=1+1" in names
    assert "=1+1" not in names
    assert response.headers["cache-control"] == "public, max-age=300"
    again = await client.get(
        f"{OPEN}/occupancy.csv?fiscal_year=2026",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


async def test_json_carries_licence_schema_and_english_keys(client: httpx.AsyncClient) -> None:
    document = (await client.get(f"{OPEN}/demand.json?fiscal_year=2026")).json()
    assert document["fiscal_year"] == 2026
    assert document["licence"]["url"] == LICENCE_URL
    assert document["schema"].endswith(f"{OPEN}/schema.json")
    assert document["source"].endswith("/open-data")
    assert document["title"]
    assert document["generated_at"]
    keys = [c["key"] for c in document["columns"]]
    assert keys == [c.key for c in DATASETS["demand"].all_columns]
    for column in document["columns"]:
        assert set(column) >= {"name_ja", "name_en", "key", "type", "description_en"}
        assert column["key"].isascii()
    assert all(list(row) == keys for row in document["rows"])

    schema = (await client.get(f"{OPEN}/schema.json")).json()
    assert [d["key"] for d in schema["datasets"]] == ["occupancy", "demand"]
    assert schema["licence"]["url"] == LICENCE_URL
    assert any("totals" in note for note in schema["notes_en"])
    assert NOTES_EN[2] in schema["notes_en"]
    occupancy = {c["key"]: c for c in schema["datasets"][0]["columns"]}
    assert occupancy["occupancy"]["formula_en"] == "booked slots ÷ bookable slots"
    assert occupancy["occupancy"]["unit"] == "ratio 0-1"
    assert occupancy["booked_slots"]["suppressible"] is True
    assert occupancy["bookable_slots"]["suppressible"] is False


async def test_bad_fiscal_year_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    for path in ("occupancy.csv", "occupancy.json", "demand.csv", "demand.json"):
        got = await client.get(f"{OPEN}/{path}?fiscal_year=1800")
        assert got.status_code == 400, path
        fields = [e.get("field") for e in got.json().get("errors", [])]
        assert "fiscal_year" in fields, got.json()


async def test_the_default_is_the_latest_fiscal_year_that_has_ended(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get(f"{OPEN}/occupancy.json")).json()
    assert document["fiscal_year"] == 2025  # the clock: 25 November 2026, in FY2026
    assert document["rows"][0]["month"] == "2025-04"


async def test_no_group_or_person_is_in_any_file(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for group in (world.group_a, world.group_b, world.centre_group):
        await book(session, hall, group, hall.day, "10" if group == world.group_a else "20")
        await apply(session, hall, group, hall.day, won=group == world.group_a)
    secrets = set((await session.scalars(select(Group.name))).all())
    # The groups' people (staff are named after their facilities: 市民館)
    secrets |= set(
        (await session.scalars(select(User.name).where(User.staff_role.is_(None)))).all()
    )
    secrets |= {str(world.group_a), str(world.group_b)}
    texts = []
    for path in ("occupancy.csv", "occupancy.json", "demand.csv", "demand.json"):
        response = await client.get(f"{OPEN}/{path}?fiscal_year=2026")
        assert response.status_code == 200
        texts.append(response.content.decode("utf-8-sig"))
    texts.append((await client.get(f"{OPEN}/schema.json")).text)
    for text in texts:
        for secret in secrets:
            if len(secret) >= 3 and not secret.isdigit():
                assert secret not in text, secret
        assert "group_id" not in text
        assert "booking_id" not in text
    published = csv_rows(await client.get(f"{OPEN}/occupancy.csv?fiscal_year=2026"))
    assert any(r["利用コマ数"] == "3" for r in published)  # three groups: shown


async def test_the_page_lists_the_files_and_every_link_works(client: httpx.AsyncClient) -> None:
    page = await client.get("/open-data")
    assert page.status_code == 200
    assert "オープンデータ" in page.text
    assert LICENCE_URL in page.text
    links = {html.unescape(h) for h in re.findall(r'href="([^"#][^"]*)"', page.text)}
    assert f"{OPEN}/schema.json" in links
    for dataset in ("occupancy", "demand"):
        for fmt in ("csv", "json"):
            assert any(link.startswith(f"{OPEN}/{dataset}.{fmt}?") for link in links)
    broken: list[Any] = []
    for link in sorted(links):
        if not link.startswith("/") or link.startswith("/static/"):
            continue
        followed = await client.get(link, follow_redirects=True)
        if followed.status_code != 200:
            broken.append((link, followed.status_code))
    assert broken == []
    english = await client.get("/open-data", headers={"Cookie": "lang=en"})
    assert "Open data" in english.text
    home = await client.get("/")
    assert 'href="/open-data"' in home.text


def test_too_few_groups_are_suppressed_and_nobody_at_all_is_not() -> None:
    """The anonymity rule at its edges, with a minimum of 3."""
    assert suppressed(0, 3) is False  # nobody: published as 0
    assert suppressed(1, 3) is True  # one group alone: the most identifying of all
    assert suppressed(2, 3) is True
    assert suppressed(3, 3) is False
    assert suppressed(0, 3, waiting=1) is True  # only the wait list, its groups uncounted
    assert suppressed(3, 3, waiting=1) is False


def test_a_figure_column_carries_its_figure_title_and_formula() -> None:
    shown = _shown("bookable_slots", "利用可能コマ数", "integer", "slots", figures.BOOKABLE_SLOTS)
    hidden = _hidden("occupancy", "稼働率", "number", "ratio 0-1", figures.OCCUPANCY)
    assert hidden == OpenColumn(
        "occupancy",
        "稼働率",
        "Occupancy",
        "number",
        "ratio 0-1",
        "booked slots ÷ bookable slots",
        figures.OCCUPANCY,
        suppressible=True,
    )
    assert (shown.name_en, shown.figure, shown.suppressible) == (
        "Bookable slots",
        figures.BOOKABLE_SLOTS,
        False,
    )
    assert shown.description_en.startswith("the room's periods on the days its facility is open")
    untitled = Column("x", "X", "count")  # a figure without a formula: no description
    assert _shown("x", "x", "integer", "", untitled).description_en == ""
    assert _hidden("x", "x", "integer", "", untitled).description_en == ""


def test_the_json_document_spells_out_every_part() -> None:
    place = (2026, "2026-04", "中区", "市民館", "中央市民館", "chuo", "第1会議室", "r1")
    row = (*place, 40, None, None, 1)
    data = Published(OPEN_OCCUPANCY, 2026, 3, (row,))
    document = json_document(
        data,
        generated_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        schema_url="https://city.example/schema.json",
        source_url="https://city.example/open-data",
    )
    assert document["title"] == "公共施設の室場別・月別稼働率"
    assert document["title_en"] == "Occupancy of the civic facilities' rooms by month"
    assert document["licence"] == LICENCE
    assert document["source"] == "https://city.example/open-data"
    assert document["schema"] == "https://city.example/schema.json"
    assert document["generated_at"] == "2026-11-25T09:00:00+00:00"
    assert document["minimum_groups"] == 3
    assert document["rows"] == [
        {
            "fiscal_year": 2026,
            "month": "2026-04",
            "ward": "中区",
            "facility_kind": "市民館",
            "facility": "中央市民館",
            "facility_id": "chuo",
            "room": "第1会議室",
            "room_id": "r1",
            "bookable_slots": 40,
            "booked_slots": None,
            "occupancy": None,
            "suppressed": True,
        }
    ]
    assert document["rows"][0]["suppressed"] is True  # a JSON true, not the CSV's 1
    columns = {c["key"]: c for c in document["columns"]}
    assert columns["suppressed"]["type"] == "boolean"
    assert columns["booked_slots"]["type"] == "integer"
    assert columns["occupancy"]["type"] == "number"
    assert columns["month"] == {
        "name_ja": "月",
        "name_en": "Month",
        "key": "month",
        "type": "string",
        "description_en": "the month, YYYY-MM",
        "description_ja": "年月（YYYY-MM）",
    }
    # A figure's Japanese description is its formula's translation
    assert columns["occupancy"]["description_ja"] == "利用コマ数 ÷ 利用可能コマ数"


def test_the_schema_spells_out_every_part() -> None:
    schema = schema_document(5, source_url="https://city.example/open-data")
    assert schema["title"] == "公共施設の利用状況オープンデータ"
    assert schema["title_en"] == "Open data on the use of the civic facilities"
    assert schema["licence"] == LICENCE
    assert schema["source"] == "https://city.example/open-data"
    assert schema["minimum_groups"] == 5
    assert "グループが5団体未満の場合" in schema["notes_ja"][1]
    assert "at least 5 distinct groups" in schema["notes_en"][1]
    assert schema["encoding"] == {
        "csv": "UTF-8 with BOM, CRLF, header row of Japanese names",
        "json": "UTF-8",
    }
    occupancy, demand = schema["datasets"]
    assert (occupancy["title_ja"], occupancy["title_en"], occupancy["files"]) == (
        "公共施設の室場別・月別稼働率",
        "Occupancy of the civic facilities' rooms by month",
        ["occupancy.csv", "occupancy.json"],
    )
    assert demand["files"] == ["demand.csv", "demand.json"]
    rate = next(c for c in occupancy["columns"] if c["key"] == "occupancy")
    assert (rate["formula_ja"], rate["formula_en"]) == (
        "利用コマ数 ÷ 利用可能コマ数",
        "booked slots ÷ bookable slots",
    )
