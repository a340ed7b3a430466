"""A feed's ETag and Last-Modified (issue 14, items 15 and 16): every input of the body is in
the ETag, Last-Modified never moves back, conditional requests and HEAD follow RFC 9110."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
import icalendar
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from booking.accounts.models import Group
from booking.app import create_app
from booking.calendars import feeds, render
from booking.calendars.models import CalendarFeed
from booking.clock import FrozenClock
from booking.inventory.models import Room
from booking.inventory.services import bump_revision
from tests.calendars.test_feeds import make_feed, path_of
from tests.conftest import Database
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body


def unfolded(response: httpx.Response) -> str:
    return response.content.decode().replace("\r\n ", "")


async def test_renaming_a_group_or_changing_its_contact_reaches_its_feeds(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await client.post(B, json=body(world, hall), headers=world.headers("member"))
    group = await make_feed(client, world.headers("member"), kind="group", target_id=world.group_a)
    staff = await make_feed(client, hall.manager, kind="facility_staff", target_id=hall.facility_id)
    first = {path_of(f): await client.get(path_of(f)) for f in (group, staff)}
    assert all("川崎合唱団" in unfolded(r) for r in first.values())

    renamed = await client.patch(
        f"/api/v1/groups/{world.group_a}",
        json={"name": "川崎少年合唱団"},
        headers=world.headers("representative"),
    )
    assert renamed.status_code == 200, renamed.text
    for path, before in first.items():
        again = await client.get(path, headers={"If-None-Match": before.headers["etag"]})
        assert again.status_code == 200, path
        assert "川崎少年合唱団" in unfolded(again)
        assert again.headers["etag"] != before.headers["etag"]

    # Any write to the group counts, not only the API's: here a phone changed by SQL.
    etag = (await client.get(path_of(staff))).headers["etag"]
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(phone="044-999-0000")
    )
    await session.commit()
    changed = await client.get(path_of(staff), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "044-999-0000" in unfolded(changed)


async def test_a_network_change_is_in_the_next_fetch(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """The network's revision is read with the token, in the same statement: a room renamed
    (as `booking facilities load` does it) is in the very next fetch, not the one after."""
    member = world.headers("member")
    await client.post(B, json=body(world, hall), headers=member)
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    first = await client.get(path_of(feed))
    await session.execute(update(Room).where(Room.id == hall.room_id).values(name_ja="新ホール"))
    await bump_revision(session, clock.now())
    await session.commit()
    again = await client.get(path_of(feed), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "新ホール" in unfolded(again)
    assert again.headers["etag"] != first.headers["etag"]


async def test_an_etag_names_one_body_across_restarts_and_deploys(  # noqa: PLR0917
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = world.headers("member")
    await client.post(B, json=body(world, hall), headers=member)
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    served = await client.get(path_of(feed))
    # The group is renamed behind the app's back (its revision moves with any UPDATE), and a
    # new process (an empty event cache) answers: the new body has a new ETag.
    await session.execute(update(Group).where(Group.id == world.group_a).values(name="改名後"))
    await session.commit()
    app = create_app(database.settings, clock=clock, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        restarted = await other.get(
            path_of(feed), headers={"If-None-Match": served.headers["etag"]}
        )
    assert restarted.status_code == 200
    assert "改名後" in unfolded(restarted)
    assert restarted.headers["etag"] != served.headers["etag"]
    # New rendering code is a new version of every feed: it is rendered again, not trusted.
    version = (await session.get_one(CalendarFeed, feed["id"])).content_version
    monkeypatch.setattr(render, "CODE_VERSION", "another-release")
    again = await client.get(path_of(feed), headers={"If-None-Match": restarted.headers["etag"]})
    assert again.status_code == 304  # the same bytes: the same ETag
    session.expire_all()
    assert (await session.get_one(CalendarFeed, feed["id"])).content_version != version


async def test_last_modified_never_moves_back_and_is_never_the_same_for_two_bodies(
    world: World, hall: Hall, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    member = world.headers("member")
    public = await make_feed(client, member, kind="room", target_id=hall.room_id)
    await client.post(B, json=body(world, hall, period_codes=["10"]), headers=member)
    clock.advance(timedelta(minutes=5))
    newest = (
        await client.post(B, json=body(world, hall, period_codes=["20"]), headers=member)
    ).json()
    clock.advance(timedelta(minutes=5))
    seen = await client.get(path_of(public))
    modified = parsedate_to_datetime(seen.headers["last-modified"])
    assert len(icalendar.Calendar.from_ical(seen.content).walk("VEVENT")) == 2

    # Cancelling the newest booking takes an event away: the feed changed, so it is newer.
    await client.post(f"{B}/{newest['id']}/cancel", headers=member)
    since = await client.get(
        path_of(public), headers={"If-Modified-Since": seen.headers["last-modified"]}
    )
    assert since.status_code == 200
    assert len(icalendar.Calendar.from_ical(since.content).walk("VEVENT")) == 1
    later = parsedate_to_datetime(since.headers["last-modified"])
    assert later > modified

    # Two bodies within one second (the clock stands still): two HTTP-dates a second apart.
    await client.post(B, json=body(world, hall, period_codes=["30"]), headers=member)
    third = await client.get(
        path_of(public), headers={"If-Modified-Since": since.headers["last-modified"]}
    )
    assert third.status_code == 200
    assert parsedate_to_datetime(third.headers["last-modified"]) == later + timedelta(seconds=1)
    # And a date at or after it is answered 304; one before it, 200.
    for offset, status in ((0, 304), (3600, 304), (-1, 200)):
        stamp = parsedate_to_datetime(third.headers["last-modified"]) + timedelta(seconds=offset)
        answer = await client.get(
            path_of(public), headers={"If-Modified-Since": format_datetime(stamp, usegmt=True)}
        )
        assert answer.status_code == status, offset


async def test_if_none_match_compares_weakly_takes_lists_and_star_and_head_has_no_body(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    member = world.headers("member")
    await client.post(B, json=body(world, hall), headers=member)
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    full = await client.get(path_of(feed))
    etag = full.headers["etag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    for header, status in (
        (etag, 304),
        (f"W/{etag}", 304),
        (f'"stale", W/{etag}', 304),
        ("*", 304),
        ('"stale"', 200),
        ('W/"stale"', 200),
    ):
        answer = await client.get(path_of(feed), headers={"If-None-Match": header})
        assert answer.status_code == status, header
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    both = await client.get(
        path_of(feed),
        headers={"If-None-Match": '"stale"', "If-Modified-Since": full.headers["last-modified"]},
    )
    assert both.status_code == 200

    head = await client.head(path_of(feed))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "last-modified", "cache-control", "content-type"):
        assert head.headers[name] == full.headers[name], name
    assert (await client.head(path_of(feed), headers={"If-None-Match": etag})).status_code == 304
    assert (await client.head("/ical/AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.ics")).status_code == 404


def test_last_modified_moves_forward_only_when_the_body_does() -> None:
    served = feeds.Validators(None, None, None)
    noon = datetime(2026, 12, 1, 3, 0, 0, 700_000, tzinfo=UTC)
    served = feeds.after_render(served, "v1", "a", noon)
    assert served.last_modified == noon.replace(microsecond=0)  # an HTTP-date has whole seconds
    served = feeds.after_render(served, "v2", "a", noon + timedelta(hours=1))  # the same bytes
    assert (served.version, served.last_modified) == ("v2", noon.replace(microsecond=0))
    served = feeds.after_render(served, "v3", "b", noon - timedelta(days=1))  # a clock set back
    assert served.last_modified == noon.replace(microsecond=0) + timedelta(seconds=1)
    served = feeds.after_render(served, "v4", "c", noon + timedelta(minutes=5))
    assert served.last_modified == noon.replace(microsecond=0) + timedelta(minutes=5)


async def test_a_feed_asked_again_unchanged_is_read_in_two_statements_and_not_rendered(
    world: World, hall: Hall, client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    member = world.headers("member")
    await client.post(B, json=body(world, hall), headers=member)
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    first = await client.get(path_of(feed))
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))  # (connection, cursor, statement, ...)

    event.listen(connection.sync_connection, "before_cursor_execute", seen)
    try:
        again = await client.get(path_of(feed))
        revalidated = await client.get(
            path_of(feed), headers={"If-None-Match": first.headers["etag"]}
        )
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", seen)
    assert (again.status_code, again.content) == (200, first.content)
    assert revalidated.status_code == 304
    # Each fetch two round trips: the token with its owner, the owner's roles, the group and
    # the network's revision; then the fingerprint of the bookings and lottery wins. No roles,
    # group or revision read alone, no rows read again.
    reads = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(reads) == 4
    tables = ("FROM calendar_feeds", "inventory_revision", "group_members", "manager_facilities")
    for token, print_ in (reads[0:2], reads[2:4]):
        assert all(table in token for table in tables), token
        assert all(table in print_ for table in ("bookings", "lottery_applications")), print_
    assert not [s for s in reads if "ORDER BY bookings.use_date" in s]


def test_the_body_cache_keeps_a_feeds_last_version_within_its_bytes() -> None:
    cache = render.BodyCache(max_bytes=10)
    cache.put(1, "v1", b"aaaa", "e1")
    assert cache.get(1, "v1") == (b"aaaa", "e1")
    assert cache.get(1, "v2") is None  # another version is another body
    cache.put(1, "v2", b"bbbb", "e2")  # replaces the feed's old body
    assert cache.get(1, "v1") is None
    cache.put(2, "v1", b"cccc", "e3")
    assert cache.get(1, "v2") == (b"bbbb", "e2")  # feed 1 now the most recently used
    cache.put(3, "v1", b"dddd", "e4")  # 12 bytes > 10: the least recently used (2) goes
    assert cache.get(2, "v1") is None
    assert cache.get(1, "v2") == (b"bbbb", "e2")
    assert cache.get(3, "v1") == (b"dddd", "e4")
    cache.put(4, "v1", b"x" * 11, "e5")  # larger than the whole cache: not kept
    assert cache.get(4, "v1") is None
    assert cache.get(3, "v1") == (b"dddd", "e4")
