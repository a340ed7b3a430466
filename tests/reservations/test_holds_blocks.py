"""Holds, blocks, closures and the consistency check, through HTTP on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock
from booking.inventory.models import Policy, Room
from booking.inventory.services import bump_revision
from booking.notifications.models import OutboxMessage
from booking.reservations.consistency import check
from booking.reservations.holds import expire_holds, remind_holds
from booking.reservations.models import Booking, Claim
from tests.pages.browsing import changes, footprint
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body


@pytest.fixture
async def holds_allowed(hall: Hall, session: AsyncSession, clock: FrozenClock) -> Hall:
    """The hall room's own policy layer allows holds (the bundled data has none that do)."""
    policy = Policy(key="test-holds", settings={"holds": {"allowed": True}})
    session.add(policy)
    await session.flush()
    await session.execute(update(Room).where(Room.id == hall.room_id).values(policy_id=policy.id))
    await bump_revision(session, clock.now())
    await session.commit()
    return hall


async def state(client: httpx.AsyncClient, hall: Hall, day: str, period: int = 0) -> str:
    response = await client.get(
        "/api/v1/availability", params={"from": day, "to": day, "room": hall.room_id}
    )
    return str(response.json()["rooms"][0]["days"][0]["slots"][period]["state"])


async def test_a_hold_is_taken_by_staff_and_completed(
    world: World, holds_allowed: Hall, client: httpx.AsyncClient
) -> None:
    hall = holds_allowed
    refused = await client.post(
        "/api/v1/holds", json=body(world, hall), headers=world.headers("member")
    )
    assert refused.status_code == 403
    held = await client.post("/api/v1/holds", json=body(world, hall), headers=hall.manager)
    assert held.status_code == 201, held.text
    assert held.json()["status"] == "held"
    assert await state(client, hall, hall.day.isoformat()) == "booked"
    done = await client.post(f"{B}/{held.json()['id']}/complete", headers=hall.manager)
    assert done.json()["status"] == "confirmed"
    again = await client.post(f"{B}/{held.json()['id']}/complete", headers=hall.manager)
    assert again.status_code == 409


async def test_holds_are_refused_where_the_policy_has_none(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    response = await client.post("/api/v1/holds", json=body(world, hall), headers=hall.manager)
    assert response.status_code == 422
    assert response.json()["code"] == "holds_not_allowed"


async def test_a_lapsed_hold_is_released_once_and_reminded_before(
    world: World,
    holds_allowed: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    hall = holds_allowed
    held = (await client.post("/api/v1/holds", json=body(world, hall), headers=hall.manager)).json()
    # Taken on 25 November (JST): void unless completed by 28 November 17:00 JST.
    booking = await session.get_one(Booking, held["id"])
    assert booking.hold_expires_at == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert await remind_holds(sessionmaker, clock, world.settings) == 1
    assert await remind_holds(sessionmaker, clock, world.settings) == 0
    reminders = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "hold_expiring")
    )
    assert len(reminders.all()) == 1
    assert await expire_holds(sessionmaker, clock) == 0  # not yet
    clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    assert await expire_holds(sessionmaker, clock) == 1
    assert await expire_holds(sessionmaker, clock) == 0  # a second run finds it done
    await session.refresh(booking)
    assert booking.status.value == "cancelled"
    assert booking.cancel_cause == "expired"
    assert (await check(session)).ok


async def test_blocks_never_override_bookings(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    made = (await client.post(B, json=body(world, hall), headers=world.headers("member"))).json()
    week: dict[str, Any] = {
        "room_id": hall.room_id,
        "start_date": hall.day.isoformat(),
        "end_date": (hall.day + timedelta(days=6)).isoformat(),
        "reason": "maintenance",
        "note": "空調工事",
    }
    refused = await client.post("/api/v1/blocks", json=week, headers=hall.manager)
    assert refused.status_code == 409
    assert f"booking {made['id']} of 川崎合唱団" in refused.json()["errors"][0]["reason"]
    assert await state(client, hall, hall.day.isoformat(), 1) == "open"  # nothing blocked

    later = {**week, "start_date": (hall.day + timedelta(days=1)).isoformat()}
    blocked = await client.post("/api/v1/blocks", json=later, headers=hall.manager)
    assert blocked.status_code == 201, blocked.text
    next_day = (hall.day + timedelta(days=1)).isoformat()
    assert await state(client, hall, next_day) == "blocked"
    booking = await client.post(
        B, json=body(world, hall, use_date=next_day), headers=world.headers("member")
    )
    assert booking.status_code == 409
    assert "blocked by the facility" in booking.json()["detail"]
    other = await client.post("/api/v1/blocks", json=later, headers=world.headers("manager_here"))
    assert other.status_code == 403
    released = await client.delete(f"/api/v1/blocks/{blocked.json()['id']}", headers=hall.manager)
    assert released.status_code == 204
    assert await state(client, hall, next_day) == "open"


async def test_a_closure_reports_and_tells_the_bookings_on_its_dates(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = (await client.post(B, json=body(world, hall), headers=world.headers("member"))).json()
    closed = await client.post(
        f"/api/v1/facilities/{hall.facility_id}/closures",
        json={"from": hall.day.isoformat(), "to": hall.day.isoformat(), "note": "停電"},
        headers=hall.manager,
    )
    assert closed.status_code == 201, closed.text
    assert [b["id"] for b in closed.json()["affected"]] == [made["id"]]
    notices = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "closure_notice")
    )
    assert len(notices.all()) == 1
    # The booked slot (period 10, the first) shows closed, not booked: a closure comes first.
    assert await state(client, hall, hall.day.isoformat(), 0) == "closed"
    assert await state(client, hall, hall.day.isoformat(), 2) == "closed"  # nobody's slot
    late = await client.post(
        B, json=body(world, hall, period_codes=["30"]), headers=world.headers("member")
    )
    assert late.json()["code"] == "closed"


async def test_far_dates_of_blocks_and_closures_are_a_400_naming_the_field(
    hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Year 1 or 9999 (a typo): refused by the dates' bounds, nothing stored, never a 500."""
    before = await footprint(session)
    for day, field in [("9999-12-31", "end_date"), ("0001-01-01", "start_date")]:
        start = "2027-03-15" if field == "end_date" else day
        block = {"room_id": hall.room_id, "start_date": start, "end_date": day, "reason": "event"}
        refused = await client.post("/api/v1/blocks", json=block, headers=hall.manager)
        assert refused.status_code == 400, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    for closure, field in [
        ({"from": "0001-01-01", "to": "0001-01-01"}, "from"),
        ({"from": "2199-12-31", "to": "2200-01-01"}, "to"),
    ]:
        refused = await client.post(
            f"/api/v1/facilities/{hall.facility_id}/closures", json=closure, headers=hall.manager
        )
        assert refused.status_code == 400, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    listing = await client.get(
        f"/api/v1/facilities/{hall.facility_id}/bookings",
        params={"from": "2027-03-01", "to": "9999-12-31"},
        headers=hall.manager,
    )
    assert listing.status_code == 400, listing.text
    assert [e["field"] for e in listing.json()["errors"]] == ["to"]
    assert not changes(before, await footprint(session))


async def test_the_consistency_check_finds_orphans_and_gaps(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = (await client.post(B, json=body(world, hall), headers=world.headers("member"))).json()
    assert (await check(session)).ok
    # Cancelled by hand, claims left behind: the check finds them.
    await session.execute(
        update(Booking).where(Booking.id == made["id"]).values(status="cancelled")
    )
    report = await check(session)
    assert not report.ok
    assert len(report.orphan_claims) == 1
    assert report.orphan_claims[0].endswith(f"(booking) of {made['id']}")
    assert report.incomplete == []
    # A live booking that lost one of its claims (a gap): the check names it and the count.
    gapped = (
        await client.post(
            B, json=body(world, hall, period_codes=["20", "30"]), headers=world.headers("member")
        )
    ).json()
    await session.execute(
        delete(Claim).where(Claim.owner_id == gapped["id"], Claim.period_code == "30")
    )
    report = await check(session)
    assert report.incomplete == [f"booking {gapped['id']}: 1 of 2"]


@pytest.fixture
async def approval_needed(hall: Hall, session: AsyncSession, clock: FrozenClock) -> Hall:
    policy = Policy(key="test-approval", settings={"requires_approval": True})
    session.add(policy)
    await session.flush()
    await session.execute(update(Room).where(Room.id == hall.room_id).values(policy_id=policy.id))
    await bump_revision(session, clock.now())
    await session.commit()
    return hall


async def test_a_booking_waits_for_approval_where_the_policy_says_so(
    world: World, approval_needed: Hall, client: httpx.AsyncClient
) -> None:
    hall = approval_needed
    first = await client.post(B, json=body(world, hall), headers=world.headers("member"))
    assert first.json()["status"] == "pending_approval"
    assert await state(client, hall, hall.day.isoformat()) == "booked"  # held meanwhile
    by_member = await client.post(
        f"{B}/{first.json()['id']}/approve", headers=world.headers("member")
    )
    assert by_member.status_code == 403
    approved = await client.post(f"{B}/{first.json()['id']}/approve", headers=hall.manager)
    assert approved.json()["status"] == "confirmed"
    second = await client.post(
        B, json=body(world, hall, period_codes=["20"]), headers=world.headers("member")
    )
    rejected = await client.post(f"{B}/{second.json()['id']}/reject", headers=hall.manager)
    assert rejected.json()["status"] == "cancelled"
    assert rejected.json()["cancel_cause"] == "rejected"
    assert await state(client, hall, hall.day.isoformat(), 1) == "open"
