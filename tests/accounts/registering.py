"""Online registration as a person does it: send the form, open the mailed link, confirm."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.notifications.models import OutboxMessage


def link_in(body: str) -> str:
    """The one address of our site a mail links to (it is written twice: ja, then en)."""
    links = {word for word in body.split() if word.startswith(("http://", "https://"))}
    assert len(links) == 1, links
    return links.pop()


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def mails_to(
    session: AsyncSession, address: str, template: str | None = None
) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.to_address == address)
    if template is not None:
        stmt = stmt.where(OutboxMessage.template == template)
    return list((await session.scalars(stmt.order_by(OutboxMessage.id))).all())


async def confirm_link(session: AsyncSession, address: str) -> str:
    """The newest confirmation link mailed to the address."""
    mails = await mails_to(session, address, "registration_confirm")
    assert mails, f"no confirmation mail to {address}"
    return link_in(mails[-1].body_text)


async def register_online(
    client: httpx.AsyncClient, session: AsyncSession, body: dict[str, Any]
) -> httpx.Response:
    """POST the registration, then confirm it with the mailed link and its password."""
    sent = await client.post("/api/v1/groups", json=body)
    assert sent.status_code == 202, sent.text
    rep = body["representative"]
    link = await confirm_link(session, rep["email"])
    return await client.post(
        "/api/v1/groups/confirm", json={"token": token_of(link), "password": rep["password"]}
    )
