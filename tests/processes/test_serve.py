"""`booking serve --workers 2` itself: two worker processes on one port, each answering, and
after PostgreSQL drops every connection (what a restart does) each answers again on its own.

The server is the real command in a subprocess on a fresh committed database; the test holds
one keep-alive connection to each worker (tests/processes/servers.py tells them apart), so
"each worker" is checked, not whichever the kernel handed the next connection to.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from booking.settings import Settings
from tests.conftest import (
    FAST_HASHING,
    _recreate_postgres,
    committed_database,
    in_thread,
    postgres_url,
)
from tests.processes.servers import (
    Pinned,
    free_port,
    running,
    running_together,
    serve_command,
    server_env,
    worker_connections,
)


@pytest.fixture
def fresh(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A database `serve` has not seen: it migrates (and loads) it once, before the workers."""
    with committed_database(engine_settings, tmp_path, "serve_workers", load=False) as settings:
        yield settings


@pytest.fixture
def two_workers(fresh: Settings) -> Iterator[list[Pinned]]:
    port = free_port()
    with running(serve_command(port, 2), server_env(fresh), port, ready="/ready") as server:
        pinned = worker_connections(server.pid, port, 2)
        yield pinned
        for pin in pinned:
            pin.connection.close()


def test_serve_with_two_workers_answers_from_each(two_workers: list[Pinned]) -> None:
    assert len(two_workers) == 2
    for worker in two_workers:
        status, _, body = worker.get("/ready")
        assert status == 200, body
        assert json.loads(body)["status"] == "ok"
        for _ in range(3):
            status, _, body = worker.get("/api/v1/wards")
            assert status == 200, body
            assert len(json.loads(body)) == 7  # the bundled network, loaded once by serve
        status, headers, _ = worker.get("/")
        assert status == 200
        assert headers["content-type"].startswith("text/html")


def _drop_connections(settings: Settings) -> None:
    """What a PostgreSQL restart does to every pool: their server processes are gone."""
    url = make_url(settings.database_url)

    async def terminate() -> int:
        admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username)
        try:
            ended = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1"
                " AND pid <> pg_backend_pid()",
                url.database,
            )
        finally:
            await admin.close()
        return len(ended)

    assert in_thread(lambda: asyncio.run(terminate())) >= 2  # a connection of each worker


@pytest.mark.engines("postgresql")  # SQLite has no server to restart
def test_after_a_postgresql_restart_each_worker_answers_again_by_itself(
    fresh: Settings, two_workers: list[Pinned]
) -> None:
    for worker in two_workers:  # each holds a pooled connection
        assert worker.get("/api/v1/wards")[0] == 200
    _drop_connections(fresh)
    for worker in two_workers:
        statuses = []
        for _ in range(3):
            status, headers, body = worker.get("/api/v1/wards")
            statuses.append(status)
            if status == 200:
                break
            # The request that found its connection dead: a 503 to retry, never a 500.
            assert status == 503, body
            assert int(headers["retry-after"]) >= 1
        assert statuses[-1] == 200, f"worker {worker.pid}: {statuses}"
        assert len(statuses) <= 2, f"worker {worker.pid}: {statuses}"  # one request lost at most
        assert all(worker.get("/api/v1/wards")[0] == 200 for _ in range(3))
        assert worker.get("/ready")[0] == 200


@pytest.fixture
def empty_postgresql(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A PostgreSQL database with nothing in it: no schema, no data."""
    url = postgres_url("two_hosts")
    in_thread(lambda: asyncio.run(_recreate_postgres(url)))
    try:
        yield Settings(database_url=url, data_dir=tmp_path, **FAST_HASHING)
    finally:
        in_thread(lambda: asyncio.run(_recreate_postgres(url, drop_only=True)))


@pytest.mark.engines("postgresql")  # hosts share a database server; SQLite is one host's file
def test_two_hosts_started_at_once_on_an_empty_database_both_serve(
    empty_postgresql: Settings,
) -> None:
    """Each `booking serve` migrates and loads an empty database before it serves: started
    together, one does it and the other waits for it (the second used to exit on a duplicate
    table, or load the network twice)."""
    ports = free_port(), free_port()
    commands = [(serve_command(port, 1), port) for port in ports]
    with running_together(commands, server_env(empty_postgresql), ready="/ready"):
        for port in ports:
            wards = httpx.get(f"http://127.0.0.1:{port}/api/v1/wards", timeout=10)
            assert wards.status_code == 200, wards.text
            assert len(wards.json()) == 7  # loaded once: not two of each


@pytest.mark.engines("postgresql")
def test_two_upgrades_at_once_both_succeed(empty_postgresql: Settings) -> None:
    """`booking db upgrade` on two hosts at once: one migrates, the other waits for it and
    finds the schema at head (migrations/env.py); the second used to fail on a duplicate."""
    env = server_env(empty_postgresql)
    command = [sys.executable, "-m", "booking", "db", "upgrade"]
    upgrades = [subprocess.Popen(command, env=env) for _ in range(2)]  # noqa: S603
    assert [upgrade.wait(timeout=300) for upgrade in upgrades] == [0, 0]
