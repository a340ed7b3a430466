"""What the issue 17 benches (bench/series.py, bench/waitlist.py) share: a fresh PostgreSQL
database with the bundled network, groups with API tokens written at a frozen instant, a clerk's
session, and one server process running the app as `booking serve` builds it, with its clock
frozen at that instant (dates matter: the first-come window, the fiscal year's end, an offer's
expiry). Not a bench by itself; `--serve` is how the benches start the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from availability import recreate, run
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.accounts.models import StaffRole
from booking.accounts.secrets import digest, new_secret
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.settings import Settings

SELF = Path(__file__).resolve()
ROOT = SELF.parents[1]
TZ = ZoneInfo("Asia/Tokyo")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def frozen_at(text: str) -> datetime:
    """'2027-04-01T10:00' (local, Asia/Tokyo) as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )


async def fresh_database(url: str) -> dict[str, str]:
    """Drop and create the database, migrate it, load the bundled network; the environment
    the server process needs."""
    env = {**os.environ, "BOOKING_DATABASE_URL": url, "BOOKING_LOG_LEVEL": "warning"}
    await recreate(url)
    run("db", "upgrade", env=env)
    subprocess.run(
        [sys.executable, "-m", "booking", "facilities", "load"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return env


@dataclass(frozen=True, slots=True)
class BenchGroup:
    id: int
    user_id: int
    token: str  # "bkt_..." for the Authorization header


async def make_groups(
    url: str, count: int, at: datetime, *, first_id: int = 1, email: bool = False
) -> list[BenchGroup]:
    """`count` active city-wide groups, each with a representative (a user of the same id) and
    an API token, written directly at the frozen instant `at` (registering through the API
    would time Argon2id; a token made at today's real date would have expired by `at`). With
    `email`, each group has a contact address, so its mails (an offer's) are written too."""
    conn = await connect(url)
    groups = []
    users, rows, members, tokens = [], [], [], []
    for i in range(first_id, first_id + count):
        secret = new_secret()
        users.append((i, f"bench{i}@example.jp", f"bench {i}", "active", at))
        rows.append(
            (
                i,
                "group",
                "general",
                f"ベンチ会{i}",
                "active",
                f"{1000000 + i}",
                date(2099, 3, 31),
                True,
                False,
                at,
                f"group{i}@example.jp" if email else None,
            )
        )
        members.append((i, i, "representative", "rep", date(1970, 1, 1), "lives"))
        tokens.append(
            (i, "bench", secret.selector, digest(secret.verifier), at, at + timedelta(days=400))
        )
        groups.append(BenchGroup(i, i, f"bkt_{secret}"))
    await conn.copy_records_to_table(
        "users", records=users, columns=["id", "email", "name", "status", "created_at"]
    )
    await conn.copy_records_to_table(
        "groups",
        records=rows,
        columns=[
            "id",
            "kind",
            "category",
            "name",
            "status",
            "card_number",
            "valid_until",
            "in_city",
            "guardian_consent",
            "created_at",
            "email",
        ],
    )
    await conn.copy_records_to_table(
        "group_members",
        records=members,
        columns=["group_id", "user_id", "role", "name", "birth_date", "residency"],
    )
    await conn.copy_records_to_table(
        "api_tokens",
        records=tokens,
        columns=["user_id", "name", "selector", "verifier_hash", "created_at", "expires_at"],
    )
    last = first_id + count - 1
    await conn.execute(
        "SELECT setval('users_id_seq', greatest($1, (SELECT max(id) FROM users)))", last
    )
    await conn.execute(
        "SELECT setval('groups_id_seq', greatest($1, (SELECT max(id) FROM groups)))", last
    )
    await conn.close()
    return groups


async def clerk_session(url: str, at: datetime, facility_ids: Sequence[int]) -> dict[str, str]:
    """A manager of these facilities, logged in at `at`: the cookie and CSRF headers."""
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    clock = FrozenClock(at)
    async with create_sessionmaker(engine)() as session:
        clerk = await grant_staff_role(
            session,
            clock,
            settings,
            SYSTEM,
            email="clerk@city.example",
            name="clerk",
            role=StaffRole.MANAGER,
            facility_ids=list(facility_ids),
            password="bench password 2027",  # noqa: S106 - a throwaway database
        )
        opened = await open_session(session, clock, settings, clerk.id)
        await session.commit()
    await engine.dispose()
    return {"Cookie": f"booking_session={opened.cookie_value}", "X-CSRF-Token": opened.csrf_token}


async def analyze(url: str) -> None:
    conn = await connect(url)
    await conn.execute("ANALYZE")
    await conn.close()


def port_free(port: int) -> None:
    """Stop if something answers on the port: another run of the same bench, whose database
    this run would drop and whose server would answer this run's requests."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use (another bench?): pass --port and --url")


async def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server's /ready answers 200 (a minute at most); its exit is an error at once."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited; see {log}")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready")


class Server:
    """One server process (this file with --serve) on loopback, its clock frozen at `at`."""

    def __init__(self, env: dict[str, str], port: int, at: datetime) -> None:
        port_free(port)
        self.base = f"http://127.0.0.1:{port}"
        self.log = Path(f"/tmp/bench-server-{port}.log")  # noqa: S108 - a bench's scratch
        self.process = subprocess.Popen(
            [sys.executable, str(SELF), "--serve", "--port", str(port), "--at", at.isoformat()],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),  # warnings and tracebacks, to look at after a failure
        )

    async def ready(self) -> None:
        await wait_ready(self.base, self.process, self.log)

    async def check_login(self, headers: dict[str, str]) -> None:
        """The credentials work at the frozen instant (a session or token made at the real
        date would have lapsed by then)."""
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as client:
            response = await client.get("/api/v1/me", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET /api/v1/me: {response.status_code} {response.text[:300]}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def server_ms(response: httpx.Response) -> float:
    return float(response.headers["server-timing"].split("dur=")[1])


@dataclass
class Timings:
    client: list[float]
    server: list[float]
    statements: list[int] = field(default_factory=list)

    HEADER = (
        "| n | client p50 ms | client p95 ms | server p50 ms | server p95 ms "
        "| SQL statements (median) |\n|---:|---:|---:|---:|---:|---:|"
    )

    def row(self, label: str) -> str:
        cells = [percentile(self.client, 0.5), percentile(self.client, 0.95)]
        cells += [percentile(self.server, 0.5), percentile(self.server, 0.95)]
        counted = f"{statistics.median(self.statements):.0f}" if self.statements else "-"
        return (
            f"| {label} | {len(self.client)} | "
            + " | ".join(f"{c:.1f}" for c in cells)
            + f" | {counted} |"
        )


async def timed(
    request: Awaitable[httpx.Response], timings: Timings, expect: int
) -> httpx.Response:
    """Await one request (a coroutine not yet started) and keep its client-side and
    server-side milliseconds; any other status than `expect` stops the bench."""
    began = time.perf_counter()
    response = await request
    timings.client.append((time.perf_counter() - began) * 1000)
    if response.status_code != expect:
        raise RuntimeError(f"{response.status_code} (expected {expect}): {response.text[:800]}")
    timings.server.append(server_ms(response))
    if (counted := response.headers.get(STATEMENTS_HEADER)) is not None:
        timings.statements.append(int(counted))
    return response


class StatementCounter:
    """Counts the SQL statements an engine sends (savepoints included), between resets."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.texts: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1
        self.texts.append(str(args[2])[:120])

    def take(self) -> int:
        count, self.count = self.count, 0
        self.texts = []
        return count


def load_line() -> str:
    return f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"


STATEMENTS_HEADER = "x-bench-sql-statements"
_STATEMENTS: ContextVar[list[int] | None] = ContextVar("bench_statements", default=None)


def _count_statement(*_: Any) -> None:
    counter = _STATEMENTS.get()
    if counter is not None:
        counter[0] += 1


def counting(app: Any) -> Any:
    """The bench server's own wrapper: each response says how many SQL statements its request
    sent through SQLAlchemy before the answer (savepoints included; not the claims cache's
    direct asyncpg reads, nor what runs after the answer, e.g. a token's last use)."""
    event.listen(Engine, "before_cursor_execute", _count_statement)

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        counter = [0]
        token = _STATEMENTS.set(counter)

        async def counted_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", []),
                    (STATEMENTS_HEADER.encode(), b"%d" % counter[0]),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, counted_send)
        finally:
            _STATEMENTS.reset(token)

    return wrapped


def serve(port: int, at: datetime) -> None:
    """The server process: the app as `booking serve` builds it, its clock frozen at `at`, the
    heap settled as `booking serve` settles it; a header counts each request's statements."""
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    from booking.app import create_app, settle_heap  # noqa: PLC0415
    from booking.settings import load_settings  # noqa: PLC0415

    app = counting(create_app(load_settings(), clock=FrozenClock(at)))
    settle_heap()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--at", type=datetime.fromisoformat, required=True)
    args = parser.parse_args()
    serve(args.port, args.at)
