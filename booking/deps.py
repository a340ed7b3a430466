"""Providers shared by every domain's controllers: the session, the clock, the network, and
the request context that carries them together."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from booking.clock import Clock
from booking.db.engine import SQLITE_BEGIN
from booking.db.replica import Replica
from booking.errors import BookingError
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.reservations.claims_cache import ClaimsCache
from booking.settings import Settings
from booking.statistics.counts import CountsCache

# What these providers give is ours, not user input: handlers take it as is, unvalidated.
# Providers never raise: when a dependency raises, Litestar abandons the generator of the
# database session instead of closing it; refusals are raised by handlers (accounts/auth.py).
DbSession = NamedDependency[SkipValidation[AsyncSession]]
# Reads of public data that may lag a little: the replica's session or db_session itself.
ReadSession = NamedDependency[SkipValidation[AsyncSession]]
Network = NamedDependency[SkipValidation[NetworkSnapshot]]
CurrentClock = NamedDependency[SkipValidation[Clock]]
AppSettings = NamedDependency[SkipValidation[Settings]]
Claims = NamedDependency[SkipValidation[ClaimsCache]]
StatisticsCounts = NamedDependency[SkipValidation[CountsCache]]


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[AsyncSession, None]:
    """One request, one transaction: committed when the handler returns, rolled back if not.

    Litestar runs this cleanup before it sends the response, so a failed commit is an error
    response, never a 2xx for a write that did not happen. A safe request (GET, HEAD) on
    PostgreSQL reads in autocommit mode instead: no BEGIN and COMMIT round trips, which were
    a third of a small read's time (bench/availability.py); so does a handler whose one write
    is one statement (ONE_STATEMENT), atomic on its own.
    """
    async with state.sessionmaker() as session:
        bind = session.bind  # tests bind sessions to a connection inside their transaction
        if (
            (request.method in _SAFE_METHODS or _one_statement(request))
            and isinstance(bind, AsyncEngine)
            and bind.dialect.name == "postgresql"
        ):
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        elif (
            request.method in _SAFE_METHODS
            and isinstance(bind, AsyncEngine)
            and bind.dialect.name == "sqlite"
        ):
            # Reads need no write lock (writers take it at BEGIN: booking/db/engine.py).
            await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
        try:
            yield session
        except BookingError as exc:
            if exc.keeps_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except Exception:
            await session.rollback()
            raise
        await session.commit()


_SAFE_METHODS = frozenset({"GET", "HEAD"})
# A route's opt: its handler writes one statement on PostgreSQL (a booking:
# reservations/booking_writes.py), so it needs no transaction around it; BEGIN and COMMIT were
# two of a booking's seven round trips. Not with an Idempotency-Key: the stored answer is a
# second write, which must commit with the first.
ONE_STATEMENT = "one_statement"


def _one_statement(request: Request[Any, Any, Any]) -> bool:
    return request.route_handler.opt.get(ONE_STATEMENT) is True and (
        "idempotency-key" not in request.headers
    )


async def provide_read_session(
    state: State, request: Request[Any, Any, Any], db_session: DbSession
) -> AsyncGenerator[AsyncSession, None]:
    """For handlers that read only public data (availability, feeds, the public pages): the
    read replica's session when the request is anonymous and safe and the replica is in time,
    else the request's own db_session, so a person reads their own writes
    (booking/db/replica.py). The network snapshot stays db_session's: it is cached by revision."""
    replica: Replica | None = state.get("replica")
    session = await replica.open_session() if replica and replica.serves(request) else None
    if session is None or replica is None:
        yield db_session
        return
    try:
        yield session
    except (BookingError, HTTPException):
        raise  # the handler's answer, not the replica's failure
    except Exception as exc:
        replica.read_failed(request, exc)
        raise
    finally:
        await session.close()


def provide_clock(state: State) -> Clock:
    clock: Clock = state.clock
    return clock


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def provide_network(
    state: State,
    db_session: DbSession,
    auth: NamedDependency[SkipValidation[object]],
) -> NetworkSnapshot:
    """The network snapshot, checked against the inventory's revision that `auth` read with
    the credentials (no round trip of its own), else read now. It is resolved after `auth`
    anyway: Litestar runs independent providers concurrently, and both use the one session."""
    cache: SnapshotCache = state.snapshot_cache
    revision: int | None = getattr(auth, "inventory_revision", None)
    return await (cache.get(db_session) if revision is None else cache.at(db_session, revision))


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a use case needs of the request besides its input and its principal (STYLE.md's
    request context), built by one provider: a handler asks for `context` instead of four
    providers, which Litestar resolved concurrently in a task group of their own on every
    request (bench/bookings.py)."""

    session: AsyncSession
    clock: Clock
    settings: Settings
    network: NetworkSnapshot


async def provide_context(state: State, db_session: DbSession, network: Network) -> RequestContext:
    return RequestContext(db_session, state.clock, state.settings, network)


Context = NamedDependency[SkipValidation[RequestContext]]


def provide_claims_cache(state: State) -> ClaimsCache:
    cache: ClaimsCache = state.claims_cache
    return cache


def provide_statistics_counts(state: State) -> CountsCache:
    cache: CountsCache = state.statistics_counts
    return cache
