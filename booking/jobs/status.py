"""`booking worker status`: the operator's view of the jobs — what runs when, when each last
ran (local time), how long it took, whether it failed and why, how far it is overdue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
from booking.jobs.runs import Status, job_status
from booking.settings import Settings

_RESULT = {True: "ok", False: "FAILED", None: "never run"}
_ROW = "{:<20} {:<34} {:<19} {:>8}  {:<9} {}"


def duration(seconds: float) -> str:
    """A span as a person reads it: '0 s', '42 s', '7 min', '3 h 5 min', '2 d 4 h'."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, hours, days = whole // 60 % 60, whole // 3600 % 24, whole // 86400
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _line(status: Status, settings: Settings) -> list[str]:
    run = status.run
    last: datetime | None = run.last_finished_at if run else None
    when = f"{last.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}" if last else "never"
    took = f"{run.duration_ms} ms" if run and run.duration_ms is not None else ""
    result = "no worker" if run is None else _RESULT[run.last_ok]
    overdue = f"overdue {duration(status.lag_seconds)}" if status.lag_seconds >= 1 else ""
    lines = [_ROW.format(status.job.name, status.job.when, when, took, result, overdue).rstrip()]
    lines.append(f"    {status.job.does}")
    if run is not None and run.last_ok is False:
        if run.last_succeeded_at is not None:
            ok_at = run.last_succeeded_at.astimezone(settings.tz)
            lines.append(f"    last ok {ok_at:%Y-%m-%d %H:%M:%S}")
        error = (run.last_error or "").splitlines() or [""]
        lines.append(f"    error: {error[0]}")
        lines.extend(f"           {line}" for line in error[1:])  # SQL, parameters
    return lines


async def show(session: AsyncSession, clock: Clock, settings: Settings) -> list[str]:
    """The lines `booking worker status` prints, every job of the schedule in its order."""
    statuses = await job_status(session, clock, poll_seconds=settings.worker_poll_seconds)
    now = clock.now().astimezone(settings.tz)
    lines = [
        (
            f"jobs at {now:%Y-%m-%d %H:%M:%S} {settings.tz.key}; each pass: "
            f"BOOKING_WORKER_POLL_SECONDS={settings.worker_poll_seconds:g} apart when idle"
        ),
        _ROW.format("job", "runs", "last finished", "took", "result", "").rstrip(),
    ]
    for status in statuses:
        lines.extend(_line(status, settings))
    if all(status.run is None for status in statuses):
        lines.append("no worker has run against this database: start `booking worker`")
    return lines
