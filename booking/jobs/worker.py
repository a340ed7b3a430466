"""`booking worker`: run the schedule's jobs (schedule.py) pass after pass until stopped, or
until the mail is drained with `--once`; record each run in job_runs (runs.py).

A job that raises is logged and recorded with its error, and the pass goes on to the next:
one broken duty (a template, a bad row) must not stop mail, holds or the lottery. The job is
tried again when it is next due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.jobs.runs import Outcome, record, register
from booking.jobs.schedule import JOBS, MAIL, Context, Job
from booking.notifications.delivery import DeliveryReport
from booking.settings import Settings

log = logging.getLogger("booking.jobs")


@dataclass
class WorkerReport(DeliveryReport):
    """The mail delivered while running, and the jobs that failed (by name, once each)."""

    failed: list[str] = field(default_factory=list)


def _due(job: Job, last: dict[str, datetime], now: datetime) -> bool:
    ran = last.get(job.name)
    return job.every is None or ran is None or now - ran >= job.every


async def run_job(context: Context, job: Job) -> tuple[object, Outcome]:
    """Run one job, never raising for it: its result (None if it failed) and its outcome."""
    started, began = context.clock.now(), time.monotonic()
    result: object = None
    error = None
    try:
        result = await job.run(context)
    except Exception as exc:  # recorded; the pass goes on to the next job
        log.exception("job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"
    elapsed = round((time.monotonic() - began) * 1000)
    return result, Outcome(job.name, started, context.clock.now(), elapsed, error)


async def run_pass(
    context: Context, jobs: Sequence[Job], last: dict[str, datetime], report: WorkerReport
) -> bool:
    """Run the jobs due, in order, recording each; True if mail was handled (more may be due)."""
    handled = False
    for job in jobs:
        if not _due(job, last, context.clock.now()):
            continue
        result, outcome = await run_job(context, job)
        last[job.name] = outcome.finished_at
        if outcome.error is not None and job.name not in report.failed:
            report.failed.append(job.name)
        try:
            await record(context.sessionmaker, outcome)
        except Exception:  # the record is for the operator; the duty came first
            log.exception("could not record the run of job %s", job.name)
        if job.name == MAIL and isinstance(result, DeliveryReport):
            report.sent += result.sent
            report.retried += result.retried
            report.dead += result.dead
            handled = result.handled > 0
    return handled


async def run_worker(
    settings: Settings,
    clock: Clock,
    *,
    once: bool = False,
    stop: asyncio.Event | None = None,
    jobs: Sequence[Job] = JOBS,
) -> WorkerReport:
    """Run passes until stopped (SIGINT/SIGTERM when run as a command), or, with `once`,
    until a pass delivers no mail."""
    stop = stop or asyncio.Event()
    if not once:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    if settings.mail_backend != "smtp":
        log.warning("mail is not sent: BOOKING_MAIL_BACKEND=%s", settings.mail_backend)
    engine = create_engine(settings)
    report = WorkerReport()
    try:
        context = Context(create_sessionmaker(engine), clock, settings, SnapshotCache())
        await register(context.sessionmaker, clock, jobs)
        last: dict[str, datetime] = {}
        while not stop.is_set():
            if await run_pass(context, jobs, last, report):
                continue  # more may be due
            if once:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)
    finally:
        await engine.dispose()
    return report
