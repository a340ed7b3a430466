"""The outbox delivered by the worker to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from email.policy import default as default_policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock, SystemClock
from booking.db import migrate
from booking.db.engine import create_engine, create_sessionmaker
from booking.notifications.delivery import LocalDelivery, backoff, deliver_due, requeue
from booking.notifications.models import OutboxMessage, OutboxStatus
from booking.notifications.outbox import enqueue, render
from booking.settings import Settings
from tests.conftest import FAST_HASHING, Database, in_thread
from tests.people import World


@dataclass
class Mailbox:
    """An SMTP server's handler: keeps what it accepts, refuses some recipients."""

    received: list[Message] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def smtp_settings(database: Database, port: int, **changes: Any) -> Settings:
    return database.settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_port": port,
            "mail_from": "noreply@booking.example",
            **changes,
        }
    )


def body_of(message: Message) -> str:
    part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


def test_templates_render_japanese_then_english() -> None:
    subject, body = render(
        "password_reset", {"url": "https://x/p?token=a.b", "expires_minutes": 60}
    )
    assert subject == "パスワード再設定のご案内 / Resetting your password"
    assert body.index("パスワードの再設定") < body.index("We received a request")
    assert body.count("https://x/p?token=a.b") == 2


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("password_reset", {"url": "U", "expires_minutes": 60}),
        ("invitation", {"url": "U", "expires_days": 7}),
        ("registration_confirm", {"url": "U", "expires_hours": 24}),
        ("registration_attempt", {"url": "U"}),
    ],
)
def test_mails_to_unproven_addresses_carry_only_our_text(
    template: str, context: dict[str, object]
) -> None:
    """Their templates take no name, group or other text typed by a person (a strict
    template would fail on a missing one; an extra one must not be asked for)."""
    _subject, body = render(template, context)
    assert "U" in body
    assert "様" not in body
    assert "Dear" not in body


async def test_console_and_files_backends_show_the_link(
    database: Database,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a mail server (the quick start) a mail is printed or filed, readable."""
    # The default is SMTP (a site that forgot the setting must not log its password links as
    # sent); the quick start's command asks for the console.
    assert Settings().mail_backend == "smtp"
    link = "http://127.0.0.1:8000/password/set?token=abc.def"
    first = await enqueue(
        session,
        clock,
        to="a@example.jp",
        template="password_reset",
        context={"url": link, "expires_minutes": 60},
    )
    await session.commit()
    console = database.settings.model_copy(update={"mail_backend": "console"})
    assert (await deliver_due(sessionmaker, clock, console)).sent == 1
    printed = capsys.readouterr().out
    assert "To: a@example.jp" in printed
    assert link in printed
    assert "パスワードの再設定" in printed  # decoded, not base64
    second = await enqueue(
        session,
        clock,
        to="b@example.jp",
        template="password_reset",
        context={"url": link, "expires_minutes": 60},
    )
    await session.commit()
    files = database.settings.model_copy(
        update={"mail_backend": "files", "mail_dir": tmp_path / "mail"}
    )
    assert (await deliver_due(sessionmaker, clock, files)).sent == 1
    (written,) = (tmp_path / "mail").iterdir()
    assert written.name == f"outbox-{second.id:08d}.eml"
    text = written.read_text(encoding="utf-8")
    assert link in text
    assert "パスワードの再設定" in text
    parsed = email.message_from_string(text, policy=default_policy)
    assert parsed["To"] == "b@example.jp"
    assert first.id != second.id


async def test_a_mail_is_delivered_once_with_a_stable_message_id(
    database: Database,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    settings = smtp_settings(database, port)
    message = await enqueue(
        session,
        clock,
        to="secretary@example.jp",
        template="registration_received",
        context={"name": "中原ダンス愛好会", "url": "https://booking.example"},
    )
    await session.commit()
    report = await deliver_due(sessionmaker, clock, settings)
    assert report.sent == 1
    assert len(box.received) == 1
    mail = box.received[0]
    assert mail["To"] == "secretary@example.jp"
    assert mail["Subject"] == message.subject
    assert mail["Message-ID"] == f"<outbox-{message.id}@booking.example>"
    assert "中原ダンス愛好会 様" in body_of(mail)
    again = await deliver_due(sessionmaker, clock, settings)
    assert again.handled == 0
    assert len(box.received) == 1
    await session.refresh(message)
    assert message.status is OutboxStatus.SENT


async def test_serve_alone_prints_the_mail_of_the_quick_start(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's first command, `booking serve` on SQLite with no mail server and no
    worker, delivers printed mail itself (cli.serve starts LocalDelivery): a newcomer sees the
    link a registration mails."""
    # BOOKING_MAIL_BACKEND=console, as the README's command sets it
    settings = Settings(
        database_url=None, data_dir=tmp_path, mail_backend="console", **FAST_HASHING
    )
    in_thread(lambda: migrate.upgrade(settings))
    engine = create_engine(settings)
    clock = SystemClock()
    try:
        async with create_sessionmaker(engine).begin() as session:
            await enqueue(
                session,
                clock,
                to="newcomer@example.jp",
                template="registration_confirm",
                context={
                    "url": "http://127.0.0.1:8000/register/confirm?token=a.b",
                    "expires_hours": 24,
                },
            )
        delivery = LocalDelivery(settings, clock)
        await delivery.start()
        printed = ""
        for _ in range(100):
            printed += capsys.readouterr().out
            if "/register/confirm?token=a.b" in printed:
                break
            await asyncio.sleep(0.05)
        await delivery.close()
    finally:
        await engine.dispose()
    assert "To: newcomer@example.jp" in printed
    assert "/register/confirm?token=a.b" in printed


async def test_transient_failures_retry_with_backoff_then_go_dead(
    database: Database,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    box.refuse["busy@example.jp"] = "451 4.3.0 try again later"
    settings = smtp_settings(database, port, outbox_max_attempts=3)
    message = await enqueue(
        session,
        clock,
        to="busy@example.jp",
        template="registration_received",
        context={"name": "n", "url": "u"},
    )
    await session.commit()
    assert (await deliver_due(sessionmaker, clock, settings)).retried == 1
    # Not due again until the backoff has passed.
    clock.advance(backoff(1) - timedelta(seconds=1))
    assert (await deliver_due(sessionmaker, clock, settings)).handled == 0
    clock.advance(timedelta(seconds=1))
    assert (await deliver_due(sessionmaker, clock, settings)).retried == 1
    clock.advance(backoff(2))
    assert (await deliver_due(sessionmaker, clock, settings)).dead == 1
    await session.refresh(message)
    assert message.status is OutboxStatus.DEAD
    assert message.attempts == 3
    assert "451" in (message.last_error or "")
    # An operator requeues it once the cause is fixed.
    del box.refuse["busy@example.jp"]
    assert await requeue(session, clock, None) == 1
    await session.commit()
    assert (await deliver_due(sessionmaker, clock, settings)).sent == 1


async def test_a_refused_recipient_goes_dead_at_once(
    database: Database,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    box.refuse["gone@example.jp"] = "550 5.1.1 no such user"
    settings = smtp_settings(database, port)
    await enqueue(
        session,
        clock,
        to="gone@example.jp",
        template="registration_received",
        context={"name": "n", "url": "u"},
    )
    await session.commit()
    assert (await deliver_due(sessionmaker, clock, settings)).dead == 1


async def test_no_server_means_retry_later(
    database: Database,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    settings = smtp_settings(database, free_port(), smtp_timeout_seconds=2)
    message = await enqueue(
        session,
        clock,
        to="a@example.jp",
        template="registration_received",
        context={"name": "n", "url": "u"},
    )
    await session.commit()
    assert (await deliver_due(sessionmaker, clock, settings)).retried == 1
    await session.refresh(message)
    assert message.status is OutboxStatus.PENDING
    assert message.next_attempt_at == clock.now() + backoff(1)


async def test_password_reset_by_mail_end_to_end(
    world: World,
    database: Database,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    settings = smtp_settings(database, port)
    await deliver_due(sessionmaker, clock, settings)  # the world's own mails
    box.received.clear()

    asked = await client.post("/api/v1/auth/password-reset", json={"login": world.card_a})
    unknown = await client.post("/api/v1/auth/password-reset", json={"login": "no@example.jp"})
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()  # nobody learns who is registered
    assert (await deliver_due(sessionmaker, clock, settings)).sent == 1
    (mail,) = box.received
    assert mail["To"] == "rep-a@example.jp"
    link = next(line for line in body_of(mail).splitlines() if "token=" in line)
    token = link.split("token=", 1)[1].strip()

    new = {"token": token, "new_password": "a brand new passphrase"}
    assert (await client.post("/api/v1/auth/password-reset/confirm", json=new)).status_code == 204
    # Single use: the same link again is refused and changes nothing.
    again = await client.post(
        "/api/v1/auth/password-reset/confirm", json={**new, "new_password": "yet another one!"}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "token"
    # The reset ended every session, and the new password works.
    assert (
        await client.get("/api/v1/me", headers=world.headers("representative"))
    ).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"login": world.card_a, "password": "a brand new passphrase"}
    )
    assert login.status_code == 200


async def test_a_reset_link_expires(
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    await client.post("/api/v1/auth/password-reset", json={"login": "rep-b@example.jp"})
    outbox = (
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == "rep-b@example.jp",
                OutboxMessage.template == "password_reset",
            )
        )
    ).one()
    token = outbox.body_text.split("token=", 1)[1].split()[0]
    clock.advance(timedelta(minutes=61))
    response = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "too late for this"},
    )
    assert response.status_code == 400
