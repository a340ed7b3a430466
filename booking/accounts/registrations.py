"""Online registration: an e-mail address is proven by a mailed single-use link first.

Anyone can type any address into the registration form, so nothing is created and nothing
but one fixed-text mail is sent until the link is used: `request` checks everything the
registration needs (bad input is the same 4xx naming its field), keeps the registration in
`pending_registrations`, and mails the address a link. Its answer is the same whether or not
the address already has an account; such an owner gets at most a fixed "someone tried to
register with your address" mail and their login is untouched. No mail carries the
registrant's text (the group's name, people's names): a stranger's address must not receive
someone else's words under the city's sender.

`confirm` needs the link and the password chosen at registration: the mailbox's owner proves
the address, the registrant proves the registration is theirs, so nobody can bind a
registration and a password of their choosing to someone else's address.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups, throttle
from booking.accounts.models import Group, PendingRegistration, UserStatus
from booking.accounts.passwords import hash_password, verify_password
from booking.accounts.people import user_by_email
from booking.accounts.schemas import RegistrationIn
from booking.accounts.secrets import new_secret, parse_secret, verifies
from booking.audit.service import Actor, record
from booking.clock import Clock
from booking.errors import InvalidInput, TooManyRequests
from booking.notifications.outbox import enqueue
from booking.settings import Settings

CONFIRM_HOURS = 24
HOUR = timedelta(hours=1)
REGISTRATIONS_PER_ADDRESS = 10  # per client address and hour: a family, a club's evening
MAILS_PER_EMAIL = 3  # per recipient and hour: enough for a lost mail, too few to flood
CONFIRM_TRIES_PER_LINK = 5  # per link and hour: typos, not guessing


@dataclass(frozen=True, slots=True)
class Requested:
    """What happened, for tests and the audit; the HTTP answer is the same in every case."""

    outcome: str  # "link_sent", "owner_told", "quiet" (mail limit reached or no mail due)
    secret: str | None = None  # the link's secret when one was sent


def confirm_url(settings: Settings, secret: str) -> str:
    return f"{settings.public_url.rstrip('/')}/register/confirm?token={secret}"


async def _under_limit(session: AsyncSession, clock: Clock, key: str, limit: int) -> bool:
    """Count one more under `key` if it is not at its hourly limit (the login throttle's
    table: checked and counted in one atomic upsert shared by every process)."""
    try:
        await throttle.claim(session, clock, [throttle.Limit(key, limit)], HOUR)
    except TooManyRequests:
        return False
    return True


async def _address_limit(check: Awaitable[object]) -> None:
    try:
        await check
    except TooManyRequests as exc:
        raise TooManyRequests(
            "too many registrations from this address; try again later",
            retry_after=exc.retry_after,
        ) from exc


async def request(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    data: RegistrationIn,
    address: str | None,
) -> Requested:
    """An anonymous registration: checked in full, then kept until its address is proven.

    Every refusal comes before the first write, so a caller needs no savepoint. The reads of
    the checks are committed before the password is hashed: no lock is held while hashing
    (SQLite's write lock is taken at BEGIN: a flood of registrations would stall bookings)."""
    await groups.check_registration(session, clock, settings, None, data)
    email, password = groups.online_credentials(data)
    if address:  # counted before the hash: a burst at once costs at most the limit's hashes
        limit = throttle.Limit(f"register:{address}", REGISTRATIONS_PER_ADDRESS)
        await _address_limit(throttle.claim(session, clock, [limit], HOUR))
    await session.commit()
    # Hashed whether or not the address is known, so both answers take the same time.
    password_hash = await hash_password(settings, password)
    actor = Actor(None, address)
    if not await _under_limit(session, clock, f"register-mail:{email}", MAILS_PER_EMAIL):
        return Requested("quiet")
    owner = await user_by_email(session, email)
    if owner is not None:
        if owner.status is not UserStatus.ACTIVE:
            return Requested("quiet")
        await enqueue(
            session,
            clock,
            to=email,
            template="registration_attempt",
            context={"url": settings.public_url.rstrip("/")},
        )
        await record(session, clock, actor, "registration.address_in_use", ("user", owner.id))
        return Requested("owner_told")
    now = clock.now()
    secret = new_secret()
    stored = msgspec.to_builtins(data)
    stored["representative"]["password"] = None  # only its hash is kept
    pending = PendingRegistration(
        email=email,
        selector=secret.selector,
        verifier_hash=secret.verifier_hash,
        registration=stored,
        password_hash=password_hash,
        created_at=now,
        expires_at=now + timedelta(hours=CONFIRM_HOURS),
    )
    session.add(pending)
    await session.flush()
    await enqueue(
        session,
        clock,
        to=email,
        template="registration_confirm",
        context={"url": confirm_url(settings, str(secret)), "expires_hours": CONFIRM_HOURS},
    )
    await record(session, clock, actor, "registration.requested", ("pending", pending.id))
    return Requested("link_sent", str(secret))


def _invalid() -> InvalidInput:
    return InvalidInput(
        "this link is invalid, used or expired; please register again",
        field="token",
        code="invalid_token",
    )


async def pending_for(session: AsyncSession, clock: Clock, token: str) -> PendingRegistration:
    """The live pending registration a link names, or the same error for every bad link."""
    secret = parse_secret(token)
    if secret is None:
        raise _invalid()
    row = (
        await session.scalars(
            select(PendingRegistration).where(PendingRegistration.selector == secret.selector)
        )
    ).one_or_none()
    if (
        row is None
        or not verifies(secret, row.verifier_hash)
        or row.used_at is not None
        or row.expires_at <= clock.now()
    ):
        raise _invalid()
    return row


async def checked_link(
    session: AsyncSession, clock: Clock, settings: Settings, token: str, password: str
) -> PendingRegistration:
    """The live pending registration of a link, with its password verified. The link's read
    is committed first: no lock is held while the password is hashed (as a login). So it runs
    outside any savepoint: a page that confirms in one calls this before."""
    row = await pending_for(session, clock, token)
    # Each try costs a hash and guesses the registrant's password: a few per link and hour.
    try:
        limit = throttle.Limit(f"register-confirm:{row.selector}", CONFIRM_TRIES_PER_LINK)
        await throttle.claim(session, clock, [limit], HOUR)
    except TooManyRequests as exc:
        raise TooManyRequests(
            "too many tries with this link; try again later", retry_after=exc.retry_after
        ) from exc
    await session.commit()
    if not await verify_password(settings, row.password_hash, password):
        raise InvalidInput(
            "not the password chosen when registering",
            field="password",
            code="not_registration_password",
        )
    return row


async def confirm(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    token: str,
    password: str,
    address: str | None,
    *,
    checked: PendingRegistration | None = None,
) -> Group:
    """Use the link once with the registration's password: the login and the group exist now.
    `checked`: what `checked_link` returned for this token and password, if called already."""
    row = checked or await checked_link(session, clock, settings, token, password)
    # Single use even against two requests at once: only one UPDATE finds used_at still NULL.
    claimed = await session.execute(
        update(PendingRegistration)
        .where(PendingRegistration.id == row.id, PendingRegistration.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if not getattr(claimed, "rowcount", 0):
        raise _invalid()
    stored: dict[str, Any] = dict(row.registration)
    stored["representative"] = {**stored["representative"], "password": password}
    data = msgspec.convert(stored, RegistrationIn)
    group = await groups.register(
        session, clock, settings, None, data, address, password_hash=row.password_hash
    )
    # Other links to the same address are spent: the address now has its login.
    await session.execute(
        update(PendingRegistration)
        .where(PendingRegistration.email == row.email, PendingRegistration.used_at.is_(None))
        .values(used_at=clock.now())
    )
    return group


async def purge(session: AsyncSession, clock: Clock) -> int:
    """Delete used and expired pending registrations (they hold people's birth dates)."""
    result = await session.execute(
        delete(PendingRegistration).where(
            or_(
                PendingRegistration.used_at.is_not(None),
                PendingRegistration.expires_at <= clock.now(),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
