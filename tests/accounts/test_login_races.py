"""Logins against a committed database, many at once (issue 14: 2 and 3). Both engines.

A fresh database per engine (committed, dropped afterwards), an app with its own connection
pool, and real bursts of requests in flight together: the lockout must hold against a burst,
and no password hash may run while the login holds a connection, a transaction or a lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.accounts import groups, login, passwords, registrations
from booking.accounts.models import ApiToken, StaffRole, User
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.app import create_app
from booking.audit.service import SYSTEM
from booking.calendars.models import CalendarFeed
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.notifications.models import OutboxMessage
from booking.pages.web import ANON_CSRF_COOKIE
from booking.settings import Settings
from tests.conftest import (
    DEFAULT_NOW,
    committed_database,
)
from tests.people import registration
from tests.places import open_weekday
from tests.races import city_admin

PASSWORD = "the right passphrase"
STAFF = 12  # accounts that log in during the flood


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "logins", db_pool_size=20) as settings:
        yield settings


@dataclass
class Site:
    client: httpx.AsyncClient
    engine: AsyncEngine
    settings: Settings
    card: str  # the representative's card: logs in as rep@example.jp
    member: dict[str, str]  # the representative's session headers
    booking: dict[str, object]  # a booking body for an open slot


@pytest.fixture
async def site(committed: Settings) -> AsyncIterator[Site]:
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(committed)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, committed)
        for i in range(STAFF):
            await grant_staff_role(
                session,
                clock,
                committed,
                SYSTEM,
                email=f"staff{i}@city.example",
                name=f"staff {i}",
                role=StaffRole.ADMIN,
                password=PASSWORD,
            )
        group = await groups.register(
            session,
            clock,
            committed,
            None,
            registration("会", "rep@example.jp", password=PASSWORD),
            None,
        )
        activated = await groups.activate(session, clock, committed, staff, group.id, None)
        rep = await session.scalar(select(User).where(User.email == "rep@example.jp"))
        assert rep is not None
        opened = await open_session(session, clock, committed, rep.id)
        snapshot = await SnapshotCache().get(session)
        combined = next(r for r in snapshot.rooms if len(r.unit_ids) > 1 and r.online_bookable)
        room = next(  # as tests/reservations/test_concurrency.py books
            r
            for r in snapshot.rooms
            if r.id != combined.id and set(r.unit_ids) < set(combined.unit_ids)
        )
        day = open_weekday(snapshot, room.facility_id, date(2027, 2, 8))
    app = create_app(committed, clock=clock, sessionmaker=sessionmaker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logins"
    ) as client:
        yield Site(
            client,
            engine,
            committed,
            activated.card_number or "",
            {"Cookie": f"booking_session={opened.cookie_value}", "X-CSRF-Token": opened.csrf_token},
            {
                "group_id": group.id,
                "room_id": room.id,
                "use_date": day.isoformat(),
                "period_codes": ["20"],
                "purpose": "meeting",
                "headcount": 3,
            },
        )
    await engine.dispose()


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every password verification a login makes, with its outcome."""
    outcomes: list[bool] = []
    real = passwords.verify_password

    async def counting(settings: Settings, stored: str | None, password: str) -> bool:
        ok = await real(settings, stored, password)
        outcomes.append(ok)
        return ok

    monkeypatch.setattr(login, "verify_password", counting)
    return outcomes


async def _attempt(
    client: httpx.AsyncClient, name: str, password: str, address: str = "127.0.0.1"
) -> int:
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": name, "password": password},
        headers={"X-Forwarded-For": address},
    )
    assert response.status_code in {200, 401, 429}, response.text
    return response.status_code


async def test_a_burst_at_one_account_verifies_at_most_its_limit(
    site: Site, verified: list[bool]
) -> None:
    """30 guesses at once, by e-mail and by card alike, from 30 addresses."""
    names = ["rep@example.jp", site.card]
    statuses = Counter(
        await asyncio.gather(
            *(_attempt(site.client, names[i % 2], "a guess", f"192.0.2.{i}") for i in range(30))
        )
    )
    assert len(verified) <= site.settings.login_account_failures
    assert statuses[401] == len(verified)
    assert statuses[429] == 30 - len(verified)
    # The lock holds afterwards for the right password too, by either name.
    assert await _attempt(site.client, "rep@example.jp", PASSWORD) == 429
    assert await _attempt(site.client, site.card, PASSWORD) == 429


async def test_a_burst_from_one_address_verifies_at_most_its_limit(
    site: Site, verified: list[bool]
) -> None:
    """60 guesses at once at 60 different logins, all from one address."""
    statuses = Counter(
        await asyncio.gather(
            *(
                _attempt(site.client, f"x{i}@example.jp", "a guess", "198.51.100.9")
                for i in range(60)
            )
        )
    )
    assert len(verified) <= site.settings.login_address_failures
    assert statuses[429] >= 60 - site.settings.login_address_failures
    assert await _attempt(site.client, "staff0@city.example", PASSWORD, "198.51.100.9") == 429
    assert await _attempt(site.client, "staff0@city.example", PASSWORD, "198.51.100.10") == 200


async def test_successes_give_their_slot_back(site: Site) -> None:
    """A busy office behind one address: more good logins at once than the address limit."""
    n = site.settings.login_address_failures + 5
    statuses = await asyncio.gather(
        *(
            _attempt(site.client, f"staff{i % STAFF}@city.example", PASSWORD, "203.0.113.5")
            for i in range(n)
        )
    )
    assert statuses.count(200) >= site.settings.login_address_failures
    for i in range(3):  # after the burst, good logins keep working
        assert await _attempt(site.client, f"staff{i}@city.example", PASSWORD, "203.0.113.5") == 200


@pytest.fixture
def hashing_probe(site: Site, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What is held while each password hash runs: pooled connections, and on SQLite whether
    another connection could take the write lock at that moment. Empty when nothing is."""
    held: list[str] = []
    database = site.engine.url.database

    def probe(what: str) -> None:
        checked_out = site.engine.pool.checkedout()  # type: ignore[attr-defined]
        if checked_out:
            held.append(f"{what}: {checked_out} connection(s) checked out")
        if site.engine.dialect.name == "sqlite" and database:
            other = sqlite3.connect(database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                held.append(f"{what}: {exc}")
            finally:
                other.close()

    real_verify, real_hash = passwords.verify_password, passwords.hash_password

    async def verify(settings: Settings, stored: str | None, password: str) -> bool:
        probe("verify")
        return await real_verify(settings, stored, password)

    async def hash_(settings: Settings, password: str) -> str:
        probe("hash")
        return await real_hash(settings, password)

    monkeypatch.setattr(login, "verify_password", verify)
    for module in (login, registrations):
        monkeypatch.setattr(module, "hash_password", hash_)
    return held


async def test_no_lock_or_connection_is_held_while_a_password_is_hashed(
    site: Site, hashing_probe: list[str]
) -> None:
    client = site.client
    assert await _attempt(client, "rep@example.jp", "wrong") == 401
    assert await _attempt(client, "nobody@example.jp", "wrong") == 401
    logged_in = await client.post(
        "/api/v1/auth/login", json={"login": "staff1@city.example", "password": PASSWORD}
    )
    assert logged_in.status_code == 200
    headers = {
        "Cookie": logged_in.headers["set-cookie"].split(";")[0],
        "X-CSRF-Token": logged_in.json()["csrf_token"],
    }
    # A wrong current password (refused after its hash), then the right one (two hashes).
    for current, status in (("wrong", 400), (PASSWORD, 204)):
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": current, "new_password": "another long passphrase"},
            headers=headers,
        )
        assert changed.status_code == status, changed.text
    assert len(hashing_probe) == 0, hashing_probe


async def test_no_lock_or_connection_is_held_while_a_registration_request_hashes(
    site: Site, hashing_probe: list[str]
) -> None:
    """Online registration hashes its password when it is asked for, by the API or the page."""
    body = msgspec.to_builtins(registration("新しい会", "new@example.jp", password=PASSWORD))
    asked = await site.client.post("/api/v1/groups", json=body)
    assert asked.status_code == 202, asked.text
    form = {
        "kind": "individual",
        "category": "general",
        "name": "一人の会",
        "rows": "0",
        "rep_name": "一人",
        "rep_birth_date": "1980-01-01",
        "rep_residency": "lives",
        "rep_email": "alone@example.jp",
        "rep_password": PASSWORD,
        "csrf_token": "t",
    }
    page = await site.client.post(
        "/register", data=form, headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"}
    )
    assert page.status_code == 303, page.text
    assert len(hashing_probe) == 0, hashing_probe


async def test_a_login_flood_does_not_stall_another_members_booking(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each verification made slow (200 ms, Argon2id on a busy server): before, every login
    held SQLite's write lock through it and the booking queued behind them all (40 x 200 ms,
    past the busy timeout: "database is locked", a 500). Now it waits for none of them."""
    real_verify = passwords.verify_password

    async def slow_verify(settings: Settings, stored: str | None, password: str) -> bool:
        await asyncio.sleep(0.2)
        return await real_verify(settings, stored, password)

    monkeypatch.setattr(login, "verify_password", slow_verify)
    # The network snapshot is read once per process: not what is measured here.
    warm = await site.client.get(f"/api/v1/rooms/{site.booking['room_id']}")
    assert warm.status_code == 200

    async def flood(i: int) -> int:
        right = i % 3 == 0
        return await _attempt(
            site.client,
            f"staff{i % STAFF}@city.example",
            PASSWORD if right else "wrong",
            f"192.0.2.{i}",
        )

    async def book() -> tuple[int, float]:
        await asyncio.sleep(0.05)  # in the middle of the flood
        started = time.perf_counter()
        response = await site.client.post(
            "/api/v1/bookings", json=site.booking, headers=site.member
        )
        assert response.status_code == 201, response.text
        return response.status_code, time.perf_counter() - started

    results = await asyncio.gather(book(), *(flood(i) for i in range(40)))
    (_, took), statuses = results[0], results[1:]
    assert 500 not in statuses
    assert took < 3.0, f"the booking waited {took:.2f} s behind the logins"


@pytest.fixture
async def stale_token(site: Site) -> tuple[dict[str, str], int]:
    created = await site.client.post("/api/v1/tokens", json={"name": "script"}, headers=site.member)
    assert created.status_code == 201, created.text
    token_id = created.json()["id"]
    async with create_sessionmaker(site.engine).begin() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=DEFAULT_NOW - timedelta(hours=1))
        )
    return {"Authorization": f"Bearer {created.json()['token']}"}, token_id


async def test_a_stale_token_is_served_while_another_writer_holds_the_lock(
    site: Site, stale_token: tuple[dict[str, str], int]
) -> None:
    """Its last use is written after the answer, in a transaction of its own; the request
    never waits for the lock, never fails for it, and the connection stays usable."""
    bearer, token_id = stale_token
    await _get_while_locked(site, "api_tokens", token_id, "/api/v1/me", bearer)
    async with create_sessionmaker(site.engine)() as session:
        used = await session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
    assert used == DEFAULT_NOW
    for _ in range(10):  # every pooled connection still works
        assert (await site.client.get("/api/v1/me", headers=bearer)).status_code == 200
        assert (await site.client.get("/api/v1/me", headers=site.member)).status_code == 200


async def test_a_feed_is_served_while_another_writer_holds_the_lock(site: Site) -> None:
    """A sibling of the token's touch: a feed fetch keeps its validators (ETag, Last-Modified)
    on the feed's row, written after the answer in a transaction of its own, never inside the
    fetch's read (where it failed at once under a concurrent writer on SQLite)."""
    me = await site.client.get("/api/v1/me", headers=site.member)
    group_id = me.json()["memberships"][0]["group_id"]
    made = await site.client.post(
        "/api/v1/feeds", json={"kind": "group", "target_id": group_id}, headers=site.member
    )
    assert made.status_code == 201, made.text
    path = urlsplit(made.json()["url"]).path
    feed = await _get_while_locked(site, "calendar_feeds", made.json()["id"], path, {})
    async with create_sessionmaker(site.engine)() as session:
        stored = await session.scalar(
            select(CalendarFeed.etag).where(CalendarFeed.id == made.json()["id"])
        )
    assert feed.headers["etag"] == f'"{stored}"'
    again = await site.client.get(path, headers={"If-None-Match": feed.headers["etag"]})
    assert again.status_code == 304


async def _get_while_locked(
    site: Site, table: str, row_id: int, path: str, headers: dict[str, str]
) -> httpx.Response:
    """GET while another connection holds what a write after the answer needs (`_hold_lock`),
    let go only once the answer has started: it must answer 200 without waiting for it."""
    release = await _hold_lock(site, table, row_id)
    app = site.client._transport.app  # type: ignore[attr-defined]
    answered_while_locked: list[bool] = []

    async def releasing(scope: Any, receive: Any, send: Any) -> None:
        async def on_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                answered_while_locked.append(True)
                await release()
            await send(message)

        await app(scope, receive, on_send)

    transport = httpx.ASGITransport(app=releasing)
    async with httpx.AsyncClient(transport=transport, base_url="http://locked") as client:
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert answered_while_locked
        assert time.perf_counter() - started < 4  # not a busy timeout's wait
    return response


async def _hold_lock(site: Site, table: str, row_id: int) -> Any:
    """Another connection holds what a write after the answer needs: SQLite's write lock, or
    on PostgreSQL the row. Returns the coroutine function that lets go."""
    if site.engine.dialect.name == "sqlite":
        database = site.engine.url.database
        assert database
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE login_throttles SET failures = failures")

        async def release_sqlite() -> None:
            other.execute("COMMIT")
            other.close()

        return release_sqlite
    connection = await site.engine.connect()
    transaction = await connection.begin()
    await connection.execute(
        text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"),  # noqa: S608 - our names
        {"id": row_id},
    )

    async def release_postgres() -> None:
        await transaction.commit()
        await connection.close()

    return release_postgres


async def test_a_burst_of_reset_requests_from_one_address_gets_the_limit(site: Site) -> None:
    """Checked and counted in one statement: 30 at once from one address, 10 answered."""

    async def ask(i: int) -> int:
        response = await site.client.post(
            "/api/v1/auth/password-reset",
            json={"login": f"x{i}@example.jp"},
            headers={"X-Forwarded-For": "198.51.100.77"},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(ask(i) for i in range(30))))
    limit = login.RESET_REQUESTS_PER_ADDRESS
    assert statuses == {202: limit, 429: 30 - limit}


async def test_a_burst_of_registrations_from_one_address_hashes_at_most_the_limit(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted before the hash: 20 at once from one address cost 10 Argon2id hashes, not 20
    (the count was taken after the hash, so every one of a burst hashed)."""
    hashed: list[str] = []
    real = registrations.hash_password

    async def counting(settings: Any, password: str) -> str:
        hashed.append(password)
        return await real(settings, password)

    monkeypatch.setattr(registrations, "hash_password", counting)

    async def ask(i: int) -> int:
        body = msgspec.to_builtins(registration("会", f"burst{i}@example.jp", password=PASSWORD))
        response = await site.client.post(
            "/api/v1/groups", json=body, headers={"X-Forwarded-For": "198.51.100.78"}
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(ask(i) for i in range(20))))
    limit = registrations.REGISTRATIONS_PER_ADDRESS
    assert statuses == {202: limit, 429: 20 - limit}
    assert len(hashed) == limit


async def test_a_burst_of_reset_requests_for_one_account_mails_it_at_most_the_limit(
    site: Site,
) -> None:
    """From many addresses at once: the account's own hourly limit holds (no mail flood)."""

    async def ask(i: int) -> int:
        response = await site.client.post(
            "/api/v1/auth/password-reset",
            json={"login": "rep@example.jp" if i % 2 else site.card},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
        return response.status_code

    assert set(await asyncio.gather(*(ask(i) for i in range(12)))) == {202}
    async with create_sessionmaker(site.engine)() as session:
        mails = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "password_reset")
        )
    assert mails == login.RESET_REQUESTS_PER_HOUR
