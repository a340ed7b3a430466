"""An optional PostgreSQL streaming replica for the reads that may lag a little (issue 20).

Availability, calendar feeds and the public pages read `read_session` (booking/deps.py): the
replica's session when the request is anonymous and safe (GET, HEAD, no credentials) and the
replica is known to be at most `read_max_lag_seconds` behind; otherwise the request's own
primary session, so anyone logged in, and any write, reads what was written.

How far behind: a task per process asks, every second or so, the primary for its WAL position
and then the replica for the position it has replayed. When the replica has replayed what the
primary had written at a moment, it holds everything committed before that moment; the lag is
the time since the latest such moment. An idle primary writes nothing: the replica has
replayed everything and lags 0 (its last replay timestamp, which stops moving, is no measure).

A replica that fails a request is retried on the primary in the same request
(`replica_retry_middleware`) and is not used again until the watch finds it answering.
The network snapshot is read from the primary only (it is cached by revision, and so is what
is derived from it); the claims cache keeps the replica's months apart from the primary's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, Scope, Send
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.db.engine import create_engine
from booking.settings import Settings

log = logging.getLogger(__name__)

READ_REPLICA = "read_replica"  # AsyncSession.info key: the session reads the replica
SESSION_COOKIE = "booking_session"  # booking/accounts/auth.py's (a test checks they agree)
SAFE_METHODS = frozenset({"GET", "HEAD"})
_FAILED = "booking.replica_failed"  # scope key: a read on the replica failed: run it again
CONNECT_TIMEOUT_SECONDS = 2.0  # a replica host that does not answer is not waited for long

_PRIMARY_LSN = "SELECT (pg_current_wal_lsn() - '0/0')::bigint"
_REPLICA_STATE = (
    "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0')::bigint,"
    " extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
)


class Replica:
    """The replica's engine, what is known of its lag, and the watch that keeps it known."""

    def __init__(
        self,
        engine: AsyncEngine,
        probes: tuple[AsyncEngine, AsyncEngine],
        max_lag_seconds: float,
        interval_seconds: float | None = None,
    ) -> None:
        """`engine`: the requests' pool on the replica; `probes`: the watch's own connections
        to the primary and to the replica, so that it neither waits for a busy pool nor
        discards the requests' connections when it finds the replica gone."""
        # Reads only: autocommit, no BEGIN and COMMIT round trips.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, info={READ_REPLICA: True}
        )
        self._primary, self._replica = (
            probe.execution_options(isolation_level="AUTOCOMMIT") for probe in probes
        )
        self.max_lag = max_lag_seconds
        self.interval = interval_seconds or min(1.0, max_lag_seconds / 4)
        # The latest moment (time.monotonic) at which the replica is known to have held
        # everything the primary had committed; None: unknown, down, or not a replica.
        self.caught_up_at: float | None = None
        self._samples: deque[tuple[float, int]] = deque()  # (when, primary's WAL position)
        self._warned = False

    def lag(self) -> float | None:
        """Seconds behind the primary at most; None when unknown."""
        if self.caught_up_at is None:
            return None
        return time.monotonic() - self.caught_up_at

    def usable(self) -> bool:
        lag = self.lag()
        return lag is not None and lag <= self.max_lag

    def failed(self) -> None:
        """A read failed: not used again until the watch finds it answering."""
        self.caught_up_at = None

    def serves(self, request: Request[Any, Any, Any]) -> bool:
        """Whether this request reads the replica: anonymous, safe, not a retry, in time."""
        scope: dict[str, Any] = request.scope  # type: ignore[assignment]
        return (
            request.method in SAFE_METHODS
            and not scope.get(_FAILED)
            and "authorization" not in request.headers
            and not request.cookies.get(SESSION_COOKIE)
            and self.usable()
        )

    async def open_session(self) -> AsyncSession | None:
        """A session on the replica, connected; None (and the replica set aside) if it cannot
        connect."""
        session = self.sessionmaker()
        try:
            await session.connection()
        except (SQLAlchemyError, OSError) as exc:
            await session.close()
            self.failed()
            log.warning("read replica unreachable, reading the primary: %s", exc)
            return None
        return session

    def read_failed(self, request: Request[Any, Any, Any], exc: BaseException) -> None:
        """The handler failed while reading the replica: answer again from the primary."""
        scope: dict[str, Any] = request.scope  # type: ignore[assignment]
        scope[_FAILED] = True
        self.failed()
        log.warning("read on the replica failed, reading the primary: %r", exc)

    async def check(self) -> None:
        """One look at the lag: the primary's position first, then the replica's."""
        timeout = max(2 * self.interval, 2.0)
        now = time.monotonic()
        try:
            async with asyncio.timeout(timeout), self._primary.connect() as primary:
                position = int((await primary.exec_driver_sql(_PRIMARY_LSN)).scalar_one())
            self._samples.append((now, position))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.info("read replica watch: no position from the primary: %s", exc)
        while self._samples and self._samples[0][0] < now - self.max_lag - 2 * self.interval:
            self._samples.popleft()
        try:
            async with asyncio.timeout(timeout), self._replica.connect() as replica:
                row = (await replica.exec_driver_sql(_REPLICA_STATE)).one()
            asked = time.monotonic()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if self.caught_up_at is not None:
                log.warning("read replica unreachable: %s", exc)
            self.caught_up_at = None
            return
        self.caught_up_at = self._caught_up(row, asked)

    def _caught_up(self, row: Any, asked: float) -> float | None:
        in_recovery, replayed, replay_age = row
        if not in_recovery:  # promoted, or the URL names a primary: it could have diverged
            if not self._warned:
                log.warning("BOOKING_DATABASE_READ_URL is not a standby: not used")
                self._warned = True
            return None
        moments = [when for when, position in self._samples if position <= replayed]
        # Its last replayed commit's age also bounds the lag (before any sample is old enough).
        if replay_age is not None:
            moments.append(asked - max(replay_age, 0.0))
        return max(moments, default=None)

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)


@asynccontextmanager
async def replica_reads(state: State, settings: Settings) -> AsyncIterator[None]:
    """While serving: the replica in `state.replica` and its watch running, if one is set."""
    url = settings.database_read_url
    if not url:
        yield
        return
    if (
        make_url(url).get_backend_name() != "postgresql"
        or make_url(settings.effective_database_url).get_backend_name() != "postgresql"
    ):
        log.error("BOOKING_DATABASE_READ_URL ignored: a replica is PostgreSQL's, of PostgreSQL")
        yield
        return
    one = settings.model_copy(update={"db_pool_size": 1})
    engines = [create_engine(settings, url), create_engine(one), create_engine(one, url)]
    for engine in (engines[0], engines[2]):
        event.listen(engine.sync_engine, "do_connect", _connect_timeout)
    replica = Replica(engines[0], (engines[1], engines[2]), settings.read_max_lag_seconds)
    state.replica = replica
    stop = asyncio.Event()
    watching = asyncio.create_task(replica.watch(stop))
    try:
        yield
    finally:
        stop.set()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        state.replica = None
        for engine in engines:
            await engine.dispose()


def _connect_timeout(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
    params.setdefault("timeout", CONNECT_TIMEOUT_SECONDS)


def replica_retry_middleware(app: ASGIApp) -> ASGIApp:
    """A safe request whose read on the replica failed is answered again from the primary:
    the failed answer (an error page or problem) is dropped before anything is sent."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] not in SAFE_METHODS:
            await app(scope, receive, send)
            return
        state: dict[str, Any] = scope  # type: ignore[assignment]
        dropped = False

        async def unless_failed(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and state.get(_FAILED):
                dropped = True
            if not dropped:
                await send(message)

        await app(scope, receive, unless_failed)
        if dropped:
            await app(scope, _no_body, send)  # a GET's body, if any, was read the first time

    return middleware


async def _no_body() -> HTTPRequestEvent:
    return {"type": "http.request", "body": b"", "more_body": False}
