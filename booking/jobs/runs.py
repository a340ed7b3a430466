"""Each job's last run, for the operator: recorded by the worker (one upsert a run), read by
`booking worker status` and by /metrics (job_lag)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import Clock
from booking.db.upsert import insert_for
from booking.jobs.models import JobRun
from booking.jobs.schedule import JOBS, Job

ERROR_CHARS = 2000  # the start of a traceback's last line is what an operator needs


async def register(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, jobs: Sequence[Job]
) -> None:
    """A starting worker lists its jobs (one statement): a job it never manages to run is
    overdue from now. Rows already there are left as they are."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        await session.execute(
            insert_for(session)(JobRun)
            .values([{"job": job.name, "first_seen_at": now} for job in jobs])
            .on_conflict_do_nothing(index_elements=[JobRun.job])
        )


@dataclass(frozen=True)
class Outcome:
    job: str
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    error: str | None = None  # None: it succeeded


async def record(sessionmaker: async_sessionmaker[AsyncSession], outcome: Outcome) -> None:
    """One upsert: the run's times and result; a failure keeps the last success's time."""
    ok = outcome.error is None
    values: dict[str, Any] = {
        "last_started_at": outcome.started_at,
        "last_finished_at": outcome.finished_at,
        "last_ok": ok,
        "last_error": None if ok else (outcome.error or "")[:ERROR_CHARS],
        "duration_ms": outcome.duration_ms,
    }
    if ok:
        values["last_succeeded_at"] = outcome.finished_at
    async with sessionmaker.begin() as session:
        stmt = insert_for(session)(JobRun).values(
            job=outcome.job, first_seen_at=outcome.started_at, **values
        )
        await session.execute(stmt.on_conflict_do_update(index_elements=[JobRun.job], set_=values))


async def _rows(session: AsyncSession) -> dict[str, JobRun]:
    return {row.job: row for row in await session.scalars(select(JobRun))}


def interval(job: Job, poll_seconds: float) -> timedelta:
    return job.every if job.every is not None else timedelta(seconds=poll_seconds)


def lag(job: Job, row: JobRun | None, now: datetime, poll_seconds: float) -> float:
    """Seconds the job is overdue: since its last success (or, never run, since a worker
    first listed it), less its interval; never negative. No row, no worker yet: 0."""
    if row is None:
        return 0.0
    since = row.last_succeeded_at or row.first_seen_at
    return max(0.0, (now - since - interval(job, poll_seconds)).total_seconds())


async def job_lag(
    session: AsyncSession, clock: Clock, *, poll_seconds: float = 5.0
) -> dict[str, float]:
    """Seconds each job of the schedule is overdue (for /metrics), every job named. A job
    that fails each time falls behind like one that does not run. Pass the settings'
    worker_poll_seconds: the interval of the jobs run each pass."""
    rows = await _rows(session)
    now = clock.now()
    return {job.name: lag(job, rows.get(job.name), now, poll_seconds) for job in JOBS}


@dataclass(frozen=True)
class Status:
    job: Job
    run: JobRun | None
    lag_seconds: float


async def job_status(
    session: AsyncSession, clock: Clock, *, poll_seconds: float = 5.0
) -> list[Status]:
    """Every job of the schedule with its last run, in the table's order."""
    rows = await _rows(session)
    now = clock.now()
    return [
        Status(job, rows.get(job.name), lag(job, rows.get(job.name), now, poll_seconds))
        for job in JOBS
    ]
