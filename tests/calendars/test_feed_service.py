"""The rest of the feed service, called directly (no HTTP): who may make a feed of each kind,
what a new feed stores and audits, which tokens resolve, the rows in calendar order, the purpose
names kept with the network, and validators stored only over the ones a fetch read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from booking.accounts.access import Principal
from booking.accounts.models import User, UserStatus
from booking.accounts.sessions import principal_for_user
from booking.audit.models import AuditEvent
from booking.calendars import feeds
from booking.calendars.models import CalendarFeed, FeedKind
from booking.clock import FrozenClock
from booking.errors import BookingError, InvalidInput, NotFound, PermissionDenied
from booking.inventory.models import Purpose
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.lottery.models import ApplicationStatus
from tests.calendars.feed_rows import Place, Rows
from tests.calendars.test_feed_scope import WINDOW
from tests.people import World


async def who(session: AsyncSession, world: World, role: str) -> Principal:
    return await principal_for_user(session, await session.get_one(User, world.user_ids[role]))


@pytest.fixture
async def snapshot(session: AsyncSession) -> NetworkSnapshot:
    return await SnapshotCache().get(session)


async def test_who_may_make_a_feed_of_each_kind(
    world: World, session: AsyncSession, snapshot: NetworkSnapshot, place: Place
) -> None:
    member = await who(session, world, "member")
    manager = await who(session, world, "manager_here")
    # what is refused, and how: (principal, kind, target) -> (error, code or field, message)
    refused: list[tuple[Principal, FeedKind, int | None, type[BookingError], str, str]] = [
        (member, FeedKind.MANAGER, None, NotFound, "feed_target_not_found", "no such feed target"),
        (member, FeedKind.GROUP, None, InvalidInput, "target_id", "a group feed needs target_id"),
        (member, FeedKind.ROOM, None, InvalidInput, "target_id", "a room feed needs target_id"),
        (member, FeedKind.ROOM, 999_999, InvalidInput, "target_id", "no room 999999"),
        (member, FeedKind.FACILITY, 999_999, InvalidInput, "target_id", "no facility 999999"),
        (member, FeedKind.GROUP, world.group_b, NotFound, "group_not_found", ""),
        (member, FeedKind.FACILITY_STAFF, world.here, PermissionDenied, "staff_only", ""),
        (manager, FeedKind.FACILITY_STAFF, world.elsewhere, PermissionDenied, "facility_id", ""),
    ]
    for principal, kind, target, error, detail, message in refused:
        with pytest.raises(error) as found:
            await feeds.check_target(session, snapshot, principal, kind, target)
        assert detail in (found.value.code, found.value.field), (kind, target)
        if message:  # the service's own words (the others are the access rules')
            assert found.value.message == message
    allowed: list[tuple[Principal, FeedKind, int | None]] = [
        (member, FeedKind.GROUP, world.group_a),
        (member, FeedKind.ROOM, place.room),
        (member, FeedKind.FACILITY, place.facility),
        (manager, FeedKind.FACILITY_STAFF, world.here),
        (manager, FeedKind.MANAGER, None),
    ]
    for principal, kind, target in allowed:
        await feeds.check_target(session, snapshot, principal, kind, target)


async def test_a_new_feed_stores_its_target_and_is_audited(
    world: World, session: AsyncSession, snapshot: NetworkSnapshot, clock: FrozenClock
) -> None:
    manager = await who(session, world, "manager_here")
    made = await feeds.create_feed(
        session, clock, snapshot, manager, FeedKind.MANAGER, world.here, "館の予約"
    )
    feed = made.feed
    assert (feed.kind, feed.target_id, feed.name) == (FeedKind.MANAGER, None, "館の予約")
    assert (feed.owner_user_id, feed.created_at, feed.revoked_at) == (
        manager.user_id,
        clock.now(),
        None,
    )
    assert made.token.startswith(feed.selector + ".")
    (event,) = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_type == "calendar_feed", AuditEvent.target_id == str(feed.id)
        )
    )
    assert (event.action, event.actor_user_id) == ("feed.created", manager.user_id)
    assert event.after == {"kind": "manager", "target_id": world.here}
    resolved = await feeds.resolve(session, SnapshotCache(), made.token)
    assert (resolved.feed.id, resolved.principal) == (feed.id, manager)
    assert resolved.snapshot.revision == snapshot.revision


async def test_only_a_live_token_of_an_active_owner_who_still_sees_the_target_resolves(
    world: World, session: AsyncSession, snapshot: NetworkSnapshot, clock: FrozenClock
) -> None:
    member = await who(session, world, "member")

    async def fails(token: str) -> None:
        with pytest.raises(NotFound) as found:
            await feeds.resolve(session, SnapshotCache(), token)
        assert found.value is feeds.NOT_FOUND  # one answer for every failure

    made = await feeds.create_feed(
        session, clock, snapshot, member, FeedKind.GROUP, world.group_a, "t"
    )
    assert (await feeds.resolve(session, SnapshotCache(), made.token)).feed.id == made.feed.id
    selector, verifier = made.token.split(".")
    await fails("nonsense")
    await fails(f"{selector}.{verifier[:-1]}{'A' if verifier[-1] != 'A' else 'B'}")
    await fails(f"{'A' * len(selector)}.{verifier}")
    # the owner is no longer active
    await session.execute(
        update(User).where(User.id == member.user_id).values(status=UserStatus.SUSPENDED)
    )
    await fails(made.token)
    await session.execute(
        update(User).where(User.id == member.user_id).values(status=UserStatus.ACTIVE)
    )
    assert (await feeds.resolve(session, SnapshotCache(), made.token)).feed.id == made.feed.id
    # the owner may no longer see the target
    other = await feeds.create_feed(
        session, clock, snapshot, member, FeedKind.GROUP, world.group_a, "t"
    )
    await session.execute(
        update(CalendarFeed).where(CalendarFeed.id == other.feed.id).values(target_id=world.group_b)
    )
    await fails(other.token)
    await feeds.revoke_feed(session, clock, member, made.feed.id)
    await fails(made.token)


async def test_rows_come_in_calendar_order(
    world: World, place: Place, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = Rows(session, clock)
    late = await rows.booking(world.group_a, place.room, place.facility, WINDOW.end)
    early = await rows.booking(world.group_a, place.room, place.facility, WINDOW.start)
    also_late = await rows.booking(world.group_a, place.room, place.facility, WINDOW.end)
    group = CalendarFeed(kind=FeedKind.GROUP, target_id=world.group_a, name="t")
    reader = Principal(1, "reader", None, None, "session")  # a group feed reads by its target
    found = await feeds.bookings_of(session, group, reader, WINDOW)
    assert [row.id for row in found] == [early, late, also_late]
    assert found[0].group_name  # the group's columns come with the row
    late_win = await rows.win(world.group_a, place, WINDOW.end)
    early_win = await rows.win(world.group_a, place, WINDOW.start)
    again = await rows.win(world.group_a, place, WINDOW.end, ApplicationStatus.WON)
    wins = await feeds.wins_of(session, group, WINDOW)
    assert [w.id for w in wins] == [early_win, late_win, again]


async def test_purpose_names_are_read_once_per_network_revision(
    session: AsyncSession, snapshot: NetworkSnapshot
) -> None:
    names = await feeds.purpose_names(session, snapshot)
    row = (await session.scalars(select(Purpose).limit(1))).one()
    assert names[row.key] == (row.name_ja, row.name_en)
    await session.execute(update(Purpose).where(Purpose.key == row.key).values(name_en="Renamed"))
    assert await feeds.purpose_names(session, snapshot) is names  # kept with this snapshot
    fresh = NetworkSnapshot(
        snapshot.revision + 1,
        snapshot.ward_keys,
        snapshot.kinds,
        snapshot.facilities,
        snapshot.purposes,
        snapshot.rooms,
    )
    assert (await feeds.purpose_names(session, fresh))[row.key] == (row.name_ja, "Renamed")


async def test_validators_are_stored_only_over_the_ones_the_fetch_read(
    world: World,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    snapshot: NetworkSnapshot,
    clock: FrozenClock,
) -> None:
    member = await who(session, world, "member")
    made = await feeds.create_feed(
        session, clock, snapshot, member, FeedKind.GROUP, world.group_a, "t"
    )
    other = await feeds.create_feed(
        session, clock, snapshot, member, FeedKind.GROUP, world.group_a, "u"
    )
    await session.commit()
    feed_id, other_id = made.feed.id, other.feed.id
    stamp = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    nothing = feeds.Validators(None, None, None)
    first = feeds.Validators("v1", "e1", stamp)
    await feeds.store_validators(sessionmaker, feed_id, nothing, first)

    async def stored() -> feeds.Validators:
        session.expire_all()
        return feeds.Validators.of(await session.get_one(CalendarFeed, feed_id))

    assert await stored() == first
    # another feed never served (no validators either) keeps none
    session.expire_all()
    assert feeds.Validators.of(await session.get_one(CalendarFeed, other_id)) == nothing
    # a fetch that read nothing stored, or other validators, loses to the one that stored first
    late = feeds.Validators("v2", "e2", stamp + timedelta(seconds=1))
    await feeds.store_validators(sessionmaker, feed_id, nothing, late)
    await feeds.store_validators(sessionmaker, feed_id, feeds.Validators("v1", "e9", stamp), late)
    await feeds.store_validators(sessionmaker, feed_id, feeds.Validators("v9", "e1", stamp), late)
    assert await stored() == first
    await feeds.store_validators(sessionmaker, feed_id, first, late)
    assert await stored() == late


async def test_validators_not_stored_when_the_database_is_unreachable_and_other_errors_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    new = feeds.Validators("v1", "e1", datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    nothing = feeds.Validators(None, None, None)
    # nobody listens on port 1: the fetch was answered, the next one stores them
    down = create_async_engine("postgresql+asyncpg://booking@127.0.0.1:1/booking")
    try:
        with caplog.at_level(logging.INFO, logger="booking.calendars.feeds"):
            await feeds.store_validators(async_sessionmaker(down), 7, nothing, new)
    finally:
        await down.dispose()
    (logged,) = caplog.records
    assert logged.getMessage().startswith("validators of feed 7 not stored: ")
    assert isinstance(logged.args, tuple)
    assert isinstance(logged.args[1], OSError | OperationalError)  # why, for whoever reads it
    # a database without the table is a bug, not a busy or unreachable database: it raises
    empty = create_async_engine("sqlite+aiosqlite://")
    try:
        with pytest.raises(OperationalError):
            await feeds.store_validators(async_sessionmaker(empty), 7, nothing, new)
    finally:
        await empty.dispose()
