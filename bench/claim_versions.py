"""Benchmark of the claims' month versions alone (issue 20, migration 0017), on PostgreSQL. By hand:

    .venv/bin/python bench/claim_versions.py [--rounds 2]

Two databases made the same way (migrated, the bundled network), one then taken back to
migration 0016 (each claim's trigger updates its month's one counter row), the other at head
(each insert statement appends to the change log). Against each in turn, the same minutes:
`--connections` connections book distinct slots of ONE use month as a booking's transaction
ends (the claims' INSERT ... ON CONFLICT DO NOTHING, then `hold` ms of the application's own
time before COMMIT: what a loaded server's event loop takes to send it, bench/rush.py). With
the counter row the month's bookings take turns for the whole of that time; with the log
they do not. Prints bookings/s and each transaction's p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
from availability import ROOT, recreate, run
from frozen import connect, load_line, percentile

_CLAIM = (
    "INSERT INTO claims (unit_id, period_code, use_date, kind, owner_id, created_at)"
    " VALUES ($1, $2, $3, 'booking', 1, $4) ON CONFLICT DO NOTHING"
)
MONTH = date(2031, 3, 1)
CASES = ((10, 0.0), (10, 5.0), (20, 5.0), (20, 20.0))  # (connections, hold ms)


async def prepare(url: str, revision: str | None) -> None:
    """Migrated, the bundled network loaded; taken back to `revision` when one is given."""
    await recreate(url)
    env = {**os.environ, "BOOKING_DATABASE_URL": url, "BOOKING_LOG_LEVEL": "warning"}
    run("db", "upgrade", env=env)
    run("facilities", "load", env=env)
    if revision:
        alembic = str(ROOT / ".venv" / "bin" / "alembic")
        subprocess.run([alembic, "downgrade", revision], env=env, cwd=ROOT, check=True)


async def one(url: str, connections: int, hold_ms: float, each: int) -> tuple[float, list[float]]:
    """Bookings/s and every transaction's ms."""
    conns: list[asyncpg.Connection] = [await connect(url) for _ in range(connections)]
    units = [row[0] for row in await conns[0].fetch("SELECT id FROM units ORDER BY id")]
    await conns[0].execute("DELETE FROM claims")
    slots = [
        (unit, code, MONTH + timedelta(days=day))
        for unit in units
        for day in range(28)
        for code in ("10", "20", "30")
    ]
    now, spent = datetime.now(UTC), []

    async def writer(i: int) -> None:
        for k in range(each):
            unit, code, day = slots[(i * each + k) % len(slots)]
            began = time.perf_counter()
            async with conns[i].transaction():
                await conns[i].execute(_CLAIM, unit, code, day, now)
                await asyncio.sleep(hold_ms / 1000)
            spent.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(connections)))
    rate = connections * each / (time.perf_counter() - began)
    for conn in conns:
        await conn.close()
    return rate, spent


async def bench(args: argparse.Namespace) -> None:
    old, new = f"{args.url}_0016", f"{args.url}_0017"
    await prepare(old, "0016")
    await prepare(new, None)
    print(f"claims of one use month, old (0016, counter row) vs new (0017, log); {load_line()}")
    print("| connections | hold ms | schema | bookings/s | p50 ms | p95 ms |")
    print("|---:|---:|---|---:|---:|---:|")
    for connections, hold in CASES:
        for _ in range(args.rounds):
            for label, url in (("0016", old), ("0017", new)):
                rate, spent = await one(url, connections, hold, 40 if hold else 150)
                p50, p95 = percentile(spent, 0.5), percentile(spent, 0.95)
                print(
                    f"| {connections} | {hold:.0f} | {label} | {rate:.0f} | {p50:.1f} | {p95:.1f} |"
                )
    print(load_line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_claim_versions"
    )
    parser.add_argument("--rounds", type=int, default=2, help="old, new pairs per case")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
