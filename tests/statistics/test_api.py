"""Issue 19: the staff statistics API: who may ask (anonymous 401, a group's people 403, a
manager their own facilities, an administrator everything), the same figures as
report.table(...) for the same query, and every bad input a 400 naming its field."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.network import SnapshotCache
from booking.pages.i18n import translations
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.statistics.counts import CountsCache
from booking.statistics.report import REPORTS, Source, table
from booking.statistics.span import Span
from booking.statistics.tables import Name
from tests.conftest import DEFAULT_NOW
from tests.people import World
from tests.places import Hall

API = "/api/v1/statistics"


async def book(session: AsyncSession, hall: Hall, group_id: int, day: date, code: str) -> None:
    session.add(
        Booking(
            group_id=group_id,
            room_id=hall.room_id,
            facility_id=hall.facility_id,
            use_date=day,
            period_codes=[code],
            status=BookingStatus.CONFIRMED,
            purpose="meeting",
            headcount=12,
            fee_total=1000,
            fee_breakdown={},
            payment_status=PaymentStatus.UNPAID,
            channel="counter",
            created_at=DEFAULT_NOW,
        )
    )
    await session.commit()


def _cells(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(
        Name(row[k]["ja"], row[k]["en"]) if isinstance(row[k], dict) else row[k] for k in keys
    )


@pytest.mark.parametrize("report", ["occupancy", "demand", "use"])
async def test_the_figures_are_the_reports_for_the_same_query(
    report: str, world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await book(session, hall, world.group_a, hall.day, "10")
    await book(session, hall, world.group_b, hall.day + timedelta(days=7), "20")
    got = await client.get(
        f"{API}/{report}?fiscal_year=2026&group_by=room", headers=world.headers("admin")
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["from"], body["to"], body["group_by"]) == ("2026-04-01", "2027-03-31", "room")
    snapshot = await SnapshotCache().get(session)
    source = Source(session, snapshot, CountsCache(), world.settings.tz)
    expected = await table(source, REPORTS[report], Span.fiscal_year(2026), ("room",))
    keys = [c["key"] for c in body["columns"]]
    assert keys == [c.key for c in expected.columns]
    assert [_cells(row, keys) for row in body["rows"]] == [tuple(r) for r in expected.rows]
    assert body["rows"], "the network has rooms"
    if report == "occupancy":
        hall_row = next(r for r in body["rows"] if r["booked_slots"])
        assert hall_row["booked_slots"] == 2
        assert body["total"]["booked_slots"] == 2
    for column in body["columns"][2:]:
        assert column["formula_en"], column
        assert column["formula_ja"] == translations("ja").gettext(column["formula_en"])
        assert column["unit"] in {"count", "rate", "ratio", "yen"}


async def test_who_may_ask(world: World, hall: Hall, client: httpx.AsyncClient) -> None:
    url = f"{API}/occupancy?fiscal_year=2026"
    for role, status in (("anonymous", 401), ("member", 403), ("representative", 403)):
        assert (await client.get(url, headers=world.headers(role))).status_code == status, role
    everything = await client.get(url, headers=world.headers("admin"))
    facilities = {row["facility"]["ja"] for row in everything.json()["rows"]}
    assert len(facilities) > 2
    own = await client.get(url, headers=world.headers("manager_here"))
    assert own.status_code == 200
    names = hall.snapshot.facilities[world.here]
    assert [row["facility"]["ja"] for row in own.json()["rows"]] == [names.name_ja]
    theirs = await client.get(f"{url}&facility={world.here}", headers=world.headers("manager_here"))
    assert theirs.json()["rows"] == own.json()["rows"]
    refused = await client.get(
        f"{url}&facility={hall.facility_id}", headers=world.headers("manager_here")
    )
    assert refused.status_code == 403
    one = await client.get(f"{url}&facility={hall.facility_id}", headers=world.headers("admin"))
    hall_name = hall.snapshot.facilities[hall.facility_id].name_ja
    assert [row["facility"]["ja"] for row in one.json()["rows"]] == [hall_name]
    nowhere = await client.get(f"{url}&facility=999999", headers=world.headers("admin"))
    assert nowhere.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("occupancy?fiscal_year=1800", "fiscal_year"),
        ("occupancy?fiscal_year=2026&from=2026-04-01&to=2026-04-30", "fiscal_year"),
        ("demand?from=2026-05-01&to=2026-04-30", "to"),
        ("demand?from=2024-04-01&to=2026-04-30", "to"),
        ("demand?from=2026-04-01", "to"),
        ("occupancy?group_by=nothing", "group_by"),
        ("occupancy?group_by=room&group_by=ward", "group_by"),
        ("occupancy?group_by=category", "group_by"),
        ("use?group_by=period", "group_by"),
        ("use?facility=0", "facility"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    query: str, field: str, world: World, client: httpx.AsyncClient
) -> None:
    got = await client.get(f"{API}/{query}", headers=world.headers("admin"))
    assert got.status_code == 400, got.text
    problem = got.json()
    fields = [e.get("field") for e in problem.get("errors", [])] + [problem.get("field")]
    assert field in fields, problem


async def test_the_api_is_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for report in ("occupancy", "demand", "use"):
        operation = schema["paths"][f"{API}/{report}"]["get"]
        assert operation["summary"]
        assert "formula" in operation["description"]
        assert {p["name"] for p in operation["parameters"]} >= {
            "from", "to", "fiscal_year", "group_by", "facility"
        }  # fmt: skip
