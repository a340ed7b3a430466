"""Login and passwords: card number or e-mail + password, change, reset, invitation.

Every failure says the same thing whether or not the account exists, and costs the same time
(a decoy hash is verified for unknown accounts). Reset requests always get the same answer.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import throttle
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
from booking.accounts.sessions import OpenedSession, end_all_sessions, open_session
from booking.audit.service import Actor, record
from booking.clock import Clock
from booking.errors import InvalidInput, PermissionDenied, TooManyRequests, Unauthenticated
from booking.notifications.outbox import enqueue
from booking.settings import Settings

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


async def login(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    login_name: str,
    password: str,
    address: str | None,
) -> tuple[User, OpenedSession]:
    ident = normalise_login(login_name)
    account_key = f"account:{ident}"
    limits = [throttle.Limit(account_key, settings.login_account_failures)]
    if address:
        limits.append(throttle.Limit(f"address:{address}", settings.login_address_failures))
    await throttle.ensure_not_locked(session, clock, [limit.key for limit in limits])

    user = await find_login(session, ident)
    ok = await verify_password(settings, user.password_hash if user else None, password)
    if user is None or not ok:
        await _count_failure(session, clock, settings, limits, ident, address)
        raise LoginFailed(
            "the card number or e-mail address, or the password, is wrong", code="login_failed"
        )
    if user.status is not UserStatus.ACTIVE:
        raise PermissionDenied(
            "this account is suspended; please contact a facility counter",
            code="account_suspended",
        )
    await throttle.clear(session, account_key)
    if user.password_hash and needs_rehash(settings, user.password_hash):
        user.password_hash = await hash_password(settings, password)
    opened = await open_session(session, clock, settings, user.id)
    await record(session, clock, Actor(user.id, address), "login.succeeded", ("user", user.id))
    return user, opened


async def _count_failure(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    limits: list[throttle.Limit],
    ident: str,
    address: str | None,
) -> None:
    actor = Actor(None, address)
    await record(session, clock, actor, "login.failed", ("login", ident))
    window = timedelta(minutes=settings.login_window_minutes)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    for limit in limits:
        locked_until = await throttle.count_failure(session, clock, limit, window, lockout)
        if locked_until is not None:
            await record(
                session,
                clock,
                actor,
                "login.locked",
                ("throttle", limit.key),
                after={"locked_until": locked_until.isoformat()},
            )


async def set_password(clock: Clock, settings: Settings, user: User, password: str) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise InvalidInput(problem, field="new_password", code="weak_password")
    user.password_hash = await hash_password(settings, password)
    user.password_changed_at = clock.now()


async def change_password(  # noqa: PLR0913 - each argument is needed and named
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    user: User,
    *,
    current: str,
    new: str,
    keep_session_id: int | None,
) -> None:
    """Change with the current password; every other session of the user ends."""
    if not await verify_password(settings, user.password_hash, current):
        raise InvalidInput(
            "the current password is wrong", field="current_password", code="wrong_password"
        )
    await set_password(clock, settings, user, new)
    await end_all_sessions(session, user.id, keep_session_id=keep_session_id)
    await record(session, clock, actor, "user.password_changed", ("user", user.id))


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


async def request_reset(
    session: AsyncSession, clock: Clock, settings: Settings, login_name: str, address: str | None
) -> None:
    """Send a reset link if the account exists and has an e-mail. The caller answers the same
    either way; a few requests an hour per account at most, silently. A client address
    asking too often is refused (429) whatever it asks for."""
    if address:
        key = f"reset:{address}"
        try:
            await throttle.ensure_not_locked(session, clock, [key])
        except TooManyRequests as exc:
            raise TooManyRequests(
                "too many password reset requests from this address; try again later",
                retry_after=exc.retry_after,
            ) from exc
        hour = timedelta(hours=1)
        limit = throttle.Limit(key, RESET_REQUESTS_PER_ADDRESS)
        await throttle.count_failure(session, clock, limit, hour, hour)
    ident = normalise_login(login_name)
    user = await find_login(session, ident)
    if user is None or user.status is not UserStatus.ACTIVE or user.email is None:
        return
    since = clock.now() - timedelta(hours=1)
    recent = (
        await session.scalars(
            select(PasswordToken.id).where(
                PasswordToken.user_id == user.id,
                PasswordToken.purpose == TokenPurpose.RESET,
                PasswordToken.created_at > since,
            )
        )
    ).all()
    if len(recent) >= RESET_REQUESTS_PER_HOUR:
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
    """Use a reset or invitation link once: set the password, end every session."""
    invalid = InvalidInput(
        "this link is invalid, used or expired; please ask for a new one",
        field="token",
        code="invalid_token",
    )
    secret = parse_secret(token)
    if secret is None:
        raise invalid
    row = (
        await session.scalars(
            select(PasswordToken).where(PasswordToken.selector == secret.selector)
        )
    ).one_or_none()
    now = clock.now()
    if row is None or not verifies(secret, row.verifier_hash) or row.expires_at <= now:
        raise invalid
    # Single use even against two requests at once: only one UPDATE finds used_at still NULL.
    claimed = await session.execute(
        update(PasswordToken)
        .where(PasswordToken.id == row.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    if not getattr(claimed, "rowcount", 0):
        raise invalid
    user = await session.get_one(User, row.user_id)
    if user.status is not UserStatus.ACTIVE:
        raise invalid
    await set_password(clock, settings, user, new_password)
    await end_all_sessions(session, user.id)
    await throttle.clear(session, f"account:{user.email}")
    await record(
        session,
        clock,
        Actor(user.id, address),
        "user.password_set",
        ("user", user.id),
        after={"purpose": row.purpose.value},
    )
    return user


async def live_password_link(session: AsyncSession, clock: Clock, token: str) -> TokenPurpose:
    """What a reset or invitation link is for, while it can still be used (the page asks for
    the new password only then); the same error as confirm_reset for any other."""
    secret = parse_secret(token)
    row = (
        (
            await session.scalars(
                select(PasswordToken).where(PasswordToken.selector == secret.selector)
            )
        ).one_or_none()
        if secret is not None
        else None
    )
    if (
        secret is None
        or row is None
        or not verifies(secret, row.verifier_hash)
        or row.expires_at <= clock.now()
        or row.used_at is not None
    ):
        raise InvalidInput(
            "this link is invalid, used or expired; please ask for a new one",
            field="token",
            code="invalid_token",
        )
    return row.purpose
