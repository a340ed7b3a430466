"""A worker's pass in process (booking/jobs/worker.py) with jobs of the test's own: what a run
records, what a failure says, the mail report summed over passes, a job not yet due skipped
without stopping the pass, and a record that cannot be written leaving the duties done.
test_runs.py runs the real table of jobs against a committed database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.jobs.models import JobRun
from booking.jobs.schedule import EACH_PASS, MAIL, Context, Job
from booking.jobs.worker import WorkerReport, run_job, run_pass, run_worker
from booking.notifications.delivery import DeliveryReport
from booking.settings import Settings
from tests.conftest import Database, committed_database


@contextmanager
def logged() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("booking.jobs")
    log.addHandler(handler)
    try:
        yield records
    finally:
        log.removeHandler(handler)


@pytest.fixture
def context(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, database: Database
) -> Context:
    return Context(sessionmaker, clock, database.settings, SnapshotCache())


async def _boom(_: Context) -> None:
    raise ValueError("the table is gone")


async def _slow(_: Context) -> str:
    await asyncio.sleep(0.2)
    return "done"


async def test_a_run_says_how_long_it_took_and_what_it_returned(context: Context) -> None:
    result, outcome = await run_job(context, Job("slow", EACH_PASS, _slow, "sleeps"))
    assert result == "done"
    assert outcome.job == "slow"
    assert outcome.error is None
    assert 200 <= outcome.duration_ms < 2000
    assert outcome.started_at == outcome.finished_at == context.clock.now()


async def test_a_failed_run_says_why_and_logs_it(context: Context) -> None:
    with logged() as records:
        result, outcome = await run_job(context, Job("boom", EACH_PASS, _boom, "fails"))
    assert result is None
    assert outcome.error == "ValueError: the table is gone"
    (record,) = records
    assert record.getMessage() == "job boom failed"
    assert record.exc_info is not None


def _mail(reports: list[DeliveryReport]) -> Job:
    async def deliver(_: Context) -> DeliveryReport:
        return reports.pop(0)

    return Job(MAIL, EACH_PASS, deliver, "delivers")


async def test_the_mail_of_every_pass_is_summed(context: Context) -> None:
    report = WorkerReport()
    reports = [DeliveryReport(2, 1, 1), DeliveryReport(0, 0, 1), DeliveryReport()]
    jobs = [_mail(reports)]
    assert await run_pass(context, jobs, {}, report) is True
    assert await run_pass(context, jobs, {}, report) is True  # one mail handled is enough
    assert await run_pass(context, jobs, {}, report) is False  # nothing: the worker may rest
    assert (report.sent, report.retried, report.dead) == (2, 1, 2)


async def test_a_pass_without_mail_lets_the_worker_rest(context: Context) -> None:
    report = WorkerReport()
    assert await run_pass(context, [Job("slow", EACH_PASS, _slow, "sleeps")], {}, report) is False


async def test_a_job_not_yet_due_is_skipped_and_the_pass_goes_on(
    context: Context, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    hourly = Job("hourly", timedelta(hours=1), _slow, "hourly")
    last = {"hourly": context.clock.now() - timedelta(minutes=59)}
    report = WorkerReport()
    jobs = [hourly, Job("boom", EACH_PASS, _boom, "fails"), Job("slow", EACH_PASS, _slow, "s")]
    with logged():
        await run_pass(context, jobs, last, report)
        await run_pass(context, jobs, last, report)
    assert report.failed == ["boom"]  # once, however often it fails
    async with sessionmaker() as session:
        ran = {row.job: row for row in await session.scalars(select(JobRun))}
    assert set(ran) == {"boom", "slow"}
    assert ran["boom"].last_ok is False
    assert ran["slow"].last_ok is True
    assert last["slow"] == context.clock.now()


async def test_a_run_that_cannot_be_recorded_leaves_the_duties_done(
    context: Context, tmp_path: Path
) -> None:
    """The record is for the operator: a database without job_runs does not stop the pass."""
    empty = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.sqlite3'}"))
    try:
        unrecorded = Context(
            create_sessionmaker(empty), context.clock, context.settings, context.snapshots
        )
        report = WorkerReport()
        jobs = [Job("slow", EACH_PASS, _slow, "s"), _mail([DeliveryReport(1, 0, 0)])]
        with logged() as records:
            assert await run_pass(unrecorded, jobs, {}, report) is True
    finally:
        await empty.dispose()
    assert report.sent == 1  # the mail job after it ran
    messages = [r.getMessage() for r in records]
    assert messages == [
        "could not record the run of job slow",
        f"could not record the run of job {MAIL}",
    ]


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(
        engine_settings, tmp_path, "worker", mail_backend="files", worker_poll_seconds=0.05
    ) as settings:
        yield settings


async def test_a_worker_runs_passes_until_stopped_and_rests_between_them(
    committed: Settings, clock: FrozenClock
) -> None:
    """Not `once`: a pass that handled mail is followed at once by the next, an idle one by
    a rest of BOOKING_WORKER_POLL_SECONDS, until told to stop."""
    passes: list[float] = []

    async def counted(_: Context) -> DeliveryReport:
        passes.append(asyncio.get_running_loop().time())
        return DeliveryReport(sent=1 if len(passes) == 1 else 0)

    stop = asyncio.Event()
    with logged() as records:
        working = asyncio.create_task(
            run_worker(committed, clock, stop=stop, jobs=[Job(MAIL, EACH_PASS, counted, "m")])
        )
        await asyncio.sleep(1.0)
        assert not working.done()  # neither a pass with mail nor an idle one ends it
        stop.set()
        report = await asyncio.wait_for(working, 5.0)
    assert report.sent == 1
    assert len(passes) >= 4  # rests of 0.05 s, not until stopped
    assert passes[1] - passes[0] < 0.05  # after mail: at once
    assert [r.getMessage() for r in records if r.levelno == logging.WARNING] == [
        "mail is not sent: BOOKING_MAIL_BACKEND=files"
    ]


async def test_once_a_worker_stops_after_a_pass_without_mail(
    committed: Settings, clock: FrozenClock
) -> None:
    passes: list[int] = []

    async def counted(_: Context) -> DeliveryReport:
        passes.append(1)
        return DeliveryReport(sent=1 if len(passes) == 1 else 0)

    smtp = committed.model_copy(update={"mail_backend": "smtp"})
    with logged() as records:
        report = await asyncio.wait_for(
            run_worker(smtp, clock, once=True, jobs=[Job(MAIL, EACH_PASS, counted, "m")]), 5.0
        )
    assert (len(passes), report.sent) == (2, 1)
    assert not [r for r in records if r.levelno == logging.WARNING]  # mail goes out
