"""Feed tokens and what a feed shows: create, list, rotate, revoke; resolve and read.

A token is `selector.verifier` (≥ 256 random bits in the verifier), stored as selector +
SHA-256, compared in constant time. An unknown, malformed or revoked token, or one whose owner
may no longer see the feed's target, is the same 404.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement, Select

from booking.accounts.access import Principal, require_facility, require_view_group
from booking.accounts.groups import get_group
from booking.accounts.models import Group, User, UserStatus
from booking.accounts.secrets import new_secret, parse_secret, verifies
from booking.accounts.sessions import ROLES, principal_of
from booking.audit.service import record
from booking.calendars.models import CalendarFeed, FeedKind
from booking.clock import Clock
from booking.db.errors import as_unavailable
from booking.errors import BookingError, InvalidInput, NotFound
from booking.inventory.models import InventoryRevision, Purpose
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Booking, BookingStatus

log = logging.getLogger(__name__)
AnySelect = Select[*tuple[Any, ...]]

CANCELLED_KEPT = timedelta(days=30)  # so subscribed clients see them go
MAX_PAST_DAYS = 366
MAX_FUTURE_DAYS = 800
PUBLIC = (FeedKind.ROOM, FeedKind.FACILITY)
LIVE = (
    BookingStatus.CONFIRMED,
    BookingStatus.PENDING_APPROVAL,
    BookingStatus.HELD,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


@dataclass(frozen=True, slots=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str


async def check_target(
    session: AsyncSession,
    snapshot: NetworkSnapshot,
    principal: Principal,
    kind: FeedKind,
    target_id: int | None,
) -> None:
    """The owner may see what the feed shows, through the API, now."""
    if kind is FeedKind.MANAGER:
        if not principal.is_staff:
            raise NotFound("no such feed target", code="feed_target_not_found")
        return
    if target_id is None:
        raise InvalidInput(f"a {kind.value} feed needs target_id", field="target_id")
    if kind is FeedKind.GROUP:
        require_view_group(principal, await get_group(session, target_id))
    elif kind is FeedKind.ROOM:
        if snapshot.room(target_id) is None:
            raise InvalidInput(f"no room {target_id}", field="target_id")
    elif kind is FeedKind.FACILITY:
        if target_id not in snapshot.facilities:
            raise InvalidInput(f"no facility {target_id}", field="target_id")
    else:
        require_facility(principal, target_id)


async def create_feed(
    session: AsyncSession,
    clock: Clock,
    snapshot: NetworkSnapshot,
    principal: Principal,
    kind: FeedKind,
    target_id: int | None,
    name: str,
) -> IssuedFeed:
    await check_target(session, snapshot, principal, kind, target_id)
    secret = new_secret()
    feed = CalendarFeed(
        owner_user_id=principal.user_id,
        kind=kind,
        target_id=None if kind is FeedKind.MANAGER else target_id,
        name=name,
        selector=secret.selector,
        verifier_hash=secret.verifier_hash,
        created_at=clock.now(),
    )
    session.add(feed)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "feed.created",
        ("calendar_feed", feed.id),
        after={"kind": kind.value, "target_id": target_id},
    )
    return IssuedFeed(feed, str(secret))


async def own_feed(session: AsyncSession, principal: Principal, feed_id: int) -> CalendarFeed:
    feed = await session.get(CalendarFeed, feed_id, with_for_update=True)
    if feed is None or feed.owner_user_id != principal.user_id:
        raise NotFound(f"no feed {feed_id}", code="feed_not_found")
    return feed


async def list_feeds(session: AsyncSession, principal: Principal) -> Sequence[CalendarFeed]:
    stmt = (
        select(CalendarFeed)
        .where(CalendarFeed.owner_user_id == principal.user_id)
        .order_by(CalendarFeed.id)
    )
    return (await session.scalars(stmt)).all()


async def revoke_feed(
    session: AsyncSession, clock: Clock, principal: Principal, feed_id: int
) -> CalendarFeed:
    feed = await own_feed(session, principal, feed_id)
    if feed.revoked_at is None:
        feed.revoked_at = clock.now()
        await record(session, clock, principal.actor, "feed.revoked", ("calendar_feed", feed.id))
    return feed


async def rotate_feed(
    session: AsyncSession, clock: Clock, principal: Principal, feed_id: int
) -> IssuedFeed:
    """A new secret for the same feed; the old URL stops working at once."""
    feed = await own_feed(session, principal, feed_id)
    if feed.revoked_at is not None:
        raise NotFound(f"no feed {feed_id}", code="feed_not_found")
    secret = new_secret()
    feed.selector = secret.selector
    feed.verifier_hash = secret.verifier_hash
    await record(session, clock, principal.actor, "feed.rotated", ("calendar_feed", feed.id))
    return IssuedFeed(feed, str(secret))


NOT_FOUND = NotFound("no such calendar feed", code="feed_not_found")

# The feed of a selector, its owner, the owner's roles (one row per role, or one with NULLs),
# a group feed's group and the network's revision, in one round trip: the 304 of an unchanged
# feed is this and the fingerprint (four round trips before).
_RESOLVE = (
    select(
        CalendarFeed,
        Group,
        User.name,
        User.email,
        User.staff_role,
        User.status,
        ROLES.c.ident,
        ROLES.c.role,
        func.coalesce(select(InventoryRevision.revision).scalar_subquery(), 0),
    )
    .join(User, User.id == CalendarFeed.owner_user_id)
    .outerjoin(Group, and_(CalendarFeed.kind == FeedKind.GROUP, Group.id == CalendarFeed.target_id))
    .outerjoin(ROLES, ROLES.c.user_id == User.id)
    .where(CalendarFeed.selector == bindparam("selector"))
)


@dataclass(frozen=True, slots=True)
class Resolved:
    feed: CalendarFeed
    principal: Principal  # the owner's rights now
    snapshot: NetworkSnapshot  # at the revision read with the token


async def resolve(session: AsyncSession, snapshots: SnapshotCache, token: str) -> Resolved:
    """The feed of a token and its owner's rights now; one 404 for every kind of failure."""
    secret = parse_secret(token)
    if secret is None:
        raise NOT_FOUND
    rows = (await session.execute(_RESOLVE, {"selector": secret.selector})).all()
    if not rows:
        raise NOT_FOUND
    feed, _, name, email, staff_role, status, _, _, revision = rows[0]
    if not verifies(secret, feed.verifier_hash) or feed.revoked_at is not None:
        raise NOT_FOUND
    if status is not UserStatus.ACTIVE:
        raise NOT_FOUND
    roles = [(row[6], row[7]) for row in rows if row[6] is not None]
    owner = feed.owner_user_id
    principal = principal_of(owner, name, email, staff_role, "session", None, roles)
    snapshot = await snapshots.at(session, revision)
    try:  # a group feed's group is in the session already: get_group asks nothing
        await check_target(session, snapshot, principal, feed.kind, feed.target_id)
    except BookingError as exc:  # the owner lost sight of the target: the same 404
        raise NOT_FOUND from exc
    return Resolved(feed, principal, snapshot)


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date
    since: datetime  # cancelled before this are no longer shown


def window(today: date, tz: ZoneInfo, past_days: int, future_days: int) -> Window:
    """The dates shown; cancellations stay 30 days (from midnight, so the ETag holds all day)."""
    if not 0 <= past_days <= MAX_PAST_DAYS:
        raise InvalidInput(f"past_days is 0 to {MAX_PAST_DAYS}", field="past_days")
    if not 1 <= future_days <= MAX_FUTURE_DAYS:
        raise InvalidInput(f"future_days is 1 to {MAX_FUTURE_DAYS}", field="future_days")
    since = datetime.combine(today - CANCELLED_KEPT, time(0), tz)
    return Window(today - timedelta(days=past_days), today + timedelta(days=future_days), since)


# Not `in_(LIVE)`: SQLAlchemy expands an IN list anew on every execution of a statement.
_LIVE = or_(*(Booking.status == status for status in LIVE))


def _booking_scope(kind: FeedKind, scoped: bool) -> list[ColumnElement[bool]]:
    """The bookings a feed of this kind shows, its values bound by `_params`; `scoped`: a
    manager's feed of the facilities assigned (an administrator's shows every facility)."""
    conditions: list[ColumnElement[bool]] = [
        Booking.use_date >= bindparam("start"),
        Booking.use_date <= bindparam("end"),
        or_(
            _LIVE,
            and_(
                Booking.status == BookingStatus.CANCELLED,
                Booking.updated_at >= bindparam("since"),
            ),
        ),
    ]
    if kind is FeedKind.GROUP:
        conditions.append(Booking.group_id == bindparam("target"))
    elif kind is FeedKind.ROOM:
        conditions.append(Booking.room_id == bindparam("target"))
    elif kind in (FeedKind.FACILITY, FeedKind.FACILITY_STAFF):
        conditions.append(Booking.facility_id == bindparam("target"))
    elif scoped:
        conditions.append(Booking.facility_id.in_(bindparam("facilities", expanding=True)))
    if kind in PUBLIC:  # occupancy: a cancelled booking simply frees the slot
        conditions[2] = _LIVE
    return conditions


class FeedTarget(Protocol):
    """What a feed's statements need of it (a CalendarFeed has it)."""

    @property
    def kind(self) -> FeedKind: ...
    @property
    def target_id(self) -> int | None: ...


def _scoped(feed: FeedTarget, principal: Principal) -> bool:
    return feed.kind is FeedKind.MANAGER and not principal.is_admin


def _params(feed: FeedTarget, principal: Principal, win: Window) -> dict[str, Any]:
    params: dict[str, Any] = {
        "start": win.start,
        "end": win.end,
        "since": win.since,
        "target": feed.target_id,
    }
    if _scoped(feed, principal):
        params["facilities"] = sorted(principal.facility_ids)
    return params


@functools.cache
def _fingerprint_statement(kind: FeedKind, scoped: bool) -> AnySelect:
    """Built once per kind: building and keying a statement cost more than running it."""
    ident = cast(Booking.id, BigInteger)
    columns: list[ColumnElement[Any]] = [
        func.count(),
        func.sum(ident * ident),
        func.sum(Booking.sequence),
        func.max(Booking.updated_at),
    ]
    stmt = select(*columns)
    if kind is FeedKind.GROUP:  # one group: its row by key (a join per row is slower)
        revision = select(Group.revision).where(Group.id == bindparam("target"))
        stmt = select(*columns, revision.scalar_subquery())
    elif kind not in PUBLIC:  # public events show nothing of the group
        stmt = select(*columns, func.sum(Group.revision)).join(Group, Group.id == Booking.group_id)
    stmt = stmt.where(*_booking_scope(kind, scoped))
    if kind is FeedKind.GROUP:
        bookings = stmt.subquery()
        wins = _wins_fingerprint()
        stmt = select(bookings, wins).select_from(bookings).join(wins, true())
    return stmt


async def fingerprint(
    session: AsyncSession, feed: FeedTarget, principal: Principal, win: Window
) -> str:
    """What the feed's rows are now, in one aggregate query: it moves with any event entering
    or leaving (count, sum of squared ids), any change to one (SEQUENCE, updated_at) and any
    change to a group shown in it (the groups' revisions); a group's feed adds its lottery
    wins, aggregated alike in the same statement."""
    stmt = _fingerprint_statement(feed.kind, _scoped(feed, principal))
    parts = (await session.execute(stmt, _params(feed, principal, win))).one()
    return "|".join(str(part) for part in parts)


def _wins_fingerprint() -> Subquery:
    app_id = cast(LotteryApplication.id, BigInteger)
    status = case(
        (LotteryApplication.status == ApplicationStatus.WON, 1),
        (LotteryApplication.status == ApplicationStatus.CONFIRMED, 1_000),
        else_=1_000_000,
    )
    return (
        select(
            func.count(),
            func.sum(app_id * app_id),
            func.sum(status),
            func.max(LotteryApplication.settled_at),
        )
        .where(*_WIN_SCOPE)
        .subquery()
    )


@dataclass(frozen=True, slots=True)
class Validators:
    """What a feed last served: the digest of the body's inputs, the body's hash and when it
    last changed."""

    version: str | None
    etag: str | None
    last_modified: datetime | None

    @classmethod
    def of(cls, feed: CalendarFeed) -> Validators:
        return cls(feed.content_version, feed.etag, feed.last_modified)


def after_render(served: Validators, version: str, etag: str, now: datetime) -> Validators:
    """The validators after a render. A body unlike the last one gets its ETag and a
    Last-Modified at least a second after the previous one: never earlier (a cancelled newest
    booking, a clock set back) and never the same HTTP-date for two bodies."""
    if served.etag == etag:
        return Validators(version, etag, served.last_modified)
    second = now.astimezone(UTC).replace(microsecond=0)
    previous = served.last_modified
    return Validators(
        version, etag, second if previous is None else max(previous + timedelta(seconds=1), second)
    )


async def store_validators(
    sessionmaker: async_sessionmaker[AsyncSession],
    feed_id: int,
    served: Validators,
    new: Validators,
) -> None:
    """After the answer, in a short transaction of its own: a feed fetch is a read, and a write
    inside a read fails under concurrent writers on SQLite. Only if nobody stored others since
    (two fetches at once: the first wins, the second renders again next time). Best effort:
    busy or unreachable, the next fetch stores them."""
    try:
        async with sessionmaker.begin() as session:
            await session.execute(
                update(CalendarFeed)
                .where(
                    CalendarFeed.id == feed_id,
                    CalendarFeed.content_version.is_not_distinct_from(served.version),
                    CalendarFeed.etag.is_not_distinct_from(served.etag),
                )
                .values(content_version=new.version, etag=new.etag, last_modified=new.last_modified)
                .execution_options(synchronize_session=False)
            )
    except (SQLAlchemyError, OSError) as exc:
        if as_unavailable(exc) is None:
            raise
        log.info("validators of feed %s not stored: %s", feed_id, exc)


_PURPOSE_NAMES = "calendars.purpose_names"


async def purpose_names(
    session: AsyncSession, snapshot: NetworkSnapshot
) -> dict[str, tuple[str, str]]:
    """Purpose key -> (ja, en); read once per network revision (kept with the snapshot)."""
    found = snapshot.derived.get(_PURPOSE_NAMES)
    if isinstance(found, dict):
        return found
    rows = (await session.execute(select(Purpose.key, Purpose.name_ja, Purpose.name_en))).all()
    names = {key: (ja, en) for key, ja, en in rows}
    snapshot.derived[_PURPOSE_NAMES] = names
    return names


_WIN_SCOPE = (
    LotteryApplication.group_id == bindparam("target"),
    LotteryApplication.use_date >= bindparam("start"),
    LotteryApplication.use_date <= bindparam("end"),
    or_(
        LotteryApplication.status == ApplicationStatus.WON,
        and_(
            LotteryApplication.status.in_([ApplicationStatus.CONFIRMED, ApplicationStatus.LAPSED]),
            LotteryApplication.settled_at >= bindparam("since"),
        ),
    ),
)


EVENT_COLUMNS = (
    Booking.id,
    Booking.sequence,
    Booking.status,
    Booking.room_id,
    Booking.use_date,
    Booking.period_codes,
    Booking.updated_at,
    Booking.created_at,
    Booking.decided_at,
    Booking.event_name,
    Booking.purpose,
    Booking.headcount,
    Booking.fee_total,
    Booking.series_id,
    Group.name.label("group_name"),
    Group.email.label("group_email"),
    Group.phone.label("group_phone"),
)


def _events(conditions: Sequence[ColumnElement[bool]]) -> AnySelect:
    return (
        select(*EVENT_COLUMNS)
        .join(Group, Group.id == Booking.group_id)
        .where(*conditions)
        .order_by(Booking.use_date, Booking.id)
    )


async def event_rows(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> Sequence[Any]:
    """Plain rows, not ORM objects: a feed reads thousands, and most render from the cache."""
    return (await session.execute(_events(conditions))).all()


async def bookings_of(
    session: AsyncSession, feed: FeedTarget, principal: Principal, win: Window
) -> Sequence[Any]:
    stmt = _events_statement(feed.kind, _scoped(feed, principal))
    return (await session.execute(stmt, _params(feed, principal, win))).all()


@functools.cache
def _events_statement(kind: FeedKind, scoped: bool) -> AnySelect:
    return _events(_booking_scope(kind, scoped))


_WINS = (
    select(LotteryApplication)
    .where(*_WIN_SCOPE)
    .order_by(LotteryApplication.use_date, LotteryApplication.id)
)


async def wins_of(
    session: AsyncSession, feed: FeedTarget, win: Window
) -> Sequence[LotteryApplication]:
    if feed.kind is not FeedKind.GROUP:
        return []
    params = {"target": feed.target_id, "start": win.start, "end": win.end, "since": win.since}
    return (await session.scalars(_WINS, params)).all()
