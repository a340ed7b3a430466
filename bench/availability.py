"""Benchmark of GET /api/v1/availability on PostgreSQL (issue 2). Run by hand, not in CI:

    .venv/bin/python bench/availability.py [--requests 200] [--concurrency 4]

It makes a fresh database, loads the bundled Kawasaki network, books or blocks 30% of every
slot over the next 93 days, starts `booking serve` (one process), then measures:
- server-side latency (the Server-Timing header: routing, queries, states, JSON) for the whole
  network over 7, 31 and 93 days: p50, p95, p99, with the rows (slots) returned;
- throughput for 31 days with several requests in flight from a second process.

With `--waiting SHARE`, that share of the booked slots (of one-unit rooms) has a wait list of
one to three groups (issue 17): each answer then carries their lengths (`waiting`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.calendar import day_type
from booking.inventory.network import build_snapshot
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARE_TAKEN = 0.30
WINDOW_DAYS = 93


def run(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "booking", *args], env=env, check=True, cwd=ROOT)


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    await admin.close()


async def fill_claims(url: str, start: date, seed: int) -> tuple[int, int]:
    """Claim SHARE_TAKEN of all (unit, date, period) slots: two thirds bookings, a third blocks."""
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    seen: set[int] = set()
    records, slots = [], 0
    for room in snapshot.rooms:
        for unit in room.unit_ids:
            if unit in seen:
                continue
            seen.add(unit)
            for offset in range(WINDOW_DAYS):
                day = start + timedelta(days=offset)
                for code in room.grid.codes_by_day_type[day_type(day)]:
                    slots += 1
                    if rng.random() < SHARE_TAKEN:
                        kind = "block" if rng.random() < 1 / 3 else "booking"
                        records.append((unit, day, code, kind, now))
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    await conn.copy_records_to_table(
        "claims",
        records=records,
        columns=["unit_id", "use_date", "period_code", "kind", "created_at"],
    )
    await conn.execute("ANALYZE")
    await conn.close()
    return len(records), slots


async def fill_waiting(url: str, share: float, seed: int) -> int:
    """Waiting entries of three groups on `share` of the booked slots of one-unit rooms."""
    from frozen import connect, make_groups  # noqa: PLC0415 - frozen imports this module

    now = datetime.now(UTC)
    groups = await make_groups(url, 3, now)
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    rooms = {room.unit_ids[0]: room for room in snapshot.rooms if len(room.unit_ids) == 1}
    conn = await connect(url)
    taken = await conn.fetch(
        "SELECT unit_id, use_date, period_code FROM claims WHERE kind = 'booking' ORDER BY id"
    )
    rng = random.Random(seed)
    records = []
    for unit, day, code in taken:
        room = rooms.get(unit)
        if room is None or rng.random() >= share:
            continue
        records.extend(
            (group.id, room.id, room.facility_id, day, json.dumps([code]), code, "waiting", now)
            for group in groups[: rng.randint(1, len(groups))]
        )
    await conn.copy_records_to_table(
        "waitlist_entries",
        records=records,
        columns=[
            "group_id",
            "room_id",
            "facility_id",
            "use_date",
            "period_codes",
            "periods_key",
            "status",
            "joined_at",
        ],
    )
    await conn.execute("ANALYZE")
    await conn.close()
    return len(records)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def latency(
    client: httpx.AsyncClient,
    start: date,
    days: int,
    n: int,
    churn: asyncpg.Connection | None = None,
) -> dict[str, float]:
    """Server-side latency; with `churn`, a claim changes before every request, so each
    request refetches the claims of the month it touched (the process cache's worst case)."""
    params = {"from": start.isoformat(), "to": (start + timedelta(days=days - 1)).isoformat()}
    server, rows, size = [], 0, 0
    for i in range(n + 5):
        if churn is not None:
            await churn.execute(
                "UPDATE claims SET kind = CASE kind WHEN 'booking' THEN 'hold' ELSE 'booking' END"
                " WHERE id = (SELECT min(id) FROM claims WHERE use_date = $1)",
                start,
            )
        response = await client.get("/api/v1/availability", params=params)
        response.raise_for_status()
        if i < 5:  # warm-up
            continue
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
        rows, size = response.json()["slot_count"], len(response.content)
    return {
        "days": days,
        "rows": rows,
        "kb": size / 1024,
        "p50": percentile(server, 0.5),
        "p95": percentile(server, 0.95),
        "p99": percentile(server, 0.99),
        "us_per_row": statistics.median(server) * 1000 / rows,
    }


async def throughput(base: str, start: date, concurrency: int, n: int) -> float:
    params = {"from": start.isoformat(), "to": (start + timedelta(days=30)).isoformat()}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.get("/api/v1/availability", params=params)
        remaining = n

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.get("/api/v1/availability", params=params)
                response.raise_for_status()
                await response.aread()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument(
        "--waiting", type=float, default=0.0, help="share of booked slots with a wait list"
    )
    args = parser.parse_args()

    env = {**os.environ, "BOOKING_DATABASE_URL": args.url}
    await recreate(args.url)
    run("db", "upgrade", env=env)
    run("facilities", "load", env=env)
    start = datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=1)
    taken, slots = await fill_claims(args.url, start, args.seed)
    print(f"claims: {taken} of {slots} unit-slots ({taken / slots:.0%}) over {WINDOW_DAYS} days")
    if args.waiting:
        entries = await fill_waiting(args.url, args.waiting, args.seed)
        print(f"wait list: {entries} waiting entries on {args.waiting:.0%} of the booked slots")

    server = subprocess.Popen(
        [sys.executable, "-m", "booking", "serve", "--port", str(args.port)],
        env={**env, "BOOKING_LOG_LEVEL": "warning"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for _ in range(100):
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            rooms = (
                await client.get(
                    "/api/v1/availability",
                    params={"from": start.isoformat(), "to": start.isoformat()},
                )
            ).json()["room_count"]
            print(f"network: {rooms} rooms; server-side latency over {args.requests} requests")
            print("| days | rows | response KB | p50 ms | p95 ms | p99 ms | us/row |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            parsed = make_url(args.url)
            writer = await asyncpg.connect(
                host=parsed.host,
                port=parsed.port or 5432,
                user=parsed.username,
                database=parsed.database,
            )
            for days, churn in ((7, None), (31, None), (93, None), (31, writer), (93, writer)):
                r = await latency(client, start, days, args.requests, churn)
                label = f"{days}, a claim changed before each" if churn else f"{days}"
                print(
                    f"| {label} | {r['rows']:,} | {r['kb']:,.0f} | {r['p50']:.1f} | "
                    f"{r['p95']:.1f} | {r['p99']:.1f} | {r['us_per_row']:.2f} |"
                )
            await writer.close()
        rps = await throughput(base, start, args.concurrency, args.requests)
        print(
            f"throughput, 31 days, {args.concurrency} in flight, one server process: "
            f"{rps:.0f} requests/s"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
