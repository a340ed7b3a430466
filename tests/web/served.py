"""`booking serve` as an operator runs it, a real process on loopback, for the tests of what
only a real server shows: its log lines, its metrics across worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from booking.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def lines(self) -> list[str]:
        """Every line both streams have so far (standard output first)."""
        return [
            line
            for path in (self.stdout, self.stderr)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]


@contextlib.contextmanager
def serve(settings: Settings, directory: Path, *arguments: str, **env: str) -> Iterator[Served]:
    """Run `booking serve` on the settings' database until the block ends (SIGTERM, as an
    orchestrator stops it), its standard output and error kept in files under directory."""
    port = free_port()
    environment = {
        **os.environ,
        "BOOKING_DATA_DIR": str(settings.data_dir),
        "BOOKING_DATABASE_URL": settings.database_url or "",
        "BOOKING_STATISTICS_WARM_SECONDS": "0",
        **env,
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stdout, stderr = directory / "stdout.log", directory / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "booking", "serve", "--port", str(port), *arguments],
            env=environment,
            stdout=out,
            stderr=err,
        )
    served = Served(f"http://127.0.0.1:{port}", process, stdout, stderr)
    try:
        _wait_ready(served)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{served.base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if served.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("booking serve did not start:\n" + "\n".join(served.lines()[-30:]))
        time.sleep(0.1)
