"""What a feed's events say (issue 14, items 17 to 20): the calendar's name as TEXT, links that
open, names instead of codes, the right STATUS, and public events that reveal nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from urllib.parse import urlsplit

import httpx
import icalendar
import vobject
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.sessions import open_session
from booking.clock import FrozenClock
from booking.inventory.models import Policy, Room
from booking.inventory.services import bump_revision
from booking.reservations.models import Booking, BookingStatus
from tests.calendars.test_feeds import make_feed, path_of, pending_win
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body


def events(response: httpx.Response) -> list[icalendar.Event]:
    assert response.status_code == 200, response.text
    return list(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))


def text(response: httpx.Response) -> str:
    return response.content.decode().replace("\r\n ", "")


async def test_the_calendar_name_is_escaped_as_text(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    name = r"練習, 本番; C:\合唱"
    feed = await make_feed(
        client, world.headers("member"), kind="group", target_id=world.group_a, name=name
    )
    raw = (await client.get(path_of(feed))).content
    assert "X-WR-CALNAME:練習\\, 本番\\; C:\\\\合唱\r\n".encode() in raw
    assert vobject.readOne(raw.decode()).x_wr_calname.value == name


async def test_every_link_in_every_kind_of_feed_opens_for_its_reader(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member = world.headers("member")
    await client.post(B, json=body(world, hall), headers=member)
    cancelled = (
        await client.post(B, json=body(world, hall, period_codes=["30"]), headers=member)
    ).json()
    await client.post(f"{B}/{cancelled['id']}/cancel", headers=member)
    session.add(pending_win(world, hall, "20"))
    await session.commit()
    readers = {  # the feed, and who follows its links
        "group": (member, {"target_id": world.group_a}, member),
        "room": (member, {"target_id": hall.room_id}, {}),
        "facility": (member, {"target_id": hall.facility_id}, {}),
        "facility_staff": (hall.manager, {"target_id": hall.facility_id}, hall.manager),
        "manager": (hall.manager, {}, hall.manager),
    }
    for kind, (owner, target, reader) in readers.items():
        feed = await make_feed(client, owner, kind=kind, **target)
        found = events(await client.get(path_of(feed)))
        assert found, kind
        for event in found:
            url = str(event["URL"])
            assert url.startswith("http://127.0.0.1:8000/"), url
            page = await client.get(urlsplit(url).path, headers=reader)
            assert page.status_code == 200, (kind, url, page.status_code)
        expected = {
            "group": r"/my/(bookings/\d+|lottery)$",
            "room": rf"/facilities/{hall.facility_id}$",
            "facility": rf"/facilities/{hall.facility_id}$",
            "facility_staff": r"/manage/bookings/\d+$",
            "manager": r"/manage/bookings/\d+$",
        }[kind]
        assert all(re.search(expected, str(e["URL"])) for e in found), kind


async def test_descriptions_name_purposes_and_periods_in_the_feeds_language(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    member = world.headers("member")
    await client.post(B, json=body(world, hall, period_codes=["10", "20"]), headers=member)
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    (ja,) = events(await client.get(path_of(feed)))
    description = str(ja["DESCRIPTION"])
    assert "目的: 合唱・歌" in description
    assert "区分: 午前 09:00–12:00・午後 13:00–17:00" in description
    assert "状態: 予約確定" in description
    assert "singing" not in description
    assert "10・20" not in description
    (en,) = events(await client.get(path_of(feed) + "?lang=en"))
    description = str(en["DESCRIPTION"])
    assert "Purpose: Singing" in description
    assert "Periods: Morning 09:00–12:00, Afternoon 13:00–17:00" in description
    assert "Status: Confirmed" in description


async def test_each_booking_status_has_its_icalendar_status(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    member = world.headers("member")
    made = {
        code: (
            await client.post(B, json=body(world, hall, period_codes=[code]), headers=member)
        ).json()["id"]
        for code in ("10", "20", "30")
    }
    # The use date comes; the afternoon's group never turned up.
    clock.set(datetime.combine(hall.day, time(23), UTC))
    opened = await open_session(session, clock, world.settings, hall.manager_id)
    await session.commit()
    manager = {
        "Cookie": f"booking_session={opened.cookie_value}",
        "X-CSRF-Token": opened.csrf_token,
    }
    no_show = await client.post(f"{B}/{made['20']}/no-show", headers=manager)
    assert no_show.status_code == 200, no_show.text
    await session.execute(
        update(Booking)
        .where(Booking.id == made["30"])
        .values(status=BookingStatus.COMPLETED, sequence=Booking.sequence + 1)
    )
    await session.commit()
    feed = await make_feed(client, manager, kind="manager")
    shown = {str(e["UID"]).split(".staff@")[0]: e for e in events(await client.get(path_of(feed)))}
    assert shown[f"booking-{made['10']}"]["STATUS"] == "CONFIRMED"
    assert shown[f"booking-{made['30']}"]["STATUS"] == "CONFIRMED"
    assert "利用済み" in str(shown[f"booking-{made['30']}"]["DESCRIPTION"])
    gone = shown[f"booking-{made['20']}"]
    assert gone["STATUS"] == "CANCELLED"  # the room stood empty: the use did not take place
    assert "無断不使用" in str(gone["DESCRIPTION"])
    for status, word, expected in (
        (BookingStatus.HELD, "仮予約", "TENTATIVE"),
        (BookingStatus.PENDING_APPROVAL, "承認待ち", "TENTATIVE"),
        (BookingStatus.CANCELLED, "取消済み", "CANCELLED"),
    ):
        await session.execute(
            update(Booking)
            .where(Booking.id == made["10"])
            .values(status=status, sequence=Booking.sequence + 1, updated_at=clock.now())
        )
        await session.commit()
        (event,) = [
            e
            for e in events(await client.get(path_of(feed)))
            if str(e["UID"]).startswith(f"booking-{made['10']}.staff@")
        ]
        assert event["STATUS"] == expected, status
        assert word in str(event["DESCRIPTION"])


async def test_public_events_are_opaque_and_change_only_with_what_the_public_sees(
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    # The hall room's own policy layer allows holds (the bundled data has none that do).
    policy = Policy(key="test-holds", settings={"holds": {"allowed": True}})
    session.add(policy)
    await session.flush()
    await session.execute(update(Room).where(Room.id == hall.room_id).values(policy_id=policy.id))
    await bump_revision(session, clock.now())
    await session.commit()
    member = world.headers("member")
    booking = (await client.post(B, json=body(world, hall), headers=member)).json()
    held = (
        await client.post(
            "/api/v1/holds", json=body(world, hall, period_codes=["30"]), headers=hall.manager
        )
    ).json()
    room = await make_feed(client, member, kind="room", target_id=hall.room_id)
    group = await make_feed(client, member, kind="group", target_id=world.group_a)
    first = await client.get(path_of(room))
    public = {str(e["DTSTART"].dt.hour): e for e in events(first)}
    group_uids = {str(e["UID"]) for e in events(await client.get(path_of(group)))}
    for event in public.values():
        uid = str(event["UID"])
        assert uid not in group_uids
        assert re.fullmatch(r"[0-9a-f]{32}@127\.0\.0\.1", uid), uid  # no id to count by
        assert str(event["URL"]).endswith(f"/facilities/{hall.facility_id}")
    assert public["17"]["STATUS"] == "TENTATIVE"

    # Staff record a payment: nothing the public sees changed, so nothing changes.
    paid = await client.post(
        f"{B}/{booking['id']}/payment",
        json={"status": "paid", "method": "counter"},
        headers=hall.manager,
    )
    assert paid.status_code == 200
    same = await client.get(path_of(room), headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    assert (await client.get(path_of(room))).content == first.content

    # The hold is completed: the public sees it stop being tentative, one step up.
    await client.post(f"{B}/{held['id']}/complete", headers=hall.manager)
    after = {str(e["DTSTART"].dt.hour): e for e in events(await client.get(path_of(room)))}
    assert after["17"]["UID"] == public["17"]["UID"]
    assert after["17"]["STATUS"] == "CONFIRMED"
    assert int(after["17"]["SEQUENCE"]) == int(public["17"]["SEQUENCE"]) + 1
    assert after["9"]["SEQUENCE"] == public["9"]["SEQUENCE"]
    assert after["9"]["LAST-MODIFIED"].dt == public["9"]["LAST-MODIFIED"].dt

    # A new URL for the same feed keeps its events' UIDs.
    rotated = (await client.post(f"/api/v1/feeds/{room['id']}/rotate", headers=member)).json()
    again = {str(e["UID"]) for e in events(await client.get(path_of(rotated)))}
    assert again == {str(e["UID"]) for e in after.values()}
    assert "予約済" in text(await client.get(path_of(rotated)))
