"""Fees and policies from a date at their edges (issue 16 §2, §4): the day before a revision's
date keeps the old fee and rules, the day of takes the new, in the booking service, the API's
availability and the booking form; a booking made before a revision keeps its cancellation
schedule."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.clock import FrozenClock
from booking.errors import RuleViolation
from booking.inventory import schedules
from booking.inventory.calendar import DayType, day_type
from booking.inventory.models import Policy, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.lottery import applications as lottery
from booking.lottery.drawing import run_due_draws
from booking.reservations.bookings import book, is_closed
from booking.reservations.changes import cancel
from booking.reservations.models import BookingStatus
from tests.helpers import jst
from tests.lottery.test_boundaries import Applicant, applicant, open_weekdays
from tests.pages.browsing import cookies
from tests.people import World, principal_as
from tests.places import Hall, open_weekday
from tests.reservations.test_service_boundaries import principal, refused, request

__all__ = ["applicant"]  # the lottery's fixture, used here


def revision_day(hall: Hall) -> date:
    """A weekday whose day before is a weekday too, the hall open on both (February 2027,
    in the first-come window at the tests' clock, before the registrations run out)."""
    facility = hall.snapshot.facilities[hall.facility_id]
    day = hall.day
    while not all(
        day_type(d) is DayType.WEEKDAY and not is_closed(hall.snapshot, facility, d)
        for d in (day - timedelta(days=1), day)
    ):
        day += timedelta(days=1)
    return day


async def _admin(session: AsyncSession, world: World) -> Principal:
    return await principal_as(session, world, "admin")


async def _fresh(session: AsyncSession) -> NetworkSnapshot:
    await session.commit()
    return await SnapshotCache().get(session)


async def _own_policy(session: AsyncSession, room_id: int) -> int:
    """The room gets a policy layer of its own, without settings (the kind's still apply)."""
    policy = Policy(key=f"own-{room_id}", settings={})
    session.add(policy)
    await session.flush()
    (await session.get_one(Room, room_id)).policy_id = policy.id
    await session.flush()
    return policy.id


async def test_the_day_before_a_fee_revision_pays_the_old_fee_and_the_day_of_the_new(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    raised = {code: fee + 1000 for code, fee in hall.fees.items()}
    await schedules.set_fee_schedule(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        hall.room_id,
        effective_from=day,
        fees=raised,
        all_day_fee=None,
    )
    snapshot = await _fresh(session)
    member = await principal_as(session, world, "member")
    before = await book(
        session,
        clock,
        world.settings,
        snapshot,
        member,
        request(world, hall.room_id, day - timedelta(days=1), ["10"]),
    )
    on = await book(
        session, clock, world.settings, snapshot, member, request(world, hall.room_id, day, ["10"])
    )
    assert (before.fee_total, on.fee_total) == (hall.fees["10"], raised["10"])
    assert on.fee_breakdown["lines"] == [{"period": "10", "base": raised["10"]}]


async def test_a_booking_keeps_its_fee_when_a_revision_comes_later(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    member = await principal_as(session, world, "member")
    made = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        member,
        request(world, hall.room_id, day, ["10"]),
    )
    await schedules.set_fee_schedule(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        hall.room_id,
        effective_from=day,
        fees={"10": 1},
        all_day_fee=None,
    )
    snapshot = await _fresh(session)
    staff = await principal_as(session, world, "admin")
    clock.set(jst(day - timedelta(days=1), 10))  # late: the schedule's full charge is due
    outcome = await cancel(session, clock, world.settings, snapshot, staff, made.id)
    assert (made.fee_total, outcome.charge) == (hall.fees["10"], hall.fees["10"])


async def test_a_window_revision_closes_online_booking_earlier_from_its_date_only(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    policy_id = await _own_policy(session, hall.room_id)
    await schedules.add_policy_revision(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        policy_id,
        effective_from=day,
        settings={"first_come_closes_days_before": 10},
    )
    snapshot = await _fresh(session)
    member = await principal_as(session, world, "member")
    clock.set(jst(day - timedelta(days=5), 10))
    before = await book(
        session,
        clock,
        world.settings,
        snapshot,
        member,
        request(world, hall.room_id, day - timedelta(days=1), ["10"]),
    )
    assert before.status is BookingStatus.CONFIRMED  # the old rule: until 3 days before
    error = await refused(
        book(
            session,
            clock,
            world.settings,
            snapshot,
            member,
            request(world, hall.room_id, day, ["10"]),
        ),
        RuleViolation,
        "outside_window",
    )
    assert str(day - timedelta(days=10)) in str(error)


async def test_a_booking_made_before_a_cancellation_revision_keeps_its_old_schedule(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    policy_id = await _own_policy(session, hall.room_id)
    snapshot = await _fresh(session)
    member = await principal_as(session, world, "member")
    old = await book(
        session, clock, world.settings, snapshot, member, request(world, hall.room_id, day, ["10"])
    )
    clock.set(clock.now() + timedelta(hours=1))
    await schedules.add_policy_revision(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        policy_id,
        effective_from=day,
        settings={"cancellation": {"online_until_days_before": 10}},
    )
    snapshot = await _fresh(session)
    clock.set(clock.now() + timedelta(hours=1))
    new = await book(
        session, clock, world.settings, snapshot, member, request(world, hall.room_id, day, ["20"])
    )
    clock.set(jst(day - timedelta(days=5), 10))
    await refused(
        cancel(session, clock, world.settings, snapshot, member, new.id),
        RuleViolation,
        "cancellation_closed",
    )
    kept = await cancel(session, clock, world.settings, snapshot, member, old.id)
    assert (kept.applied, kept.charge, kept.cause) == (True, 0, "group")


async def test_availability_and_the_booking_form_show_the_fee_of_each_date(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
) -> None:
    day = revision_day(hall)
    raised = {code: fee + 1230 for code, fee in hall.fees.items()}
    admin = await _admin(session, world)
    await session.commit()
    posted = await client.post(
        f"/api/v1/rooms/{hall.room_id}/fees",
        json={"effective_from": day.isoformat(), "fees": raised},
        headers=world.headers("admin"),
    )
    assert posted.status_code == 201, posted.text
    assert admin.is_admin
    span = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}
    found = await client.get("/api/v1/availability", params={**span, "room": hall.room_id})
    assert found.status_code == 200, found.text
    [room] = found.json()["rooms"]
    assert [(f["from"], f["fees"]) for f in room["fees"]] == [
        (span["from"], hall.fees),
        (span["to"], raised),
    ]
    listed = await client.get(f"/api/v1/rooms/{hall.room_id}/fees")
    assert [s["effective_from"] for s in listed.json()["schedules"]] == [day.isoformat()]
    assert listed.json()["today"]["fees"] == hall.fees
    shown: dict[date, Any] = {}
    for use_date in (day - timedelta(days=1), day):
        page = await client.get(
            f"/book?room={hall.room_id}&date={use_date.isoformat()}",
            headers=cookies(world, "member"),
        )
        assert page.status_code == 200, page.text
        shown[use_date] = page.text
    yen = "{:,}".format
    assert yen(hall.fees["10"]) in shown[day - timedelta(days=1)]
    assert yen(raised["10"]) not in shown[day - timedelta(days=1)]
    assert yen(raised["10"]) in shown[day]
    assert yen(hall.fees["10"]) not in shown[day]


async def test_a_lottery_win_is_priced_by_its_use_date(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two March wins either side of a fee revision's date: confirmed, each pays its date's."""
    world, clock = applicant.world, applicant.clock
    facility = hall.snapshot.facilities[hall.facility_id]
    day = open_weekdays(hall.snapshot, hall.facility_id, 2)[1]
    while is_closed(hall.snapshot, facility, day - timedelta(days=1)):
        day = open_weekday(hall.snapshot, hall.facility_id, day + timedelta(days=1))
    raised = {code: fee + 700 for code, fee in hall.fees.items()}
    await schedules.set_fee_schedule(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        hall.room_id,
        effective_from=day,
        fees=raised,
        all_day_fee=None,
    )
    applicant.snapshot = snapshot = await _fresh(session)
    won = [
        (await applicant.apply(world.group_a, hall.room_id, use_date, ("10",))).id
        for use_date in (day - timedelta(days=1), day)
    ]
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    await run_due_draws(sessionmaker, clock, world.settings, snapshot)
    clock.set(jst(date(2026, 11, 25), 10))
    fees = []
    for application_id in won:
        booking = await lottery.confirm(
            session,
            clock,
            world.settings,
            snapshot,
            applicant.principals[world.group_a],
            application_id,
        )
        fees.append(booking.fee_total)
    assert fees == [hall.fees["10"], raised["10"]]


async def test_the_room_shows_the_fees_and_policy_of_today_the_day_before_and_the_day_of(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
) -> None:
    day = revision_day(hall)
    policy_id = await _own_policy(session, hall.room_id)
    await session.commit()
    admin = world.headers("admin")
    raised = {code: fee + 40 for code, fee in hall.fees.items()}
    answers = [
        await client.post(
            f"/api/v1/rooms/{hall.room_id}/fees",
            json={"effective_from": day.isoformat(), "fees": raised},
            headers=admin,
        ),
        await client.post(
            f"/api/v1/policies/{policy_id}/revisions",
            json={"effective_from": day.isoformat(), "settings": {"requires_approval": True}},
            headers=admin,
        ),
    ]
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    shown = {}
    for today in (day - timedelta(days=1), day):
        clock.set(jst(today, 9))
        room = (await client.get(f"/api/v1/rooms/{hall.room_id}")).json()
        shown[today] = (room["fees"], room["policy"]["requires_approval"])
    assert shown == {day - timedelta(days=1): (hall.fees, False), day: (raised, True)}
    listed = (await client.get("/api/v1/policies")).json()
    [own] = [p for p in listed if p["id"] == policy_id]
    assert [(r["effective_from"], r["settings"]) for r in own["revisions"]] == [
        (day.isoformat(), {"requires_approval": True})
    ]


async def test_the_facility_page_shows_todays_fees_and_the_revision_to_come(
    session: AsyncSession,
    clock: FrozenClock,
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
) -> None:
    day = revision_day(hall)
    raised = {code: fee + 3330 for code, fee in hall.fees.items()}
    await schedules.set_fee_schedule(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        hall.room_id,
        effective_from=day,
        fees=raised,
        all_day_fee=None,
    )
    await session.commit()
    yen = "{:,}".format
    pages = {}
    for today in (day - timedelta(days=1), day):
        clock.set(jst(today, 9))
        page = await client.get(
            f"/facilities/{hall.facility_id}", headers=cookies(world, "anonymous", lang="ja")
        )
        assert page.status_code == 200, page.text
        pages[today] = page.text
    before, on = pages[day - timedelta(days=1)], pages[day]
    room_part = before[before.index(f'id="room-{hall.room_id}"') :]
    room_part = room_part[: room_part.index("</table>")]
    assert yen(hall.fees["10"]) in room_part
    assert "からの使用料" in room_part  # the column of the revision to come
    assert yen(raised["10"]) in room_part
    on_part = on[on.index(f'id="room-{hall.room_id}"') :]
    on_part = on_part[: on_part.index("</table>")]
    assert yen(raised["10"]) in on_part
    assert yen(hall.fees["10"]) not in on_part
    assert "からの使用料" not in on_part


async def test_a_fee_schedule_s_date_in_the_path_is_a_date_or_a_400_naming_it(
    world: World, client: httpx.AsyncClient
) -> None:
    answers = {}
    for text in ("not-a-date", "2027-02-30", "2027-W13-4", "20270401", "2300-01-01", "2027-04-01"):
        found = await client.delete(
            f"/api/v1/rooms/{world.room}/fees/{text}", headers=world.headers("admin")
        )
        answers[text] = (found.status_code, [e["field"] for e in found.json()["errors"]])
    assert answers == {
        **{
            text: (400, ["effective_from"])
            for text in ("not-a-date", "2027-02-30", "2027-W13-4", "20270401", "2300-01-01")
        },
        "2027-04-01": (404, ["effective_from"]),  # a date, with no schedule from it
    }


async def test_an_approval_revision_holds_bookings_from_its_date_for_the_facility(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    policy_id = await _own_policy(session, hall.room_id)
    await schedules.add_policy_revision(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        policy_id,
        effective_from=day,
        settings={"requires_approval": True},
    )
    snapshot = await _fresh(session)
    member = await principal_as(session, world, "member")
    statuses = [
        (
            await book(
                session,
                clock,
                world.settings,
                snapshot,
                member,
                request(world, hall.room_id, use_date, ["10"]),
            )
        ).status
        for use_date in (day - timedelta(days=1), day)
    ]
    assert statuses == [BookingStatus.CONFIRMED, BookingStatus.PENDING_APPROVAL]


async def test_holds_are_taken_from_the_date_a_revision_allows_them(
    session: AsyncSession, clock: FrozenClock, world: World, hall: Hall
) -> None:
    day = revision_day(hall)
    policy_id = await _own_policy(session, hall.room_id)
    await schedules.add_policy_revision(
        session,
        clock,
        world.settings.tz,
        await _admin(session, world),
        policy_id,
        effective_from=day,
        settings={"holds": {"allowed": True, "days": 2}},
    )
    snapshot = await _fresh(session)
    staff = await principal(session, hall.manager_id)
    before = request(world, hall.room_id, day - timedelta(days=1), ["10"])
    await refused(
        book(session, clock, world.settings, snapshot, staff, before, hold=True),
        RuleViolation,
        "holds_not_allowed",
    )
    held = await book(
        session,
        clock,
        world.settings,
        snapshot,
        staff,
        request(world, hall.room_id, day, ["10"]),
        hold=True,
    )
    assert held.status is BookingStatus.HELD
    assert held.hold_expires_at == jst(date(2026, 11, 27), 17)  # the revision's two days
