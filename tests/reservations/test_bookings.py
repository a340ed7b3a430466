"""Booking, through HTTP on both databases: checks, claims, fees, idempotency, cancellation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.notifications.models import OutboxMessage
from booking.reservations.bookings import is_closed
from booking.reservations.models import Booking, Claim
from tests.people import World
from tests.places import Hall, open_weekday

B = "/api/v1/bookings"


def body(world: World, hall: Hall, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "group_id": world.group_a,
        "room_id": hall.room_id,
        "use_date": hall.day.isoformat(),
        "period_codes": ["10"],
        "purpose": "singing",
        "headcount": 12,
        "event_name": "定期練習",
    }
    data.update(changes)
    return data


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_member_books_and_the_slot_is_taken_at_once(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    mails = await count(session, OutboxMessage)
    created = await client.post(
        B, json=body(world, hall, period_codes=["20", "10"]), headers=world.headers("member")
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "confirmed"
    assert booking["period_codes"] == ["10", "20"]  # in the day's order
    assert booking["fee_total"] == hall.fees["10"] + hall.fees["20"]
    assert booking["payment_status"] == "unpaid"
    assert booking["channel"] == "online"
    assert await count(session, Claim) >= 2
    assert await count(session, OutboxMessage) == mails + 1
    availability = await client.get(
        "/api/v1/availability",
        params={"from": hall.day.isoformat(), "to": hall.day.isoformat(), "room": hall.room_id},
    )
    slots = availability.json()["rooms"][0]["days"][0]["slots"]
    states = {s["period"]: s["state"] for s in slots}
    assert states["10"] == states["20"] == "booked"
    assert states["30"] == "open"

    again = await client.post(
        B,
        json=body(world, hall, group_id=world.group_b, period_codes=["20", "30"]),
        headers=world.headers("other_representative"),
    )
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "slot_taken"
    assert problem["errors"][0]["field"] == "period_codes"
    assert "午後" in problem["detail"]
    # All or nothing: 夜間 stayed free.
    states_after = await client.get(
        "/api/v1/availability",
        params={"from": hall.day.isoformat(), "to": hall.day.isoformat(), "room": hall.room_id},
    )
    assert states_after.json()["rooms"][0]["days"][0]["slots"][2]["state"] == "open"


async def test_fees_follow_the_category_and_the_all_day_tariff(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    admission = await client.post(
        B, json=body(world, hall, charges_admission=True), headers=world.headers("member")
    )
    assert admission.json()["fee_total"] == hall.fees["10"] * 3
    assert admission.json()["fee_breakdown"]["coefficient"] == "admission"
    # The whole day takes the room's all-day tariff, below the sum of its periods; two of the
    # three periods are charged one by one.
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    assert room.all_day_fee is not None
    assert room.all_day_fee < sum(hall.fees.values())
    other_day = open_weekday(hall.snapshot, hall.facility_id, hall.day + timedelta(days=1))
    whole = await client.post(
        B,
        json=body(world, hall, use_date=other_day.isoformat(), period_codes=["10", "20", "30"]),
        headers=world.headers("member"),
    )
    assert whole.status_code == 201, whole.text
    assert whole.json()["fee_total"] == room.all_day_fee
    assert whole.json()["fee_breakdown"]["lines"] == [
        {"period": "all_day", "base": room.all_day_fee}
    ]
    two = await client.post(
        B, json=body(world, hall, period_codes=["20", "30"]), headers=world.headers("member")
    )
    assert two.json()["fee_total"] == hall.fees["20"] + hall.fees["30"]


@pytest.mark.parametrize(
    ("changes", "status", "field", "code"),
    [
        ({"use_date": "2026-11-20"}, 400, "use_date", "past_date"),
        ({"period_codes": ["10", "30"]}, 400, "period_codes", "bad_periods"),
        ({"period_codes": ["99"]}, 400, "period_codes", "bad_periods"),
        ({"period_codes": ["10", "10"]}, 400, "period_codes", "bad_periods"),
        ({"period_codes": []}, 400, "period_codes", "invalid_input"),
        ({"headcount": 0}, 400, "headcount", "invalid_input"),
        ({"headcount": 5000}, 422, "headcount", "over_capacity"),
        ({"purpose": "karaoke"}, 400, "purpose", "unknown_purpose"),
        ({"room_id": 999999}, 400, "room_id", "room_not_found"),
        # March 2027 opens for first-come on 29 November; April is in no window yet.
        ({"use_date": "2027-04-07"}, 422, "use_date", "outside_window"),
        ({"use_date": "2026-11-27"}, 422, "use_date", "outside_window"),  # 2 days ahead
        ({"use_date": "2027-01-02"}, 422, "use_date", "closed"),  # New Year closure
    ],
)
async def test_bad_bookings_change_nothing(  # noqa: PLR0917 - pytest's parameters
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    changes: dict[str, Any],
    status: int,
    field: str,
    code: str,
) -> None:
    before = (await count(session, Booking), await count(session, Claim))
    response = await client.post(
        B, json=body(world, hall, **changes), headers=world.headers("member")
    )
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["code"] == code
    assert (await count(session, Booking), await count(session, Claim)) == before


async def test_who_may_book_for_a_group(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    stranger = await client.post(
        B, json=body(world, hall), headers=world.headers("other_representative")
    )
    assert stranger.status_code == 404  # group A is not theirs to know
    elsewhere = await client.post(B, json=body(world, hall), headers=world.headers("manager_here"))
    assert elsewhere.status_code == 403
    # The hall's manager books at the counter, inside the last 3 days online cannot reach.
    facility = hall.snapshot.facilities[hall.facility_id]
    soon = date(2026, 11, 26)
    while is_closed(hall.snapshot, facility, soon):
        soon += timedelta(days=1)
    assert soon <= date(2026, 11, 27), "the test needs the hall open on the 26th or 27th"
    online = await client.post(
        B, json=body(world, hall, use_date=soon.isoformat()), headers=world.headers("member")
    )
    assert online.json()["code"] == "outside_window"
    counter = await client.post(
        B, json=body(world, hall, use_date=soon.isoformat()), headers=hall.manager
    )
    assert counter.status_code == 201, counter.text
    assert counter.json()["channel"] == "counter"
    # A pending registration cannot book, not even at the counter.
    registration = {
        "kind": "individual",
        "name": "個人",
        "representative": {
            "name": "個人",
            "birth_date": "1980-01-01",
            "residency": "lives",
            "email": "solo@example.jp",
        },
    }
    pending = (await client.post("/api/v1/groups", json=registration, headers=hall.manager)).json()
    refused = await client.post(
        B, json=body(world, hall, group_id=pending["id"]), headers=hall.manager
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "registration_inactive"


async def test_a_suspended_group_cannot_book(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    await client.post(
        f"/api/v1/groups/{world.group_a}/suspend",
        json={"reason": "x"},
        headers=world.headers("admin"),
    )
    response = await client.post(B, json=body(world, hall), headers=world.headers("member"))
    assert response.status_code == 422
    assert response.json()["code"] == "registration_inactive"


async def test_idempotency_key_returns_the_first_answer(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = {**world.headers("member"), "Idempotency-Key": "retry-1"}
    first = await client.post(B, json=body(world, hall), headers=headers)
    second = await client.post(B, json=body(world, hall), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await count(session, Booking) == 1
    other = await client.post(B, json=body(world, hall, headcount=13), headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_cancellation_online_late_and_by_the_facility(
    world: World, hall: Hall, client: httpx.AsyncClient, clock: FrozenClock, session: AsyncSession
) -> None:
    member = world.headers("member")
    made = (await client.post(B, json=body(world, hall), headers=member)).json()
    path = f"{B}/{made['id']}/cancel"
    preview = await client.post(path + "?dry_run=true", headers=member)
    assert preview.json() == {**preview.json(), "charge": 0, "applied": False, "cause": "group"}
    assert (await client.get(f"{B}/{made['id']}", headers=member)).json()["status"] == "confirmed"
    stranger = await client.post(path, headers=world.headers("other_representative"))
    assert stranger.status_code == 404
    done = await client.post(path, headers=member)
    assert done.status_code == 200
    assert done.json()["booking"]["status"] == "cancelled"
    assert (await client.post(path, headers=member)).status_code == 409  # twice
    # the slot is free again
    assert (await client.post(B, json=body(world, hall), headers=member)).status_code == 201

    # Two days before: the group can no longer cancel; the facility can, at the full fee.
    late = (
        await client.post(B, json=body(world, hall, period_codes=["30"]), headers=member)
    ).json()
    clock.set(
        clock.now().replace(year=hall.day.year, month=hall.day.month, day=hall.day.day)
        - timedelta(days=2)
    )
    member = await relogin(client, "member-a@example.jp")
    refused = await client.post(f"{B}/{late['id']}/cancel", headers=member)
    assert refused.status_code == 422
    assert refused.json()["code"] == "cancellation_closed"
    manager = await relogin(client, "hall@city.example")
    charged = await client.post(f"{B}/{late['id']}/cancel", headers=manager)
    assert charged.json()["charge"] == late["fee_total"]
    assert charged.json()["cause"] == "late"
    events = await session.scalar(
        select(func.count()).where(AuditEvent.action == "booking.cancelled")
    )
    assert events == 2


async def test_a_facility_cancellation_is_free_and_moves_the_booking(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    made = (await client.post(B, json=body(world, hall), headers=world.headers("member"))).json()
    move = body(world, hall, period_codes=["20"])
    moved = await client.post(
        f"{B}/{made['id']}/cancel",
        json={"facility_cause": True, "move_to": move},
        headers=hall.manager,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["charge"] == 0
    assert moved.json()["moved_to"]["period_codes"] == ["20"]
    assert moved.json()["booking"]["moved_to_booking_id"] == moved.json()["moved_to"]["id"]
    by_member = await client.post(
        f"{B}/{moved.json()['moved_to']['id']}/cancel",
        json={"facility_cause": True},
        headers=world.headers("member"),
    )
    assert by_member.status_code == 403


async def test_staff_record_payment_and_no_show_and_export(
    world: World, hall: Hall, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    made = (await client.post(B, json=body(world, hall), headers=world.headers("member"))).json()
    refused = await client.post(
        f"{B}/{made['id']}/payment", json={"status": "paid"}, headers=world.headers("member")
    )
    assert refused.status_code == 403
    paid = await client.post(
        f"{B}/{made['id']}/payment",
        json={"status": "paid", "method": "counter"},
        headers=hall.manager,
    )
    assert paid.json()["payment_status"] == "paid"
    early = await client.post(f"{B}/{made['id']}/no-show", headers=hall.manager)
    assert early.status_code == 422
    assert early.json()["code"] == "not_yet"
    csv = await client.get(
        f"/api/v1/facilities/{hall.facility_id}/bookings.csv",
        params={"from": hall.day.isoformat(), "to": hall.day.isoformat()},
        headers=hall.manager,
    )
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("booking_id,use_date")
    assert "川崎合唱団" in lines[1]
    other = await client.get(
        f"/api/v1/facilities/{hall.facility_id}/bookings.csv",
        params={"from": hall.day.isoformat(), "to": hall.day.isoformat()},
        headers=world.headers("manager_here"),
    )
    assert other.status_code == 403
    # On the use date the group did not come: the no-show owes the full fee.
    clock.set(datetime.combine(hall.day, time(10), tzinfo=UTC))  # 19:00 JST
    manager = await relogin(client, "hall@city.example")
    no_show = await client.post(f"{B}/{made['id']}/no-show", headers=manager)
    assert no_show.status_code == 200, no_show.text
    assert no_show.json()["status"] == "no_show"
    assert no_show.json()["cancellation_charge"] == made["fee_total"] > 0


async def test_my_bookings(world: World, hall: Hall, client: httpx.AsyncClient) -> None:
    member = world.headers("member")
    first = (await client.post(B, json=body(world, hall), headers=member)).json()
    await client.post(B, json=body(world, hall, period_codes=["20"]), headers=member)
    await client.post(f"{B}/{first['id']}/cancel", headers=member)
    upcoming = await client.get(
        B, params={"group_id": world.group_a, "when": "upcoming"}, headers=member
    )
    cancelled = await client.get(
        B, params={"group_id": world.group_a, "when": "cancelled"}, headers=member
    )
    assert [b["period_codes"] for b in upcoming.json()] == [["20"]]
    assert [b["id"] for b in cancelled.json()] == [first["id"]]
    foreign = await client.get(
        B, params={"group_id": world.group_a}, headers=world.headers("other_representative")
    )
    assert foreign.status_code == 404


async def relogin(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    from tests.people import PASSWORD  # noqa: PLC0415

    response = await client.post("/api/v1/auth/login", json={"login": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {
        "Cookie": response.headers["set-cookie"].split(";")[0],
        "X-CSRF-Token": response.json()["csrf_token"],
    }


async def test_a_childrens_centre_takes_only_its_own_groups(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    outsider = await client.post(
        B, json=body(world, hall, room_id=world.room), headers=world.headers("member")
    )
    assert outsider.status_code == 422
    assert outsider.json()["code"] == "not_eligible"
    # The centre's own group, once active, books there at the counter, free of charge.
    staff = world.headers("manager_here")
    await client.post(f"/api/v1/groups/{world.centre_group}/activate", headers=staff)
    own = await client.post(
        B,
        json=body(world, hall, room_id=world.room, group_id=world.centre_group, purpose="meeting"),
        headers=staff,
    )
    assert own.status_code == 201, own.text
    assert own.json()["fee_total"] == 0
    assert own.json()["payment_status"] == "waived"
