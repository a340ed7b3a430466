"""Real server processes on loopback for the tests of several processes on one database.

`running(command, env)` starts one and waits until it answers; `worker_connections` opens
a keep-alive connection to each worker of a `booking serve --workers N`, and checks which
worker holds it by the process that owns the server's end of it (Linux: /proc/net/tcp names
the socket, /proc/<pid>/fd names its owner).
"""

from __future__ import annotations

import contextlib
import http.client
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
from tests.conftest import FAST_HASHING

START_SECONDS = 90  # a loaded 2-core machine imports the app in several seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, **changes: object) -> dict[str, str]:
    """The environment of a server on the test's database: BOOKING_* as `booking serve` reads
    them, the tests' fast hashing, no background statistics reads, plus `changes`."""
    values: dict[str, object] = {
        **FAST_HASHING,
        "data_dir": settings.data_dir,
        "database_url": settings.database_url or "",
        "statistics_warm_seconds": 0,
        "log_level": "warning",
        **changes,
    }
    return {**os.environ, **{f"BOOKING_{k.upper()}": str(v) for k, v in values.items()}}


def frozen_command(port: int) -> list[str]:
    """One server process built by `booking serve`'s factory with the tests' frozen clock."""
    return [
        *(sys.executable, "-m", "uvicorn", "tests.processes.frozen:frozen_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ]


def serve_command(port: int, workers: int) -> list[str]:
    """`booking serve` itself."""
    return [
        *(sys.executable, "-m", "booking", "serve", "--host", "127.0.0.1"),
        *("--port", str(port), "--workers", str(workers)),
    ]


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, ready: str = "/health"
) -> Iterator[subprocess.Popen[bytes]]:
    """The server, answering 200 on `ready`; stopped (SIGTERM, as an operator would) after."""
    with running_together([(command, port)], env, ready) as (server,):
        yield server


@contextlib.contextmanager
def running_together(
    commands: list[tuple[list[str], int]], env: dict[str, str], ready: str = "/health"
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Servers started at the same moment (each command with its port), all answering."""
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for command, _ in commands:
            servers.append(subprocess.Popen(command, env=env))  # noqa: S603 - our own modules
        for server, (command, port) in zip(servers, commands, strict=True):
            _wait_ready(server, command, port, ready)
        yield servers
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_ready(server: subprocess.Popen[bytes], command: list[str], port: int, ready: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=2).status_code == 200:
                return
        if server.poll() is not None:
            pytest.fail(f"{command} exited with {server.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"{command} did not answer {ready} in {START_SECONDS} s")
        time.sleep(0.2)


def workers_of(parent: int) -> set[int]:
    """The worker processes a uvicorn supervisor spawned (not multiprocessing's resource
    tracker, its other child)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # "pid (comm) state ppid ...": the name may hold spaces, so split after it.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
    return found


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of a loopback TCP connection (/proc/net/tcp, in hex)."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def owner(pids: set[int], inode: str) -> int | None:
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in (Path("/proc") / str(pid) / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) == f"socket:[{inode}]":
                        return pid
    return None


@dataclass
class Pinned:
    """A keep-alive connection that one worker process accepted (and so serves, request after
    request)."""

    pid: int
    connection: http.client.HTTPConnection

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def worker_connections(parent: int, port: int, count: int) -> list[Pinned]:
    """One connection to each of the `count` workers of the server whose supervisor is
    `parent`. The kernel hands a new connection to whichever worker wakes first (the same one,
    mostly), so the others are stopped (SIGSTOP) while it is made and continued at once."""
    deadline = time.monotonic() + START_SECONDS
    while len(workers := workers_of(parent)) < count:
        assert time.monotonic() < deadline, f"{len(workers)} of {count} workers started"
        time.sleep(0.2)
    pinned = []
    for pid in sorted(workers):
        others = workers - {pid}
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            pin = Pinned(pid, connection)
            assert pin.get("/health")[0] == 200
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)
        inode = _socket_inode(port, connection.sock.getsockname()[1])
        assert inode is not None
        assert owner(workers, inode) == pid
        pinned.append(pin)
    return pinned
