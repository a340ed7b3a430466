"""The API of the network kept in the system: problem details, the answers, the OpenAPI."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.app import create_app, serve_test
from booking.clock import FrozenClock
from tests.conftest import Database
from tests.people import World
from tests.places import Hall

NEW_HALL = {
    "key": "new-hall",
    "kind": "civic_hall",
    "ward": "kawasaki",
    "name_ja": "新市民館",
    "name_en": "New Civic Hall",
}


async def test_a_new_facility_and_room_are_served_at_once(
    world: World, client: httpx.AsyncClient
) -> None:
    admin = world.headers("admin")
    made = await client.post("/api/v1/facilities", json=NEW_HALL, headers=admin)
    assert made.status_code == 201, made.text
    facility = made.json()
    assert facility["ward"] == "kawasaki"
    assert facility["active"] is True
    assert set(facility["staff_edits"]) >= {"name_ja", "ward", "key", "active"}
    room = await client.post(
        f"/api/v1/facilities/{facility['id']}/rooms",
        json={"key": "room-1", "name_ja": "集会室", "name_en": "Meeting Room", "capacity": 40},
        headers=admin,
    )
    assert room.status_code == 201, room.text
    assert room.json()["units"] == ["room-1"]
    # The app's snapshot was built before: the revision moved, so the next read sees both.
    shown = await client.get(f"/api/v1/facilities/{facility['id']}")
    assert shown.status_code == 200, shown.text
    assert [r["name_ja"] for r in shown.json()["rooms"]] == ["集会室"]
    shown_room = await client.get(f"/api/v1/rooms/{room.json()['id']}")
    assert shown_room.json()["capacity"] == 40


async def test_refusals_name_the_field(world: World, hall: Hall, client: httpx.AsyncClient) -> None:
    admin = world.headers("admin")
    cases = [
        ("POST", "/api/v1/facilities", {**NEW_HALL, "name_ja": "新\t館"}, 400, "name_ja"),
        ("POST", "/api/v1/facilities", {**NEW_HALL, "ward": "atlantis"}, 400, "ward"),
        ("POST", "/api/v1/facilities", {**NEW_HALL, "key": "Bad Key"}, 400, "key"),
        ("PATCH", f"/api/v1/facilities/{hall.facility_id}", {"phone": "x"}, 400, "phone"),
        ("PATCH", f"/api/v1/rooms/{hall.room_id}", {"purposes": ["juggling"]}, 400, "purposes"),
        ("PATCH", f"/api/v1/rooms/{hall.room_id}", {"capacity": 2**40}, 400, "capacity"),
        ("PATCH", f"/api/v1/rooms/{hall.room_id}", {"parts": [2**31]}, 400, "parts"),
        ("PATCH", f"/api/v1/rooms/{hall.room_id}", {"fees": {"10": 1}}, 400, "fees"),
        ("PATCH", "/api/v1/rooms/99999", {"capacity": 3}, 404, "room_id"),
    ]
    for method, path, body, status, field in cases:
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [error["field"].split("[")[0] for error in response.json().get("errors", [])]
        assert field in fields, (body, response.json())
    taken = await client.post(
        "/api/v1/facilities", json={**NEW_HALL, "key": "new-hall"}, headers=admin
    )
    again = await client.post("/api/v1/facilities", json=NEW_HALL, headers=admin)
    assert taken.status_code == 201
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_key"
    assert again.json()["errors"] == [
        {"field": "key", "reason": "a facility has the key 'new-hall' already"}
    ]


async def test_a_retired_facility_leaves_the_api(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    admin = world.headers("admin")
    retired = await client.patch(
        f"/api/v1/facilities/{world.here}", json={"active": False}, headers=admin
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["active"] is False
    assert (await client.get(f"/api/v1/facilities/{world.here}")).status_code == 404
    back = await client.patch(
        f"/api/v1/facilities/{world.here}", json={"active": True}, headers=admin
    )
    assert back.json()["active"] is True
    assert (await client.get(f"/api/v1/facilities/{world.here}")).status_code == 200


async def test_the_routes_are_in_the_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "post" in paths["/api/v1/facilities"]
    assert "patch" in paths["/api/v1/facilities/{facility_id}"]
    assert "post" in paths["/api/v1/facilities/{facility_id}/rooms"]
    assert "patch" in paths["/api/v1/rooms/{room_id}"]


async def test_another_app_process_serves_the_new_facility_at_once(
    world: World,
    client: httpx.AsyncClient,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Two app processes on one database: the second's snapshot, built before the change,
    follows the revision the first one bumped."""
    other = create_app(database.settings)
    serve_test(other, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://other") as second:
        assert (await second.get(f"/api/v1/facilities/{world.here}")).status_code == 200
        made = await client.post(
            "/api/v1/facilities", json=NEW_HALL, headers=world.headers("admin")
        )
        assert made.status_code == 201, made.text
        shown = await second.get(f"/api/v1/facilities/{made.json()['id']}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["name_ja"] == "新市民館"
