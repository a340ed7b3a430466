"""The `booking` command, run as an operator would: a real process on a real database."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATA, _recreate_postgres, postgres_missing, postgres_url

COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["facilities"],
    ["facilities", "load"],
    ["facilities", "export"],
    ["facilities", "validate"],
    ["users"],
    ["users", "create-admin"],
    ["users", "create-manager"],
    ["worker"],
    ["worker", "status"],
    ["outbox"],
    ["outbox", "status"],
    ["outbox", "requeue"],
    ["db", "check"],
    ["db", "backup"],
    ["db", "restore"],
    ["lottery"],
    ["lottery", "draw"],
    ["lottery", "verify"],
]


def booking(
    *args: str, data_dir: Path, url: str = "", timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOOKING_DATA_DIR": str(data_dir), "BOOKING_DATABASE_URL": url}
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "booking", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=stdin,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "booking")
def test_every_command_has_help(tmp_path, command):
    result = booking(*command, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_validate_reports_every_problem_and_fails(tmp_path):
    result = booking("facilities", "validate", str(TEST_DATA / "bad"), data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("error: facilities.toml: line") == 3
    assert "3 problem(s); nothing was loaded" in result.stderr


def test_load_before_migrating_is_a_clear_error(tmp_path):
    result = booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    assert result.returncode == 1
    assert "booking db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_load_reload_and_refuse_bad_data_on_sqlite(tmp_path):
    assert booking("db", "upgrade", data_dir=tmp_path).returncode == 0
    current = booking("db", "current", data_dir=tmp_path)
    assert "(head)" in current.stdout
    first = booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created 3 facilities" in first.stdout
    again = booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    assert again.stdout.strip().endswith("no changes")
    bad = booking("facilities", "load", str(TEST_DATA / "bad"), data_dir=tmp_path)
    assert bad.returncode == 1
    assert "nothing was loaded" in bad.stderr
    still = booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    assert still.stdout.strip().endswith("no changes")  # the bad load changed nothing
    assert booking("db", "downgrade", "base", data_dir=tmp_path).returncode == 0
    assert "(head)" not in booking("db", "current", data_dir=tmp_path).stdout


def test_a_load_of_an_export_changes_nothing_on_sqlite(tmp_path):
    assert booking("db", "upgrade", data_dir=tmp_path).returncode == 0
    booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    exported = booking("facilities", "export", str(tmp_path / "out"), data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "wrote 3 facilities" in exported.stdout
    loaded = booking("facilities", "load", str(tmp_path / "out"), data_dir=tmp_path)
    assert loaded.stdout.strip().endswith("no changes"), loaded.stdout + loaded.stderr
    (tmp_path / "out" / "old.toml").write_text("", "utf-8")
    refused = booking("facilities", "export", str(tmp_path / "out"), data_dir=tmp_path)
    assert refused.returncode == 1
    assert "old.toml" in refused.stderr


def test_a_load_keeps_a_staff_edit_unless_told_on_sqlite(tmp_path):
    assert booking("db", "upgrade", data_dir=tmp_path).returncode == 0
    booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    mark = '{"capacity": {"by": null, "at": "2026-11-25T01:00:00+00:00"}}'
    with sqlite3.connect(tmp_path / "booking.sqlite3") as db:  # as editing.update_room leaves it
        db.execute("UPDATE rooms SET capacity = 99, staff_edits = ? WHERE key = 'room-1'", (mark,))
    db.close()
    kept = booking("facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "conflict: test-hall/room-1 capacity: kept 99" in kept.stderr
    assert "the file has 24 (--take-file test-hall/room-1:capacity takes it)" in kept.stderr
    assert kept.stdout.strip().endswith("no changes; 1 staff edit(s) kept")
    taken = booking(
        "facilities",
        "load",
        str(TEST_DATA / "network"),
        "--take-file",
        "test-hall/room-1:capacity",
        data_dir=tmp_path,
    )
    assert "took the file's 24 over 99" in taken.stderr
    with sqlite3.connect(tmp_path / "booking.sqlite3") as db:
        row = db.execute("SELECT capacity, staff_edits FROM rooms WHERE key = 'room-1'").fetchone()
    db.close()
    assert row == (24, "{}")


def test_bad_settings_are_a_clear_error(tmp_path):
    env = {**os.environ, "BOOKING_PORT": "http", "BOOKING_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "booking", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "BOOKING_PORT" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_on_a_fresh_data_dir_answers_for_the_whole_network(tmp_path):
    """The README's first command: an empty embedded database is migrated and loaded."""
    port = _free_port()
    env = {**os.environ, "BOOKING_DATA_DIR": str(tmp_path / "data"), "BOOKING_DATABASE_URL": ""}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "booking", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.3)
        response = httpx.get(
            f"{base}/api/v1/availability",
            params={"from": "2027-01-04", "to": "2027-02-03"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["room_count"] > 50
        facilities = httpx.get(f"{base}/api/v1/facilities", params={"q": "中原"}).json()
        assert any(item["name_ja"] == "中原市民館" for item in facilities["items"])
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "loaded facility data" in output
    assert (tmp_path / "data" / "booking.sqlite3").exists()
    shutil.rmtree(tmp_path / "data")


async def test_a_load_that_fails_in_the_database_leaves_nothing(tmp_path):
    """All or nothing: the load stops on a lock it cannot get (lock_timeout) and rolls back
    what it had written."""
    url = postgres_url("cli")
    try:
        await asyncio.to_thread(_recreate, url)
    except OSError as exc:
        postgres_missing(exc)
    assert (
        await asyncio.to_thread(booking, "db", "upgrade", data_dir=tmp_path, url=url)
    ).returncode == 0
    parsed = make_url(url)
    holder = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("LOCK TABLE rooms IN ACCESS EXCLUSIVE MODE")
        result = await asyncio.to_thread(
            booking, "facilities", "load", str(TEST_DATA / "network"), data_dir=tmp_path, url=url
        )
        await transaction.rollback()
        assert result.returncode == 1
        assert "lock timeout" in result.stderr
        assert "refused the load" in result.stderr
        assert "nothing was loaded" in result.stderr
        assert "Traceback" not in result.stderr
        for table in ("wards", "facilities", "rooms", "period_grids"):
            assert await holder.fetchval(f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608
    finally:
        await holder.close()


def _recreate(url: str) -> None:
    asyncio.run(_recreate_postgres(url))


def test_first_administrator_and_a_manager_from_the_shell(tmp_path):
    """The README's way to the first administrator, then a manager invited by mail."""
    assert booking("db", "upgrade", data_dir=tmp_path).returncode == 0
    assert booking("facilities", "load", data_dir=tmp_path).returncode == 0
    admin = booking(
        "users",
        "create-admin",
        "--email",
        "Admin@City.example",
        "--name",
        "管理者",
        "--password-stdin",
        data_dir=tmp_path,
        stdin="a strong admin passphrase\n",
    )
    assert admin.returncode == 0, admin.stderr
    assert "admin admin@city.example is user" in admin.stdout.lower()
    manager = booking(
        "users",
        "create-manager",
        "--email",
        "mgr@city.example",
        "--name",
        "中原市民館",
        "--facility",
        "nakahara-civic-hall",
        data_dir=tmp_path,
        stdin="",
    )
    assert manager.returncode == 0, manager.stderr
    assert "invitation" in manager.stdout
    unknown = booking(
        "users",
        "create-manager",
        "--email",
        "x@city.example",
        "--name",
        "x",
        "--facility",
        "no-such-hall",
        data_dir=tmp_path,
        stdin="",
    )
    assert unknown.returncode == 1
    assert "no facility 'no-such-hall'" in unknown.stderr
    weak = booking(
        "users",
        "create-admin",
        "--email",
        "y@city.example",
        "--name",
        "y",
        "--password-stdin",
        data_dir=tmp_path,
        stdin="short\n",
    )
    assert weak.returncode == 1
    assert "at least 8 characters" in weak.stderr
    # The invitation waits in the outbox; with no mail server it is retried, not lost.
    status = booking("outbox", "status", data_dir=tmp_path)
    assert "pending: 1" in status.stdout
    env_port = socket.socket()
    env_port.bind(("127.0.0.1", 0))
    port = env_port.getsockname()[1]
    env_port.close()
    sent = subprocess.run(
        [sys.executable, "-m", "booking", "worker", "--once"],
        env={
            **os.environ,
            "BOOKING_DATA_DIR": str(tmp_path),
            "BOOKING_DATABASE_URL": "",
            "BOOKING_MAIL_BACKEND": "smtp",
            "BOOKING_SMTP_PORT": str(port),
            "BOOKING_SMTP_TIMEOUT_SECONDS": "2",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    assert "to retry 1" in sent.stdout


def test_lottery_and_check_commands_on_an_empty_cycle(tmp_path):
    assert booking("db", "upgrade", data_dir=tmp_path).returncode == 0
    assert booking("facilities", "load", data_dir=tmp_path).returncode == 0
    drawn = booking("lottery", "draw", "--cycle", "2027-08", data_dir=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    verified = booking("lottery", "verify", "--cycle", "2027-08", data_dir=tmp_path)
    assert verified.returncode == 1
    assert "no draw for 2027-08" in verified.stderr
    bad = booking("lottery", "draw", "--cycle", "August", data_dir=tmp_path)
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr
    checked = booking("db", "check", data_dir=tmp_path)
    assert checked.returncode == 0
    assert "claims and reservations agree" in checked.stdout


# Every command that works on the database `serve` made, with what it needs besides.
NEEDS_A_DATABASE = [
    ["users", "create-admin", "--email", "a@city.example", "--name", "a", "--password-stdin"],
    ["users", "create-manager", "--email", "m@city.example", "--name", "m", "--facility", "x"],
    ["db", "check"],
    ["db", "current"],
    ["db", "downgrade", "base"],
    ["outbox", "status"],
    ["outbox", "requeue", "--all-dead"],
    ["lottery", "draw", "--cycle", "2027-08"],
    ["lottery", "verify", "--cycle", "2027-08"],
    ["worker", "--once"],
    ["worker", "status"],
    ["facilities", "load"],
]


def booking_in(
    directory: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it from a directory, with no BOOKING_* of their own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "booking", *args],
        cwd=directory,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        input="a strong admin passphrase\n",
    )


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=lambda c: " ".join(c[:2]))
def test_a_command_outside_the_serve_directory_says_where_it_looked(tmp_path, command):
    """Run elsewhere than `serve`: no traceback, where the database was looked for and how to
    point at it, exit 1, and no data/ or empty database left behind."""
    result = booking_in(tmp_path, *command)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"no database at {tmp_path / 'data' / 'booking.sqlite3'}" in result.stderr
    assert "BOOKING_DATA_DIR" in result.stderr
    assert "BOOKING_DATABASE_URL" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [c for c in NEEDS_A_DATABASE if c[:2] not in (["db", "current"], ["db", "downgrade"])],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_command_on_a_database_without_schema_says_so(tmp_path, command):
    """A database file that was never migrated (or was downgraded): told to upgrade, and the
    schema is not made behind the operator's back."""
    database = tmp_path / "elsewhere" / "booking.sqlite3"
    database.parent.mkdir()
    sqlite3.connect(database).close()
    url = f"sqlite+aiosqlite:///{database}"
    result = booking_in(tmp_path, *command, env={"BOOKING_DATABASE_URL": url})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"the database at {database} has no schema" in result.stderr
    assert "booking db upgrade" in result.stderr
    with sqlite3.connect(database) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere"]


def test_an_unreachable_database_server_is_a_clear_error(tmp_path):
    url = f"postgresql+asyncpg://booking:secret@127.0.0.1:{_free_port()}/booking"
    result = booking_in(tmp_path, "outbox", "status", env={"BOOKING_DATABASE_URL": url})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot open the database at postgresql+asyncpg://booking:***@127.0.0.1" in (
        result.stderr
    )
    assert "secret" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_pointing_at_the_database_from_elsewhere_works(tmp_path):
    """What the error says to do: BOOKING_DATA_DIR from another directory."""
    serve_dir = tmp_path / "srv"
    serve_dir.mkdir()
    assert booking_in(serve_dir, "db", "upgrade").returncode == 0
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    result = booking_in(
        elsewhere, "outbox", "status", env={"BOOKING_DATA_DIR": str(serve_dir / "data")}
    )
    assert result.returncode == 0, result.stderr
    assert "pending: 0" in result.stdout
    assert list(elsewhere.iterdir()) == []
