"""Several server processes, one /metrics answer: prometheus_client's multiprocess mode.

`booking serve --workers N` calls `share_metrics(N)` before the workers start: it points
PROMETHEUS_MULTIPROC_DIR at a fresh directory (the last start's counts must not add to this
one's), removed when serve exits. Each worker (spawned: it imports prometheus_client after
the variable is set) writes its figures there; a scrape of any worker adds them all up.

A worker that died leaves its files: its counters and histograms still count (they happened),
but its live gauges (connections checked out, requests in flight) must not. uvicorn's
supervisor restarts a dead worker without telling anyone, so every scrape sweeps: the live
gauge files of a process that no longer exists are removed (`mark_process_dead`). Only the
files of live-gauge processes are looked at, so the sweep stays a handful of checks.

Nothing here imports prometheus_client at module level: serve calls this before the app (and
the library, which reads the variable once, when imported) is loaded in a worker.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def share_metrics(workers: int) -> Path | None:
    """With several workers: a fresh directory for their metrics, named in the environment
    the workers inherit. One process needs none (it answers from its own memory)."""
    if workers <= 1:
        return None
    directory = Path(tempfile.mkdtemp(prefix="booking-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def worker_exited(pid: int, directory: str | None = None) -> None:
    """A supervisor that knows a worker died may say so at once (the sweep finds it anyway)."""
    from prometheus_client.multiprocess import mark_process_dead  # noqa: PLC0415

    mark_process_dead(pid, directory or os.environ.get(MULTIPROC_ENV))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def sweep_dead(directory: str) -> list[int]:
    """Mark the processes whose live gauges are on file but who are gone; returns their pids."""
    pids = {
        int(match[1])
        for path in Path(directory).iterdir()
        if (match := _LIVE_GAUGE_FILE.fullmatch(path.name))
    }
    dead = sorted(pid for pid in pids if not _alive(pid))
    for pid in dead:
        worker_exited(pid, directory)
    return dead
