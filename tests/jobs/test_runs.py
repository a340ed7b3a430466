"""Each job's runs recorded for the operator (job_runs, booking/jobs/runs.py), on committed
databases of both engines with a set clock: a run records itself; a job that fails (here for
real: its table is gone) records its error while the others still run, and `booking worker
--once` says so and exits 1; the lag grows while the worker is stopped or a job keeps
failing; two workers at once share the work and the rows; `booking worker status` prints it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.jobs.models import JobRun
from booking.jobs.runs import job_lag
from booking.jobs.schedule import JOBS, Context
from booking.jobs.status import show
from booking.jobs.worker import WorkerReport, run_pass, run_worker
from booking.notifications.outbox import enqueue
from booking.settings import Settings
from tests.conftest import committed_database
from tests.helpers import jst

NAMES = [job.name for job in JOBS]
START = jst(date(2027, 6, 10), 10, 0)  # a Thursday morning in Tokyo
EACH_PASS = {
    "expire_holds",
    "waitlist_offers",
    "remind_holds",
    "lottery",
    "fold_claim_changes",
    "deliver_mail",
}
HOURLY = {"purge_sessions", "purge_registrations", "prune_statistics"}


@pytest.fixture
def settings(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(
        engine_settings, tmp_path, "jobs", mail_backend="files", mail_dir=tmp_path / "mail"
    ) as committed:
        yield committed


async def runs(settings: Settings) -> dict[str, JobRun]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return {row.job: row for row in await session.scalars(select(JobRun))}
    finally:
        await engine.dispose()


async def lags(settings: Settings, clock: FrozenClock, **poll: float) -> dict[str, float]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await job_lag(session, clock, **poll)
    finally:
        await engine.dispose()


async def status_lines(settings: Settings, clock: FrozenClock) -> list[str]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await show(session, clock, settings)
    finally:
        await engine.dispose()


async def execute(settings: Settings, statement: str) -> None:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(text(statement))
    finally:
        await engine.dispose()


async def queue_mail(settings: Settings, clock: FrozenClock) -> None:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            context = {"url": "https://booking.example/reset", "expires_minutes": 60}
            await enqueue(
                session, clock, to="a@example.jp", template="password_reset", context=context
            )
    finally:
        await engine.dispose()


def mails(settings: Settings) -> list[Path]:
    return sorted(settings.mail_path.glob("*.eml"))


async def test_a_pass_runs_every_job_of_the_table_and_records_each(settings: Settings) -> None:
    clock = FrozenClock(START)
    await queue_mail(settings, clock)
    report = await run_worker(settings, clock, once=True)
    assert (report.sent, report.failed) == (1, [])
    recorded = await runs(settings)
    assert sorted(recorded) == sorted(NAMES)
    for name, row in recorded.items():
        assert row.last_ok is True, name
        assert row.last_error is None
        assert row.first_seen_at == row.last_started_at == START
        assert row.last_finished_at == row.last_succeeded_at == START
        assert row.duration_ms is not None
        assert row.duration_ms >= 0
    assert await lags(settings, clock) == dict.fromkeys(NAMES, 0.0)


async def test_a_job_runs_again_only_when_its_interval_has_gone_by(settings: Settings) -> None:
    """One worker's passes (run_pass, as its loop runs them) a minute apart, then past each
    interval."""
    clock = FrozenClock(START)
    engine = create_engine(settings)
    finished: list[dict[str, object]] = []
    try:
        context = Context(create_sessionmaker(engine), clock, settings, SnapshotCache())
        last: dict[str, datetime] = {}
        for step in (timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=55), None):
            await run_pass(context, JOBS, last, WorkerReport())
            finished.append({n: r.last_finished_at for n, r in (await runs(settings)).items()})
            if step:
                clock.advance(step)
    finally:
        await engine.dispose()
    minute, five, hour = START + timedelta(minutes=1), START + timedelta(minutes=5), clock.now()
    assert [f["lottery"] for f in finished] == [START, minute, five, hour]
    assert [f["remind_use_dates"] for f in finished] == [START, START, five, hour]
    assert [f["purge_sessions"] for f in finished] == [START, START, START, hour]


async def test_a_failing_job_records_its_error_and_the_others_still_run(
    settings: Settings,
) -> None:
    clock = FrozenClock(START)
    await run_worker(settings, clock, once=True)
    clock.advance(timedelta(hours=1))
    await execute(settings, "DROP TABLE pending_registrations")  # under purge_registrations
    await queue_mail(settings, clock)  # for deliver_mail, which runs after it
    report = await run_worker(settings, clock, once=True)
    assert report.failed == ["purge_registrations"]
    assert report.sent == 1
    assert len(mails(settings)) == 1
    recorded = await runs(settings)
    broken = recorded["purge_registrations"]
    assert broken.last_ok is False
    assert broken.last_error is not None
    assert "pending_registrations" in broken.last_error
    assert broken.last_finished_at == START + timedelta(hours=1)
    assert broken.last_succeeded_at == START  # the last good run, kept
    others = {name: row for name, row in recorded.items() if name != "purge_registrations"}
    assert all(row.last_ok and row.last_succeeded_at == clock.now() for row in others.values())
    # It falls behind like a job that does not run, the others do not.
    clock.advance(timedelta(minutes=30))
    lag = await lags(settings, clock)
    assert lag["purge_registrations"] == 5400 - 3600
    assert lag["purge_sessions"] == 0
    lines = await status_lines(settings, clock)
    at = next(i for i, line in enumerate(lines) if line.startswith("purge_registrations "))
    assert "FAILED" in lines[at]
    assert "overdue 30 min" in lines[at]
    assert lines[at + 2] == "    last ok 2027-06-10 10:00:00"
    assert lines[at + 3].startswith("    error: ")
    assert "pending_registrations" in lines[at + 3]


async def test_the_lag_grows_while_the_worker_is_stopped(settings: Settings) -> None:
    clock = FrozenClock(START)
    assert await lags(settings, clock) == dict.fromkeys(NAMES, 0.0)  # no worker yet
    await run_worker(settings, clock, once=True)
    clock.advance(timedelta(minutes=10))
    lag = await lags(settings, clock)
    assert {name: lag[name] for name in EACH_PASS} == dict.fromkeys(EACH_PASS, 600 - 5)
    assert lag["remind_use_dates"] == lag["remind_renewals"] == 600 - 300
    assert {name: lag[name] for name in HOURLY} == dict.fromkeys(HOURLY, 0)
    assert (await lags(settings, clock, poll_seconds=60))["lottery"] == 600 - 60
    clock.advance(timedelta(hours=2))
    lag = await lags(settings, clock)
    assert lag["purge_sessions"] == 7800 - 3600
    assert lag["deliver_mail"] == 7800 - 5
    await run_worker(settings, clock, once=True)  # back: nothing overdue
    assert await lags(settings, clock) == dict.fromkeys(NAMES, 0.0)


async def test_a_job_never_run_is_overdue_from_when_a_worker_first_listed_it(
    settings: Settings,
) -> None:
    clock = FrozenClock(START)
    stopped = asyncio.Event()
    stopped.set()  # a worker that started and was stopped (or hung) before its first pass
    await run_worker(settings, clock, once=True, stop=stopped)
    assert {row.last_finished_at for row in (await runs(settings)).values()} == {None}
    clock.advance(timedelta(hours=1))
    lag = await lags(settings, clock)
    assert lag["deliver_mail"] == 3600 - 5
    assert lag["purge_sessions"] == 0
    lines = await status_lines(settings, clock)
    assert any(line.startswith("deliver_mail ") and "never run" in line for line in lines)


async def test_two_workers_at_once_share_the_work_and_the_rows(settings: Settings) -> None:
    clock = FrozenClock(START)
    for _ in range(3):
        await queue_mail(settings, clock)
    first, second = await asyncio.gather(
        run_worker(settings, clock, once=True), run_worker(settings, clock, once=True)
    )
    assert first.failed == second.failed == []
    assert first.sent + second.sent == 3
    assert len(mails(settings)) == 3
    recorded = await runs(settings)
    assert sorted(recorded) == sorted(NAMES)
    assert all(row.last_ok for row in recorded.values())


def booking(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BOOKING_DATA_DIR": str(settings.data_dir),
        "BOOKING_DATABASE_URL": settings.database_url or "",
        "BOOKING_MAIL_BACKEND": "files",
        "BOOKING_MAIL_DIR": str(settings.mail_path),
    }
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "booking", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_commands_say_what_ran_and_what_failed(settings: Settings) -> None:
    """`booking worker --once` exits 1 naming the failed job; `booking worker status` shows
    every job, its schedule, its last run and the error."""
    before = booking(settings, "worker", "status")
    assert before.returncode == 0, before.stderr
    assert "no worker has run against this database" in before.stdout
    ran = booking(settings, "worker", "--once")
    assert ran.returncode == 0, ran.stderr
    assert "sent 0, to retry 0, dead 0" in ran.stdout
    asyncio.run(execute(settings, "DROP TABLE pending_registrations"))
    failed = booking(settings, "worker", "--once")
    assert failed.returncode == 1
    assert "failed: purge_registrations" in failed.stderr
    shown = booking(settings, "worker", "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    for job in JOBS:
        line = next(line for line in lines if line.startswith(f"{job.name} "))
        assert job.when in line
        assert ("FAILED" if job.name == "purge_registrations" else " ok") in line
        assert f"    {job.does}" in lines
    assert any(line.startswith("    error: ") and "pending_registrations" in line for line in lines)
