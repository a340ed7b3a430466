"""Every mail of a booking becoming final links its usage permit (issue 16 §3): a confirmed
lottery win's confirmation and a completed hold's as much as a first-come booking's (and an
approved one's, tests/reservations/test_changes.py); the link opens the PDF."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import run_due_draws
from tests.helpers import jst
from tests.lottery.test_cycle import application, login
from tests.notifications.test_booking_mails import (
    assert_names_the_slot,
    follow_links,
    mails,
    permit_links,
)
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_bookings import body
from tests.reservations.test_holds_blocks import holds_allowed  # noqa: F401 - a fixture


async def test_a_confirmed_lottery_win_is_mailed_with_its_permit(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    clock.set(jst(date(2027, 4, 17), 10))
    admin = await login(client, "admin@city.example")
    renewed = await client.post(f"/api/v1/groups/{world.group_a}/renew", headers=admin)
    assert renewed.status_code == 200, renewed.text
    member = await login(client, "member-a@example.jp")
    applied = await client.post(
        "/api/v1/lottery/applications",
        json=application(world, hall, day, ["10", "20"], world.group_a),
        headers=member,
    )
    assert applied.status_code == 201, applied.text
    clock.set(jst(date(2027, 4, 24), 9, 30))
    snapshot = await SnapshotCache().get(session)
    assert [r.wins for r in await run_due_draws(sessionmaker, clock, world.settings, snapshot)]
    # A win is not final yet.
    assert await mails(session, "booking_confirmed") == []
    assert await mails(session, "lottery_confirmed") == []

    clock.set(jst(date(2027, 4, 25), 10))
    member = await login(client, "member-a@example.jp")
    confirmed = await client.post(
        f"/api/v1/lottery/applications/{applied.json()['id']}/confirm", headers=member
    )
    assert confirmed.status_code == 200, confirmed.text
    booking_id = confirmed.json()["id"]
    # A confirmed win has its own mail (it names the application), not the first-come one.
    assert await mails(session, "booking_confirmed") == []
    (mail,) = await mails(session, "lottery_confirmed")
    assert_names_the_slot(mail, hall, day, ["10", "20"], ("予約確定", "confirmed"))
    permit = f"/my/bookings/{booking_id}/permit.pdf"
    assert permit_links(mail) == [f"{permit}?", f"{permit}?lang=en"]
    # Each link opens: the booking's page, and the permit as a PDF in both languages.
    assert await follow_links(client, world, mail) == f"/my/bookings/{booking_id}"


async def test_a_completed_hold_is_mailed_with_its_permit(
    world: World,
    holds_allowed: Hall,  # noqa: F811 - the fixture imported above
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    hall = holds_allowed
    held = await client.post("/api/v1/holds", json=body(world, hall), headers=hall.manager)
    assert held.status_code == 201, held.text
    [taken] = await mails(session, "booking_confirmed")
    assert permit_links(taken) == []  # a hold is not final
    booking_id = held.json()["id"]
    done = await client.post(f"/api/v1/bookings/{booking_id}/complete", headers=hall.manager)
    assert done.status_code == 200, done.text
    [_, mail] = await mails(session, "booking_confirmed")
    assert_names_the_slot(mail, hall, hall.day, ["10"], ("予約確定", "confirmed"))
    permit = f"/my/bookings/{booking_id}/permit.pdf"
    assert permit_links(mail) == [f"{permit}?", f"{permit}?lang=en"]
    assert await follow_links(client, world, mail) == f"/my/bookings/{booking_id}"
