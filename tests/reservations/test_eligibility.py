"""Who may book which date: out-of-city groups where the policy says so (fee and eligibility),
and only dates the registration is valid on. Through HTTP on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group, Member, Residency
from booking.clock import FrozenClock
from booking.inventory.models import Policy, Room
from booking.inventory.services import bump_revision
from booking.reservations.models import Booking, Claim
from tests.helpers import jst
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_bookings import B, body, relogin

SetPolicy = Callable[[dict[str, Any]], Awaitable[None]]


async def out_of_city(session: AsyncSession, group_id: int) -> None:
    """Every member now lives, works and studies outside the city (the roster service keeps
    `in_city` in step with the members; here both are set together)."""
    await session.execute(
        update(Member).where(Member.group_id == group_id).values(residency=Residency.NONE)
    )
    await session.execute(update(Group).where(Group.id == group_id).values(in_city=False))
    await session.commit()


@pytest.fixture
def room_policy(hall: Hall, session: AsyncSession, clock: FrozenClock) -> SetPolicy:
    """Give the hall room its own policy layer (replaced on each call)."""
    made: list[Policy] = []

    async def set_policy(settings: dict[str, Any]) -> None:
        if made:
            made[0].settings = settings
        else:
            made.append(Policy(key="test-eligibility", settings=settings))
            session.add(made[0])
            await session.flush()
            await session.execute(
                update(Room).where(Room.id == hall.room_id).values(policy_id=made[0].id)
            )
        await bump_revision(session, clock.now())
        await session.commit()

    return set_policy


async def written(session: AsyncSession) -> tuple[int, int]:
    bookings = await session.scalar(select(func.count()).select_from(Booking))
    claims = await session.scalar(select(func.count()).select_from(Claim))
    return int(bookings or 0), int(claims or 0)


def refused(response: httpx.Response, field: str, code: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_out_of_city_groups_pay_the_coefficient_and_book_where_the_policy_lets_them(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    room_policy: SetPolicy,
) -> None:
    await room_policy({"fees": {"out_of_city_coefficient": 1.5}, "holds": {"allowed": True}})
    await out_of_city(session, world.group_b)
    outsider = world.headers("other_representative")

    theirs = await client.post(B, json=body(world, hall, group_id=world.group_b), headers=outsider)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["fee_total"] == int(hall.fees["10"] * 1.5) // 10 * 10
    breakdown = theirs.json()["fee_breakdown"]
    assert (breakdown["in_city"], breakdown["out_of_city_factor"]) == (False, 1.5)
    ours = await client.post(
        B, json=body(world, hall, period_codes=["20"]), headers=world.headers("member")
    )
    assert ours.json()["fee_total"] == hall.fees["20"]
    assert (
        ours.json()["fee_breakdown"]["in_city"],
        ours.json()["fee_breakdown"]["out_of_city_factor"],
    ) == (True, 1.0)

    # The room now takes in-city groups only: online, at the counter and by phone alike.
    await room_policy({"out_of_city_may_book": False, "holds": {"allowed": True}})
    before = await written(session)
    late = body(world, hall, group_id=world.group_b, period_codes=["30"])
    refused(await client.post(B, json=late, headers=outsider), "group_id", "out_of_city")
    refused(await client.post(B, json=late, headers=hall.manager), "group_id", "out_of_city")
    refused(
        await client.post("/api/v1/holds", json=late, headers=hall.manager),
        "group_id",
        "out_of_city",
    )
    assert await written(session) == before
    in_city = await client.post(
        B, json=body(world, hall, period_codes=["30"]), headers=world.headers("member")
    )
    assert in_city.status_code == 201, in_city.text


async def test_a_booking_is_only_for_dates_the_registration_is_valid_on(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    room_policy: SetPolicy,
) -> None:
    await room_policy({"holds": {"allowed": True}})
    # 5 January 2027: first-come is open for March and April; the cards end on 31 March.
    clock.set(jst(date(2027, 1, 5), 10))
    member = await relogin(client, "member-a@example.jp")
    manager = await relogin(client, "hall@city.example")
    april = open_weekday(hall.snapshot, hall.facility_id, date(2027, 4, 5))
    march = open_weekday(hall.snapshot, hall.facility_id, date(2027, 3, 22))
    kept = await client.post(B, json=body(world, hall, use_date=march.isoformat()), headers=member)
    assert kept.status_code == 201, kept.text

    before = await written(session)
    after_expiry = body(world, hall, use_date=april.isoformat())
    online = await client.post(B, json=after_expiry, headers=member)
    refused(online, "use_date", "registration_expires")
    assert "2027-03-31" in online.json()["detail"]
    refused(
        await client.post(B, json=after_expiry, headers=manager), "use_date", "registration_expires"
    )
    refused(
        await client.post("/api/v1/holds", json=after_expiry, headers=manager),
        "use_date",
        "registration_expires",
    )
    moved = await client.post(
        f"{B}/{kept.json()['id']}/cancel",
        json={"facility_cause": True, "move_to": after_expiry},
        headers=manager,
    )
    refused(moved, "use_date", "registration_expires")
    assert (await client.get(f"{B}/{kept.json()['id']}", headers=member)).json()[
        "status"
    ] == "confirmed"
    assert await written(session) == before

    # Renewed from 1 December (to 31 March 2028): April can be booked.
    clock.set(jst(date(2026, 12, 1), 10))
    admin = await relogin(client, "admin@city.example")
    renewed = await client.post(f"/api/v1/groups/{world.group_a}/renew", headers=admin)
    assert renewed.status_code == 200, renewed.text
    clock.set(jst(date(2027, 2, 1), 10))  # when first-come for April has opened
    member = await relogin(client, "member-a@example.jp")
    booked = await client.post(B, json=after_expiry, headers=member)
    assert booked.status_code == 201, booked.text
