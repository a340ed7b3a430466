"""Every link an account mail sends leads to a page that does what the mail says (issue 14,
item 21): the mail is read out of a real SMTP server on loopback, its link followed over HTTP,
the action completed in the page's form, on both databases."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.accounts.registrations import REGISTRATIONS_PER_ADDRESS
from booking.clock import FrozenClock
from booking.notifications.delivery import deliver_due
from booking.notifications.models import OutboxMessage
from tests.conftest import Database
from tests.notifications.test_worker import (  # noqa: F401 - the fixture, used by name
    Mailbox,
    body_of,
    mailbox,
    smtp_settings,
)
from tests.pages.browsing import alerts, cookies, field_error, input_value, token
from tests.people import PASSWORD, World

ANON = "anonymous"


def link_of(body: str) -> str:
    """The path and query of the one page of ours the mail links to."""
    (link,) = {word for word in body.split() if word.startswith("http")}
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def post_form(
    client: httpx.AsyncClient, world: World, path: str, data: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        path, data={**data, CSRF_FORM_FIELD: token(world, ANON)}, headers=cookies(world, ANON)
    )


async def read_mail(
    box: Mailbox,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Any,
    to: str,
) -> str:
    """Deliver what is due to the loopback server; the body of the one mail it got for `to`."""
    box.received.clear()
    await deliver_due(sessionmaker, clock, settings)
    mails = [m for m in box.received if m["To"] == to]
    assert len(mails) == 1, [m["To"] for m in box.received]
    return body_of(mails[0])


async def log_in(client: httpx.AsyncClient, world: World, login: str, password: str) -> int:
    response = await post_form(client, world, "/login", {"login": login, "password": password})
    return response.status_code


@pytest.fixture
async def smtp(
    world: World,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: tuple[Mailbox, int],  # noqa: F811 - the fixture imported above
) -> tuple[Mailbox, Any]:
    box, port = mailbox
    settings = smtp_settings(database, port)
    await deliver_due(sessionmaker, clock, settings)  # the world's own mails
    return box, settings


async def test_forgotten_password_from_the_login_to_a_new_password(
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp: tuple[Mailbox, Any],
) -> None:
    box, settings = smtp
    login_page = await client.get("/login")
    assert 'href="/password/forgot"' in login_page.text
    form = await client.get("/password/forgot")
    assert form.status_code == 200
    asked = await post_form(client, world, "/password/forgot", {"login": world.card_a})
    assert asked.status_code == 303
    assert asked.headers["location"] == "/password/forgot?sent=1"
    assert (await client.get(asked.headers["location"])).status_code == 200
    unknown = await post_form(client, world, "/password/forgot", {"login": "who@example.jp"})
    assert unknown.headers["location"] == asked.headers["location"]  # the same answer

    link = link_of(await read_mail(box, sessionmaker, clock, settings, "rep-a@example.jp"))
    assert link.startswith("/password/set?token=")
    page = await client.get(link)
    assert page.status_code == 200, page.text
    sent_token = input_value(page.text, "token")
    assert sent_token
    # Two different passwords: the form comes back, the link still works.
    typo = await post_form(
        client,
        world,
        "/password/set",
        {"token": sent_token, "new_password": "a new passphrase", "new_password_again": "a new"},
    )
    assert typo.status_code == 422
    assert field_error(typo.text, "new_password_again")
    assert input_value(typo.text, "new_password") == ""
    done = await post_form(
        client,
        world,
        "/password/set",
        {
            "token": sent_token,
            "new_password": "a new passphrase",
            "new_password_again": "a new passphrase",
        },
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/login?done=password_set"
    notice = await client.get(done.headers["location"])
    assert 'role="status"' in notice.text
    assert await log_in(client, world, world.card_a, PASSWORD) == 401
    assert await log_in(client, world, world.card_a, "a new passphrase") == 303
    # Used: the link now leads to a way to ask for another, not to a form.
    used = await client.get(link)
    assert used.status_code == 400
    assert 'href="/password/forgot"' in used.text
    assert input_value(used.text, "new_password") is None


async def test_an_invitation_leads_to_choosing_a_password(
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp: tuple[Mailbox, Any],
) -> None:
    box, settings = smtp
    made = await client.post(
        "/api/v1/managers",
        json={"email": "new-manager@city.example", "name": "新任", "facility_ids": [world.here]},
        headers=world.headers("admin"),
    )
    assert made.status_code == 201, made.text
    link = link_of(await read_mail(box, sessionmaker, clock, settings, "new-manager@city.example"))
    page = await client.get(link)
    assert page.status_code == 200
    assert "パスワードを決めてください" in page.text  # an invitation, not a reset
    done = await post_form(
        client,
        world,
        "/password/set",
        {
            "token": input_value(page.text, "token"),
            "new_password": "my first password",
            "new_password_again": "my first password",
        },
    )
    assert done.status_code == 303, done.text
    assert await log_in(client, world, "new-manager@city.example", "my first password") == 303


def _registration(email: str) -> dict[str, str]:
    form = {
        "rows": "4",
        "kind": "group",
        "category": "general",
        "name": "中原ハイキングの会",
        "rep_name": "山田 花子",
        "rep_birth_date": "1975-04-01",
        "rep_residency": "lives",
        "rep_email": email,
        "rep_password": "secret-but-typed-here",
    }
    for i in range(4):
        form |= {
            f"m{i}_name": f"会員{i}号",
            f"m{i}_birth_date": f"199{i}-01-0{i + 1}",
            f"m{i}_residency": "works",
        }
    return form


async def test_an_online_registration_is_finished_from_its_mail(
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp: tuple[Mailbox, Any],
) -> None:
    box, settings = smtp
    sent = await post_form(client, world, "/register", _registration("hanako@example.jp"))
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == "/login?done=mailed"
    shown = await client.get(sent.headers["location"])
    assert "24時間以内" in shown.text
    assert await log_in(client, world, "hanako@example.jp", "secret-but-typed-here") == 401

    body = await read_mail(box, sessionmaker, clock, settings, "hanako@example.jp")
    assert "中原ハイキングの会" not in body  # the registrant's words never go out unproven
    link = link_of(body)
    assert link.startswith("/register/confirm?token=")
    page = await client.get(link)
    assert page.status_code == 200
    sent_token = input_value(page.text, "token")
    wrong = await post_form(
        client, world, "/register/confirm", {"token": sent_token, "password": "not the one"}
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "password")
    done = await post_form(
        client,
        world,
        "/register/confirm",
        {"token": sent_token, "password": "secret-but-typed-here"},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/login?done=registered"
    assert await log_in(client, world, "hanako@example.jp", "secret-but-typed-here") == 303
    assert (await client.get(link)).status_code == 400  # once only


async def test_a_known_address_registering_gets_the_same_page(
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp: tuple[Mailbox, Any],
) -> None:
    box, settings = smtp
    known = await post_form(client, world, "/register", _registration("rep-a@example.jp"))
    fresh = await post_form(client, world, "/register", _registration("fresh@example.jp"))
    assert known.status_code == fresh.status_code == 303
    assert known.headers["location"] == fresh.headers["location"]
    assert await log_in(client, world, "rep-a@example.jp", PASSWORD) == 303
    box.received.clear()
    await deliver_due(sessionmaker, clock, settings)
    (told,) = [m for m in box.received if m["To"] == "rep-a@example.jp"]
    body = body_of(told)
    assert "中原ハイキングの会" not in body
    # Its links (the login, a new password) are pages that exist.
    for link in sorted({w for w in body.split() if w.startswith("http")}):
        assert (await client.get(urlsplit(link).path)).status_code == 200, link


async def test_registering_too_often_from_one_address_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    for i in range(REGISTRATIONS_PER_ADDRESS):
        sent = await post_form(client, world, "/register", _registration(f"r{i}@example.jp"))
        assert sent.status_code == 303, (i, sent.text)
    refused = await post_form(client, world, "/register", _registration("r-last@example.jp"))
    assert refused.status_code == 429
    assert alerts(refused.text) == ["試行回数が多すぎます。数分待ってからお試しください。"]
    assert input_value(refused.text, "rep_email") == "r-last@example.jp"  # nothing lost


async def test_bad_links_lead_to_a_way_on(world: World, client: httpx.AsyncClient) -> None:
    for path, onward in (
        ("/password/set?token=no.such", "/password/forgot"),
        ("/password/set", "/password/forgot"),
        ("/register/confirm?token=no.such", "/register"),
        ("/register/confirm?token=" + "x" * 500, "/register"),
        # A NUL: PostgreSQL refuses it in text (a 500 when it was looked up)
        ("/password/set?token=%00a.b", "/password/forgot"),
        ("/register/confirm?token=a%00.b", "/register"),
        ("/register/confirm?token=a.%00b", "/register"),
    ):
        page = await client.get(path)
        assert page.status_code == 400, path
        assert f'href="{onward}"' in page.text, path
    refused = await post_form(
        client,
        world,
        "/password/set",
        {
            "token": "no.such",
            "new_password": "long enough one",
            "new_password_again": "long enough one",
        },
    )
    assert refused.status_code == 422
    assert "このリンクは無効か、使用済みか、期限切れです。" in refused.text
    assert 'href="/password/forgot"' in refused.text
    # Every other place a presented secret is looked up: a feed, a cookie, a bearer token.
    assert (await client.get("/ical/%00a.b.ics")).status_code == 404
    cookie = {"Cookie": 'booking_session="a.\\000b"'}  # a quoted cookie's octal escape: NUL
    assert (await client.get("/api/v1/me", headers=cookie)).status_code == 401
    bearer = {"Authorization": "Bearer bkt_a\x00.b"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401


async def test_every_link_of_every_account_mail_is_a_page(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Whatever template a mail of the accounts comes from, each link in it answers."""
    await post_form(client, world, "/register", _registration("links@example.jp"))
    await post_form(client, world, "/register", _registration("rep-b@example.jp"))
    await post_form(client, world, "/password/forgot", {"login": "rep-b@example.jp"})
    mails = (await session.scalars(select(OutboxMessage))).all()
    templates = {m.template for m in mails}
    assert {
        "registration_confirm",
        "registration_attempt",
        "password_reset",
        "invitation",
        "registration_received",
    } <= templates
    for mail in mails:
        for link in {w for w in mail.body_text.split() if re.match(r"https?://", w)}:
            parts = urlsplit(link)
            path = f"{parts.path}?{parts.query}" if parts.query else parts.path
            answer = await client.get(path)
            assert answer.status_code == 200, (mail.template, link, answer.status_code)
