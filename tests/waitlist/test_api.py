"""The wait list over HTTP, on both databases: join (idempotent; twice is a 409), the lines
with positions and offers, leave, accept (the booking) and decline."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.waitlist.models import WaitlistEntry
from tests.people import World
from tests.places import Hall
from tests.waitlist.conftest import waiting_and_offered

W = "/api/v1/waitlist"


def body(world: World, hall: Hall, **changes: Any) -> dict[str, Any]:
    return {
        "group_id": world.group_b,
        "room_id": hall.room_id,
        "use_date": hall.day.isoformat(),
        "period_codes": ["10"],
    } | changes


async def test_join_once_see_the_line_and_leave(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    booked = await client.post(
        "/api/v1/bookings",
        json=body(world, hall, group_id=world.group_a, purpose="meeting", headcount=5),
        headers=world.headers("member"),
    )
    assert booked.status_code == 201, booked.text
    b = world.headers("other_representative")
    key = {"Idempotency-Key": "join-1"}
    joined = await client.post(W, json=body(world, hall), headers=b | key)
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert (entry["status"], entry["period_codes"]) == ("waiting", ["10"])
    retried = await client.post(W, json=body(world, hall), headers=b | key)
    assert (retried.status_code, retried.json()["id"]) == (201, entry["id"])
    # Twice without the key: the live-entry index says no, as a 409 with its code.
    twice = await client.post(W, json=body(world, hall), headers=b)
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "already_waiting"
    count = select(func.count()).select_from(WaitlistEntry)
    assert await session.scalar(count) == 1

    found = await client.get(W, params={"group_id": world.group_b}, headers=b)
    assert found.status_code == 200, found.text
    assert [(e["id"], e["position"], e["offer"]) for e in found.json()] == [(entry["id"], 1, None)]
    free = await client.post(W, json=body(world, hall, period_codes=["30"]), headers=b)
    assert (free.status_code, free.json()["code"]) == (422, "slot_free")
    left = await client.delete(f"{W}/{entry['id']}", headers=b)
    assert left.status_code == 204, left.text
    again = await client.delete(f"{W}/{entry['id']}", headers=b)
    assert (again.status_code, again.json()["code"]) == (409, "entry_not_live")
    assert (await client.get(W, params={"group_id": world.group_b}, headers=b)).json() == []


async def test_an_offer_is_shown_accepted_as_a_booking_and_not_twice(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    waiting_id, offer_id = await waiting_and_offered(session, hall, world.group_a)
    a = world.headers("member")
    lines = (await client.get(W, params={"group_id": world.group_a}, headers=a)).json()
    offered = next(e for e in lines if e["offer"])
    assert offered["position"] is None
    assert offered["offer"]["id"] == offer_id
    assert next(e for e in lines if e["id"] == waiting_id)["position"] == 1
    accept = f"{W}/offers/{offer_id}/accept"
    stranger = await client.post(
        accept,
        json={"purpose": "meeting", "headcount": 5},
        headers=world.headers("other_representative"),
    )
    assert stranger.status_code == 404
    bad = await client.post(accept, json={"purpose": "会\x00議", "headcount": 5}, headers=a)
    assert bad.status_code == 400
    done = await client.post(accept, json={"purpose": "meeting", "headcount": 5}, headers=a)
    assert done.status_code == 201, done.text
    assert done.json()["offer"]["status"] == "accepted"
    booking = done.json()["booking"]
    assert (booking["status"], booking["period_codes"]) == ("confirmed", ["20"])
    assert done.json()["offer"]["booking_id"] == booking["id"]
    twice = await client.post(accept, json={"purpose": "meeting", "headcount": 5}, headers=a)
    assert (twice.status_code, twice.json()["code"]) == (409, "offer_not_open")
    declined = await client.post(f"{W}/offers/{offer_id}/decline", headers=a)
    assert (declined.status_code, declined.json()["code"]) == (409, "offer_not_open")
