"""Writing mails into the outbox, rendered from Jinja2 templates (Japanese first, English)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
from booking.notifications.models import OutboxMessage, OutboxStatus

# Plain-text mail: no HTML escaping; a missing variable is an error, never an empty hole.
_TEMPLATES = Environment(
    loader=PackageLoader("booking.notifications", "templates"),
    autoescape=False,  # noqa: S701 - text/plain mail, never HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(template: str, context: Mapping[str, object]) -> tuple[str, str]:
    """(subject, body) of `templates/<template>.txt`, whose first line is `Subject: ...`."""
    text = _TEMPLATES.get_template(f"{template}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {template} must start with a Subject: line")
    return first.removeprefix("Subject: ").strip(), body.lstrip("\n")


# outbox_row's columns, in order: a statement that writes the row binds these
# (reservations/booking_writes.py).
OUTBOX_ROW_KEYS = (
    "created_at",
    "template",
    "to_address",
    "subject",
    "body_text",
    "status",
    "attempts",
    "next_attempt_at",
)


def outbox_row(
    now: datetime, to: str, template: str, context: Mapping[str, object]
) -> dict[str, Any]:
    """A pending mail's columns, rendered (a booking writes them in its own statement)."""
    subject, body = render(template, context)
    values = (now, template, to, subject, body, OutboxStatus.PENDING, 0, now)
    return dict(zip(OUTBOX_ROW_KEYS, values, strict=True))


async def enqueue(
    session: AsyncSession,
    clock: Clock,
    *,
    to: str,
    template: str,
    context: Mapping[str, object],
) -> OutboxMessage:
    """Add a mail to the caller's transaction: it exists if and only if the change commits."""
    message = OutboxMessage(**outbox_row(clock.now(), to, template, context))
    session.add(message)
    await session.flush()
    return message


async def enqueue_many(
    session: AsyncSession,
    clock: Clock,
    mails: Iterable[tuple[str, str, Mapping[str, object]]],
) -> None:
    """`enqueue` for many mails, each (to, template, context), written in one flush: a draw
    mails thousands of groups, and a flush each cost a round trip each."""
    now = clock.now()
    for to, template, context in mails:
        session.add(OutboxMessage(**outbox_row(now, to, template, context)))
    await session.flush()
