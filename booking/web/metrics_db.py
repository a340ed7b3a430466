"""The database's share of /metrics, read once per scrape: mail waiting and dead in the
outbox, the lottery's open cycles (applications by status, draws done) and the wait lists
(waiting, offered) in one statement; how far each worker job is overdue (booking/jobs/runs.py,
one more on a table of ~10 rows).

Each count runs on an index over a bounded set (pending and dead mail, not the sent history;
use months from this month on, not past years; live wait-list entries through their partial
index), so a scrape costs about the same in the tenth year as in the first. Still, 100,000
open applications are 100,000 index entries counted: a process reuses its last counts for
BOOKING_METRICS_MAX_AGE_SECONDS (CountsCache), so two Prometheus servers, or anyone asking in
a loop (/metrics is never refused as overload), cost one count per few seconds, not one each.
The job lags are read at every scrape (a table of ~10 rows; they move by the second). A
database that does not answer within READ_TIMEOUT_SECONDS makes `booking_database_up` 0 and
the scrape goes on with what the processes counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import CompoundSelect, String, cast, func, literal, select, union_all
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.clock import Clock, local_now
from booking.db.engine import SQLITE_BEGIN
from booking.jobs.runs import job_lag
from booking.lottery.models import LotteryApplication, LotteryDraw
from booking.notifications.models import OutboxMessage, OutboxStatus
from booking.settings import Settings
from booking.waitlist.models import LIVE_ENTRY, WaitlistEntry

log = logging.getLogger("booking.web.metrics")

READ_TIMEOUT_SECONDS = 3.0


@dataclass
class DatabaseGauges:
    outbox: dict[str, int] = field(default_factory=dict)  # pending, dead
    applications: dict[tuple[str, str], int] = field(default_factory=dict)  # (month, status)
    draws: dict[str, int] = field(default_factory=dict)  # use month "YYYY-MM" -> draws done
    waitlist: dict[str, int] = field(default_factory=dict)  # waiting, offered
    job_lag: dict[str, float] = field(default_factory=dict)  # job -> seconds overdue


def counts_statement(first_open_month: date) -> CompoundSelect[str, str, str, int]:
    """(kind, status, use month, count) rows: one round trip for every count."""
    application, draw, entry = LotteryApplication, LotteryDraw, WaitlistEntry
    return union_all(
        select(literal("outbox"), cast(OutboxMessage.status, String), literal(""), func.count())
        .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.DEAD)))
        .group_by(OutboxMessage.status),
        select(
            literal("applications"),
            cast(application.status, String),
            cast(application.use_month, String),
            func.count(),
        )
        .where(application.use_month >= first_open_month)
        # In the index's order (month, facility, status): counted as the index is read,
        # no hash table over 100,000 applications (40% of the time); added up below.
        .group_by(application.use_month, application.facility_id, application.status),
        select(literal("draws"), literal(""), cast(draw.use_month, String), func.count())
        .where(draw.use_month >= first_open_month)
        .group_by(draw.use_month),
        select(literal("waitlist"), cast(entry.status, String), literal(""), func.count())
        .where(entry.status.in_(LIVE_ENTRY))
        .group_by(entry.status),
    )


async def _read_only(session: AsyncSession) -> None:
    bind = session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    elif isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite":
        await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})


async def read_counts(session: AsyncSession, first_open_month: date) -> DatabaseGauges:
    gauges = DatabaseGauges(
        outbox={OutboxStatus.PENDING.value: 0, OutboxStatus.DEAD.value: 0},
        waitlist={status.value: 0 for status in LIVE_ENTRY},
    )
    rows = await session.execute(counts_statement(first_open_month))
    for kind, status, month, count in rows:
        if kind == "outbox":
            gauges.outbox[status] = int(count)
        elif kind == "applications":
            key = (month[:7], status)
            gauges.applications[key] = gauges.applications.get(key, 0) + int(count)
        elif kind == "draws":
            gauges.draws[month[:7]] = int(count)
        else:
            gauges.waitlist[status] = int(count)
    return gauges


class CountsCache:
    """A process's last counts, reused while younger than the max age (measured from when
    their read began) for the same open months; a scrape that comes during a read waits for
    it and takes its counts rather than counting again."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._kept: tuple[date, float, DatabaseGauges] | None = None  # month, read at, counts

    async def counts(
        self, session: AsyncSession, first_open_month: date, max_age: float
    ) -> DatabaseGauges:
        async with self._lock:
            kept = self._kept
            if kept and kept[0] == first_open_month and self._monotonic() - kept[1] < max_age:
                return kept[2]
            started = self._monotonic()
            gauges = await read_counts(session, first_open_month)
            self._kept = (first_open_month, started, gauges)
            return gauges


async def read_database_gauges(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    cache: CountsCache | None = None,
) -> DatabaseGauges | None:
    """The counts (the cache's if it has them young enough; none given: read), or None when
    the database is away or slow (logged)."""
    first_open_month = local_now(clock, settings.tz).date().replace(day=1)
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS), sessionmaker() as session:
            await _read_only(session)
            if cache is None:
                counts = await read_counts(session, first_open_month)
            else:
                max_age = settings.metrics_max_age_seconds
                counts = await cache.counts(session, first_open_month, max_age)
            poll = settings.worker_poll_seconds
            lag = await job_lag(session, clock, poll_seconds=poll)
            return replace(counts, job_lag=lag)  # the kept counts stay as read
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("/metrics: the database's counts were not read: %s", type(exc).__name__)
        return None


class DatabaseCollector(Collector):
    """One scrape's database figures as Prometheus gauges."""

    def __init__(self, gauges: DatabaseGauges | None, read_seconds: float) -> None:
        self.gauges = gauges
        self.read_seconds = read_seconds

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "booking_database_up",
            "1 when this scrape read the database's counts, 0 when it could not.",
            value=0 if self.gauges is None else 1,
        )
        yield GaugeMetricFamily(
            "booking_metrics_database_read_seconds",
            "How long this scrape's read of the database took.",
            value=self.read_seconds,
        )
        if self.gauges is not None:
            yield from _families(self.gauges)


def _families(gauges: DatabaseGauges) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "booking_outbox_queued",
        "Mails in the outbox waiting to be sent (incl. retries).",
        value=gauges.outbox.get(OutboxStatus.PENDING.value, 0),
    )
    yield GaugeMetricFamily(
        "booking_outbox_dead",
        "Mails given up on (refused or out of attempts): `booking outbox requeue`.",
        value=gauges.outbox.get(OutboxStatus.DEAD.value, 0),
    )
    yield _by_label(
        "booking_lottery_applications",
        "Lottery applications of the open cycles (use months from this month on), by status.",
        ["use_month", "status"],
        gauges.applications.items(),
    )
    yield _by_label(
        "booking_lottery_draws",
        "Facility draws done for the open cycles, by use month.",
        ["use_month"],
        (((month,), count) for month, count in gauges.draws.items()),
    )
    yield _by_label(
        "booking_waitlist_entries",
        "Wait-list entries still in line: waiting, or holding an open offer (offered).",
        ["status"],
        (((status,), count) for status, count in gauges.waitlist.items()),
    )
    if gauges.job_lag:
        yield _by_label(
            "booking_worker_job_lag_seconds",
            "How far each worker job is overdue (0: on time), from its last successful run.",
            ["job"],
            (((job,), seconds) for job, seconds in gauges.job_lag.items()),
        )


def _by_label(
    name: str,
    documentation: str,
    labels: list[str],
    samples: Iterable[tuple[tuple[str, ...], float]],
) -> GaugeMetricFamily:
    """One gauge family, a sample per label tuple, in label order."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(samples):
        family.add_metric(list(key), value)
    return family
