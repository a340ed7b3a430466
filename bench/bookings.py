"""Benchmark of POST /api/v1/bookings on PostgreSQL (issue 4). Run by hand, not in CI:

    .venv/bin/python bench/bookings.py [--bookings 3000] [--concurrency 8]

A fresh database with the bundled network and 200 active groups (each with an API token), one
`booking serve` process, the clients in this process. In the same run:
1. the baseline: `pgbench -N` (the simple-update TPC-B variant) on its own database, 8 clients;
2. uncontended bookings: every open (room, date, period) of the halls, each booked once,
   N requests with several in flight, against the floor (issue 20): the cheapest booking this
   stack can do (../shared/tools/perf/floor_app.py: one POST, one guarded INSERT, Litestar +
   asyncpg + uvicorn) served beside `booking serve`, driven by the same httpx client at the
   same concurrency, in interleaved rounds (floor, booking, booking, floor, ...) so that load
   from elsewhere on the machine falls on both alike. Bookings/s of both and their ratio,
   client and server-side (Server-Timing) p50 and p95, the CPU per request of the server, of
   every PostgreSQL process and of this client (all three share the machine's cores), and the
   ratio to pgbench's TPS;
3. hot-slot contention: 50 clients on 10 slots, 1,000 attempts: the statuses (exactly one 201
   per slot, the rest 409; a 503 means a request waited for a pooled connection longer than
   BOOKING_DB_POOL_TIMEOUT_SECONDS, the overload answer of issue 20) and the attempts/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from booking.accounts.secrets import digest, new_secret

ROOT = Path(__file__).resolve().parents[1]
FLOOR_APP = ROOT.parent / "shared" / "tools" / "perf" / "floor_app.py"
GROUPS = 200


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    await admin.close()


def pgbench(url: str, clients: int, seconds: int) -> float:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", "postgres"]
    db = "booking_bench_pgbench"
    subprocess.run(["dropdb", *args, "--if-exists", db], check=True)
    subprocess.run(["createdb", *args, db], check=True)
    subprocess.run(["pgbench", *args, "-i", "-q", "-s", "10", db], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", *args, "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), db],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    if match is None:
        raise SystemExit(f"no tps in pgbench output:\n{out}")
    return float(match[1])


async def make_groups(url: str) -> list[tuple[int, str]]:
    """Active city-wide groups, each with a representative and an API token (written directly:
    registering through the API would time Argon2id, not booking)."""
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    now = datetime.now(UTC)
    groups = []
    for i in range(1, GROUPS + 1):
        await conn.execute(
            "INSERT INTO users (id, email, name, status, created_at)"
            " VALUES ($1, $2, $3, 'active', $4)",
            i,
            f"bench{i}@example.jp",
            f"bench {i}",
            now,
        )
        await conn.execute(
            "INSERT INTO groups (id, kind, category, name, status, card_number, valid_until,"
            " in_city, guardian_consent, created_at, email) VALUES ($1, 'group', 'general', $2,"
            " 'active', $3, $4, true, false, $5, NULL)",
            i,
            f"ベンチ会{i}",
            f"{1000000 + i}",
            date(2099, 3, 31),
            now,
        )
        await conn.execute(
            "INSERT INTO group_members (group_id, user_id, role, name, birth_date, residency)"
            " VALUES ($1, $1, 'representative', 'rep', '1970-01-01', 'lives')",
            i,
        )
        secret = new_secret()
        await conn.execute(
            "INSERT INTO api_tokens (user_id, name, selector, verifier_hash, created_at,"
            " expires_at) VALUES ($1, 'bench', $2, $3, $4, $5)",
            i,
            secret.selector,
            digest(secret.verifier),
            now,
            now + timedelta(days=30),
        )
        groups.append((i, f"bkt_{secret}"))
    await conn.execute("SELECT setval('users_id_seq', $1)", GROUPS)
    await conn.execute("SELECT setval('groups_id_seq', $1)", GROUPS)
    await conn.execute("ANALYZE")
    await conn.close()
    return groups


async def open_slots(client: httpx.AsyncClient) -> list[tuple[int, str, str]]:
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    slots = []
    start = today + timedelta(days=4)
    for offset in (0, 31, 62):
        first = start + timedelta(days=offset)
        response = await client.get(
            "/api/v1/availability",
            params={
                "from": first.isoformat(),
                "to": (first + timedelta(days=30)).isoformat(),
                "kind": "civic_hall,branch_hall",
                "state": "open",
            },
        )
        response.raise_for_status()
        for room in response.json()["rooms"]:
            if not room["online_bookable"]:
                continue
            for day in room["days"]:
                slots += [(room["room_id"], day["date"], s["period"]) for s in day["slots"]]
    return slots


def payload(group_id: int, slot: tuple[int, str, str]) -> dict[str, object]:
    room_id, day, period = slot
    return {
        "group_id": group_id,
        "room_id": room_id,
        "use_date": day,
        "period_codes": [period],
        "purpose": "meeting",
        "headcount": 10,
    }


# One request of a run: (url, JSON body, headers).
Call = tuple[str, dict[str, object], dict[str, str]]


class Run:
    """What one side (the floor or the booking path) saw, summed over the rounds."""

    def __init__(self) -> None:
        self.client_ms: list[float] = []
        self.server_ms: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # the server process's, user and system
        self.client_cpu_seconds = 0.0  # this process's: the httpx client's
        self.db_cpu_seconds = 0.0  # every PostgreSQL process's on this machine

    @property
    def rate(self) -> float:
        return self.statuses[201] / self.seconds if self.seconds else 0.0

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, sum(self.statuses.values()))

    def row(self, name: str, c: int) -> str:
        server = (
            f"{percentile(self.server_ms, 0.5):.1f} | {percentile(self.server_ms, 0.95):.1f}"
            if self.server_ms
            else "– | –"
        )
        return (
            f"| {name} | {self.statuses[201]} | {c} | {self.rate:.0f} | "
            f"{percentile(self.client_ms, 0.5):.1f} | {percentile(self.client_ms, 0.95):.1f} | "
            f"{server} | {self.per_request_ms(self.cpu_seconds):.2f} | "
            f"{self.per_request_ms(self.db_cpu_seconds):.2f} | "
            f"{self.per_request_ms(self.client_cpu_seconds):.2f} |"
        )


def _stat_cpu(stat: str) -> tuple[str, float]:
    """A /proc/<pid>/stat line's command name and CPU time so far, user and system (Linux)."""
    name, rest = stat.split("(", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """A process's CPU time so far: steadier than rates on a machine that others load."""
    return 0.0 if pid is None else _stat_cpu(Path(f"/proc/{pid}/stat").read_text())[1]


def postgres_cpu_seconds() -> float:
    """The CPU time so far of every PostgreSQL process: the database's side of a run, when
    nothing else uses the server meanwhile."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, seconds = _stat_cpu(stat.read_text())
        except OSError:  # ended meanwhile
            continue
        total += seconds if name.startswith("postgres") else 0.0
    return total


async def drive(
    client: httpx.AsyncClient, calls: list[Call], c: int, run: Run, pid: int | None = None
) -> None:
    """Send the calls with `c` in flight, adding what was seen to `run` (and the CPU time
    the server `pid` spent meanwhile)."""
    queue = list(reversed(calls))
    cpu, db_cpu, client_cpu = cpu_seconds(pid), postgres_cpu_seconds(), time.process_time()

    async def worker() -> None:
        while queue:
            url, body, headers = queue.pop()
            began = time.perf_counter()
            response = await client.post(url, json=body, headers=headers)
            run.client_ms.append((time.perf_counter() - began) * 1000)
            if timing := response.headers.get("server-timing"):
                run.server_ms.append(float(timing.split("dur=")[1]))
            run.statuses[response.status_code] += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    run.seconds += time.perf_counter() - began
    run.cpu_seconds += cpu_seconds(pid) - cpu
    run.db_cpu_seconds += postgres_cpu_seconds() - db_cpu
    run.client_cpu_seconds += time.process_time() - client_cpu


PERIOD_NUMBERS: dict[str, int] = {}


def floor_body(group_id: int, slot: tuple[int, str, str]) -> dict[str, object]:
    """The floor's booking of the same slot: its (unit, day, period) as integers."""
    room_id, day, period = slot
    return {
        "unit": room_id,
        "day": date.fromisoformat(day).toordinal(),
        "period": PERIOD_NUMBERS.setdefault(period, len(PERIOD_NUMBERS)),
        "group": group_id,
    }


async def uncontended(  # noqa: PLR0917 - the two servers, their processes, the run's shape
    base: str,
    floor: str,
    pids: tuple[int, int],
    groups: list[tuple[int, str]],
    slots: list[tuple[int, str, str]],
    n: int,
    c: int,
    rounds: int,
) -> float:
    random.Random(4).shuffle(slots)
    booking_calls: list[Call] = []
    floor_calls: list[Call] = []
    for i, slot in enumerate(slots[:n]):
        group_id, token = groups[i % len(groups)]
        headers = {"Authorization": f"Bearer {token}"}
        booking_calls.append((f"{base}/api/v1/bookings", payload(group_id, slot), headers))
        floor_calls.append((f"{floor}/book", floor_body(group_id, slot), headers))
    booking, floor_run = Run(), Run()
    size = -(-len(booking_calls) // rounds)
    async with httpx.AsyncClient(timeout=60) as client:
        # A few warm-up requests on each side (connections, first-call caches), not counted.
        await drive(
            client,
            [(u, {**b, "unit": -1 - i}, h) for i, (u, b, h) in enumerate(floor_calls[:c])],
            c,
            Run(),
        )
        for r in range(rounds):
            sides = [(floor_calls, floor_run, pids[1]), (booking_calls, booking, pids[0])]
            for calls, run, pid in sides if r % 2 == 0 else reversed(sides):
                await drive(client, calls[r * size : (r + 1) * size], c, run, pid)
    print(f"statuses: booking {dict(booking.statuses)}, floor {dict(floor_run.statuses)}")
    print(
        "| server | bookings | in flight | bookings/s | client p50 ms | client p95 ms |"
        " server p50 ms | server p95 ms | CPU ms per request: server | database | client |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(floor_run.row("floor", c))
    print(booking.row("booking", c))
    print(
        f"booking / floor: {booking.rate / floor_run.rate:.2f} "
        f"({rounds} interleaved rounds of {size})"
    )
    return booking.rate


async def contended(
    base: str, groups: list[tuple[int, str]], slots: list[tuple[int, str, str]], attempts: int
) -> None:
    hot = slots[:10]
    statuses: Counter[int] = Counter()
    remaining = attempts
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def worker(w: int) -> None:
            nonlocal remaining
            rng = random.Random(w)
            while remaining > 0:
                remaining -= 1
                group_id, token = groups[w % len(groups)]
                response = await client.post(
                    "/api/v1/bookings",
                    json=payload(group_id, rng.choice(hot)),
                    headers={"Authorization": f"Bearer {token}"},
                )
                statuses[response.status_code] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(50)))
        elapsed = time.perf_counter() - began
    print(
        f"hot slots: 50 clients, 10 slots, {attempts} attempts in {elapsed:.1f} s "
        f"({attempts / elapsed:.0f} attempts/s): {dict(sorted(statuses.items()))}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hot-attempts", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--floor-port", type=int, default=8768)
    parser.add_argument("--floor-app", type=Path, default=FLOOR_APP)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved floor/booking rounds")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--skip-hot", action="store_true")
    args = parser.parse_args()

    tps = 0.0 if args.skip_pgbench else pgbench(args.url, 8, 15)
    if tps:
        print(f"pgbench -N, 8 clients, 15 s: {tps:.0f} TPS")

    env = {**os.environ, "BOOKING_DATABASE_URL": args.url, "BOOKING_LOG_LEVEL": "warning"}
    await recreate(args.url)
    subprocess.run(
        [sys.executable, "-m", "booking", "db", "upgrade"], env=env, check=True, cwd=ROOT
    )
    subprocess.run(
        [sys.executable, "-m", "booking", "facilities", "load"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    groups = await make_groups(args.url)
    server = subprocess.Popen(
        [sys.executable, "-m", "booking", "serve", "--port", str(args.port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The floor's database named after the run's: two runs side by side never share one.
    floor_db = f"{make_url(args.url).database}_floor"
    floor_url = make_url(args.url).set(drivername="postgresql", database=floor_db)
    await recreate(floor_url.render_as_string(hide_password=False))
    floor_server = subprocess.Popen(
        [
            sys.executable,
            str(args.floor_app),
            str(args.floor_port),
            floor_url.render_as_string(hide_password=False),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    floor = f"http://127.0.0.1:{args.floor_port}"
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await wait_for(client, f"{base}/ready", 200)
            await wait_for(client, f"{floor}/book", 405)  # up: GET is not its method
            client.base_url = httpx.URL(base)
            slots = await open_slots(client)
        print(f"open hall slots in the next ~90 days: {len(slots)}")
        hot, rest = slots[:10], slots[10:]
        rate = await uncontended(
            base,
            floor,
            (server.pid, floor_server.pid),
            groups,
            rest,
            args.bookings,
            args.concurrency,
            args.rounds,
        )
        if tps:
            print(f"ratio to pgbench -N: {rate / tps:.3f}")
        if not args.skip_hot:
            await contended(base, groups, hot, args.hot_attempts)
    finally:
        for process in (server, floor_server):
            process.terminate()
            process.wait()


async def wait_for(client: httpx.AsyncClient, url: str, status: int) -> None:
    for _ in range(300):
        try:
            if (await client.get(url)).status_code == status:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


if __name__ == "__main__":
    asyncio.run(main())
