"""What `booking worker` runs, and when: the one table of its duties (JOBS).

A pass runs the jobs in the table's order: those of EACH_PASS every pass, the others when
their interval has gone by since this process last ran them (a worker runs every job on its
first pass). A pass follows the last as soon as mail was delivered (more may be due), else
after BOOKING_WORKER_POLL_SECONDS. Every job is safe to run twice, and on two machines at
once: each claims its rows (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer) or
deletes what is past, so a second worker finds nothing left to do.

Holds and wait-list offers lapse on the minute, so they run every pass; the lottery draws
when its time comes; reminders are due by the day (a pass every few minutes is on time and
spares the database a query of bookings on each poll); purges are hourly housekeeping; mail
goes last, so what the pass wrote is sent in the same pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts import registrations, sessions
from booking.accounts.renewal_reminders import remind_renewals
from booking.clock import Clock, local_now
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import lottery_pass
from booking.notifications.delivery import deliver_due
from booking.reservations import claim_versions
from booking.reservations.holds import expire_holds, remind_holds
from booking.reservations.reminders import REMIND_FROM, remind_use_dates
from booking.settings import Settings
from booking.statistics.versions import PRUNE_HOUR, prune_at_night
from booking.waitlist.offers import waitlist_pass


@dataclass(frozen=True)
class Context:
    """What every job is given: a session factory (a job opens its own transactions), the
    clock, the settings and the worker's network snapshot cache."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    snapshots: SnapshotCache


Run = Callable[[Context], Awaitable[object]]
EACH_PASS = None  # every pass of the worker (BOOKING_WORKER_POLL_SECONDS apart when idle)


@dataclass(frozen=True)
class Job:
    name: str  # stable: job_runs' key and /metrics' label
    every: timedelta | None  # EACH_PASS or at least this long apart
    run: Run
    does: str  # one line, for the reader and `booking worker status`
    at: str | None = None  # the local hours it acts in, when it acts only then

    @property
    def when(self) -> str:
        every = "each pass" if self.every is None else f"every {_span(self.every)}"
        return f"{every}, {self.at}" if self.at else every


def _span(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def _domain(
    work: Callable[
        [async_sessionmaker[AsyncSession], Clock, Settings, SnapshotCache], Awaitable[object]
    ],
) -> Run:
    """A domain's worker pass: it opens its own transactions."""
    return lambda c: work(c.sessionmaker, c.clock, c.settings, c.snapshots)


async def _purge_sessions(c: Context) -> int:
    async with c.sessionmaker.begin() as session:
        return await sessions.purge_expired(session, c.clock, c.settings)


async def _purge_registrations(c: Context) -> int:
    async with c.sessionmaker.begin() as session:
        return await registrations.purge(session, c.clock)


async def _fold_claim_changes(c: Context) -> int:
    async with c.sessionmaker.begin() as session:
        return await claim_versions.fold(session)


async def _prune_statistics(c: Context) -> int:
    async with c.sessionmaker.begin() as session:
        return await prune_at_night(session, local_now(c.clock, c.settings.tz))


REMIND_EVERY = timedelta(minutes=5)
PURGE_EVERY = timedelta(hours=1)
_NIGHT = f"acts {PRUNE_HOUR:02d}:00-{PRUNE_HOUR:02d}:59 local"

# fmt: off
JOBS: tuple[Job, ...] = (
    Job("expire_holds", EACH_PASS, _domain(expire_holds),
        "release lapsed holds (slots to their wait lists first); tell the groups"),
    Job("waitlist_offers", EACH_PASS, _domain(waitlist_pass),
        "lapse wait-list offers (slot to the next in line), remind, close past lines"),
    Job("remind_holds", EACH_PASS, _domain(remind_holds),
        "mail a group whose hold has a day left"),
    Job("lottery", EACH_PASS, _domain(lottery_pass),
        "publish a cycle's commitment, draw what is due, remind winners, lapse wins"),
    Job("remind_use_dates", REMIND_EVERY, _domain(remind_use_dates),
        "mail groups two days before each use date", at=f"from {REMIND_FROM:%H:%M} local"),
    Job("remind_renewals", REMIND_EVERY, lambda c: remind_renewals(c.sessionmaker, c.clock,
        c.settings), "mail registrations due for renewal (from 1 February)"),
    Job("purge_sessions", PURGE_EVERY, _purge_sessions,
        "delete expired sessions, password links and spent login throttles"),
    Job("purge_registrations", PURGE_EVERY, _purge_registrations,
        "delete used and expired pending registrations (they hold birth dates)"),
    Job("prune_statistics", PURGE_EVERY, _prune_statistics,
        "empty the statistics change log once it has grown", at=_NIGHT),
    Job("fold_claim_changes", EACH_PASS, _fold_claim_changes,
        "fold the claims' change log into the months' versions (keeps their reads short)"),
    Job("deliver_mail", EACH_PASS, lambda c: deliver_due(c.sessionmaker, c.clock, c.settings),
        "send due outbox mail; retry with backoff, then dead"),
)
# fmt: on
MAIL = "deliver_mail"  # its report decides whether the next pass follows at once
