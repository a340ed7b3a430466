"""Mail delivery: send the outbox over SMTP (or print or file it, BOOKING_MAIL_BACKEND), with
retries and a dead-letter state; `booking serve`'s own delivery of printed or filed mail
(LocalDelivery); the counts and requeue behind `booking outbox`. `booking worker` calls
deliver_due as its `deliver_mail` job (booking/jobs/schedule.py says what runs when).

Each pass leases due messages in one short transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several workers share the work; SQLite has one writer anyway), sends them with
no transaction open, then records each outcome. Transient failures (connection, timeouts, 4xx
replies) are retried with exponential backoff; a 5xx reply or the last attempt makes the
message dead, for an operator to look at with `booking outbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import aiosmtplib
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.notifications.models import OutboxMessage, OutboxStatus
from booking.settings import Settings

log = logging.getLogger("booking.mail")
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead


def backoff(attempts: int) -> timedelta:
    """1 minute after the first failure, then 2, 4, 8, ... capped at 6 hours."""
    return min(timedelta(minutes=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def message_id(outbox_id: int, mail_from: str) -> str:
    """Stable per outbox row, so a resend after a crash is recognisably the same mail."""
    domain = mail_from.rpartition("@")[2] or "localhost"
    return f"<outbox-{outbox_id}@{domain}>"


def build_email(message: OutboxMessage, settings: Settings) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id(message.id, settings.mail_from)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    mail.set_content(message.body_text, charset="utf-8")
    return mail


class PermanentFailure(Exception):
    """The server refused for good (a 5xx reply): retrying would not help."""


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return str(part.get_content()) if isinstance(part, EmailMessage) else ""


def _write_file(mail: EmailMessage, directory: Path, name: str) -> Path:
    """The mail as an .eml file with its text unencoded, so `cat` shows the link."""
    readable = copy.deepcopy(mail)
    readable.set_content(_text(mail), charset="utf-8", cte="8bit")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(bytes(readable))
    temporary.replace(path)  # a reader never sees half a mail
    return path


def _show(mail: EmailMessage) -> str:
    """A mail as a person reads it on a terminal: the headers, then the text, decoded."""
    head = "\n".join(f"{key}: {value}" for key, value in mail.items() if key in _SHOWN)
    rule = "-" * 72
    return f"{rule}\n{head}\n\n{_text(mail).rstrip()}\n{rule}"


_SHOWN = frozenset({"From", "To", "Subject", "Date", "Message-ID"})


async def deliver(mail: EmailMessage, settings: Settings, outbox_id: int) -> None:
    """Hand one mail to the configured backend (BOOKING_MAIL_BACKEND)."""
    if settings.mail_backend == "console":
        print(_show(mail), flush=True)  # noqa: T201 - the console backend's whole job
    elif settings.mail_backend == "files":
        name = f"outbox-{outbox_id:08d}.eml"  # a resend after a crash rewrites the same file
        await asyncio.to_thread(_write_file, mail, settings.mail_path, name)
    else:
        await send(mail, settings)


async def send(mail: EmailMessage, settings: Settings) -> None:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [error.code for error in exc.recipients]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(str(exc)) from exc
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if 500 <= exc.code < 600:
            raise PermanentFailure(str(exc)) from exc
        raise


async def _lease(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, limit: int
) -> Sequence[OutboxMessage]:
    now = clock.now()
    async with sessionmaker.begin() as session:
        due = (
            await session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for message in due:
            message.attempts += 1
            message.next_attempt_at = now + LEASE
        return due


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession], outbox_id: int, values: dict[str, object]
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values)
        )


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    *,
    limit: int = 50,
) -> DeliveryReport:
    """One pass: lease up to `limit` due messages, send them, record what happened."""
    report = DeliveryReport()
    for message in await _lease(sessionmaker, clock, limit):
        try:
            await deliver(build_email(message, settings), settings, message.id)
        except PermanentFailure as exc:
            outcome = _failure(message, str(exc), clock, settings, permanent=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # OSError: files too
            outcome = _failure(message, f"{type(exc).__name__}: {exc}", clock, settings)
        else:
            outcome = {"status": OutboxStatus.SENT, "sent_at": clock.now(), "last_error": None}
        await _record(sessionmaker, message.id, outcome)
        status = outcome["status"]
        if status is OutboxStatus.SENT:
            report.sent += 1
        elif status is OutboxStatus.DEAD:
            report.dead += 1
        else:
            report.retried += 1
        log.info(
            "outbox %s to %s: %s (attempt %s)",
            message.id,
            message.to_address,
            status.value if isinstance(status, OutboxStatus) else status,
            message.attempts,
        )
    return report


def _failure(
    message: OutboxMessage,
    error: str,
    clock: Clock,
    settings: Settings,
    *,
    permanent: bool = False,
) -> dict[str, object]:
    dead = permanent or message.attempts >= settings.outbox_max_attempts
    return {
        "status": OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
        "last_error": error[:2000],
        "next_attempt_at": clock.now() + backoff(message.attempts),
    }


class LocalDelivery:
    """`booking serve` delivers printed or filed mail itself (BOOKING_MAIL_BACKEND console or
    files), so the quick start's links show up without a worker. Mail only: holds, the
    lottery and purges stay the worker's. Beside a worker it is one more safe deliverer."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        engine = create_engine(self.settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            while not self.stop.is_set():
                try:
                    report = await deliver_due(sessionmaker, self.clock, self.settings)
                except Exception:  # a bad pass must not end the server's delivery for good
                    log.exception("local mail delivery failed; trying again")
                    report = DeliveryReport()
                if report.handled:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.stop.wait(), timeout=min(1.0, self.settings.worker_poll_seconds)
                    )
        finally:
            await engine.dispose()

    async def start(self) -> None:
        log.warning(
            "mail is not sent: BOOKING_MAIL_BACKEND=%s %s; set smtp to send it",
            self.settings.mail_backend,
            "prints it here"
            if self.settings.mail_backend == "console"
            else f"writes it to {self.settings.mail_path}",
        )
        self.task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    counts = {status.value: 0 for status in OutboxStatus}
    for status, count in rows.all():
        counts[OutboxStatus(status).value] = int(count)
    return counts


async def requeue(session: AsyncSession, clock: Clock, outbox_id: int | None) -> int:
    """Give dead messages (one, or all) a fresh set of attempts, due now."""
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=clock.now())
    )
    if outbox_id is not None:
        stmt = stmt.where(OutboxMessage.id == outbox_id)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
