"""Recurring bookings over HTTP on both databases: the preview, booking all or the free ones,
Idempotency-Key, reading a series and a booking's series_id, cancelling the rest."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.people import World
from tests.places import Hall
from tests.reservations.test_series import in_window

S = "/api/v1/series"


def body(world: World, hall: Hall, first: date, last: date, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "group_id": world.group_a,
        "room_id": hall.room_id,
        "period_codes": ["20"],
        "purpose": "singing",
        "headcount": 12,
        "first_date": first.isoformat(),
        "last_date": last.isoformat(),
        "every": "week",
    }
    data.update(changes)
    return data


async def test_preview_then_book_then_read_then_cancel_the_rest(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    first, last, dates = in_window(hall.snapshot, hall)
    member = world.headers("member")
    taken = await client.post(
        "/api/v1/bookings",
        json={
            "group_id": world.group_b,
            "room_id": hall.room_id,
            "use_date": dates[2].isoformat(),
            "period_codes": ["20"],
            "purpose": "meeting",
            "headcount": 3,
        },
        headers=world.headers("other_representative"),
    )
    assert taken.status_code == 201, taken.text
    wanted = body(world, hall, first, last, skip_dates=[dates[4].isoformat()])

    preview = await client.post(S, params={"dry_run": "true"}, json=wanted, headers=member)
    assert preview.status_code == 200, preview.text
    answer = preview.json()
    states = {o["date"]: o["state"] for o in answer["occurrences"]}
    assert dates[4].isoformat() not in states
    assert states[dates[2].isoformat()] == "taken"
    assert answer["free_count"] == len(dates) - 2
    assert answer["fee_total"] == hall.fees["20"] * (len(dates) - 2)

    refused = await client.post(S, json=wanted, headers=member)
    assert refused.status_code == 409
    assert refused.json()["code"] == "series_not_free"

    key = {**member, "Idempotency-Key": "series-1"}
    made = await client.post(S, json={**wanted, "mode": "free"}, headers=key)
    assert made.status_code == 201, made.text
    series = made.json()
    booked = [o for o in series["occurrences"] if o["booking_id"]]
    assert [o["date"] for o in booked] == [
        d.isoformat() for d in dates if d not in (dates[2], dates[4])
    ]
    again = await client.post(S, json={**wanted, "mode": "free"}, headers=key)
    assert again.status_code == 201
    assert again.json()["id"] == series["id"]

    one = await client.get(f"/api/v1/bookings/{booked[0]['booking_id']}", headers=member)
    assert one.json()["series_id"] == series["id"]
    read = await client.get(f"{S}/{series['id']}", headers=member)
    assert read.status_code == 200
    shown = {o["date"]: o["state"] for o in read.json()["occurrences"]}
    assert shown[dates[0].isoformat()] == "confirmed"
    assert shown[dates[2].isoformat()] == "not_booked"
    assert dates[4].isoformat() not in shown
    other = await client.get(f"{S}/{series['id']}", headers=world.headers("other_representative"))
    assert other.status_code == 404

    cancel = f"{S}/{series['id']}/cancel"
    dry = await client.post(
        cancel, params={"dry_run": "true"}, json={"from_date": dates[3].isoformat()}, headers=member
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["applied"] is False
    assert [o["date"] for o in dry.json()["occurrences"]] == [
        d.isoformat() for d in dates[3:] if d != dates[4]
    ]
    done = await client.post(cancel, json={"from_date": dates[3].isoformat()}, headers=member)
    assert done.status_code == 200, done.text
    assert all(o["applied"] and o["charge"] == 0 for o in done.json()["occurrences"])
    after = await client.get(f"{S}/{series['id']}", headers=member)
    shown = {o["date"]: o["state"] for o in after.json()["occurrences"]}
    assert shown[dates[3].isoformat()] == "cancelled"
    assert shown[dates[0].isoformat()] == "confirmed"


async def test_the_facility_cancels_the_rest_for_its_own_reasons_free_a_group_may_not(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    first, last, dates = in_window(hall.snapshot, hall)
    member = world.headers("member")
    made = await client.post(S, json=body(world, hall, first, last), headers=member)
    assert made.status_code == 201, made.text
    cancel = f"{S}/{made.json()['id']}/cancel"
    wanted = {"from_date": dates[2].isoformat(), "facility_cause": True}
    refused = await client.post(cancel, json=wanted, headers=member)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "facility_staff_only"
    for odd in ("yes", None, [True]):
        bad = await client.post(cancel, json={**wanted, "facility_cause": odd}, headers=member)
        assert bad.status_code == 400, (odd, bad.text)
        assert "facility_cause" in bad.text
    dry = await client.post(cancel, params={"dry_run": "true"}, json=wanted, headers=hall.manager)
    assert dry.status_code == 200, dry.text
    assert [(o["charge"], o["cause"]) for o in dry.json()["occurrences"]] == [(0, "facility")] * (
        len(dates) - 2
    )
    done = await client.post(cancel, json=wanted, headers=hall.manager)
    assert done.status_code == 200, done.text
    assert done.json()["charge_total"] == 0
    assert all(o["applied"] and o["cause"] == "facility" for o in done.json()["occurrences"])
    one = await client.get(
        f"/api/v1/bookings/{done.json()['occurrences'][0]['booking_id']}", headers=member
    )
    assert one.json()["status"] == "cancelled"


async def test_the_body_is_checked_at_the_edge(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    first, last, _ = in_window(hall.snapshot, hall)
    member = world.headers("member")
    for changes, field in (
        ({"every": "daily"}, "every"),
        ({"mode": "some"}, "mode"),
        ({"headcount": 0}, "headcount"),
        ({"purpose": "a\nb"}, "purpose"),
        ({"last_date": (first - timedelta(days=7)).isoformat()}, "last_date"),
        ({"last_date": (first + timedelta(days=400)).isoformat()}, "last_date"),
    ):
        answer = await client.post(
            S, json=body(world, hall, first, last, **changes), headers=member
        )
        assert answer.status_code == 400, (changes, answer.text)
        assert field in answer.text, (changes, answer.text)
