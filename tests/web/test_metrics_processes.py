"""Several server processes, one /metrics (issue 20): `booking serve --workers 2` answers every
scrape with the sum of both workers, whichever of them is asked, and a worker that dies keeps
its counts while its live gauges leave with it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from booking.db.engine import create_engine
from booking.settings import Settings
from booking.web.metrics_processes import sweep_dead
from tests.conftest import committed_database
from tests.web.metrics_text import count, value
from tests.web.served import Served, serve

UNMATCHED = {"method": "GET", "route": "(unmatched)", "status": "404"}
POOL = {"pool": "primary"}


@pytest.fixture
def site(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    (tmp_path / "data").mkdir()
    with committed_database(engine_settings, tmp_path / "data", "metrics") as settings:
        yield settings


def _pool_size(settings: Settings) -> int:
    size: int = create_engine(settings).sync_engine.pool.size()
    return size


def _workers(served: Served) -> list[int]:
    """The server's worker processes: the supervisor's spawned children (not the
    multiprocessing resource tracker beside them)."""
    path = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
    children = [int(pid) for pid in path.read_text().split()]
    return [pid for pid in children if b"spawn_main" in _command(pid)]


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # gone meanwhile
        return b""


def _scrape(served: Served) -> str:
    # A new connection each time: the kernel hands it to either worker.
    response = httpx.get(f"{served.base}/metrics", headers={"Connection": "close"})
    assert response.status_code == 200
    return response.text


def _until(served: Served, check: str, expected: float, **labels: str) -> str:
    """Scrape until a gauge has the value (a restarted worker takes a moment)."""
    deadline = time.monotonic() + 60  # as a served process gets to start (tests/web/served.py)
    while True:
        text = _scrape(served)
        if value(text, check, **labels) == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def test_two_workers_answer_as_one(site: Settings, tmp_path: Path) -> None:
    size = _pool_size(site)
    with serve(site, tmp_path, "--workers", "2") as served:
        # Both workers up: each has published its pool's size, and a scrape adds them.
        text = _until(served, "booking_db_pool_size", 2 * size, **POOL)
        assert value(text, "booking_db_pool_size", **POOL) == 2 * size
        for n in range(20):
            response = httpx.get(f"{served.base}/no/such/{n}", headers={"Connection": "close"})
            assert response.status_code == 404
        scrapes = [_scrape(served) for _ in range(8)]
        # Whichever worker answered, it counted all twenty.
        assert {count(text, "booking_http_requests_total", **UNMATCHED) for text in scrapes} == {20}
        assert {value(text, "booking_db_pool_size", **POOL) for text in scrapes} == {2 * size}

        # A worker killed: uvicorn's supervisor starts another. The dead one's requests
        # still count; its live gauges (its pool) leave the sum: the scrape swept its file.
        workers = _workers(served)
        assert len(workers) == 2
        victim = workers[0]
        directory = _metrics_dir(victim)
        os.kill(victim, signal.SIGKILL)
        _replaced(served, victim)
        text = _until(served, "booking_db_pool_size", 2 * size, **POOL)
        assert value(text, "booking_db_pool_size", **POOL) == 2 * size
        assert count(text, "booking_http_requests_total", **UNMATCHED) == 20
        assert value(text, "booking_db_pool_checked_out", **POOL) == 0
        assert not (directory / f"gauge_livesum_{victim}.db").exists()
        assert (directory / f"counter_{victim}.db").exists()


def _metrics_dir(pid: int) -> Path:
    """The directory serve made for this start (the worker inherited it)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (entry,) = [e for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(entry.split(b"=", 1)[1].decode())


def _replaced(served: Served, victim: int) -> None:
    deadline = time.monotonic() + 60  # as a served process gets to start (tests/web/served.py)
    while True:
        workers = _workers(served)
        if len(workers) == 2 and victim not in workers:
            return
        assert time.monotonic() < deadline, "the supervisor did not replace the worker"
        time.sleep(0.1)


def test_a_sweep_marks_only_the_dead(tmp_path: Path) -> None:
    """The live-gauge files of a process that is gone are removed; a live one's stay, and
    counters' files (what a dead process counted) are never touched."""
    alive = os.getpid()
    gone = 2**22 + 1  # above the kernel's largest pid: no such process
    names = [
        f"gauge_livesum_{alive}.db",
        f"gauge_livesum_{gone}.db",
        f"counter_{gone}.db",
        f"histogram_{gone}.db",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert sweep_dead(str(tmp_path)) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"gauge_livesum_{alive}.db", f"counter_{gone}.db", f"histogram_{gone}.db"]
    )
