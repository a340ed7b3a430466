"""What one server process keeps in memory stays true when another process changes the data.

Two real server processes, A and B, built by `booking serve`'s factory (with the tests'
frozen clock) on one committed database of each engine. B reads first, so that its caches
hold the old state; A changes it; B must answer the new state:
- a month's claims (ClaimsCache): a slot booked on A is taken on B, and B refuses it (409);
- the network snapshot (SnapshotCache): a closure and a room's capacity set on A;
- rendered calendar events (EventCache): a booking cancelled on A, in B's feed;
- statistics counts (CountsCache, read at every request here: statistics_max_age_seconds 0);
- login throttling (in the database): failures on A and on B add up to one lockout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.auth import CSRF_HEADER, SESSION_COOKIE
from booking.accounts.models import StaffRole, User
from booking.accounts.sessions import open_session, principal_for_user
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, committed_database, in_thread
from tests.people import PASSWORD, registration
from tests.places import open_weekday
from tests.processes.servers import free_port, frozen_command, running, server_env

B = "/api/v1/bookings"
LOCKED_OUT = "throttled@city.example"
CLOCK = FrozenClock(DEFAULT_NOW)  # the servers' too (tests/processes/frozen.py)


@dataclass
class Site:
    a: httpx.Client
    b: httpx.Client
    group_id: int
    feed_group_id: int  # a group of its own for the feed: no other test's bookings in it
    member: dict[str, str]
    feed_member: dict[str, str]
    manager: dict[str, str]
    admin: dict[str, str]
    facility_id: int
    room_id: int  # one unit
    combined_room_id: int  # another room of the same hall
    days: list[date]  # open weekdays of the hall, one for each test

    def booking(self, day: date, period: str = "20", **changes: Any) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "room_id": self.room_id,
            "use_date": day.isoformat(),
            "period_codes": [period],
            "purpose": "meeting",
            "headcount": 5,
            **changes,
        }


def _headers(cookie: str, csrf: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={cookie}", CSRF_HEADER: csrf}


async def _hall(session: AsyncSession) -> dict[str, Any]:
    """A room of one unit at a hall that also has a combined room, and six open weekdays."""
    snapshot = await SnapshotCache().get(session)
    combined = next(r for r in snapshot.rooms if len(r.unit_ids) > 1 and r.online_bookable)
    part = next(
        r
        for r in snapshot.rooms
        if r.id != combined.id and set(r.unit_ids) < set(combined.unit_ids)
    )
    days = [open_weekday(snapshot, part.facility_id, date(2027, 2, 8))]  # first-come's month
    while len(days) < 6:
        days.append(open_weekday(snapshot, part.facility_id, days[-1] + timedelta(days=1)))
    return {
        "facility_id": part.facility_id,
        "room_id": part.id,
        "combined": combined.id,
        "days": days,
    }


async def _staff(
    session: AsyncSession, settings: Settings, email: str, role: StaffRole, facility: int
) -> tuple[User, dict[str, str]]:
    user = await grant_staff_role(
        session,
        CLOCK,
        settings,
        SYSTEM,
        email=email,
        name=email,
        role=role,
        facility_ids=(facility,) if role is StaffRole.MANAGER else (),
        password=PASSWORD,
    )
    opened = await open_session(session, CLOCK, settings, user.id)
    return user, _headers(opened.cookie_value, opened.csrf_token)


async def _group(
    session: AsyncSession, settings: Settings, admin: Principal, name: str, email: str
) -> tuple[int, dict[str, str]]:
    """An active group; its representative's session."""
    data = registration(name, email, password=PASSWORD)
    group = await groups.register(session, CLOCK, settings, None, data, None)
    await groups.activate(session, CLOCK, settings, admin, group.id, None)
    rep = await session.scalar(select(User).where(User.email == email))
    assert rep is not None
    opened = await open_session(session, CLOCK, settings, rep.id)
    return group.id, _headers(opened.cookie_value, opened.csrf_token)


async def _people(settings: Settings) -> dict[str, Any]:
    """Staff, two active groups and their sessions, and a hall to book, committed."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            made = await _hall(session)
            facility = made["facility_id"]
            admin, made["admin"] = await _staff(
                session, settings, "admin@city.example", StaffRole.ADMIN, facility
            )
            _, made["manager"] = await _staff(
                session, settings, "manager@city.example", StaffRole.MANAGER, facility
            )
            await _staff(session, settings, LOCKED_OUT, StaffRole.MANAGER, facility)
            principal = await principal_for_user(session, admin)
            made["group"] = await _group(session, settings, principal, "合唱団", "g@example.jp")
            made["feed_group"] = await _group(
                session, settings, principal, "将棋会", "f@example.jp"
            )
    finally:
        await engine.dispose()
    return made


@pytest.fixture(scope="module")
def site(engine_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("two_processes")
    with committed_database(engine_settings, data_dir, "caches") as settings:
        made = in_thread(lambda: asyncio.run(_people(settings)))
        ports = free_port(), free_port()
        env = server_env(settings)
        with (
            running(frozen_command(ports[0]), env, ports[0]),
            running(frozen_command(ports[1]), env, ports[1]),
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
        ):
            yield Site(
                a=a,
                b=b,
                group_id=made["group"][0],
                feed_group_id=made["feed_group"][0],
                member=made["group"][1],
                feed_member=made["feed_group"][1],
                manager=made["manager"],
                admin=made["admin"],
                facility_id=made["facility_id"],
                room_id=made["room_id"],
                combined_room_id=made["combined"],
                days=made["days"],
            )


def _room(client: httpx.Client, room_id: int, day: date) -> dict[str, Any]:
    got = client.get("/api/v1/availability", params={"from": day, "to": day, "room": room_id})
    assert got.status_code == 200, got.text
    room: dict[str, Any] = got.json()["rooms"][0]
    return room


def _state(client: httpx.Client, room_id: int, day: date, period: str = "20") -> str:
    slots = _room(client, room_id, day)["days"][0]["slots"]
    return str(next(s["state"] for s in slots if s["period"] == period))


def test_a_slot_booked_on_a_is_taken_on_b(site: Site) -> None:
    day = site.days[0]
    assert _state(site.b, site.room_id, day) == "open"  # B has read the month's claims
    made = site.a.post(B, json=site.booking(day), headers=site.member)
    assert made.status_code == 201, made.text
    assert _state(site.b, site.room_id, day) == "booked"
    again = site.b.post(B, json=site.booking(day), headers=site.member)
    assert again.status_code == 409, again.text
    assert day.isoformat() in again.json()["detail"]


def test_a_closure_and_a_room_change_on_a_show_on_b(site: Site) -> None:
    day = site.days[1]
    assert _state(site.b, site.room_id, day) == "open"  # B holds the network snapshot
    before = _room(site.b, site.combined_room_id, day)["capacity"]
    assert before > 3
    closed = site.a.post(
        f"/api/v1/facilities/{site.facility_id}/closures",
        json={"from": day.isoformat(), "to": day.isoformat()},
        headers=site.manager,
    )
    assert closed.status_code == 201, closed.text
    assert _state(site.b, site.room_id, day) == "closed"
    refused = site.b.post(B, json=site.booking(day), headers=site.member)
    assert refused.json()["code"] == "closed", refused.text

    changed = site.a.patch(
        f"/api/v1/rooms/{site.combined_room_id}", json={"capacity": 3}, headers=site.manager
    )
    assert changed.status_code == 200, changed.text
    assert _room(site.b, site.combined_room_id, day)["capacity"] == 3
    over = site.b.post(
        B,
        json=site.booking(site.days[2], room_id=site.combined_room_id, headcount=4),
        headers=site.member,
    )
    assert over.status_code == 422, over.text
    assert over.json()["code"] == "over_capacity"


def test_a_booking_cancelled_on_a_is_cancelled_in_the_feed_on_b(site: Site) -> None:
    body = site.booking(site.days[3], group_id=site.feed_group_id)
    made = site.a.post(B, json=body, headers=site.feed_member)
    assert made.status_code == 201, made.text
    feed = site.a.post(
        "/api/v1/feeds",
        json={"kind": "group", "target_id": site.feed_group_id},
        headers=site.feed_member,
    )
    assert feed.status_code == 201, feed.text
    path = httpx.URL(feed.json()["url"]).path
    shown = site.b.get(path)
    assert shown.status_code == 200, shown.text
    assert "STATUS:CONFIRMED" in shown.text  # rendered and cached by B
    assert "STATUS:CANCELLED" not in shown.text
    cancelled = site.a.post(f"{B}/{made.json()['id']}/cancel", headers=site.feed_member)
    assert cancelled.status_code == 200, cancelled.text
    again = site.b.get(path, headers={"If-None-Match": shown.headers["etag"]})
    assert again.status_code == 200, again.text
    assert "STATUS:CANCELLED" in again.text
    assert "STATUS:CONFIRMED" not in again.text


def _booked_slots(client: httpx.Client, site: Site, day: date) -> int:
    month = day.replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    got = client.get(
        "/api/v1/statistics/occupancy",
        params={"from": month, "to": end, "facility": site.facility_id},
        headers=site.admin,
    )
    assert got.status_code == 200, got.text
    return int(got.json()["total"]["booked_slots"])


def test_statistics_on_b_count_a_booking_made_on_a(site: Site) -> None:
    day = site.days[4]
    before = _booked_slots(site.b, site, day)
    made = site.a.post(B, json=site.booking(day, period="10"), headers=site.member)
    assert made.status_code == 201, made.text
    assert _booked_slots(site.b, site, day) == before + 1


def test_login_failures_on_a_and_b_add_up_to_one_lockout(site: Site) -> None:
    wrong = {"login": LOCKED_OUT, "password": "not the password"}
    for i in range(5):  # login_account_failures: 5 in the window
        refused = (site.a if i % 2 else site.b).post("/api/v1/auth/login", json=wrong)
        assert refused.status_code == 401, refused.text
    for client in (site.a, site.b):
        locked = client.post("/api/v1/auth/login", json={"login": LOCKED_OUT, "password": PASSWORD})
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["retry-after"]) >= 1
