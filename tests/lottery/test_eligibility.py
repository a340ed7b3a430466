"""Who may apply for the lottery and confirm a win: out-of-city groups where the policy lets
them, and only for dates the registration is valid on. Through HTTP on both databases."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group
from booking.clock import FrozenClock
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import run_due_draws
from booking.lottery.models import LotteryApplication
from tests.helpers import jst
from tests.lottery.test_cycle import A, application, login
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_eligibility import SetPolicy, out_of_city, refused, room_policy

__all__ = ["room_policy"]  # the fixture, used here


async def applied(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LotteryApplication)) or 0)


async def renew_all(client: httpx.AsyncClient, world: World) -> None:
    admin = await login(client, "admin@city.example")
    for group in (world.group_a, world.group_b):
        renewed = await client.post(f"/api/v1/groups/{group}/renew", headers=admin)
        assert renewed.status_code == 200, renewed.text


async def test_out_of_city_groups_apply_only_where_the_policy_lets_them(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    room_policy: SetPolicy,
) -> None:
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    clock.set(jst(date(2027, 4, 17), 10))
    await renew_all(client, world)
    await out_of_city(session, world.group_b)
    a = await login(client, "member-a@example.jp")
    b = await login(client, "rep-b@example.jp")

    # The default: out-of-city groups apply like everyone.
    first = await client.post(
        A, json=application(world, hall, day, ["30"], world.group_b), headers=b
    )
    assert first.status_code == 201, first.text

    await room_policy({"lottery": {"out_of_city_may_apply": False}})
    before = await applied(session)
    refused(
        await client.post(A, json=application(world, hall, day, ["10"], world.group_b), headers=b),
        "group_id",
        "out_of_city",
    )
    assert await applied(session) == before
    ours = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_a), headers=a
    )
    assert ours.status_code == 201, ours.text

    # The out-of-city group's win, confirmed where out-of-city groups pay x1.5.
    await room_policy(
        {"lottery": {"out_of_city_may_apply": False}, "fees": {"out_of_city_coefficient": 1.5}}
    )
    clock.set(jst(date(2027, 4, 24), 10))
    await run_due_draws(sessionmaker, clock, world.settings, await SnapshotCache().get(session))
    clock.set(jst(date(2027, 4, 25), 10))
    b = await login(client, "rep-b@example.jp")
    confirmed = await client.post(f"{A}/{first.json()['id']}/confirm", headers=b)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["fee_total"] == int(hall.fees["30"] * 1.5) // 10 * 10
    assert confirmed.json()["fee_breakdown"]["out_of_city_factor"] == 1.5


async def test_applications_and_confirmations_only_for_dates_the_registration_covers(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # 17 December 2026: the April lottery is open; the cards end on 31 March 2027.
    clock.set(jst(date(2026, 12, 17), 10))
    a = await login(client, "member-a@example.jp")
    april = open_weekday(hall.snapshot, hall.facility_id, date(2027, 4, 12))
    before = await applied(session)
    response = await client.post(
        A, json=application(world, hall, april, ["10"], world.group_a), headers=a
    )
    refused(response, "use_date", "registration_expires")
    assert "2027-03-31" in response.json()["detail"]
    assert await applied(session) == before
    # Renewal is open by then (from 1 December): renewed, the group applies for April.
    await renew_all(client, world)
    a = await login(client, "member-a@example.jp")
    response = await client.post(
        A, json=application(world, hall, april, ["10"], world.group_a), headers=a
    )
    assert response.status_code == 201, response.text
    assert await applied(session) == before + 1

    # August (renewed above): a win; suspended before confirming, it cannot be confirmed.
    august = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    clock.set(jst(date(2027, 4, 17), 10))
    a = await login(client, "member-a@example.jp")
    won = await client.post(
        A, json=application(world, hall, august, ["10"], world.group_a), headers=a
    )
    assert won.status_code == 201, won.text
    clock.set(jst(date(2027, 4, 24), 10))
    snapshot = await SnapshotCache().get(session)
    await run_due_draws(sessionmaker, clock, world.settings, snapshot)
    clock.set(jst(date(2027, 4, 25), 10))
    admin = await login(client, "admin@city.example")
    a = await login(client, "member-a@example.jp")
    suspended = await client.post(
        f"/api/v1/groups/{world.group_a}/suspend", json={"reason": "確認中"}, headers=admin
    )
    assert suspended.status_code == 200, suspended.text
    confirm = f"{A}/{won.json()['id']}/confirm"
    refused(await client.post(confirm, headers=a), "group_id", "registration_inactive")
    reinstated = await client.post(f"/api/v1/groups/{world.group_a}/reinstate", headers=admin)
    assert reinstated.status_code == 200, reinstated.text
    # A registration corrected at the counter to end before the use date (a data repair:
    # no service shortens a validity) cannot confirm a win after its end.
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=date(2027, 7, 31))
    )
    await session.commit()
    refused(await client.post(confirm, headers=a), "use_date", "registration_expires")
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=date(2028, 3, 31))
    )
    await session.commit()
    confirmed = await client.post(confirm, headers=a)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["fee_breakdown"]["in_city"] is True
