"""What `booking worker status` prints (booking/jobs/status.py), line by line, from job_runs
rows written here: test_runs.py runs the command in a process of its own and checks what a real
worker left; this pins the words and columns an operator reads, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.jobs.models import JobRun
from booking.jobs.status import duration, show
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, Database

HEADER = (
    "job                  runs                               last finished           took  result"
)


@pytest.fixture
def settings(database: Database) -> Settings:
    # Not the default 5 s: the jobs of each pass are overdue past this interval.
    return database.settings.model_copy(update={"worker_poll_seconds": 2.0})


def _line(lines: list[str], job: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(f"{job} "))


async def test_no_worker_yet(session: AsyncSession, clock: FrozenClock, settings: Settings) -> None:
    lines = await show(session, clock, settings)
    assert lines[0] == (
        "jobs at 2026-11-25 10:00:00 Asia/Tokyo; each pass: "
        "BOOKING_WORKER_POLL_SECONDS=2 apart when idle"
    )
    assert lines[1] == HEADER
    i = _line(lines, "expire_holds")
    assert lines[i] == (
        "expire_holds         each pass                         "
        " never                         no worker"
    )
    assert lines[-1] == "no worker has run against this database: start `booking worker`"


async def test_a_run_a_failure_and_a_job_never_run(
    session: AsyncSession, clock: FrozenClock, settings: Settings
) -> None:
    now = DEFAULT_NOW
    session.add_all(
        [
            JobRun(
                job="expire_holds",
                first_seen_at=now - timedelta(hours=1),
                last_started_at=now - timedelta(seconds=31),
                last_finished_at=now - timedelta(seconds=30),
                last_succeeded_at=now - timedelta(seconds=30),
                last_ok=True,
                duration_ms=12,
            ),
            JobRun(
                job="purge_registrations",
                first_seen_at=now - timedelta(days=3),
                last_started_at=now - timedelta(minutes=5),
                last_finished_at=now - timedelta(minutes=5),
                last_succeeded_at=now - timedelta(hours=3, minutes=5),
                last_ok=False,
                last_error="no such table: pending_registrations\n[SQL: DELETE FROM x]\n[params]",
            ),
            JobRun(job="lottery", first_seen_at=now - timedelta(days=2, hours=5)),
        ]
    )
    await session.flush()
    lines = await show(session, clock, settings)
    i = _line(lines, "expire_holds")
    # Overdue: 30 s since it succeeded, less the 2 s of a pass.
    assert lines[i : i + 2] == [
        (
            "expire_holds         each pass                         "
            " 2026-11-25 09:59:30    12 ms  ok        overdue 28 s"
        ),
        "    release lapsed holds (slots to their wait lists first); tell the groups",
    ]
    i = _line(lines, "purge_registrations")
    assert lines[i : i + 5] == [
        (
            "purge_registrations  every 1 h                         "
            " 2026-11-25 09:55:00           FAILED    overdue 2 h 5 min"
        ),
        "    delete used and expired pending registrations (they hold birth dates)",
        "    last ok 2026-11-25 06:55:00",
        "    error: no such table: pending_registrations",
        "           [SQL: DELETE FROM x]",
    ]
    assert lines[i + 5] == "           [params]"
    i = _line(lines, "lottery")
    assert lines[i] == (
        "lottery              each pass                          never                         "
        "never run overdue 2 d 4 h"
    )
    i = _line(lines, "deliver_mail")
    assert lines[i] == (
        "deliver_mail         each pass                         "
        " never                         no worker"
    )
    assert "no worker has run against this database" not in "\n".join(lines)


async def test_a_failure_without_words_and_a_run_in_time(
    session: AsyncSession, clock: FrozenClock, settings: Settings
) -> None:
    now = DEFAULT_NOW
    session.add_all(
        [
            JobRun(
                job="expire_holds",
                first_seen_at=now - timedelta(hours=1),
                last_finished_at=now - timedelta(seconds=2),
                last_succeeded_at=now - timedelta(seconds=2),
                last_ok=True,
                duration_ms=0,
            ),
            JobRun(job="waitlist_offers", first_seen_at=now - timedelta(seconds=3)),
            JobRun(
                job="deliver_mail",
                first_seen_at=now - timedelta(seconds=2, milliseconds=900),
                last_finished_at=now,
                last_ok=False,
            ),
        ]
    )
    await session.flush()
    lines = await show(session, clock, settings)
    i = _line(lines, "expire_holds")
    # Its interval not yet gone by (2 s): not overdue.
    assert lines[i] == (
        "expire_holds         each pass                          2026-11-25 09:59:58     0 ms  ok"
    )
    i = _line(lines, "waitlist_offers")
    assert lines[i] == (  # 1 s overdue exactly: said from the first second
        "waitlist_offers      each pass                          never                         "
        "never run overdue 1 s"
    )
    i = _line(lines, "deliver_mail")
    # Less than a second overdue is not said; a failure that left no message says so empty.
    assert lines[i : i + 3] == [
        (
            "deliver_mail         each pass                         "
            " 2026-11-25 10:00:00           FAILED"
        ),
        "    send due outbox mail; retry with backoff, then dead",
        "    error: ",
    ]
    assert lines[i + 3 :] == []  # the last job, and no further error lines


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.9, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 0 min"),
        (3 * 3600 + 5 * 60, "3 h 5 min"),
        (86399, "23 h 59 min"),
        (86400, "1 d 0 h"),
        (2 * 86400 + 4 * 3600 + 59, "2 d 4 h"),
    ],
)
def test_durations_as_a_person_reads_them(seconds: float, said: str) -> None:
    assert duration(seconds) == said
