"""GET /api/v1/availability over HTTP: parameters, states, and clear 400s naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import update

from booking.app import create_app
from booking.inventory.models import Facility
from booking.inventory.services import bump_revision
from booking.reservations.availability import SlotState
from booking.reservations.models import ClaimKind
from tests.helpers import claim, facility_id

URL = "/api/v1/availability"


async def test_whole_network_answers_with_every_state_in_place(client, test_network, clock):
    await claim(test_network, "test-hall", "room-1", date(2026, 12, 10), "10")
    await claim(test_network, "test-hall", "room-2", date(2026, 12, 10), "20", ClaimKind.BLOCK)
    await test_network.commit()
    response = await client.get(URL, params={"from": "2026-12-01", "to": "2026-12-31"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["today"]) == ("2026-12-01", "2026-12-31", "2026-11-25")
    assert body["room_count"] == len(body["rooms"]) == 6
    states = {
        (room["room_name_en"], day["date"], slot["period"]): slot["state"]
        for room in body["rooms"]
        for day in room["days"]
        for slot in day["slots"]
    }
    assert body["slot_count"] == len(states)
    assert states[("Meeting Room 1", "2026-12-10", "10")] == "booked"
    assert states[("Meeting Rooms 1+2", "2026-12-10", "10")] == "booked"
    assert states[("Meeting Room 2", "2026-12-10", "10")] == "open"
    assert states[("Meeting Room 1", "2026-12-29", "10")] == "closed"
    assert states[("Meeting Room 1", "2026-12-21", "20")] == "closed"  # 3rd Monday
    assert states[("Meeting Room 2", "2026-12-10", "20")] == "blocked"
    assert states[("Meeting Rooms 1+2", "2026-12-10", "20")] == "blocked"
    # December is open first-come since 29 July; the counter hall since 1 November, but at
    # the counter only: free, never `open` online.
    assert states[("Main Hall", "2026-12-10", "10")] == "counter_only"

    # On 20 November, over 93 days: the counter hall's first days are past (it closes 14 days
    # before), its January not yet open (from 1 December), and March is in its lottery window
    # (17-23 November).
    clock.set(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    later = await client.get(URL, params={"from": "2026-12-01", "to": "2027-03-03"})
    assert later.status_code == 200, later.text
    states |= {
        (room["room_name_en"], day["date"], slot["period"]): slot["state"]
        for room in later.json()["rooms"]
        for day in room["days"]
        for slot in day["slots"]
    }
    assert states[("Main Hall", "2026-12-03", "10")] == "past"
    assert states[("Main Hall", "2026-12-04", "10")] == "counter_only"
    assert states[("Main Hall", "2027-01-05", "10")] == "not_yet_open"
    assert states[("Meeting Room 1", "2027-03-01", "10")] == "lottery"
    assert set(states.values()) == {state.value for state in SlotState}


async def test_the_clock_decides_lottery_and_past(client, test_network, clock):
    clock.set(datetime(2026, 4, 20, 3, 0, tzinfo=UTC))  # noon in Tokyo
    hall = await facility_id(test_network, "test-hall")
    response = await client.get(
        URL, params={"from": "2026-08-03", "to": "2026-08-03", "facility": hall, "period": "10"}
    )
    assert response.status_code == 200, response.text
    slots = {r["room_name_en"]: r["days"][0]["slots"][0] for r in response.json()["rooms"]}
    assert slots["Meeting Room 1"] == {"period": "10", "state": "lottery", "applicants": 0}
    assert slots["Main Hall"] == {"period": "10", "state": "not_yet_open"}


async def test_a_counter_only_room_is_free_at_the_counter_never_open(client, test_network):
    """The counter hall's free slots are `counter_only` (never `open`), its entry says so with
    the facility's phone, and `state=counter_only` finds them (and `state=open` does not)."""
    await test_network.execute(
        update(Facility).where(Facility.key == "test-hall").values(phone="044-200-3939")
    )
    await bump_revision(test_network, datetime(2026, 11, 25, tzinfo=UTC))
    await test_network.commit()
    hall = await facility_id(test_network, "test-hall")
    params = {"from": "2026-12-10", "to": "2026-12-10", "facility": hall}
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    rooms = {r["room_name_en"]: r for r in response.json()["rooms"]}
    big = rooms["Main Hall"]
    assert (big["online_bookable"], big["counter_only"], big["phone"]) == (
        False,
        True,
        "044-200-3939",
    )
    assert {s["state"] for s in big["days"][0]["slots"]} == {"counter_only"}
    one = rooms["Meeting Room 1"]
    assert (one["counter_only"], one["phone"]) == (False, "044-200-3939")
    assert {s["state"] for s in one["days"][0]["slots"]} == {"open"}

    only = await client.get(URL, params={**params, "state": "counter_only"})
    assert only.status_code == 200, only.text
    assert [r["room_name_en"] for r in only.json()["rooms"]] == ["Main Hall"]
    assert only.json()["slot_count"] == len(big["days"][0]["slots"])
    online = await client.get(URL, params={**params, "state": "open,lottery"})
    assert "Main Hall" not in {r["room_name_en"] for r in online.json()["rooms"]}


async def test_filters_combine_and_accept_comma_lists(client, test_network):
    response = await client.get(
        URL,
        params={
            "from": "2026-12-14",
            "to": "2026-12-14",
            "ward": "kawasaki,nakahara",
            "kind": ["civic_hall"],
            "min_capacity": 100,
            "state": "open,counter_only,booked",
        },
    )
    assert response.status_code == 200, response.text
    names = {r["room_name_en"] for r in response.json()["rooms"]}
    assert names == {"Meeting Rooms 1+2", "Main Hall"}  # the counter hall: counter_only


async def test_a_filter_that_leaves_nothing_is_an_empty_answer(client, test_network):
    response = await client.get(
        URL, params={"from": "2026-12-29", "to": "2026-12-30", "state": "open"}
    )
    assert response.status_code == 200
    assert response.json()["rooms"] == []
    assert response.json()["slot_count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-31", "to": "2026-12-01"}, "to"),
        ({"from": "2026-12-01", "to": "2027-03-04"}, "to"),
        ({"from": "2026-12-xx", "to": "2026-12-01"}, "from"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01"}, "to"),
        ({"from": "2026-12-01", "to": "2026-12-01", "ward": "atlantis"}, "ward"),
        ({"from": "2026-12-01", "to": "2026-12-01", "kind": "castle"}, "kind"),
        ({"from": "2026-12-01", "to": "2026-12-01", "facility": "999999"}, "facility"),
        ({"from": "2026-12-01", "to": "2026-12-01", "facility": "abc"}, "facility"),
        ({"from": "2026-12-01", "to": "2026-12-01", "room": "-1"}, "room"),
        ({"from": "2026-12-01", "to": "2026-12-01", "period": "99"}, "period"),
        ({"from": "2026-12-01", "to": "2026-12-01", "state": "free"}, "state"),
        ({"from": "2026-12-01", "to": "2026-12-01", "min_capacity": "0"}, "min_capacity"),
        ({"from": "2026-12-01", "to": "2026-12-01", "min_capacity": "many"}, "min_capacity"),
        # Outside the dates a person may mean (booking/inventory/calendar.py), not a 500.
        ({"from": "0001-01-01", "to": "0001-01-05"}, "from"),
        ({"from": "1899-12-31", "to": "1900-01-01"}, "from"),
        ({"from": "2199-12-31", "to": "2200-01-01"}, "to"),
        ({"from": "9999-12-27", "to": "9999-12-31"}, "from"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(client, test_network, params, field):
    response = await client.get(URL, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400
    assert field in [error["field"] for error in body["errors"]], body
    assert all(error["reason"] for error in body["errors"])


@pytest.mark.parametrize(
    ("first", "last"), [("1900-01-01", "1900-01-05"), ("2199-12-27", "2199-12-31")]
)
async def test_the_first_and_last_usable_dates_answer(client, test_network, first, last):
    response = await client.get(URL, params={"from": first, "to": last})
    assert response.status_code == 200, response.text
    assert response.json()["slot_count"] > 0


async def test_bundled_network_answers_for_a_month(client):
    response = await client.get(URL, params={"from": "2026-12-01", "to": "2026-12-31"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["room_count"] > 50
    assert body["slot_count"] > 5_000
    assert {s["state"] for r in body["rooms"] for d in r["days"] for s in d["slots"]} >= {
        "open",
        "closed",
    }


async def test_reads_through_the_apps_own_engine(database):
    """The app as served: its own engine and pool (autocommit reads on PostgreSQL)."""
    app = create_app(database.settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            for _ in range(3):  # a connection back in the pool is reused cleanly
                response = await http.get(URL, params={"from": "2026-12-01", "to": "2026-12-07"})
                assert response.status_code == 200, response.text
                assert response.json()["room_count"] > 50
            assert (await http.get("/ready")).json()["status"] == "ok"
