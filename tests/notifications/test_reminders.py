"""Issue 18, mail and reminders: a confirmed lottery win's own mail (fee, how to pay, permit),
a reminder two days before each use date (which a group turns off), a mail when a hold lapses
and one when a registration is due for renewal; each on its boundary dates, sent once however
many passes run, every link followed to a page that exists, and delivered over real SMTP."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group, GroupStatus
from booking.accounts.renewal_reminders import remind_renewals
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import run_due_draws
from booking.notifications.booking_mail import HOW_TO_PAY_EN, HOW_TO_PAY_JA, booking_context
from booking.notifications.delivery import deliver_due
from booking.notifications.models import OutboxMessage
from booking.notifications.outbox import render
from booking.reservations.holds import expire_holds
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.reservations.reminders import remind_use_dates
from tests.conftest import Database
from tests.helpers import jst
from tests.lottery.test_cycle import application, login
from tests.notifications.test_booking_mails import assert_names_the_slot, mails
from tests.notifications.test_worker import Mailbox, body_of, mailbox, smtp_settings
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_bookings import B, body
from tests.reservations.test_holds_blocks import holds_allowed  # noqa: F401 - a fixture

__all__ = ["mailbox"]  # a fixture, imported for the SMTP test


async def follow_every_link(
    client: httpx.AsyncClient, world: World, mail: OutboxMessage, login_as: str
) -> list[str]:
    """Every link of the mail is ours and opens (200) for the group's member: the paths."""
    links = re.findall(r"https?://\S+", mail.body_text)
    assert links, mail.body_text
    assert all(link.startswith(world.settings.public_url) for link in links), links
    member = await login(client, login_as)
    paths = []
    for link in links:
        target = urlsplit(link)
        path = f"{target.path}?{target.query}" if target.query else target.path
        got = await client.get(path, headers=member)
        assert got.status_code == 200, (path, got.headers.get("location"))
        if target.fragment:  # a link to a part of a page: the part is there
            assert f'id="{target.fragment}"' in got.text, link
        paths.append(path + (f"#{target.fragment}" if target.fragment else ""))
    return paths


async def test_a_confirmed_lottery_win_has_its_own_mail_with_fee_and_how_to_pay(
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

    clock.set(jst(date(2027, 4, 26), 10))
    member = await login(client, "member-a@example.jp")
    application_id = applied.json()["id"]
    confirmed = await client.post(
        f"/api/v1/lottery/applications/{application_id}/confirm", headers=member
    )
    assert confirmed.status_code == 200, confirmed.text
    booking = confirmed.json()
    assert booking["fee_total"] > 0
    assert await mails(session, "booking_confirmed") == []  # one mail, its own
    (mail,) = await mails(session, "lottery_confirmed")
    assert mail.to_address == "rep-a@example.jp"
    assert_names_the_slot(mail, hall, day, ["10", "20"], ("予約確定", "confirmed"))
    assert f"申込No. {application_id}" in mail.body_text
    assert f"lottery win No. {application_id}" in mail.body_text
    assert f"予約番号: {booking['id']}" in mail.body_text
    assert f"使用料: {booking['fee_total']:,}円" in mail.body_text
    assert f"Fee: {booking['fee_total']:,} yen" in mail.body_text
    japanese, _, english = mail.body_text.partition("\n---\n")
    assert HOW_TO_PAY_JA in japanese
    assert "27日" in HOW_TO_PAY_JA
    assert "窓口" in HOW_TO_PAY_JA
    assert HOW_TO_PAY_EN in english
    assert str(booking["id"]) in mail.subject
    paths = await follow_every_link(client, world, mail, "member-a@example.jp")
    page = f"/my/bookings/{booking['id']}"
    assert paths == [page, f"{page}/permit.pdf", page, f"{page}/permit.pdf?lang=en"]


async def test_a_first_come_booking_says_how_to_pay_and_one_owing_nothing_does_not(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = await client.post(B, json=body(world, hall), headers=world.headers("member"))
    assert made.status_code == 201, made.text
    assert made.json()["fee_total"] > 0
    (paid,) = await mails(session, "booking_confirmed")
    assert HOW_TO_PAY_JA in paid.body_text
    assert HOW_TO_PAY_EN in paid.body_text
    # Nothing owed (waived, already paid, free) or not final (a hold): no payment lines.
    booking = await session.get_one(Booking, made.json()["id"])
    for change in (
        {"payment_status": PaymentStatus.WAIVED},
        {"payment_status": PaymentStatus.PAID},
        {"fee_total": 0},
        {"status": BookingStatus.HELD},
    ):
        owing = (booking.status, booking.payment_status, booking.fee_total)
        for name, value in change.items():
            setattr(booking, name, value)
        context = booking_context(hall.snapshot, world.settings, "川崎合唱団", booking, fee=0)
        _, text = render(
            "booking_confirmed", {**context, "charge": 0, "cause_ja": "", "cause_en": ""}
        )
        assert "お支払い方法" not in text, change
        assert "How to pay" not in text, change
        booking.status, booking.payment_status, booking.fee_total = owing
    await session.rollback()


async def book(
    client: httpx.AsyncClient, world: World, hall: Hall, role: str, group: int, periods: list[str]
) -> int:
    """A booking by a member of the group, logged in now (the clock may be past the world's
    sessions)."""
    logins = {
        "member": "member-a@example.jp",
        "other_representative": "rep-b@example.jp",
        "manager": "hall@city.example",  # at the counter: past the online deadline too
    }
    made = await client.post(
        B,
        json=body(world, hall, group_id=group, period_codes=periods),
        headers=await login(client, logins[role]),
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_a_reminder_two_days_before_the_use_date_once_and_not_when_turned_off(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = world.settings
    reminded = await book(client, world, hall, "member", world.group_a, ["10"])
    cancelled = await book(client, world, hall, "member", world.group_a, ["30"])
    turned_off = await book(client, world, hall, "other_representative", world.group_b, ["20"])
    gone = await client.post(f"{B}/{cancelled}/cancel", headers=world.headers("member"))
    assert gone.status_code == 200, gone.text
    off = await client.patch(
        f"/api/v1/groups/{world.group_b}",
        json={"use_reminders": False},
        headers=world.headers("other_representative"),
    )
    assert off.status_code == 200, off.text
    assert off.json()["use_reminders"] is False

    day = hall.day
    # Three days before, and the day before (a pass missed on the day is not made up late):
    # nothing. Two days before but before 9:00 in Tokyo: nothing yet.
    for moment in (jst(day - timedelta(days=3), 12), jst(day - timedelta(days=1), 10)):
        clock.set(moment)
        assert await remind_use_dates(sessionmaker, clock, settings) == 0
    clock.set(jst(day - timedelta(days=2), 8, 59))
    assert await remind_use_dates(sessionmaker, clock, settings) == 0
    assert await mails(session, "use_reminder") == []

    clock.set(jst(day - timedelta(days=2), 9, 0))
    assert await remind_use_dates(sessionmaker, clock, settings) == 1
    clock.set(jst(day - timedelta(days=2), 9, 5))
    assert await remind_use_dates(sessionmaker, clock, settings) == 0  # a second pass: none
    (mail,) = await mails(session, "use_reminder")
    assert mail.to_address == "rep-a@example.jp"
    assert_names_the_slot(mail, hall, day, ["10"], ("予約確定", "confirmed"))
    assert f"予約番号: {reminded}" in mail.body_text
    assert str(reminded) in mail.subject
    assert "2日後" in mail.body_text
    assert "in two days" in mail.body_text
    assert HOW_TO_PAY_JA in mail.body_text  # the fee is paid at the counter on the day
    assert turned_off != reminded
    paths = await follow_every_link(client, world, mail, "member-a@example.jp")
    group_page = f"/my/groups/{world.group_a}#reminders"
    assert paths == [f"/my/bookings/{reminded}", group_page] * 2


async def test_a_booking_made_within_the_two_days_gets_no_reminder(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Booked (at the counter: online booking closed 3 days before) after 9:00 two days
    before: the confirmation is the fresher mail. Booked just before: reminded at the next
    pass."""
    day = hall.day
    clock.set(jst(day - timedelta(days=2), 8, 59))
    before = await book(client, world, hall, "manager", world.group_a, ["10"])
    clock.set(jst(day - timedelta(days=2), 9, 0))
    after = await book(client, world, hall, "manager", world.group_a, ["20"])
    clock.set(jst(day - timedelta(days=2), 9, 10))
    assert await remind_use_dates(sessionmaker, clock, world.settings) == 1
    (mail,) = await mails(session, "use_reminder")
    assert f"予約番号: {before}" in mail.body_text
    assert f"予約番号: {after}" not in mail.body_text


async def test_the_representative_turns_reminders_off_on_the_group_page(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await book(client, world, hall, "member", world.group_a, ["10"])
    page = f"/my/groups/{world.group_a}"
    rep = world.headers("representative")
    shown = await client.get(page, headers=rep)
    assert 'name="use_reminders" value="yes" checked' in shown.text
    # A member sees the setting but may not change it.
    seen = await client.get(page, headers=world.headers("member"))
    assert 'name="use_reminders"' not in seen.text
    refused = await client.post(f"{page}/reminders", data={}, headers=world.headers("member"))
    assert refused.status_code == 422
    bad = await client.post(f"{page}/reminders", data={"use_reminders": "maybe"}, headers=rep)
    assert bad.status_code == 422
    assert 'id="e-use_reminders"' in bad.text
    group = await session.get_one(Group, world.group_a, populate_existing=True)
    assert group.use_reminders is True

    unticked = await client.post(f"{page}/reminders", data={}, headers=rep)  # box left empty
    assert unticked.status_code == 303
    assert unticked.headers["location"] == f"{page}?reminders=1#reminders"
    shown = await client.get(f"{page}?reminders=1", headers=rep)
    assert 'name="use_reminders" value="yes" aria' in shown.text  # not checked
    group = await session.get_one(Group, world.group_a, populate_existing=True)
    assert group.use_reminders is False
    (event,) = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "group.updated", AuditEvent.target_id == str(world.group_a)
            )
        )
    ).all()
    assert (event.before or {})["use_reminders"] is True
    assert (event.after or {})["use_reminders"] is False

    clock.set(jst(hall.day - timedelta(days=2), 10))
    assert await remind_use_dates(sessionmaker, clock, world.settings) == 0
    rep = await login(client, "rep-a@example.jp")  # the clock is past the world's sessions
    # The API refuses a value that is not a boolean, naming the field, and changes nothing.
    wrong = await client.patch(
        f"/api/v1/groups/{world.group_a}", json={"use_reminders": "yes"}, headers=rep
    )
    assert wrong.status_code in (400, 422), wrong.text
    assert "use_reminders" in wrong.text
    on = await client.post(f"{page}/reminders", data={"use_reminders": "yes"}, headers=rep)
    assert on.status_code == 303
    assert await remind_use_dates(sessionmaker, clock, world.settings) == 1


async def test_a_lapsed_hold_tells_the_group_the_slot_is_free_again(
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
    hold = await session.get_one(Booking, held.json()["id"])
    assert hold.hold_expires_at is not None
    expires = hold.hold_expires_at
    clock.set(expires - timedelta(seconds=1))
    assert await expire_holds(sessionmaker, clock, world.settings) == 0
    assert await mails(session, "hold_lapsed") == []
    clock.set(expires)
    assert await expire_holds(sessionmaker, clock, world.settings) == 1
    assert await expire_holds(sessionmaker, clock, world.settings) == 0
    (mail,) = await mails(session, "hold_lapsed")
    assert mail.to_address == "rep-a@example.jp"
    assert_names_the_slot(mail, hall, hall.day, ["10"], ("取消済み", "cancelled"))
    local = expires.astimezone(world.settings.tz)
    assert f"{local.day}日" in mail.body_text
    assert f"{local.hour}:{local:%M}" in mail.body_text
    assert "空きを探して予約" in mail.body_text
    assert "released for others to book" in mail.body_text
    assert "使用料はかかりません" in mail.body_text
    paths = await follow_every_link(client, world, mail, "member-a@example.jp")
    booking_page, facility_page = (
        f"/my/bookings/{held.json()['id']}",
        f"/facilities/{hall.facility_id}",
    )
    assert paths == [booking_page, facility_page, booking_page, facility_page]


async def test_a_renewal_mail_from_1_february_once_per_validity_period(
    world: World,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = world.settings
    group = await session.get_one(Group, world.group_a)
    assert group.valid_until == date(2027, 3, 31)
    clock.set(jst(date(2027, 1, 31), 23, 59))  # 31 January in Tokyo: not yet
    assert await remind_renewals(sessionmaker, clock, settings) == 0
    clock.set(jst(date(2027, 2, 1), 0, 0))  # 1 February in Tokyo (31 January in UTC)
    assert clock.now().date() == date(2027, 1, 31)
    assert await remind_renewals(sessionmaker, clock, settings) == 2  # groups A and B
    assert await remind_renewals(sessionmaker, clock, settings) == 0
    clock.set(jst(date(2027, 3, 31), 12))
    assert await remind_renewals(sessionmaker, clock, settings) == 0  # still once
    found = await mails(session, "renewal_due")
    assert sorted(m.to_address for m in found) == ["rep-a@example.jp", "rep-b@example.jp"]
    mail = next(m for m in found if m.to_address == "rep-a@example.jp")
    japanese, _, english = mail.body_text.partition("\n---\n")
    assert "2027年3月31日（水）" in japanese
    assert "2027年3月31日（水）" in mail.subject
    assert "Wed 31 Mar 2027" in english
    assert "2026年12月1日（火）から受け付けています" in japanese  # renewal opened on 1 December
    assert "Tue 1 Dec 2026" in english
    assert "2028年3月31日（金）" in japanese  # valid to the end of the next fiscal year
    assert "窓口" in japanese
    assert "counter" in english
    assert world.card_a in japanese
    assert (
        await follow_every_link(client, world, mail, "member-a@example.jp")
        == [f"/my/groups/{world.group_a}"] * 2
    )

    # Renewed: a new validity period, reminded from the next 1 February, once again.
    renewed = await client.post(
        f"/api/v1/groups/{world.group_a}/renew", headers=await login(client, "admin@city.example")
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["valid_until"] == "2028-03-31"
    assert await remind_renewals(sessionmaker, clock, settings) == 0
    clock.set(jst(date(2028, 2, 1), 9))
    assert await remind_renewals(sessionmaker, clock, settings) == 1  # B has lapsed: not B
    assert len(await mails(session, "renewal_due")) == 3


async def test_the_reminders_reach_a_real_smtp_server(
    world: World,
    hall: Hall,
    database: Database,
    client: httpx.AsyncClient,
    clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    settings = smtp_settings(database, port)
    booked = await book(client, world, hall, "member", world.group_a, ["10"])
    await deliver_due(sessionmaker, clock, settings)  # the world's and the booking's mails
    box.received.clear()
    clock.set(jst(hall.day - timedelta(days=2), 9, 30))
    assert await remind_use_dates(sessionmaker, clock, settings) == 1
    assert (await deliver_due(sessionmaker, clock, settings)).sent == 1
    (mail,) = box.received
    assert mail["To"] == "rep-a@example.jp"
    assert str(booked) in str(mail["Subject"])
    text = body_of(mail)
    assert f"/my/bookings/{booked}" in text
    assert f"/my/groups/{world.group_a}#reminders" in text


async def test_a_renewal_mail_on_the_cards_last_day_not_when_suspended_and_at_its_own_counter(
    world: World,
    hall: Hall,
    clock: FrozenClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Mutation testing's finds: a card's last day is still in time for its one mail; a
    suspended registration gets none (it renews nothing); a facility's own registration is
    sent to that facility's counter, named in both languages."""
    a = await session.get_one(Group, world.group_a)
    b = await session.get_one(Group, world.group_b)
    assert a.valid_until == b.valid_until == date(2027, 3, 31)
    a.status = GroupStatus.SUSPENDED
    b.facility_id = hall.facility_id
    await session.commit()
    clock.set(jst(date(2027, 3, 31), 23, 50))  # the last day, never reminded before
    assert await remind_renewals(sessionmaker, clock, world.settings) == 1
    (mail,) = await mails(session, "renewal_due")
    assert mail.to_address == "rep-b@example.jp"
    facility = hall.snapshot.facilities[hall.facility_id]
    japanese, _, english = mail.body_text.partition("\n---\n")
    assert facility.name_ja in japanese
    assert facility.name_en in english
    assert facility.name_en not in japanese
