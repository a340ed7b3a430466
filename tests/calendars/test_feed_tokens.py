"""Managing feed tokens through the service functions (no HTTP): a feed is its owner's only
(another person's, or a revoked one, is the same 404 as none), each change is audited once,
and a person's feeds are listed in the order they were made, even after one is rotated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import User
from booking.accounts.sessions import principal_for_user
from booking.audit.models import AuditEvent
from booking.calendars import feeds
from booking.calendars.models import FeedKind
from booking.clock import FrozenClock
from booking.errors import NotFound
from booking.inventory.network import SnapshotCache
from tests.people import World


async def audited(session: AsyncSession, feed_id: int) -> list[tuple[str, str, str, int | None]]:
    found = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "calendar_feed", AuditEvent.target_id == str(feed_id))
        .order_by(AuditEvent.id)
    )
    return [(e.action, e.target_type, e.target_id, e.actor_user_id) for e in found]


async def principal(session: AsyncSession, user_id: int) -> Principal:
    return await principal_for_user(session, await session.get_one(User, user_id))


async def new_feed(
    session: AsyncSession, clock: FrozenClock, owner: Principal, group: int
) -> feeds.IssuedFeed:
    snapshot = await SnapshotCache().get(session)
    return await feeds.create_feed(session, clock, snapshot, owner, FeedKind.GROUP, group, "合唱団")


async def test_each_change_of_a_feed_is_audited_once(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    made = await new_feed(session, clock, member, world.group_a)
    feed_id = made.feed.id
    rotated = await feeds.rotate_feed(session, clock, member, feed_id)
    assert rotated.token != made.token
    assert rotated.feed.id == feed_id
    await feeds.revoke_feed(session, clock, member, feed_id)
    first = (await session.get_one(feeds.CalendarFeed, feed_id)).revoked_at
    clock.advance(timedelta(minutes=5))
    again = await feeds.revoke_feed(session, clock, member, feed_id)  # revoked already
    assert again.revoked_at == first
    who = member.user_id
    assert await audited(session, feed_id) == [
        ("feed.created", "calendar_feed", str(feed_id), who),
        ("feed.rotated", "calendar_feed", str(feed_id), who),
        ("feed.revoked", "calendar_feed", str(feed_id), who),
    ]


@pytest.mark.parametrize("action", ["rotate", "revoke"])
async def test_another_persons_feed_is_not_found(
    world: World, session: AsyncSession, clock: FrozenClock, action: str
) -> None:
    member = await principal(session, world.user_ids["member"])
    stranger = await principal(session, world.user_ids["representative"])
    made = await new_feed(session, clock, member, world.group_a)
    change = feeds.rotate_feed if action == "rotate" else feeds.revoke_feed
    with pytest.raises(NotFound) as refused:
        await change(session, clock, stranger, made.feed.id)
    assert refused.value.code == "feed_not_found"
    assert refused.value.message == f"no feed {made.feed.id}"
    with pytest.raises(NotFound) as missing:
        await change(session, clock, member, made.feed.id + 1000)
    assert missing.value.code == "feed_not_found"
    assert (await session.get_one(feeds.CalendarFeed, made.feed.id)).revoked_at is None
    assert [a for a, *_ in await audited(session, made.feed.id)] == ["feed.created"]


async def test_a_revoked_feed_cannot_be_rotated(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    made = await new_feed(session, clock, member, world.group_a)
    await feeds.revoke_feed(session, clock, member, made.feed.id)
    with pytest.raises(NotFound) as refused:
        await feeds.rotate_feed(session, clock, member, made.feed.id)
    assert (refused.value.code, refused.value.message) == (
        "feed_not_found",
        f"no feed {made.feed.id}",
    )


async def test_feeds_are_listed_in_the_order_they_were_made(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    made = [(await new_feed(session, clock, member, world.group_a)).feed.id for _ in range(3)]
    # rotating the first rewrites its row (PostgreSQL then keeps it after the others)
    await feeds.rotate_feed(session, clock, member, made[0])
    await session.flush()
    session.expire_all()
    assert [f.id for f in await feeds.list_feeds(session, member)] == made
    stranger = await principal(session, world.user_ids["representative"])
    assert made[0] not in [f.id for f in await feeds.list_feeds(session, stranger)]
