"""Two test runs at once on one PostgreSQL server each keep their own database (issue 14:
the second run used to drop and recreate the first's `booking_test` under it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booking.settings import Settings

ROOT = Path(__file__).parent.parent


@pytest.mark.engines("postgresql")  # only a server is shared by two runs
def test_two_runs_at_once_do_not_meet(engine_settings: Settings, tmp_path: Path) -> None:
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    env = {**os.environ, "BOOKING_TEST_MEETING": str(meeting), "BOOKING_TEST_REQUIRE_POSTGRES": "1"}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "postgresql",
        "tests/data/runs/probe_database.py",
    ]  # fmt: skip
    runs = [
        subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "1 passed" in output, output
