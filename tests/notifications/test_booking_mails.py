"""Issue 14, item 22: every mail about a booking or a lottery application names the facility
and the room, the date with its weekday, the periods by name with their times, its status in
the language of each part, and links to a page the group's member can open."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import lapse_unconfirmed, remind_winners, run_due_draws
from booking.notifications.models import OutboxMessage
from booking.reservations.holds import remind_holds
from tests.helpers import jst
from tests.lottery.test_cycle import application, login
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_bookings import B, body
from tests.reservations.test_holds_blocks import holds_allowed  # noqa: F401 - a fixture

WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Words of the API's statuses that must not stand in a Japanese text.
ENGLISH_STATUSES = re.compile(
    r"\b(confirmed|cancelled|held|pending|approval|won|lost|lapsed|applied|completed)\b",
    re.IGNORECASE,
)


async def mails(session: AsyncSession, template: str) -> list[OutboxMessage]:
    found = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == template)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(found.all())


async def follow_links(client: httpx.AsyncClient, world: World, mail: OutboxMessage) -> str:
    """Every link of the mail is ours and the group's member gets it: one page (its path is
    returned) and, for a confirmed booking, its usage permit in each language."""
    links = set(re.findall(r"https?://\S+", mail.body_text))
    assert all(link.startswith(world.settings.public_url) for link in links), links
    # Logged in now: the clock may have moved past the world's sessions.
    member = await login(client, "member-a@example.jp")
    pages = []
    for link in sorted(links):
        target = urlsplit(link)
        path = f"{target.path}?{target.query}" if target.query else target.path
        got = await client.get(path, headers=member)
        assert got.status_code == 200, (path, got.headers.get("location"))
        if target.path.endswith("/permit.pdf"):
            assert got.headers["content-type"] == "application/pdf"
        else:
            pages.append(target.path)
    assert len(pages) == 1, links
    return pages[0]


def permit_links(mail: OutboxMessage) -> list[str]:
    return sorted(
        urlsplit(u).path + "?" + urlsplit(u).query
        for u in re.findall(r"https?://\S+/permit\.pdf\S*", mail.body_text)
    )


def assert_names_the_slot(
    mail: OutboxMessage, hall: Hall, day: date, codes: list[str], status: tuple[str, str]
) -> None:
    japanese, _, english = mail.body_text.partition("\n---\n")
    assert english, "a Japanese part, then an English one"
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    facility = hall.snapshot.facilities[room.facility_id]
    periods = {p.code: p for p in room.grid.periods}
    assert facility.name_ja in japanese
    assert room.name_ja in japanese
    assert f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）" in japanese
    assert facility.name_en in english
    assert room.name_en in english
    assert f"{WEEKDAYS_EN[day.weekday()]} {day.day} {day:%b} {day.year}" in english
    for code in codes:
        period = periods[code]
        hours = f"{period.start.hour}:{period.start:%M}"
        assert f"{period.name_ja}（{hours}〜" in japanese
        assert f"{period.name_en} ({hours}–" in english
    assert not re.search(r"区分: [0-9]", japanese), "period codes instead of names"
    assert status[0] in japanese
    assert status[1] in english
    assert not ENGLISH_STATUSES.search(japanese), japanese


async def test_booking_confirmed_and_cancelled_mails(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member = world.headers("member")
    made = await client.post(B, json=body(world, hall, period_codes=["10", "20"]), headers=member)
    assert made.status_code == 201, made.text
    (confirmed,) = await mails(session, "booking_confirmed")
    assert_names_the_slot(confirmed, hall, hall.day, ["10", "20"], ("予約確定", "confirmed"))
    assert "予約確定" in confirmed.subject
    path = await follow_links(client, world, confirmed)
    assert path == f"/my/bookings/{made.json()['id']}"
    permit = f"/my/bookings/{made.json()['id']}/permit.pdf"
    assert permit_links(confirmed) == [f"{permit}?", f"{permit}?lang=en"]

    cancelled = await client.post(f"{B}/{made.json()['id']}/cancel", headers=member)
    assert cancelled.status_code == 200, cancelled.text
    (told,) = await mails(session, "booking_cancelled")
    assert_names_the_slot(told, hall, hall.day, ["10", "20"], ("取消済み", "cancelled"))
    assert "ご依頼により取り消しました" in told.body_text
    assert await follow_links(client, world, told) == path


async def test_hold_expiring_and_closure_mails(
    world: World,
    holds_allowed: Hall,  # noqa: F811 - the fixture imported above
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    hall = holds_allowed
    held = await client.post("/api/v1/holds", json=body(world, hall), headers=hall.manager)
    assert held.status_code == 201, held.text
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert await remind_holds(sessionmaker, clock, world.settings) == 1
    (expiring,) = await mails(session, "hold_expiring")
    assert_names_the_slot(expiring, hall, hall.day, ["10"], ("仮予約", "held"))
    assert "2026年11月28日（土） 17:00" in expiring.body_text  # the deadline, in Tokyo
    assert "Sat 28 Nov 2026, 17:00 (Japan time)" in expiring.body_text
    assert await follow_links(client, world, expiring) == f"/my/bookings/{held.json()['id']}"

    closed = await client.post(
        f"/api/v1/facilities/{hall.facility_id}/closures",
        json={"from": hall.day.isoformat(), "to": hall.day.isoformat()},
        headers=await login(client, "hall@city.example"),
    )
    assert closed.status_code == 201, closed.text
    (closure,) = await mails(session, "closure_notice")
    assert_names_the_slot(closure, hall, hall.day, ["10"], ("仮予約", "held"))
    assert await follow_links(client, world, closure) == f"/my/bookings/{held.json()['id']}"


async def test_lottery_results_reminder_and_lapse_mails(
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
    applied = await client.post(
        "/api/v1/lottery/applications",
        json=application(world, hall, day, ["10", "20"], world.group_a),
        headers=await login(client, "member-a@example.jp"),
    )
    assert applied.status_code == 201, applied.text

    clock.set(jst(date(2027, 4, 24), 9, 30))
    snapshot = await SnapshotCache().get(session)
    assert [r.wins for r in await run_due_draws(sessionmaker, clock, world.settings, snapshot)]
    (results,) = await mails(session, "lottery_results")
    assert_names_the_slot(results, hall, day, ["10", "20"], ("当選", "won"))
    assert "2027年8月" in results.subject
    assert "August 2027" in results.subject
    assert await follow_links(client, world, results) == "/my/lottery"

    clock.set(jst(date(2027, 4, 27), 10))
    assert await remind_winners(sessionmaker, clock, world.settings, snapshot) == 1
    (reminder,) = await mails(session, "lottery_reminder")
    assert_names_the_slot(reminder, hall, day, ["10", "20"], ("当選（確定してください）", "won"))
    deadline = date(2027, 4, 28)
    assert f"2027年4月28日（{WEEKDAYS_JA[deadline.weekday()]}）" in reminder.body_text
    assert await follow_links(client, world, reminder) == "/my/lottery"

    clock.set(jst(date(2027, 4, 29), 0, 30) + timedelta(minutes=1))
    assert await lapse_unconfirmed(sessionmaker, clock, world.settings, snapshot) == 1
    (lapsed,) = await mails(session, "lottery_lapsed")
    assert_names_the_slot(lapsed, hall, day, ["10", "20"], ("失効", "lapsed"))
    assert await follow_links(client, world, lapsed) == "/my/lottery"
