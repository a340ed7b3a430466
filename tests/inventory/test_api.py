"""The inventory API: wards, facilities (filters, search), a facility, a room."""

from __future__ import annotations

import pytest

from tests.helpers import facility_id, room_id


async def test_wards_with_counts(client, test_network):
    response = await client.get("/api/v1/wards")
    assert response.status_code == 200
    wards = {w["key"]: w for w in response.json()}
    assert wards["kawasaki"] == {
        "key": "kawasaki",
        "name_ja": "川崎区",
        "name_en": "Kawasaki Ward",
        "facility_count": 1,
    }
    assert wards["nakahara"]["facility_count"] == 1
    # The bundled network's facilities were retired by the test network's load.
    assert sum(w["facility_count"] for w in wards.values()) == 2


async def test_bundled_wards_in_order(client):
    keys = [w["key"] for w in (await client.get("/api/v1/wards")).json()]
    assert keys == ["kawasaki", "saiwai", "nakahara", "takatsu", "miyamae", "tama", "asao"]


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({}, {"test-hall", "test-senior", "test-new"}),
        ({"ward": "nakahara"}, {"test-hall"}),
        ({"kind": "senior_centre"}, {"test-senior"}),
        ({"q": "いこい"}, {"test-senior"}),
        ({"q": "new hall"}, {"test-new"}),
        ({"q": "CIVIC"}, {"test-hall"}),
        ({"q": "100%_"}, set()),
    ],
)
async def test_facility_filters_and_search(client, test_network, params, keys):
    response = await client.get("/api/v1/facilities", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {item["key"] for item in body["items"]} == keys
    assert body["total"] == len(keys)


async def test_facility_paging(client, test_network):
    first = (await client.get("/api/v1/facilities", params={"limit": 2})).json()
    rest = (await client.get("/api/v1/facilities", params={"limit": 2, "offset": 2})).json()
    assert first["total"] == rest["total"] == 3
    assert len(first["items"]) == 2
    assert len(rest["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ward": "atlantis"}, "ward"),
        ({"kind": "castle"}, "kind"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_facility_list_bad_input(client, test_network, params, field):
    response = await client.get("/api/v1/facilities", params=params)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_facility_detail(client, test_network):
    hall = await facility_id(test_network, "test-hall")
    response = await client.get(f"/api/v1/facilities/{hall}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ward"]["name_ja"] == "中原区"
    assert [p["code"] for p in body["period_grid"]["periods"]] == ["10", "20", "30"]
    assert body["policy"]["lottery"]["quota_per_facility_month"] == 8
    assert {r["scope"] for r in body["closure_rules"]} == {"kind", "facility"}
    assert "2026-12-21" in body["closed_dates"]  # 3rd Monday of December
    assert "2026-12-29" in body["closed_dates"]
    assert [r["key"] for r in body["rooms"]] == ["room-1", "room-2", "combined", "big-hall"]
    room_1 = body["rooms"][0]
    assert room_1["fees"] == {"10": 1680, "20": 2240, "30": 2810}
    assert room_1["fee_is_estimate"] is False


async def test_bundled_closures_are_named_in_both_languages(client, session):
    """A closure is shown by its name (年末年始 / Year-end and New Year holidays); `note` is
    a remark, so a Japanese note is never an English reader's only name for it."""
    hall = await facility_id(session, "plaza-tachibana")
    body = (await client.get(f"/api/v1/facilities/{hall}")).json()
    names = {(r["scope"], r["name_ja"], r["name_en"]) for r in body["closure_rules"]}
    assert names == {
        ("kind", "年末年始", "Year-end and New Year holidays"),
        ("facility", "休館日", "Closing day"),
    }
    monthly = next(r for r in body["closure_rules"] if r["scope"] == "facility")
    assert monthly["note"] == "第3月曜日（祝日の場合はその翌日）"
    assert monthly["rule"]["nth"] == 3


async def test_room_detail_shows_shared_units_and_estimates(client, test_network):
    combined = await room_id(test_network, "test-hall", "combined")
    body = (await client.get(f"/api/v1/rooms/{combined}")).json()
    assert body["units"] == ["room-1", "room-2"]
    assert {r["key"] for r in body["shares_units_with"]} == {"room-1", "room-2"}
    part = await room_id(test_network, "test-hall", "room-1")
    body = (await client.get(f"/api/v1/rooms/{part}")).json()
    assert [r["key"] for r in body["shares_units_with"]] == ["combined"]
    assert body["purposes"] == ["meeting"]
    estimated = await room_id(test_network, "test-senior", "hall")
    body = (await client.get(f"/api/v1/rooms/{estimated}")).json()
    assert body["is_estimated"] is True
    assert body["fee_is_estimate"] is True
    assert body["estimate_basis"] == "test estimate"
    big = await room_id(test_network, "test-hall", "big-hall")
    body = (await client.get(f"/api/v1/rooms/{big}")).json()
    assert body["online_bookable"] is False
    assert body["policy"]["first_come_closes_days_before"] == 14


@pytest.mark.parametrize("path", ["/api/v1/facilities/999999", "/api/v1/rooms/999999"])
async def test_unknown_ids_are_404(client, test_network, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/facilities/abc", "/api/v1/nothing"])
async def test_unknown_paths_are_404_problems(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_wrong_method_is_405(client):
    response = await client.post("/api/v1/wards", json={})
    assert response.status_code == 405


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["migration"] == ready.json()["head"]


async def test_openapi_documents_the_api(client):
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/v1/availability",
        "/api/v1/wards",
        "/api/v1/facilities",
        "/api/v1/facilities/{facility_id}",
        "/api/v1/rooms/{room_id}",
    ):
        assert path in schema["paths"], path
