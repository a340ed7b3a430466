"""Benchmark of calendar feeds on PostgreSQL (issue 6). Run by hand, not in CI:

    .venv/bin/python bench/ical.py [--requests 200]

A fresh database with the bundled network; one group with 500 bookings over the feed window,
and one civic hall with 5,000 bookings of 200 groups; a group feed and the hall's staff feed;
`booking serve` (one process). Server-side latency (Server-Timing) of the group feed, of a 304
revalidation (If-None-Match), and of the hall's feed, each after 50 warm-up requests: a server
just started reads a year of statistics in the background and opens its connections; the first
requests wait for that (up to ~100 ms), and ten slow requests of 200 are the p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from booking.accounts.secrets import new_secret
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.calendar import day_type
from booking.inventory.network import build_snapshot
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


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


async def fill(url: str) -> tuple[str, str]:
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    hall_id = max(
        (f for f in snapshot.facilities.values() if f.kind == "civic_hall"),
        key=lambda f: sum(1 for r in snapshot.rooms if r.facility_id == f.id),
    ).id
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    days = [today - timedelta(days=90) + timedelta(days=i) for i in range(490)]
    slots = [
        (room.id, room.facility_id, day, code)
        for room in snapshot.rooms
        for day in days
        for code in room.grid.codes_by_day_type.get(day_type(day), ())
    ]
    rng = random.Random(6)
    rng.shuffle(slots)
    hall_slots = [s for s in slots if s[1] == hall_id][:5000]
    other = [s for s in slots if s[1] != hall_id][:500]
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "users",
        records=[(i, f"u{i}@example.jp", f"u{i}", "active", now) for i in range(1, 202)],
        columns=["id", "email", "name", "status", "created_at"],
    )
    await conn.execute("UPDATE users SET staff_role = 'manager' WHERE id = 201")
    await conn.execute("INSERT INTO manager_facilities VALUES (201, $1)", hall_id)
    await conn.copy_records_to_table(
        "groups",
        records=[
            (
                i,
                "group",
                "general",
                f"会{i}",
                "active",
                True,
                False,
                now,
                date(2099, 3, 31),
                f"g{i}@example.jp",
            )
            for i in range(1, 201)
        ],
        columns=[
            "id",
            "kind",
            "category",
            "name",
            "status",
            "in_city",
            "guardian_consent",
            "created_at",
            "valid_until",
            "email",
        ],
    )
    await conn.copy_records_to_table(
        "group_members",
        records=[(i, i, "representative", "rep", date(1970, 1, 1), "lives") for i in range(1, 201)],
        columns=["group_id", "user_id", "role", "name", "birth_date", "residency"],
    )
    records = [
        (
            1 + (k % 200),
            room,
            facility,
            day,
            f'["{code}"]',
            "confirmed",
            "meeting",
            10,
            False,
            1000,
            "{}",
            "unpaid",
            "online",
            now,
            1,
            now,
            "定例会",
        )
        for k, (room, facility, day, code) in enumerate(hall_slots)
    ] + [
        (
            1,
            room,
            facility,
            day,
            f'["{code}"]',
            "confirmed",
            "meeting",
            10,
            False,
            1000,
            "{}",
            "unpaid",
            "online",
            now,
            1,
            now,
            "練習",
        )
        for room, facility, day, code in other
    ]
    await conn.copy_records_to_table(
        "bookings",
        records=records,
        columns=[
            "group_id",
            "room_id",
            "facility_id",
            "use_date",
            "period_codes",
            "status",
            "purpose",
            "headcount",
            "charges_admission",
            "fee_total",
            "fee_breakdown",
            "payment_status",
            "channel",
            "created_at",
            "sequence",
            "updated_at",
            "event_name",
        ],
    )
    tokens = []
    for owner, kind, target in ((1, "group", 1), (201, "facility_staff", hall_id)):
        secret = new_secret()
        await conn.execute(
            "INSERT INTO calendar_feeds (owner_user_id, kind, target_id, name, selector,"
            " verifier_hash, uid_key, created_at) VALUES ($1, $2, $3, 'bench', $4, $5, $6, $7)",
            owner,
            kind,
            target,
            secret.selector,
            secret.verifier_hash,
            secrets.token_bytes(16),
            now,
        )
        tokens.append(str(secret))
    await conn.execute("ANALYZE")
    await conn.close()
    return tokens[0], tokens[1]


async def measure(
    client: httpx.AsyncClient, path: str, n: int, etag: bool = False, warmup: int = 50
) -> list[float]:
    for _ in range(max(1, warmup)):
        first = await client.get(path)
        first.raise_for_status()
    headers = {"If-None-Match": first.headers["etag"]} if etag else {}
    timings = []
    for _ in range(n):
        response = await client.get(path, headers=headers)
        assert response.status_code == (304 if etag else 200)  # noqa: S101
        timings.append(float(response.headers["server-timing"].split("dur=")[1]))
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--warmup", type=int, default=50, help="requests before measuring")
    args = parser.parse_args()
    env = {**os.environ, "BOOKING_DATABASE_URL": args.url, "BOOKING_LOG_LEVEL": "warning"}
    await recreate(args.url)
    for command in (["db", "upgrade"], ["facilities", "load"]):
        subprocess.run(
            [sys.executable, "-m", "booking", *command],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
    group_token, hall_token = await fill(args.url)
    server = subprocess.Popen(
        [sys.executable, "-m", "booking", "serve", "--port", str(args.port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{args.port}", timeout=60
        ) as client:
            for _ in range(300):
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            runs = [
                ("group feed, 500 events", f"/ical/{group_token}.ics", False),
                ("group feed, 304 revalidation", f"/ical/{group_token}.ics", True),
                ("facility staff feed, 5,000 events", f"/ical/{hall_token}.ics", False),
            ]
            print(f"server-side, {args.requests} requests each after {args.warmup} to warm up")
            print("| feed | p50 ms | p95 ms |")
            print("|---|---:|---:|")
            for name, path, etag in runs:
                timings = await measure(client, path, args.requests, etag, args.warmup)
                print(
                    f"| {name} | {percentile(timings, 0.5):.1f} | {percentile(timings, 0.95):.1f} |"
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main())
