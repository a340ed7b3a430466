"""Login and passwords: card number or e-mail + password, change, reset, invitation.

Every failure says the same thing whether or not the account exists, and costs the same time
(a decoy hash is verified for unknown accounts). Reset requests always get the same answer.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts import throttle
from booking.accounts.credentials import end_credentials
from booking.accounts.models import (
    Group,
    Member,
    MemberRole,
    PasswordToken,
    TokenPurpose,
    User,
    UserStatus,
)
from booking.accounts.passwords import hash_password, needs_rehash, verify_password
from booking.accounts.rules import password_problem
from booking.accounts.secrets import new_secret, parse_secret, verifies
from booking.accounts.sessions import OpenedSession, open_session
from booking.audit.service import Actor, record
from booking.clock import Clock
from booking.db.errors import as_unavailable
from booking.errors import (
    Conflict,
    InvalidInput,
    PermissionDenied,
    TooManyRequests,
    Unauthenticated,
)
from booking.notifications.outbox import enqueue
from booking.settings import Settings

log = logging.getLogger(__name__)
CARD_NUMBER = re.compile(r"\d{7}")
RESET_MINUTES = 60
INVITE_DAYS = 7
RESET_REQUESTS_PER_HOUR = 3  # per account: enough for a lost mail, too few to flood a mailbox
RESET_REQUESTS_PER_ADDRESS = 10  # per client address and hour: nobody mails a list of people


class LoginFailed(Unauthenticated):
    """Wrong card number, e-mail or password. The failure's audit and count must land."""

    keeps_changes = True


def normalise_login(login: str) -> str:
    return login.strip().lower()


async def find_login(session: AsyncSession, login: str) -> User | None:
    """The user a card number or an e-mail logs in as: a card logs in as its representative."""
    if CARD_NUMBER.fullmatch(login):
        stmt = (
            select(User)
            .join(Member, Member.user_id == User.id)
            .join(Group, Group.id == Member.group_id)
            .where(Group.card_number == login, Member.role == MemberRole.REPRESENTATIVE)
        )
    else:
        stmt = select(User).where(User.email == login)
    return (await session.scalars(stmt)).one_or_none()


def account_key(ident: str, user: User | None) -> str:
    """The throttle's key for a login: the account whenever the login names one (its e-mail and
    its card count together), else what was typed."""
    return f"user:{user.id}" if user is not None else f"login:{ident}"


def login_limits(settings: Settings, key: str, address: str | None) -> list[throttle.Limit]:
    limits = [throttle.Limit(key, settings.login_account_failures)]
    if address:
        limits.append(throttle.Limit(f"address:{address}", settings.login_address_failures))
    return limits


async def login(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    login_name: str,
    password: str,
    address: str | None,
) -> tuple[User, OpenedSession]:
    """Log in. The attempt is counted before the password is verified, and nothing is locked
    while it is hashed: the user is read and the attempt counted in one short transaction,
    committed here; the hash is verified with no transaction open; the outcome is written in
    a second short transaction (the caller's)."""
    ident = normalise_login(login_name)
    user = await find_login(session, ident)
    key = account_key(ident, user)
    window = timedelta(minutes=settings.login_window_minutes)
    slots = await throttle.claim(session, clock, login_limits(settings, key, address), window)
    stored = user.password_hash if user else None
    await session.commit()

    ok = await verify_password(settings, stored, password)
    rehashed = None
    if ok and stored and needs_rehash(settings, stored):
        rehashed = await hash_password(settings, password)

    if user is not None and ok:
        await session.refresh(user)
        ok = user.password_hash == stored  # not changed while we were hashing
    if user is None or not ok:
        await _count_failure(session, clock, settings, slots, ident, address)
        raise LoginFailed(
            "the card number or e-mail address, or the password, is wrong", code="login_failed"
        )
    if user.status is not UserStatus.ACTIVE:
        raise PermissionDenied(
            "this account is suspended; please contact a facility counter",
            code="account_suspended",
        )
    await throttle.succeeded(session, slots, clear_key=key)
    if rehashed is not None:  # only over the hash verified: a password changed meanwhile wins
        await session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == stored)
            .values(password_hash=rehashed)
        )
    opened = await open_session(session, clock, settings, user.id)
    await record(session, clock, Actor(user.id, address), "login.succeeded", ("user", user.id))
    return user, opened


async def _count_failure(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    slots: list[throttle.Slot],
    ident: str,
    address: str | None,
) -> None:
    actor = Actor(None, address)
    await record(session, clock, actor, "login.failed", ("login", ident))
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    for key, locked_until in await throttle.failed(session, clock, slots, lockout):
        await record(
            session,
            clock,
            actor,
            "login.locked",
            ("throttle", key),
            after={"locked_until": locked_until.isoformat()},
        )


async def set_password(clock: Clock, settings: Settings, user: User, password: str) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise InvalidInput(problem, field="new_password", code="weak_password")
    user.password_hash = await hash_password(settings, password)
    user.password_changed_at = clock.now()


class WrongPassword(InvalidInput):
    """The current password given to change it is wrong; its count must land, like a login's."""

    keeps_changes = True


async def change_password(  # noqa: PLR0913 - each argument is needed and named
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    user_id: int,
    *,
    current: str,
    new: str,
    keep_session_id: int | None,
) -> None:
    """Change with the current password. Every other session ends, and every API token and
    password link (credentials.end_credentials): whoever knew the old password is out. The
    current password is counted before it is verified, like a login, so a stolen session
    cannot guess it without limit; both hashes run with no transaction open."""
    user = await session.get_one(User, user_id)
    if problem := password_problem(new, user.email):
        raise InvalidInput(problem, field="new_password", code="weak_password")
    key = account_key("", user)
    window = timedelta(minutes=settings.login_window_minutes)
    slots = await throttle.claim(session, clock, login_limits(settings, key, actor.address), window)
    stored = user.password_hash
    await session.commit()

    new_hash = None
    if await verify_password(settings, stored, current):
        new_hash = await hash_password(settings, new)
    if new_hash is None:
        lockout = timedelta(minutes=settings.login_lockout_minutes)
        await throttle.failed(session, clock, slots, lockout)
        raise WrongPassword(
            "the current password is wrong", field="current_password", code="wrong_password"
        )
    await throttle.succeeded(session, slots, clear_key=key)
    # Only over the password verified: two changes at once, one wins and the other says so.
    changed = await session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash == stored)
        .values(password_hash=new_hash, password_changed_at=clock.now())
    )
    if not getattr(changed, "rowcount", 0):
        raise Conflict(
            "the password was changed at the same moment; please try again",
            field="current_password",
            code="password_changed",
        )
    await end_credentials(
        session, clock, actor, user_id, reason="password_changed", keep_session_id=keep_session_id
    )
    await record(session, clock, actor, "user.password_changed", ("user", user_id))


async def issue_password_link(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    user: User,
    purpose: TokenPurpose,
) -> None:
    """Write the single-use link and its mail in this transaction (the worker sends it).

    The mail is our fixed text and the link, nothing typed by a person: a roster's e-mail
    addresses and names are typed by whoever registers, and must not carry their words to a
    stranger under the city's sender."""
    if user.email is None:
        return
    now = clock.now()
    lifetime = (
        timedelta(minutes=RESET_MINUTES)
        if purpose is TokenPurpose.RESET
        else timedelta(days=INVITE_DAYS)
    )
    secret = new_secret()
    session.add(
        PasswordToken(
            user_id=user.id,
            purpose=purpose,
            selector=secret.selector,
            verifier_hash=secret.verifier_hash,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    url = f"{settings.public_url.rstrip('/')}/password/set?token={secret}"
    if purpose is TokenPurpose.RESET:
        context: dict[str, object] = {"url": url, "expires_minutes": RESET_MINUTES}
        await enqueue(session, clock, to=user.email, template="password_reset", context=context)
    else:
        context = {"url": url, "expires_days": INVITE_DAYS}
        await enqueue(session, clock, to=user.email, template="invitation", context=context)


async def limit_reset_requests(session: AsyncSession, clock: Clock, address: str | None) -> None:
    """Before a reset request is answered: a client address asking too often is refused (429)
    whatever it asks for. The same work for every login, known or not: the link itself is
    written after the answer (`send_reset_link_later`), so that the answer's timing cannot
    tell whether an account exists."""
    if address:
        limit = throttle.Limit(f"reset:{address}", RESET_REQUESTS_PER_ADDRESS)
        try:  # checked and counted in one statement: a burst gets no more than the limit
            await throttle.claim(session, clock, [limit], timedelta(hours=1))
        except TooManyRequests as exc:
            raise TooManyRequests(
                "too many password reset requests from this address; try again later",
                retry_after=exc.retry_after,
            ) from exc


async def send_reset_link_later(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    login_name: str,
    address: str | None,
) -> None:
    """After the answer, in a transaction of its own: a busy or unreachable database loses
    this one request's mail (logged), as a lost mail would; the person asks again."""
    try:
        async with sessionmaker.begin() as session:
            await send_reset_link(session, clock, settings, login_name, address)
    except (SQLAlchemyError, OSError) as exc:
        if as_unavailable(exc) is None:
            raise
        log.warning("password reset link not written: %s", exc)


async def send_reset_link(
    session: AsyncSession, clock: Clock, settings: Settings, login_name: str, address: str | None
) -> None:
    """Send a reset link if the account exists and has an e-mail; a few an hour per account
    at most, silently."""
    ident = normalise_login(login_name)
    user = await find_login(session, ident)
    if user is None or user.status is not UserStatus.ACTIVE or user.email is None:
        return
    limit = throttle.Limit(f"reset-mail:{user.id}", RESET_REQUESTS_PER_HOUR)
    try:  # checked and counted at once: requests from many addresses together get no more
        await throttle.claim(session, clock, [limit], timedelta(hours=1))
    except TooManyRequests:
        return
    await issue_password_link(session, clock, settings, user, TokenPurpose.RESET)
    await record(
        session, clock, Actor(None, address), "user.password_reset_requested", ("user", user.id)
    )


async def confirm_reset(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    token: str,
    new_password: str,
    address: str | None,
) -> User:
    """Use a reset or invitation link once: set the password, end every session and revoke
    every API token (credentials.end_credentials). The link is checked in a short read, the
    password hashed with no transaction open, and the link claimed and the password written
    in a second transaction."""
    invalid = _invalid_link()
    now = clock.now()
    row = await _live_link(session, token, now)
    if row is None:
        raise invalid
    user = await session.get_one(User, row.user_id)
    if user.status is not UserStatus.ACTIVE:
        raise invalid
    if problem := password_problem(new_password, user.email):
        raise InvalidInput(problem, field="new_password", code="weak_password")
    await session.commit()

    new_hash = await hash_password(settings, new_password)
    # Single use even against two requests at once: only one UPDATE finds used_at still NULL.
    claimed = await session.execute(
        update(PasswordToken)
        .where(PasswordToken.id == row.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    await session.refresh(user)
    if not getattr(claimed, "rowcount", 0) or user.status is not UserStatus.ACTIVE:
        raise invalid
    user.password_hash = new_hash
    user.password_changed_at = now
    actor = Actor(user.id, address)
    await end_credentials(session, clock, actor, user.id, reason=f"password_{row.purpose.value}")
    await throttle.clear(session, account_key("", user))
    await record(
        session,
        clock,
        actor,
        "user.password_set",
        ("user", user.id),
        after={"purpose": row.purpose.value},
    )
    return user


def _invalid_link() -> InvalidInput:
    return InvalidInput(
        "this link is invalid, used or expired; please ask for a new one",
        field="token",
        code="invalid_token",
    )


async def _live_link(session: AsyncSession, token: str, now: datetime) -> PasswordToken | None:
    """The reset or invitation link a token names while it can be used, or None."""
    secret = parse_secret(token)
    if secret is None:
        return None
    row = (
        await session.scalars(
            select(PasswordToken).where(PasswordToken.selector == secret.selector)
        )
    ).one_or_none()
    if (
        row is None
        or not verifies(secret, row.verifier_hash)
        or row.expires_at <= now
        or row.used_at is not None
    ):
        return None
    return row


async def live_password_link(session: AsyncSession, clock: Clock, token: str) -> TokenPurpose:
    """What a reset or invitation link is for, while it can still be used (the page asks for
    the new password only then); the same error as confirm_reset for any other."""
    row = await _live_link(session, token, clock.now())
    if row is None:
        raise _invalid_link()
    return row.purpose
