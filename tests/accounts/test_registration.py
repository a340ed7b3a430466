"""Online registration proves its e-mail address first (issue 14, item 4), on both databases.

Anyone can type anyone's address: nothing is created and nothing but our fixed text with a
link is mailed until the link is used with the registration's password; a known address gets
the same answer as a new one and its owner keeps their login; registrations and reset
requests are throttled per client address.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.login import RESET_REQUESTS_PER_ADDRESS
from booking.accounts.models import Group, PendingRegistration, User
from booking.accounts.registrations import (
    CONFIRM_HOURS,
    CONFIRM_TRIES_PER_LINK,
    MAILS_PER_EMAIL,
    REGISTRATIONS_PER_ADDRESS,
    purge,
)
from booking.clock import FrozenClock
from booking.notifications.models import OutboxMessage
from tests.accounts.registering import confirm_link, link_in, mails_to, token_of
from tests.people import PASSWORD, World

REGISTER = "/api/v1/groups"
CONFIRM = "/api/v1/groups/confirm"
LOGIN = "/api/v1/auth/login"
# The registrant's own words: none of them may reach an address nobody has proven.
PHISHING = "至急 http://evil.example/login で再認証"


CHOSEN = "walk the tama river"


def registration(email: str, password: str = CHOSEN, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "group",
        "name": f"{PHISHING} 会",
        "email": "contact-typed@example.jp",
        "representative": {
            "name": f"{PHISHING} 代表",
            "birth_date": "1960-07-07",
            "residency": "lives",
            "email": email,
            "password": password,
        },
        "members": [
            {
                "name": f"{PHISHING} {i}",
                "birth_date": "1965-01-01",
                "residency": "none",
                "email": f"member{i}-of-{email}",
            }
            for i in range(4)
        ],
    }
    return body | changes


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def footprint(session: AsyncSession) -> tuple[int, int]:
    return await count(session, Group), await count(session, User)


async def test_nothing_exists_and_nothing_else_is_mailed_until_the_link_is_used(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await footprint(session)
    mails_before = await count(session, OutboxMessage)
    sent = await client.post(REGISTER, json=registration("hiker@example.jp"))
    assert sent.status_code == 202, sent.text
    assert await footprint(session) == before  # no login, no group, no member's login
    (mail,) = await mails_to(session, "hiker@example.jp")
    assert await count(session, OutboxMessage) == mails_before + 1  # nobody else is mailed
    assert mail.template == "registration_confirm"
    assert PHISHING not in mail.subject + mail.body_text  # only our text and the link
    link = link_in(mail.body_text)
    assert link.startswith(f"{world.settings.public_url}/register/confirm?token=")
    # Not a login yet.
    early = await client.post(
        LOGIN, json={"login": "hiker@example.jp", "password": "walk the tama river"}
    )
    assert early.status_code == 401

    # The mailbox's owner alone cannot finish someone else's registration: it takes the
    # password chosen when registering.
    wrong = await client.post(CONFIRM, json={"token": token_of(link), "password": "my own choice!"})
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "password"
    assert await footprint(session) == before

    done = await client.post(
        CONFIRM, json={"token": token_of(link), "password": "walk the tama river"}
    )
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "pending"
    assert done.json()["member_count"] == 5
    logged_in = await client.post(
        LOGIN, json={"login": "hiker@example.jp", "password": "walk the tama river"}
    )
    assert logged_in.status_code == 200
    again = await client.post(
        CONFIRM, json={"token": token_of(link), "password": "walk the tama river"}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "token"
    # Now the registrant has proven an address: the members are invited and the receipt goes
    # to the representative's proven address, never to the typed contact address; none of the
    # mails to the members carries the registrant's words.
    assert await mails_to(session, "contact-typed@example.jp") == []
    assert len(await mails_to(session, "hiker@example.jp", "registration_received")) == 1
    for i in range(4):
        (invitation,) = await mails_to(session, f"member{i}-of-hiker@example.jp")
        assert invitation.template == "invitation"
        assert PHISHING not in invitation.subject + invitation.body_text
        assert "/password/set?token=" in invitation.body_text


async def test_a_known_address_gets_the_same_answer_and_keeps_its_login(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await footprint(session)
    mails_before = await count(session, OutboxMessage)
    taken = await client.post(REGISTER, json=registration("rep-a@example.jp", "attacker's pass"))
    fresh = await client.post(REGISTER, json=registration("fresh@example.jp"))
    assert taken.status_code == fresh.status_code == 202, taken.text
    assert taken.json() == fresh.json()  # nobody learns which addresses have accounts
    assert taken.headers.get("content-type") == fresh.headers.get("content-type")
    assert await footprint(session) == before
    # The owner is told at most that someone tried, in our words only.
    (told,) = await mails_to(session, "rep-a@example.jp", "registration_attempt")
    assert await mails_to(session, "rep-a@example.jp", "registration_confirm") == []
    assert PHISHING not in told.subject + told.body_text
    assert f"{world.settings.public_url}/password/forgot" in told.body_text
    assert await count(session, OutboxMessage) == mails_before + 2  # that one and fresh's link
    # The owner's login works as before; the stranger's password does nothing.
    ok = await client.post(LOGIN, json={"login": "rep-a@example.jp", "password": PASSWORD})
    assert ok.status_code == 200
    stranger = await client.post(
        LOGIN, json={"login": "rep-a@example.jp", "password": "attacker's pass"}
    )
    assert stranger.status_code == 401


async def test_a_link_expires_and_is_purged(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    await client.post(REGISTER, json=registration("late@example.jp"))
    link = await confirm_link(session, "late@example.jp")
    clock.advance(timedelta(hours=CONFIRM_HOURS, seconds=1))
    late = await client.post(
        CONFIRM, json={"token": token_of(link), "password": "walk the tama river"}
    )
    assert late.status_code == 400
    assert late.json()["errors"][0]["field"] == "token"
    assert await purge(session, clock) == 1
    assert await count(session, PendingRegistration) == 0


async def test_registrations_are_throttled_per_client_address(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    for i in range(REGISTRATIONS_PER_ADDRESS):
        sent = await client.post(REGISTER, json=registration(f"many{i}@example.jp"))
        assert sent.status_code == 202, (i, sent.text)
    refused = await client.post(REGISTER, json=registration("one-more@example.jp"))
    assert refused.status_code == 429
    # Every attempt came at one instant: the hour's window ends exactly an hour later.
    assert int(refused.headers["retry-after"]) == 3600
    assert await mails_to(session, "one-more@example.jp") == []
    clock.advance(timedelta(hours=1))
    assert (await client.post(REGISTER, json=registration("later@example.jp"))).status_code == 202


async def test_a_link_takes_few_tries_at_its_password(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """Each try hashes and guesses the registrant's password: a few per link and hour, then
    even the right one waits (before: no limit, an Argon2id per anonymous request)."""
    assert (await client.post(REGISTER, json=registration("tries@example.jp"))).status_code == 202
    token = token_of(await confirm_link(session, "tries@example.jp"))
    before = await footprint(session)
    for i in range(CONFIRM_TRIES_PER_LINK):
        wrong = await client.post(CONFIRM, json={"token": token, "password": f"guess {i} x"})
        assert wrong.status_code == 400, (i, wrong.text)
    refused = await client.post(CONFIRM, json={"token": token, "password": CHOSEN})
    assert refused.status_code == 429, refused.text
    assert await footprint(session) == before
    clock.advance(timedelta(hours=1))
    confirmed = await client.post(CONFIRM, json={"token": token, "password": CHOSEN})
    assert confirmed.status_code == 201, confirmed.text


async def test_a_mailbox_gets_few_registration_mails(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for address in ("victim@example.jp", "rep-b@example.jp"):
        for _ in range(MAILS_PER_EMAIL + 2):
            sent = await client.post(REGISTER, json=registration(address))
            assert sent.status_code == 202
        mails = [
            m
            for m in await mails_to(session, address)
            if m.template in {"registration_confirm", "registration_attempt"}
        ]
        assert len(mails) == MAILS_PER_EMAIL, address


async def test_reset_requests_are_throttled_per_client_address(
    world: World, client: httpx.AsyncClient
) -> None:
    for i in range(RESET_REQUESTS_PER_ADDRESS):
        asked = await client.post("/api/v1/auth/password-reset", json={"login": f"x{i}@example.jp"})
        assert asked.status_code == 202
    refused = await client.post("/api/v1/auth/password-reset", json={"login": "rep-a@example.jp"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 3600  # the hour's window, from one instant


async def test_once_registered_the_addresss_other_links_are_spent(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Two forms sent for one address: the one confirmed registers, the other link is spent
    (the address has its login now), and nothing is registered twice."""
    await client.post(REGISTER, json=registration("twice@example.jp", name="一度目の会"))
    first = await confirm_link(session, "twice@example.jp")
    await client.post(REGISTER, json=registration("twice@example.jp", name="二度目の会"))
    second = await confirm_link(session, "twice@example.jp")
    assert first != second
    done = await client.post(CONFIRM, json={"token": token_of(second), "password": CHOSEN})
    assert done.status_code == 201, done.text
    assert done.json()["name"] == "二度目の会"
    spent = await client.post(CONFIRM, json={"token": token_of(first), "password": CHOSEN})
    assert spent.status_code == 400
    assert spent.json()["errors"][0]["field"] == "token"
    names = (await session.scalars(select(Group.name).where(Group.name.like("%度目の会")))).all()
    assert names == ["二度目の会"]
