"""Server-side web sessions and bearer API tokens, and the principal each one stands for.

Both are looked up on every request by an indexed selector, then the verifier hash is compared
in constant time. Nothing about them lives in process memory: ending a session or suspending a
user is one row changed, seen at once by every process.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from sqlalchemy import Subquery, bindparam, delete, null, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import throttle
from booking.accounts.access import Principal
from booking.accounts.models import (
    ApiToken,
    ManagerFacility,
    Member,
    MemberRole,
    PasswordToken,
    StaffRole,
    User,
    UserStatus,
    WebSession,
)
from booking.accounts.secrets import new_secret, parse_secret, same_secret, verifies
from booking.clock import Clock
from booking.db.direct import Direct, fetch
from booking.inventory.models import InventoryRevision
from booking.settings import Settings

TOKEN_PREFIX = "bkt_"  # noqa: S105 - a prefix, not a secret; lets secret scanners recognise a leaked token
# Writing last_seen_at on every request would turn each read into a write; a minute's
# precision is enough for an idle timeout of hours.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Touch:
    """A session's or token's last use, written after the answer in a transaction of its own
    (`write_touch`): never inside a read, where a write fails under concurrent writers on
    SQLite, and never able to fail the request it was seen in."""

    kind: Literal["session", "token"]
    ident: int
    at: datetime


async def write_touch(session: AsyncSession, touch: Touch) -> None:
    if touch.kind == "session":
        await session.execute(
            update(WebSession)
            .where(WebSession.id == touch.ident, WebSession.last_seen_at < touch.at)
            .values(last_seen_at=touch.at)
            .execution_options(synchronize_session=False)
        )
    else:
        await session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == touch.ident,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < touch.at),
            )
            .values(last_used_at=touch.at)
            .execution_options(synchronize_session=False)
        )


class Credentials(NamedTuple):
    """What a token's or a session's one query found: the principal (None: refused), the last
    use to write, and the inventory's revision read with them (booking/deps.py)."""

    principal: Principal | None
    touch: Touch | None
    inventory_revision: int | None = None


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session_id: int
    cookie_value: str
    csrf_token: str
    expires_at: datetime
    max_age_seconds: int


async def open_session(
    session: AsyncSession, clock: Clock, settings: Settings, user_id: int
) -> OpenedSession:
    """A new session with a new id: a login never reuses a session (no fixation)."""
    now = clock.now()
    secret = new_secret()
    row = WebSession(
        selector=secret.selector,
        verifier_hash=secret.verifier_hash,
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
    )
    session.add(row)
    await session.flush()
    return OpenedSession(
        row.id, str(secret), row.csrf_token, row.expires_at, settings.session_max_hours * 3600
    )


async def end_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(WebSession).where(WebSession.id == session_id))


async def end_all_sessions(
    session: AsyncSession, user_id: int, *, keep_session_id: int | None = None
) -> int:
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_session_id is not None:
        stmt = stmt.where(WebSession.id != keep_session_id)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def principal_for_cookie(
    session: AsyncSession, clock: Clock, settings: Settings, cookie: str, address: str | None
) -> Credentials:
    """The principal of a live session (its `csrf_token` is checked by the caller), and the
    touch to write when its last use is a minute old. Reads only."""
    secret = parse_secret(cookie)
    if secret is None:
        return Credentials(None, None)
    rows = await fetch(session, _COOKIE, {"selector": secret.selector})
    if not rows or not verifies(secret, rows[0][1]):
        return Credentials(None, None)
    row = rows[0]
    session_id, _, csrf_token, last_seen_at, expires_at = row[:5]
    now = clock.now()
    idle_limit = last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= expires_at or now >= idle_limit or row[9] is not UserStatus.ACTIVE:
        return Credentials(None, None)  # the row goes with the worker's purge; no write here
    touch = Touch("session", session_id, now) if now - last_seen_at >= _TOUCH_EVERY else None
    principal = principal_of(
        row[5],
        row[6],
        row[7],
        row[8],
        "session",
        address,
        [(r[10], r[11]) for r in rows if r[10] is not None],
        session_id=session_id,
        csrf_token=csrf_token,
    )
    return Credentials(principal, touch, row[-1])  # the statement's last column: _REVISION


async def purge_expired(session: AsyncSession, clock: Clock, settings: Settings) -> int:
    """Delete sessions past either limit, password links past theirs and throttle counts that
    count nothing any more (run by the worker)."""
    now = clock.now()
    idle_since = now - timedelta(minutes=settings.session_idle_minutes)
    sessions = await session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at <= now, WebSession.last_seen_at <= idle_since)
        )
    )
    links = await session.execute(delete(PasswordToken).where(PasswordToken.expires_at <= now))
    counts = await throttle.purge(session, clock, timedelta(minutes=settings.login_window_minutes))
    return counts + sum(int(getattr(r, "rowcount", 0) or 0) for r in (sessions, links))


def csrf_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and same_secret(presented, expected)


def _roles() -> Subquery:
    """A user's roster roles and facility assignments as (user_id, ident, role); role is None
    for a facility."""
    return union_all(
        select(Member.user_id, Member.group_id.label("ident"), Member.role.label("role")),
        select(ManagerFacility.user_id, ManagerFacility.facility_id, null()),
    ).subquery("roles")


ROLES = _roles()
# The inventory's revision rides along: the network snapshot's check needs no round trip of
# its own on an authenticated request (booking/deps.py provide_network).
_REVISION = select(InventoryRevision.revision).scalar_subquery().label("inventory_revision")
# The token (or the session), its user and the user's roles in one round trip (one row per
# role, or one with NULLs): a booking's authentication was two (bench/bookings.py).
_BEARER = Direct(
    select(
        ApiToken.id,
        ApiToken.verifier_hash,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id,
        User.name,
        User.email,
        User.staff_role,
        User.status,
        ROLES.c.ident,
        ROLES.c.role,
        _REVISION,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(ROLES, ROLES.c.user_id == User.id)
    .where(ApiToken.selector == bindparam("selector"))
)

_COOKIE = Direct(
    select(
        WebSession.id,
        WebSession.verifier_hash,
        WebSession.csrf_token,
        WebSession.last_seen_at,
        WebSession.expires_at,
        User.id,
        User.name,
        User.email,
        User.staff_role,
        User.status,
        ROLES.c.ident,
        ROLES.c.role,
        _REVISION,
    )
    .join(User, User.id == WebSession.user_id)
    .outerjoin(ROLES, ROLES.c.user_id == User.id)
    .where(WebSession.selector == bindparam("selector"))
)


async def principal_for_bearer(
    session: AsyncSession, clock: Clock, presented: str, address: str | None
) -> Credentials:
    """The principal of a live API token, and the touch to write (as for a session)."""
    secret = parse_secret(presented, TOKEN_PREFIX)
    if secret is None:
        return Credentials(None, None)
    rows = await fetch(session, _BEARER, {"selector": secret.selector})
    if not rows or not verifies(secret, rows[0][1]):
        return Credentials(None, None)
    row = rows[0]
    token_id, _, expires_at, revoked_at, last_used_at = row[:5]
    now = clock.now()
    if revoked_at is not None or now >= expires_at or row[9] is not UserStatus.ACTIVE:
        return Credentials(None, None)
    stale = last_used_at is None or now - last_used_at >= _TOUCH_EVERY
    principal = principal_of(
        row[5],
        row[6],
        row[7],
        row[8],
        "token",
        address,
        [(r[10], r[11]) for r in rows if r[10] is not None],
        token_id=token_id,
    )
    touch = Touch("token", token_id, now) if stale else None
    return Credentials(principal, touch, row[-1])  # the statement's last column: _REVISION


async def _principal(  # noqa: PLR0913 - the columns of one row, named
    session: AsyncSession,
    user_id: int,
    name: str,
    email: str | None,
    staff_role: StaffRole | None,
    via: Literal["session", "token"],
    address: str | None,
    *,
    session_id: int | None = None,
    token_id: int | None = None,
    csrf_token: str | None = None,
) -> Principal:
    """Roster roles and facility assignments, read in one round trip."""
    result = await session.execute(
        select(ROLES.c.ident, ROLES.c.role).where(ROLES.c.user_id == user_id)
    )
    return principal_of(
        user_id,
        name,
        email,
        staff_role,
        via,
        address,
        [(row[0], row[1]) for row in result],
        session_id=session_id,
        token_id=token_id,
        csrf_token=csrf_token,
    )


def principal_of(  # noqa: PLR0913 - the columns of one row, named
    user_id: int,
    name: str,
    email: str | None,
    staff_role: StaffRole | None,
    via: Literal["session", "token"],
    address: str | None,
    rows: list[tuple[int, str | None]],
    *,
    session_id: int | None = None,
    token_id: int | None = None,
    csrf_token: str | None = None,
) -> Principal:
    """A principal from its user's columns and (ident, role) rows (role None: a facility)."""
    roles: dict[int, MemberRole] = {}
    facility_ids: set[int] = set()
    for ident, role in rows:
        if role is None:
            facility_ids.add(ident)
        else:
            roles[ident] = MemberRole(role)
    return Principal(
        user_id=user_id,
        name=name,
        email=email,
        staff_role=staff_role,
        via=via,
        memberships=roles,
        facility_ids=frozenset(facility_ids) if staff_role is StaffRole.MANAGER else frozenset(),
        session_id=session_id,
        token_id=token_id,
        address=address,
        csrf_token=csrf_token,
    )


async def principal_for_user(
    session: AsyncSession,
    user: User,
    opened: OpenedSession | None = None,
    address: str | None = None,
) -> Principal:
    """The principal of a user: of the session a login just opened, or for work done on
    their behalf outside a request."""
    return await _principal(
        session,
        user.id,
        user.name,
        user.email,
        user.staff_role,
        "session",
        address,
        session_id=opened.session_id if opened else None,
        csrf_token=opened.csrf_token if opened else None,
    )


def parse_bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
