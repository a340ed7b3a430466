"""Benchmark of a city-scale lottery draw on PostgreSQL (issue 5). Run by hand, not in CI:

    .venv/bin/python bench/lottery.py [--applications 10000 100000 300000]

For each size: a fresh database with the bundled network and 5,000 active groups; that many
applications for one use month spread over every lottery room, date and period, a third of
the slots contested (the rest with one applicant each); then the whole cycle drawn, facility by
facility as the worker does (read, permute, allocate, write statuses, claims and the published
files), timed end to end, with the process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from booking.clock import FrozenClock
from booking.inventory.calendar import day_type
from booking.lottery.commands import draw_cycle
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
GROUPS = 5000
USE_MONTH = date(2027, 8, 1)


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    await admin.close()


async def fill(url: str, n: int, seed: int) -> tuple[int, int]:
    """n applications; returns (slots, contested slots)."""
    from booking.db.engine import create_engine, create_sessionmaker  # noqa: PLC0415
    from booking.inventory.network import build_snapshot  # noqa: PLC0415

    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    slots = []
    day = USE_MONTH
    while day.month == USE_MONTH.month:
        for room in snapshot.rooms:
            facility = snapshot.facilities[room.facility_id]
            if not room.policy.lottery.enabled or not room.online_bookable:
                continue
            if day in snapshot.closed_dates(facility.id, day.year):
                continue
            codes = room.grid.codes_by_day_type.get(day_type(day), ())
            slots.extend((room.id, facility.id, day, code) for code in codes)
        day += timedelta(days=1)
    rng = random.Random(seed)
    rng.shuffle(slots)
    # Two thirds of the slots get one applicant when there are applications enough; a third
    # share the rest.
    single = min(len(slots) * 2 // 3, n // 2)
    contested = slots[single:]
    picks = slots[:single] + [rng.choice(contested) for _ in range(n - single)]
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "users",
        records=[(i, f"g{i}@example.jp", f"g{i}", "active", now) for i in range(1, GROUPS + 1)],
        columns=["id", "email", "name", "status", "created_at"],
    )
    await conn.copy_records_to_table(
        "groups",
        records=[
            (i, "group", "general", f"会{i}", "active", True, False, now, date(2099, 3, 31))
            for i in range(1, GROUPS + 1)
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
        ],
    )
    await conn.copy_records_to_table(
        "lottery_applications",
        records=[
            (
                USE_MONTH,
                rng.randint(1, GROUPS),
                room,
                facility,
                day,
                f'["{code}"]',
                "meeting",
                5,
                "applied",
                now,
            )
            for room, facility, day, code in picks
        ],
        columns=[
            "use_month",
            "group_id",
            "room_id",
            "facility_id",
            "use_date",
            "period_codes",
            "purpose",
            "headcount",
            "status",
            "created_at",
        ],
    )
    await conn.execute("ANALYZE")
    await conn.close()
    counts: dict[tuple[int, int, date, str], int] = {}
    for pick in picks:
        counts[pick] = counts.get(pick, 0) + 1
    return len(counts), sum(1 for c in counts.values() if c > 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--applications", type=int, nargs="+", default=[10000, 100000, 300000])
    args = parser.parse_args()
    env = {**os.environ, "BOOKING_DATABASE_URL": args.url}
    print("| applications | slots applied for | contested | draw s | apps/s | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in args.applications:
        await recreate(args.url)
        for command in (["db", "upgrade"], ["facilities", "load"]):
            subprocess.run(
                [sys.executable, "-m", "booking", *command],
                env=env,
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
        slots, contested = await fill(args.url, n, seed=n)
        settings = Settings(database_url=args.url)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        clock = FrozenClock(datetime(2027, 4, 24, 1, tzinfo=UTC))
        results = await draw_cycle(settings, clock, USE_MONTH, None)
        elapsed = time.perf_counter() - began
        peak = max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        drawn = sum(r.applications for r in results)
        print(
            f"| {drawn:,} | {slots:,} | {contested:,} | {elapsed:.2f} | {drawn / elapsed:,.0f} | "
            f"{peak:.0f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
