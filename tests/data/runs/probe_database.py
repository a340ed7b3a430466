"""Run by tests/test_test_runs.py in two pytest processes at once (not collected by the suite:
its name does not start with test_). Each run waits until both have their database ready, then
uses its own: a run that dropped the other's database would break the other's connection."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from sqlalchemy import text

from tests.conftest import Database


async def test_my_database_survives_another_run(database: Database) -> None:
    meeting = Path(os.environ["BOOKING_TEST_MEETING"])
    (meeting / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(meeting.iterdir())) < 2:  # noqa: ASYNC240 - a tiny directory
        assert time.monotonic() < deadline, "the other run never got its database ready"
        await asyncio.sleep(0.1)
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM facilities"))).scalar_one() > 0
