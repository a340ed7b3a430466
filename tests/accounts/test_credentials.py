"""Credentials that must not outlive a compromise, one count per account, and a reset whose
answer does the same work for every login (issue 14: 2, 5, 6). Both databases."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.accounts import groups
from booking.accounts.models import ApiToken, LoginThrottle, PasswordToken, WebSession
from booking.accounts.sessions import purge_expired
from booking.app import create_app
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.notifications.models import OutboxMessage
from booking.pages.web import ANON_CSRF_COOKIE
from tests.accounts.registering import confirm_link, token_of
from tests.accounts.test_api import LOGIN, login
from tests.calendars.test_feeds import make_feed, path_of
from tests.conftest import Database
from tests.people import PASSWORD, World, registration

NEW_PASSWORD = "a brand new passphrase"


async def _token(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    created = await client.post("/api/v1/tokens", json={"name": "script"}, headers=headers)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def _revocations(session: AsyncSession, reason: str) -> int:
    events = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoked"))
    ).all()
    return sum(1 for e in events if (e.after or {}).get("reason") == reason)


async def test_a_password_change_ends_every_token_and_every_other_session(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    here = await login(client, "rep-a@example.jp")
    elsewhere = await login(client, "rep-a@example.jp")
    bearer = await _token(client, here)
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/me", headers=here)).status_code == 200
    assert (await client.get("/api/v1/me", headers=elsewhere)).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert await _revocations(session, "password_changed") == 1


async def test_a_password_change_spends_unused_reset_links(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    asked = await client.post("/api/v1/auth/password-reset", json={"login": "rep-a@example.jp"})
    assert asked.status_code == 202
    here = await login(client, "rep-a@example.jp")
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert changed.status_code == 204
    unused = await session.scalar(
        select(func.count())
        .select_from(PasswordToken)
        .where(PasswordToken.user_id == world.user_ids["representative"])
        .where(PasswordToken.used_at.is_(None))
    )
    assert unused == 0


async def test_a_reset_ends_every_token(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    bearer = await _token(client, world.headers("representative"))
    asked = await client.post("/api/v1/auth/password-reset", json={"login": "rep-a@example.jp"})
    assert asked.status_code == 202
    mail = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "password_reset")
            .order_by(OutboxMessage.id.desc())
        )
    ).first()
    assert mail is not None
    found = re.search(r"token=([\w.\-]+)", mail.body_text)
    assert found
    confirmed = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": found[1], "new_password": NEW_PASSWORD},
    )
    assert confirmed.status_code == 204, confirmed.text
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (
        await client.get("/api/v1/me", headers=world.headers("representative"))
    ).status_code == 401
    assert await _revocations(session, "password_reset") == 1
    await login(client, "rep-a@example.jp", NEW_PASSWORD)


async def test_reinstating_a_person_revives_none_of_their_tokens(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    bearer = await _token(client, world.headers("member"))
    user_id = world.user_ids["member"]
    admin = world.headers("admin")
    assert (await client.post(f"/api/v1/users/{user_id}/suspend", headers=admin)).status_code == 200
    assert (
        await client.post(f"/api/v1/users/{user_id}/reinstate", headers=admin)
    ).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    live = await session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    )
    assert live == 0
    assert await _revocations(session, "user_suspended") == 1
    await login(client, "member-a@example.jp")  # the person is back; new credentials work


async def test_the_e_mail_and_the_card_of_one_account_share_one_count(
    world: World, client: httpx.AsyncClient
) -> None:
    limit = world.settings.login_account_failures
    for i in range(limit):
        name = world.card_a if i % 2 else "rep-a@example.jp"
        wrong = await client.post(LOGIN, json={"login": name, "password": "not it"})
        assert wrong.status_code == 401
    for name in (world.card_a, "REP-A@example.jp"):
        locked = await client.post(LOGIN, json={"login": name, "password": PASSWORD})
        assert locked.status_code == 429, name


async def test_the_current_password_is_counted_like_a_login(
    world: World, client: httpx.AsyncClient
) -> None:
    """A stolen session cannot try current passwords without limit."""
    headers = world.headers("representative")
    body = {"current_password": "guess", "new_password": NEW_PASSWORD}
    for _ in range(world.settings.login_account_failures):
        wrong = await client.post("/api/v1/auth/password", json=body, headers=headers)
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "wrong_password"
    locked = await client.post(
        "/api/v1/auth/password", json={**body, "current_password": PASSWORD}, headers=headers
    )
    assert locked.status_code == 429
    refused = await client.post(LOGIN, json={"login": world.card_a, "password": PASSWORD})
    assert refused.status_code == 429  # the same account's count


def _normalised(statement: str) -> str:
    statement = re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement)  # numbered per test
    return re.sub(r"\s+", " ", statement).strip()


async def test_a_reset_is_answered_after_the_same_statements_known_or_not(
    world: World, database: Database, connection: AsyncConnection, sessionmaker: Any
) -> None:
    """The answer must not take longer for a registered login: every statement before the
    response starts is the same; the link is written after it."""
    statements: list[str] = []
    answered: list[list[str]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(_normalised(statement))

    app = create_app(database.settings, sessionmaker=sessionmaker)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def on_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                answered.append(list(statements))
            await send(message)

        await app(scope, receive, on_send)

    event.listen(connection.sync_connection, "before_cursor_execute", seen)
    try:
        transport = httpx.ASGITransport(app=recording)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for name in ("rep-a@example.jp", "nobody@example.jp", world.card_a, "7654321"):
                statements.clear()
                response = await client.post("/api/v1/auth/password-reset", json={"login": name})
                assert response.status_code == 202
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", seen)
    assert answered[0] == answered[1] == answered[2] == answered[3]
    async with sessionmaker() as session:
        mails = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "password_reset")
        )
    assert mails == 2  # after the answers: one per registered login


async def test_a_refused_page_login_charges_no_count(
    world: World, client: httpx.AsyncClient
) -> None:
    """The login page catches the 429 to show it in its form, and its transaction commits:
    the account's slot taken before the address was refused must not be kept."""
    for i in range(world.settings.login_address_failures):
        await client.post(LOGIN, json={"login": f"ghost{i}@example.jp", "password": "nope"})
    for _ in range(world.settings.login_account_failures + 1):
        client.cookies.clear()
        refused = await client.post(
            "/login",
            data={"login": world.card_a, "password": PASSWORD, "csrf_token": "t"},
            headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
        )
        assert refused.status_code == 429
    client.cookies.clear()
    elsewhere = await client.post(
        LOGIN,
        json={"login": world.card_a, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    assert elsewhere.status_code == 200, elsewhere.text


async def test_a_confirmed_registration_hashes_no_password_again(
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hash made when the registration was asked for is the login's: confirming (inside
    the transaction that holds SQLite's write lock) runs no second Argon2id."""
    body = msgspec.to_builtins(registration("新しい会", "new@example.jp", password=NEW_PASSWORD))
    asked = await client.post("/api/v1/groups", json=body)
    assert asked.status_code == 202, asked.text
    hashed: list[str] = []
    real = groups.hash_password

    async def counting(settings: Any, password: str) -> str:
        hashed.append(password)
        return await real(settings, password)

    monkeypatch.setattr(groups, "hash_password", counting)
    link = await confirm_link(session, "new@example.jp")
    confirmed = await client.post(
        "/api/v1/groups/confirm", json={"token": token_of(link), "password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert hashed == []
    await login(client, "new@example.jp", NEW_PASSWORD)


async def test_calendar_feeds_end_with_a_password_change_and_a_suspension(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A feed URL made with a stolen session must not go on showing bookings; reinstating
    the person revives none."""
    here = await login(client, "rep-a@example.jp")
    feed = await make_feed(client, here, kind="group", target_id=world.group_a, name="会")
    assert (await client.get(path_of(feed))).status_code == 200
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert changed.status_code == 204
    assert (await client.get(path_of(feed))).status_code == 404

    member = world.headers("member")
    other = await make_feed(client, member, kind="group", target_id=world.group_a, name="会")
    user_id = world.user_ids["member"]
    admin = world.headers("admin")
    assert (await client.post(f"/api/v1/users/{user_id}/suspend", headers=admin)).status_code == 200
    assert (
        await client.post(f"/api/v1/users/{user_id}/reinstate", headers=admin)
    ).status_code == 200
    assert (await client.get(path_of(other))).status_code == 404
    revoked = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "feed.revoked"))
    ).all()
    assert sorted((e.after or {}).get("reason") for e in revoked) == [
        "password_changed",
        "user_suspended",
    ]


async def test_a_sessions_last_use_is_written_after_the_answer(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """The idle timeout still sees use: the touch runs after the answer (auth.touch_credentials),
    at most once a minute, never moving back."""
    opened = world.sessions["member"]
    clock.advance(timedelta(minutes=5))
    assert (await client.get("/api/v1/me", headers=world.headers("member"))).status_code == 200
    seen = await session.scalar(
        select(WebSession.last_seen_at).where(WebSession.id == opened.session_id)
    )
    assert seen == clock.now()
    clock.advance(timedelta(hours=1, minutes=59))  # idle less than two hours since that use
    assert (await client.get("/api/v1/me", headers=world.headers("member"))).status_code == 200


async def test_the_worker_purges_throttle_counts_that_count_nothing(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """Anyone can add a row by trying a new name: rows whose window is over and whose lock
    (if any) has ended go with the hourly purge; a lock that holds stays."""
    assert (
        await client.post(LOGIN, json={"login": "ghost@example.jp", "password": "x"})
    ).status_code == 401
    clock.advance(timedelta(minutes=61))
    for _ in range(world.settings.login_account_failures):
        await client.post(LOGIN, json={"login": "locked@example.jp", "password": "x"})
    await purge_expired(session, clock, world.settings)
    keys = set((await session.scalars(select(LoginThrottle.key))).all())
    assert keys == {"login:locked@example.jp", "address:127.0.0.1"}
    locked = await client.post(LOGIN, json={"login": "locked@example.jp", "password": "x"})
    assert locked.status_code == 429
