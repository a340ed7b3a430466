"""The August worked example of RULES.md, end to end with a set clock, on both databases:
apply 17-23 April, draw 24 April, confirm 25-28 April, first-come from 29 April."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import lapse_unconfirmed, remind_winners, run_due_draws
from booking.lottery.models import LotteryApplication, LotteryCycle
from booking.lottery.verify import verify_document
from booking.notifications.models import OutboxMessage
from booking.reservations.consistency import check
from tests.helpers import jst
from tests.people import PASSWORD, World
from tests.places import Hall, open_weekday

A = "/api/v1/lottery/applications"


async def login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"login": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {
        "Cookie": response.headers["set-cookie"].split(";")[0],
        "X-CSRF-Token": response.json()["csrf_token"],
    }


def application(world: World, hall: Hall, day: date, periods: list[str], group: int) -> Any:
    return {
        "group_id": group,
        "room_id": hall.room_id,
        "use_date": day.isoformat(),
        "period_codes": periods,
        "purpose": "meeting",
        "headcount": 10,
    }


async def test_the_august_worked_example(  # noqa: PLR0915 - one story, told in order
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    # 17 April: the registrations (valid to 31 March) are renewed at the counter first.
    clock.set(jst(date(2027, 4, 17), 10))
    admin = await login(client, "admin@city.example")
    for group in (world.group_a, world.group_b):
        assert (
            await client.post(f"/api/v1/groups/{group}/renew", headers=admin)
        ).status_code == 200
    a = await login(client, "member-a@example.jp")
    b = await login(client, "rep-b@example.jp")

    cycles = await client.get("/api/v1/lottery/cycles", params={"month": "2027-08"})
    civic = next(c for c in cycles.json()["calendars"] if c["facility_kind"] == "civic_hall")
    assert (civic["apply_from"], civic["apply_to"]) == ("2027-04-17", "2027-04-23")
    assert civic["draw_at"].startswith("2027-04-24T")
    assert (civic["confirm_from"], civic["confirm_to"]) == ("2027-04-25", "2027-04-28")
    assert civic["first_come_from"] == "2027-04-29"

    won_by_a = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_a), headers=a
    )
    assert won_by_a.status_code == 201, won_by_a.text
    contested = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_b), headers=b
    )
    alone = await client.post(
        A, json=application(world, hall, day, ["20"], world.group_b), headers=b
    )
    assert contested.status_code == alone.status_code == 201
    # The commitment is published with the first application.
    commitment = (await client.get("/api/v1/lottery/cycles", params={"month": "2027-08"})).json()[
        "commitment"
    ]
    assert commitment is not None
    assert len(commitment) == 64

    # Bad input: the same slot twice, over the quota, first-come booking during the window.
    twice = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_a), headers=a
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "already_applied"
    later = day + timedelta(days=1)
    later = open_weekday(hall.snapshot, hall.facility_id, later)
    big = await client.post(
        A, json=application(world, hall, later, ["10", "20", "30"], world.group_a), headers=a
    )
    assert big.status_code == 201
    over = []
    for offset in range(2, 6):
        other = open_weekday(hall.snapshot, hall.facility_id, day + timedelta(days=offset * 2))
        over.append(
            await client.post(
                A, json=application(world, hall, other, ["10", "20"], world.group_a), headers=a
            )
        )
    assert [r.status_code for r in over][:2] == [201, 201]  # 1 + 3 + 2 + 2 = 8 period-slots
    assert over[2].json()["code"] == "over_quota"
    booking = await client.post(
        "/api/v1/bookings",
        json={**application(world, hall, day, ["30"], world.group_a)},
        headers=a,
    )
    assert booking.json()["code"] == "outside_window"

    availability = await client.get(
        "/api/v1/availability",
        params={"from": day.isoformat(), "to": day.isoformat(), "room": hall.room_id},
    )
    slots = {s["period"]: s for s in availability.json()["rooms"][0]["days"][0]["slots"]}
    assert slots["10"] == {"period": "10", "state": "lottery", "applicants": 2}

    # 24 April, after the draw time: the worker draws; a second run changes nothing.
    clock.set(jst(date(2027, 4, 24), 9, 30))
    snapshot = await SnapshotCache().get(session)
    first = await run_due_draws(sessionmaker, clock, world.settings, snapshot)
    assert [r.drawn for r in first] == [True]
    assert await run_due_draws(sessionmaker, clock, world.settings, snapshot) == []
    results = {
        a.id: a
        for a in (
            await session.scalars(
                select(LotteryApplication).execution_options(populate_existing=True)
            )
        ).all()
    }
    pair = [results[won_by_a.json()["id"]], results[contested.json()["id"]]]
    assert sorted(x.status.value for x in pair) == ["lost", "won"]
    assert results[alone.json()["id"]].status.value == "won"
    mails = await session.scalar(
        select(func.count()).where(OutboxMessage.template == "lottery_results")
    )
    assert mails == 2  # one per group
    published = await client.get(f"/api/v1/lottery/draws/2027-08/{hall.facility_id}")
    cycle = await session.get_one(LotteryCycle, date(2027, 8, 1))
    assert cycle.commitment == commitment
    assert verify_document(published.json(), commitment) == []
    slots_after = await client.get(
        "/api/v1/availability",
        params={"from": day.isoformat(), "to": day.isoformat(), "room": hall.room_id},
    )
    states = {s["period"]: s["state"] for s in slots_after.json()["rooms"][0]["days"][0]["slots"]}
    assert states["10"] == states["20"] == "booked"

    # 25 April: the winner of the contested slot confirms; the loser cannot.
    clock.set(jst(date(2027, 4, 25), 10))
    winner, loser = sorted(pair, key=lambda x: x.status.value != "won")
    headers = {
        world.group_a: await login(client, "member-a@example.jp"),
        world.group_b: await login(client, "rep-b@example.jp"),
    }
    confirmed = await client.post(f"{A}/{winner.id}/confirm", headers=headers[winner.group_id])
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["fee_total"] == hall.fees["10"]
    refused = await client.post(f"{A}/{loser.id}/confirm", headers=headers[loser.group_id])
    assert refused.status_code == 409
    strangers = await client.post(
        f"{A}/{alone.json()['id']}/confirm", headers=headers[world.group_a]
    )
    assert strangers.status_code == 404

    # 27 April: a reminder to each unconfirmed winner (B's and A's uncontested ones), once.
    unconfirmed = await session.scalar(
        select(func.count()).where(LotteryApplication.status == "won")
    )
    assert unconfirmed == 4
    clock.set(jst(date(2027, 4, 27), 10))
    assert await remind_winners(sessionmaker, clock, world.settings, snapshot) == unconfirmed
    assert await remind_winners(sessionmaker, clock, world.settings, snapshot) == 0

    # 29 April: too late to confirm; the win lapses; the slot is booked first-come.
    clock.set(jst(date(2027, 4, 29), 0, 30))
    b = await login(client, "rep-b@example.jp")
    late = await client.post(f"{A}/{alone.json()['id']}/confirm", headers=b)
    assert late.status_code == 422
    assert late.json()["code"] == "outside_confirmation_window"
    assert await lapse_unconfirmed(sessionmaker, clock, world.settings, snapshot) == unconfirmed
    assert await lapse_unconfirmed(sessionmaker, clock, world.settings, snapshot) == 0
    a = await login(client, "member-a@example.jp")
    first_come = await client.post(
        "/api/v1/bookings", json=application(world, hall, day, ["20"], world.group_a), headers=a
    )
    assert first_come.status_code == 201, first_come.text
    assert (await check(session)).ok
    mine = await client.get(A, params={"group_id": world.group_b, "month": "2027-08"}, headers=b)
    assert {x["status"] for x in mine.json()} >= {"lapsed"}


async def test_withdrawal_counter_only_rooms_and_shared_contacts(
    world: World, hall: Hall, client: httpx.AsyncClient, clock: FrozenClock, session: AsyncSession
) -> None:
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    clock.set(jst(date(2027, 4, 17), 10))
    admin = await login(client, "admin@city.example")
    for group in (world.group_a, world.group_b):
        await client.post(f"/api/v1/groups/{group}/renew", headers=admin)
        # Both groups give the same contact phone: the report pairs them.
        await client.patch(f"/api/v1/groups/{group}", json={"phone": "044-999-0000"}, headers=admin)
    a = await login(client, "member-a@example.jp")
    b = await login(client, "rep-b@example.jp")
    mine = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_a), headers=a
    )
    theirs = await client.post(
        A, json=application(world, hall, day, ["10"], world.group_b), headers=b
    )
    assert mine.status_code == theirs.status_code == 201
    counter_only = next(
        r
        for r in hall.snapshot.rooms
        if r.facility_id == hall.facility_id and not r.online_bookable
    )
    refused = await client.post(
        A,
        json={**application(world, hall, day, ["10"], world.group_a), "room_id": counter_only.id},
        headers=a,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "counter_only"

    report = await client.get(
        f"/api/v1/lottery/reports/2027-08/{hall.facility_id}/shared-contacts", headers=admin
    )
    assert report.json() == [
        {
            "group_ids": sorted([world.group_a, world.group_b]),
            "shared": "phone",
            "room_id": hall.room_id,
            "date": day.isoformat(),
            "period": "10",
        }
    ]
    stats = await client.get(f"/api/v1/lottery/reports/2027-08/{hall.facility_id}")
    assert stats.json()["contested_slots"] == 1
    assert stats.json()["applications"] == 2

    withdrawn = await client.post(f"{A}/{mine.json()['id']}/withdraw", headers=a)
    assert withdrawn.json()["status"] == "withdrawn"
    clock.set(jst(date(2027, 4, 24), 8))  # the window closed at the end of the 23rd
    b = await login(client, "rep-b@example.jp")
    late = await client.post(f"{A}/{theirs.json()['id']}/withdraw", headers=b)
    assert late.status_code == 422
    assert late.json()["code"] == "window_closed"
    outside = await client.post(
        A, json=application(world, hall, day, ["20"], world.group_b), headers=b
    )
    assert outside.json()["code"] == "outside_application_window"


async def test_months_and_dates_past_the_usable_years_are_a_400_naming_the_field(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Year 1 or 9999 (a typo): the cycle's arithmetic (M-4, the month after) would leave
    Python's calendar. Every route reading a month goes through parse_month."""
    member = world.headers("member")
    for month in ("0001-01", "1899-12", "2200-01", "9999-12"):
        for path, headers in [
            (f"/api/v1/lottery/cycles?month={month}", {}),
            (f"/api/v1/lottery/draws/{month}/{hall.facility_id}", {}),
            (f"/api/v1/lottery/reports/{month}/{hall.facility_id}", {}),
            (f"{A}?group_id={world.group_a}&month={month}", member),
        ]:
            refused = await client.get(path, headers=headers)
            assert refused.status_code == 400, (path, refused.text)
            assert [e["field"] for e in refused.json()["errors"]] == ["month"], path
    for month in ("1900-01", "2199-12"):
        found = await client.get("/api/v1/lottery/cycles", params={"month": month})
        assert found.status_code == 200, found.text
    before = await session.scalar(select(func.count()).select_from(LotteryApplication))
    for day in ("0001-01-01", "9999-12-31"):
        body = {
            **application(world, hall, date(2027, 8, 9), ["10"], world.group_a),
            "use_date": day,
        }
        refused = await client.post(A, json=body, headers=member)
        assert refused.status_code == 400, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["use_date"]
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(LotteryApplication)) == before
