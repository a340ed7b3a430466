"""A real PostgreSQL streaming replica of the tests' server, one per test session.

`pg_basebackup -R -X stream` copies the running server (127.0.0.1:5432) into a temporary
directory and writes the standby's connection to it; the copy then runs as a hot standby on a
free port and replays everything the primary writes, the databases that tests make included.
The replication slot made with it keeps the primary's WAL until the standby has it (this
server's tests drop databases all the time, and each drop is a checkpoint that recycles WAL);
it is dropped at the end, and a killed run's is dropped by the next run.

Needs: the pg binaries of the server's version, replication allowed from 127.0.0.1
(tests/prepare adds the trust line), and, as root, the `postgres` user to run them as.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from booking.settings import Settings
from tests.conftest import POSTGRES_URL, RUN_ID, in_thread, pid_alive

SLOT_PREFIX = "booking_test_replica_"
# Settings a hot standby must have at least as high as its primary's.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


@dataclass
class ReplicaServer:
    directory: Path  # the standby's data directory is `data` in it, its socket it itself
    port: int
    bin: Path
    run_as: list[str]  # runuser -u postgres -- when root: PostgreSQL refuses to run as root

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str) -> str:
        """The replica's SQLAlchemy URL of one database (the primary's name for it)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def url_of(self, settings: Settings) -> str:
        return self.url(make_url(settings.database_url or "").database or "")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - the server's own pg_ctl
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        log = self.directory / "server.log"
        self._pg_ctl("-l", str(log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    async def sql(self, statement: str) -> Any:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=5
        )
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    async def pause(self) -> None:
        """Stop replaying: the replica keeps what it has and falls behind from now on."""
        await self.sql("SELECT pg_wal_replay_pause()")

    async def resume(self) -> None:
        await self.sql("SELECT pg_wal_replay_resume()")

    async def caught_up(self, within: float = 90) -> None:
        """Until the replica has replayed what the primary had written when asked."""
        target = await _primary("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
        deadline = time.monotonic() + within
        while True:
            replayed = await self.sql("SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint")
            if replayed is not None and replayed >= target:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica replayed {replayed} of {target} in {within}s")
            await asyncio.sleep(0.1)


async def _primary(statement: str, *args: Any) -> Any:
    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres", timeout=5
    )
    try:
        return await connection.fetchval(statement, *args)
    finally:
        await connection.close()


async def _drop_dead_slots() -> None:
    """Slots of this host's runs whose process is gone: they would keep WAL forever."""
    host, _, _ = RUN_ID.split("_")
    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres", timeout=5
    )
    try:
        rows = await connection.fetch(
            "SELECT slot_name FROM pg_replication_slots WHERE NOT active"
            " AND starts_with(slot_name, $1)",
            SLOT_PREFIX,
        )
        for (name,) in rows:
            slot_host, pid, _ = name.removeprefix(SLOT_PREFIX).split("_")
            if slot_host == host and not pid_alive(int(pid)):
                await connection.execute("SELECT pg_drop_replication_slot($1)", name)
    finally:
        await connection.close()


async def _pg_bin() -> Path:
    major = int(await _primary("SHOW server_version_num")) // 10000
    packaged = Path(f"/usr/lib/postgresql/{major}/bin")
    if (packaged / "pg_basebackup").exists():
        return packaged
    found = shutil.which("pg_basebackup")
    if found is None:
        pytest.fail(f"no pg_basebackup for PostgreSQL {major}: install its server package")
    return Path(found).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _configure(server: ReplicaServer, limits: dict[str, str]) -> None:
    """The standby's own configuration: Debian keeps the primary's outside its data directory."""
    lines = [
        f"port = {server.port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{server.directory}'",
        "hot_standby = on",
        "shared_buffers = 32MB",
        "fsync = off",  # a test's copy: a crash loses nothing that matters
        *(f"{name} = {value}" for name, value in limits.items()),
    ]
    (server.data / "postgresql.conf").write_text("\n".join(lines) + "\n")
    (server.data / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
    )
    if server.run_as:
        for name in ("postgresql.conf", "pg_hba.conf"):
            shutil.chown(server.data / name, "postgres", "postgres")


@pytest.fixture(scope="session")
def replica_server(engine_settings: Settings) -> Iterator[ReplicaServer]:
    """A hot standby of the tests' PostgreSQL on a free port, for the whole session."""
    assert engine_settings.database_url, "the replica tests run on PostgreSQL only"
    in_thread(lambda: asyncio.run(_drop_dead_slots()))
    bin_dir = in_thread(lambda: asyncio.run(_pg_bin()))
    limits = {
        name: str(in_thread(lambda name=name: asyncio.run(_primary(f"SHOW {name}"))))
        for name in _AT_LEAST_PRIMARY
    }
    root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="booking-replica-"))
    if root:
        shutil.chown(directory, "postgres", "postgres")
    server = ReplicaServer(
        directory, _free_port(), bin_dir, ["runuser", "-u", "postgres", "--"] if root else []
    )
    primary = make_url(POSTGRES_URL)
    slot = SLOT_PREFIX + RUN_ID
    # Made before the backup starts, reserving WAL from now: one that pg_basebackup makes
    # itself (--create-slot) can lose the backup's first WAL to a checkpoint in between.
    in_thread(
        lambda: asyncio.run(_primary("SELECT pg_create_physical_replication_slot($1, true)", slot))
    )
    try:
        made = subprocess.run(  # noqa: S603 - the server's own pg_basebackup
            [
                *server.run_as,
                str(bin_dir / "pg_basebackup"),
                f"--host={primary.host}",
                f"--port={primary.port or 5432}",
                f"--username={primary.username}",
                f"--pgdata={server.data}",
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",  # not a spread checkpoint's minutes
                f"--slot={slot}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if made.returncode != 0:
            pytest.fail(
                f"pg_basebackup failed (replication from 127.0.0.1 allowed? run tests/prepare "
                f"as root): {made.stderr}"
            )
        _configure(server, limits)
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
        in_thread(lambda: asyncio.run(_drop_slot(slot)))


async def _drop_slot(slot: str) -> None:
    """Once the stopped standby's WAL sender has let go of it."""
    for _ in range(100):
        try:
            await _primary(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                " WHERE slot_name = $1",
                slot,
            )
        except asyncpg.ObjectInUseError:
            await asyncio.sleep(0.1)
        else:
            return
