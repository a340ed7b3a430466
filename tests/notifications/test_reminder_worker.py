"""Issue 18: `booking worker` runs the use-date and renewal reminders in its loop, and two
workers at once on committed data send each reminder once (the rows are claimed: FOR UPDATE
SKIP LOCKED on PostgreSQL, one writer on SQLite)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from booking.clock import FrozenClock
from booking.jobs.worker import run_worker
from tests.helpers import jst
from tests.waitlist.test_races import GROUPS, Line, committed, line

__all__ = ["committed", "line"]  # fixtures


def mailed(directory: Path) -> list[str]:
    return [p.read_text() for p in sorted(directory.glob("*.eml"))]


async def test_two_workers_send_each_reminder_once(line: Line, tmp_path: Path) -> None:
    booking = await line.book(0, ["10"])
    settings = line.settings.model_copy(
        update={"mail_backend": "files", "mail_dir": tmp_path / "mail"}
    )
    # Two days before the use date (in February: every card, valid to 31 March, is due for
    # its renewal mail too), after 9:00 in Tokyo.
    clock = FrozenClock(jst(line.day - timedelta(days=2), 9, 30))
    assert line.day - timedelta(days=2) >= line.day.replace(month=2, day=1)
    await asyncio.gather(
        run_worker(settings, clock, once=True), run_worker(settings, clock, once=True)
    )
    await run_worker(settings, clock, once=True)  # a later pass: nothing new
    mails = mailed(tmp_path / "mail")
    reminders = [m for m in mails if "2日後に次のご予約があります" in m]
    assert len(reminders) == 1
    assert f"/my/bookings/{booking.id}" in reminders[0]
    assert "To: line0@example.jp" in reminders[0]
    renewals = [m for m in mails if "利用者登録（カード番号" in m]
    assert sorted(m.split("To: ", 1)[1].split("\n", 1)[0] for m in renewals) == sorted(
        f"line{i}@example.jp" for i in range(GROUPS)
    )
