"""Calendar feeds, parsed back with icalendar and with vobject, on both databases."""

from __future__ import annotations

from datetime import date

import httpx
import icalendar
import vobject
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Member
from booking.lottery.models import ApplicationStatus, LotteryApplication
from tests.conftest import DEFAULT_NOW
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body


async def make_feed(client: httpx.AsyncClient, headers: dict[str, str], **data: object) -> dict:
    response = await client.post("/api/v1/feeds", json=data, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def path_of(feed: dict) -> str:
    return "/ical/" + feed["url"].rsplit("/ical/", 1)[1]


async def test_a_group_feed_is_valid_icalendar(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    member = world.headers("member")
    booking = (
        await client.post(B, json=body(world, hall, period_codes=["10", "20"]), headers=member)
    ).json()
    feed = await make_feed(
        client, member, kind="group", target_id=world.group_a, name="合唱団の予約"
    )
    assert feed["webcal_url"].startswith("webcal://")
    response = await client.get(path_of(feed))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    raw = response.content
    assert b"\r\n" in raw
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets
    text = raw.decode("utf-8")
    assert "川崎合唱団" in text.replace("\r\n ", "")

    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0"
    assert cal["PRODID"]
    assert cal["CALSCALE"] == "GREGORIAN"
    assert cal["METHOD"] == "PUBLISH"
    assert cal["X-WR-CALNAME"] == "合唱団の予約"
    assert cal["X-WR-TIMEZONE"] == "Asia/Tokyo"
    assert "REFRESH-INTERVAL" in cal
    assert "X-PUBLISHED-TTL" in cal
    (tz,) = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Asia/Tokyo"
    (event,) = cal.walk("VEVENT")
    assert event["UID"] == f"booking-{booking['id']}@127.0.0.1"
    start = event.decoded("DTSTART")
    assert str(start.tzinfo) == "Asia/Tokyo"
    assert (start.date(), start.hour) == (hall.day, 9)  # 午前 starts at 9:00
    assert event.decoded("DTEND").hour == 17  # 午後 ends at 17:00
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert event["STATUS"] == "CONFIRMED"
    assert int(event["SEQUENCE"]) == 1
    facility = hall.snapshot.facilities[hall.facility_id]
    assert facility.name_ja in str(event["LOCATION"])
    assert "川崎合唱団" in str(event["DESCRIPTION"])
    assert str(event["URL"]).endswith(f"/my/bookings/{booking['id']}")
    assert "DTSTAMP" in event
    assert "LAST-MODIFIED" in event
    english = icalendar.Calendar.from_ical((await client.get(path_of(feed) + "?lang=en")).content)
    assert facility.name_en in str(english.walk("VEVENT")[0]["LOCATION"])

    # A second, independent parser reads the same feed.
    parsed = vobject.readOne(text)
    (vevent,) = parsed.vevent_list
    assert vevent.uid.value == f"booking-{booking['id']}@127.0.0.1"
    assert vevent.dtstart.value.hour == 9
    assert vevent.status.value == "CONFIRMED"


async def test_a_change_raises_sequence_and_etag_and_cancellation_shows(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    member = world.headers("member")
    booking = (await client.post(B, json=body(world, hall), headers=member)).json()
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    first = await client.get(path_of(feed))
    etag = first.headers["etag"]
    assert first.headers["last-modified"]
    again = await client.get(path_of(feed), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    since = await client.get(
        path_of(feed), headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert since.status_code == 304
    await client.post(f"{B}/{booking['id']}/cancel", headers=member)
    changed = await client.get(path_of(feed), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    (event,) = icalendar.Calendar.from_ical(changed.content).walk("VEVENT")
    assert event["STATUS"] == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2


async def test_public_feeds_leak_no_group_data_and_staff_feeds_do_show_it(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    await client.post(B, json=body(world, hall), headers=world.headers("member"))
    public = await make_feed(
        client, world.headers("other_representative"), kind="room", target_id=hall.room_id
    )
    text = (await client.get(path_of(public))).content.decode()
    unfolded = text.replace("\r\n ", "")
    for secret in ("川崎合唱団", "定期練習", "rep-a@example.jp", "singing"):
        assert secret not in unfolded
    assert "予約済" in unfolded
    refused = await client.post(
        "/api/v1/feeds",
        json={"kind": "facility_staff", "target_id": hall.facility_id},
        headers=world.headers("manager_here"),
    )
    assert refused.status_code == 403
    staff = await make_feed(client, hall.manager, kind="facility_staff", target_id=hall.facility_id)
    staff_text = (await client.get(path_of(staff))).content.decode().replace("\r\n ", "")
    assert "川崎合唱団" in staff_text
    assert "rep-a@example.jp" in staff_text
    manager = await make_feed(client, hall.manager, kind="manager")
    assert "川崎合唱団" in (await client.get(path_of(manager))).content.decode().replace(
        "\r\n ", ""
    )


async def test_tokens_revoked_rotated_unknown_and_bad_queries(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member = world.headers("member")
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    rotated = await client.post(f"/api/v1/feeds/{feed['id']}/rotate", headers=member)
    assert (await client.get(path_of(feed))).status_code == 404
    assert (await client.get(path_of(rotated.json()))).status_code == 200
    assert (await client.delete(f"/api/v1/feeds/{feed['id']}", headers=member)).status_code == 204
    gone = await client.get(path_of(rotated.json()))
    unknown = await client.get("/ical/AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.ics")
    malformed = await client.get("/ical/nonsense")
    assert gone.status_code == unknown.status_code == malformed.status_code == 404
    assert gone.json()["detail"] == unknown.json()["detail"] == malformed.json()["detail"]
    fresh = await make_feed(client, member, kind="group", target_id=world.group_a)
    assert (await client.get(path_of(fresh) + "?lang=fr")).status_code == 400
    assert (await client.get(path_of(fresh) + "?past_days=9999")).status_code == 400
    assert (await client.get(path_of(fresh) + "?future_days=0")).status_code == 400
    # Another group's feed cannot be made, and a member who leaves loses theirs.
    foreign = await client.post(
        "/api/v1/feeds", json={"kind": "group", "target_id": world.group_b}, headers=member
    )
    assert foreign.status_code == 404
    listed = await client.get("/api/v1/feeds", headers=member)
    assert "url" not in listed.json()[0]
    assert (await client.get(path_of(fresh))).status_code == 200
    # The member leaves the group (the roster's minimum size aside: the row goes).
    await session.execute(delete(Member).where(Member.id == world.member_ids["member"]))
    await session.commit()
    left = await client.get(path_of(fresh))
    assert left.status_code == 404
    assert left.json()["detail"] == unknown.json()["detail"]


def pending_win(world: World, hall: Hall, period_code: str) -> LotteryApplication:
    """Group A's lottery win on the hall's day, not yet confirmed."""
    return LotteryApplication(
        use_month=date(2027, 2, 1),
        group_id=world.group_a,
        room_id=hall.room_id,
        facility_id=hall.facility_id,
        use_date=hall.day,
        period_codes=[period_code],
        purpose="meeting",
        headcount=5,
        status=ApplicationStatus.WON,
        created_at=DEFAULT_NOW,
    )


async def test_a_pending_lottery_win_is_tentative_and_a_booking_downloads(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    session.add(pending_win(world, hall, "30"))
    await session.commit()
    member = world.headers("member")
    feed = await make_feed(client, member, kind="group", target_id=world.group_a)
    (event,) = icalendar.Calendar.from_ical((await client.get(path_of(feed))).content).walk(
        "VEVENT"
    )
    assert event["STATUS"] == "TENTATIVE"
    booking = (await client.post(B, json=body(world, hall), headers=member)).json()
    one = await client.get(f"{B}/{booking['id']}/calendar.ics", headers=member)
    assert one.status_code == 200
    assert "attachment" in one.headers["content-disposition"]
    assert len(icalendar.Calendar.from_ical(one.content).walk("VEVENT")) == 1
    stranger = await client.get(
        f"{B}/{booking['id']}/calendar.ics", headers=world.headers("other_representative")
    )
    assert stranger.status_code == 404
