"""What each kind of feed reads from the database (feeds.bookings_of, wins_of, fingerprint),
called directly with rows made in the test's savepoint (no HTTP): the first and last day of the
window and not the days around it, every booking status in private and public feeds, the
cancellations kept thirty days (a second either side of the cut), each kind's target, the
lottery wins of a group, and a fingerprint that moves with every change a feed shows."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import Group, StaffRole
from booking.calendars import feeds
from booking.calendars.models import CalendarFeed, FeedKind
from booking.clock import FrozenClock
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Booking, BookingStatus
from tests.calendars.feed_rows import Place, Rows
from tests.people import World

JST = ZoneInfo("Asia/Tokyo")
TODAY = date(2026, 11, 25)  # the clock's day in Tokyo
WINDOW = feeds.window(TODAY, JST, 3, 5)  # 11-22 to 11-30; cancellations from 10-26 00:00 JST
ADMIN = Principal(1, "admin", None, StaffRole.ADMIN, "session")


def feed(kind: FeedKind, target: int | None) -> CalendarFeed:
    return CalendarFeed(kind=kind, target_id=target, name="t")


async def shown(session: AsyncSession, found: CalendarFeed, who: Principal = ADMIN) -> set[int]:
    return {row.id for row in await feeds.bookings_of(session, found, who, WINDOW)}


def kinds(world: World, place: Place) -> dict[str, CalendarFeed]:
    return {
        "group": feed(FeedKind.GROUP, world.group_a),
        "room": feed(FeedKind.ROOM, place.room),
        "facility": feed(FeedKind.FACILITY, place.facility),
        "facility_staff": feed(FeedKind.FACILITY_STAFF, place.facility),
        "manager": feed(FeedKind.MANAGER, None),
    }


def manager_of(*facilities: int) -> Principal:
    return Principal(
        2, "manager", None, StaffRole.MANAGER, "session", facility_ids=frozenset(facilities)
    )


async def test_every_kind_of_feed_shows_the_first_and_last_day_and_not_the_days_around(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    assert (WINDOW.start, WINDOW.end) == (date(2026, 11, 22), date(2026, 11, 30))
    rows = Rows(session, clock)
    days = [WINDOW.start - timedelta(days=1), WINDOW.start, WINDOW.end, WINDOW.end + timedelta(1)]
    made = {day: await rows.booking(world.group_a, place.room, place.facility, day) for day in days}
    inside = {made[WINDOW.start], made[WINDOW.end]}
    for kind, found in kinds(world, place).items():
        assert await shown(session, found, manager_of(place.facility)) == inside, kind
        fingerprint = await feeds.fingerprint(session, found, manager_of(place.facility), WINDOW)
        assert fingerprint.startswith("2|"), kind  # the count of events


# status -> shown in a group's or staff's feed, shown in a public feed
STATUSES = {
    BookingStatus.CONFIRMED: (True, True),
    BookingStatus.COMPLETED: (True, True),
    BookingStatus.NO_SHOW: (True, True),
    BookingStatus.PENDING_APPROVAL: (True, True),
    BookingStatus.HELD: (True, True),
    BookingStatus.CANCELLED: (True, False),  # cancelled since the cut: private feeds only
}


async def test_each_status_in_private_and_public_feeds_and_the_cancellations_kept(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    assert set(STATUSES) == set(BookingStatus)
    rows = Rows(session, clock)
    day = TODAY
    cut = WINDOW.since
    made = {}
    for status in BookingStatus:
        made[status] = await rows.booking(
            world.group_a, place.room, place.facility, day, status, updated_at=cut
        )
    # cancelled a second before the cut: no longer shown anywhere
    gone = await rows.booking(
        world.group_a,
        place.room,
        place.facility,
        day,
        BookingStatus.CANCELLED,
        updated_at=cut - timedelta(seconds=1),
    )
    private = {made[s] for s, (mine, _) in STATUSES.items() if mine}
    public = {made[s] for s, (_, everyone) in STATUSES.items() if everyone}
    for kind, found in kinds(world, place).items():
        expected = public if found.kind in feeds.PUBLIC else private
        got = await shown(session, found, manager_of(place.facility))
        assert got == expected, kind
        assert gone not in got
        fingerprint = await feeds.fingerprint(session, found, manager_of(place.facility), WINDOW)
        assert fingerprint.startswith(f"{len(expected)}|"), kind


async def test_each_kind_of_feed_shows_its_own_target(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = Rows(session, clock)
    mine = await rows.booking(world.group_a, place.room, place.facility, TODAY)
    next_door = await rows.booking(world.group_b, place.same_facility_room, place.facility, TODAY)
    elsewhere = await rows.booking(world.group_a, place.other_room, place.other_facility, TODAY)
    expected = {
        "group": {mine, elsewhere},
        "room": {mine},
        "facility": {mine, next_door},
        "facility_staff": {mine, next_door},
        "manager": {elsewhere},
    }
    for kind, found in kinds(world, place).items():
        got = await shown(session, found, manager_of(place.other_facility))
        assert got == expected[kind], kind
    everything = await shown(session, feed(FeedKind.MANAGER, None), ADMIN)
    assert {mine, next_door, elsewhere} <= everything
    assert await shown(session, feed(FeedKind.MANAGER, None), manager_of()) == set()


async def test_a_group_feed_shows_its_wins_in_the_window_and_settled_ones_thirty_days(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = Rows(session, clock)
    cut = WINDOW.since
    before, after = WINDOW.start - timedelta(days=1), WINDOW.end + timedelta(days=1)
    shown_ids = {
        await rows.win(world.group_a, place, WINDOW.start),
        await rows.win(world.group_a, place, WINDOW.end),
        await rows.win(world.group_a, place, TODAY, ApplicationStatus.CONFIRMED, cut),
        await rows.win(world.group_a, place, TODAY, ApplicationStatus.LAPSED, cut),
    }
    hidden = {
        await rows.win(world.group_a, place, before),
        await rows.win(world.group_a, place, after),
        await rows.win(
            world.group_a, place, TODAY, ApplicationStatus.CONFIRMED, cut - timedelta(seconds=1)
        ),
        await rows.win(
            world.group_a, place, TODAY, ApplicationStatus.LAPSED, cut - timedelta(seconds=1)
        ),
        await rows.win(world.group_a, place, TODAY, ApplicationStatus.APPLIED),
        await rows.win(world.group_a, place, TODAY, ApplicationStatus.LOST, cut),
        await rows.win(world.group_a, place, TODAY, ApplicationStatus.WITHDRAWN, cut),
        await rows.win(world.group_b, place, TODAY),  # another group's
    }
    group = feed(FeedKind.GROUP, world.group_a)
    got = {won.id for won in await feeds.wins_of(session, group, WINDOW)}
    assert got == shown_ids
    assert not got & hidden
    for kind, found in kinds(world, place).items():
        if kind != "group":
            assert await feeds.wins_of(session, found, WINDOW) == [], kind
    # the group feed's fingerprint: no booking (0), then the wins' count
    parts = (await feeds.fingerprint(session, group, ADMIN, WINDOW)).split("|")
    assert (parts[0], parts[5]) == ("0", "4")


async def test_a_fingerprint_moves_with_every_change_its_feed_shows(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = Rows(session, clock)
    who = manager_of(place.facility)
    watched = kinds(world, place)  # the manager's: the facility assigned to them

    async def prints() -> dict[str, str]:
        return {k: await feeds.fingerprint(session, f, who, WINDOW) for k, f in watched.items()}

    async def moved() -> set[str]:
        nonlocal last
        now = await prints()
        changed = {k for k in now if now[k] != last[k]}
        last = now
        return changed

    last = await prints()
    everyone = set(watched)
    first = await rows.booking(world.group_a, place.room, place.facility, TODAY)
    assert await moved() == everyone  # an event enters
    # one event leaves and another enters: the count and versions stay, the ids do not
    second = await rows.booking(world.group_a, place.room, place.facility, TODAY)
    await session.execute(
        update(Booking).where(Booking.id == first).values(use_date=WINDOW.end + timedelta(1))
    )
    await session.flush()
    assert await moved() == everyone
    booking = await session.get_one(Booking, second)
    booking.headcount = 9  # an edit raises the row's version (SEQUENCE)
    await session.flush()
    assert await moved() == everyone
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(name="川崎少年合唱団")
    )
    await session.flush()
    session.expire_all()
    # the group's name is in its own and the staff's events, not in the public's
    assert await moved() == {"group", "facility_staff", "manager"}
    await session.execute(
        update(Booking)
        .where(Booking.id == second)
        .values(status=BookingStatus.CANCELLED, updated_at=clock.now())
    )
    await session.flush()
    assert await moved() == everyone  # cancelled: shown as such, or gone from the public's
    won = await rows.win(world.group_a, place, TODAY)
    assert await moved() == {"group"}  # a win is only in its group's feed
    await session.execute(
        update(LotteryApplication)
        .where(LotteryApplication.id == won)
        .values(status=ApplicationStatus.CONFIRMED, settled_at=clock.now())
    )
    await session.flush()
    assert await moved() == {"group"}


async def test_a_win_settled_under_a_clock_set_back_still_moves_the_fingerprint(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    # Win A was confirmed at noon; the clock is then set back an hour and win B lapses: the
    # newest settlement is still A's, the count and ids are the same: only B's status moved.
    rows = Rows(session, clock)
    noon = clock.now()
    await rows.win(world.group_a, place, TODAY, ApplicationStatus.CONFIRMED, noon)
    pending = await rows.win(world.group_a, place, TODAY)
    group = feed(FeedKind.GROUP, world.group_a)
    before = await feeds.fingerprint(session, group, ADMIN, WINDOW)
    for status in (ApplicationStatus.LAPSED, ApplicationStatus.CONFIRMED):
        await session.execute(
            update(LotteryApplication)
            .where(LotteryApplication.id == pending)
            .values(status=status, settled_at=noon - timedelta(hours=1))
        )
        await session.flush()
        after = await feeds.fingerprint(session, group, ADMIN, WINDOW)
        assert after != before, status
        before = after


async def test_a_win_leaving_as_another_enters_moves_the_fingerprint(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    # The same count, statuses and settlements: only which wins are shown changed.
    rows = Rows(session, clock)
    shown_win = await rows.win(world.group_a, place, WINDOW.end)
    hidden_win = await rows.win(world.group_a, place, WINDOW.end + timedelta(days=1))
    group = feed(FeedKind.GROUP, world.group_a)
    before = await feeds.fingerprint(session, group, ADMIN, WINDOW)
    for won, day in ((shown_win, WINDOW.end + timedelta(days=1)), (hidden_win, WINDOW.end)):
        await session.execute(
            update(LotteryApplication).where(LotteryApplication.id == won).values(use_date=day)
        )
    await session.flush()
    assert await feeds.fingerprint(session, group, ADMIN, WINDOW) != before
