"""Benchmark of authentication on PostgreSQL (issue 3). Run by hand, not in CI:

    .venv/bin/python bench/auth.py [--requests 500] [--sessions 20000]

1. Password hashing: Argon2id with the configured parameters (BOOKING_PASSWORD_*), timed on
   this machine, beside neighbouring parameter sets, so the 50-250 ms target can be checked
   and re-tuned.
2. Authenticated request overhead: a fresh database with `--sessions` live sessions and as
   many users, each on a group's roster; `booking serve` (one process); server-side latency
   (Server-Timing) of GET /api/v1/me anonymous (401: the same route and dependencies, no
   lookup) against the same request with a session cookie and with a bearer token.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from argon2 import PasswordHasher, Type
from sqlalchemy.engine import make_url

from booking.accounts.secrets import digest, new_secret
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def hashing(rounds: int) -> None:
    settings = Settings()
    configured = (
        settings.password_time_cost,
        settings.password_memory_kib,
        settings.password_parallelism,
    )
    print("| time_cost | memory MiB | parallelism | median ms | p95 ms | |")
    print("|---:|---:|---:|---:|---:|---|")
    for time_cost, memory, parallelism in [
        (2, 65536, 2),
        configured,
        (4, 65536, 2),
        (3, 131072, 2),
    ]:
        ph = PasswordHasher(
            time_cost=time_cost, memory_cost=memory, parallelism=parallelism, type=Type.ID
        )
        timings = []
        for _ in range(rounds):
            began = time.perf_counter()
            ph.hash("a passphrase of ordinary length")
            timings.append((time.perf_counter() - began) * 1000)
        mark = "configured" if (time_cost, memory, parallelism) == configured else ""
        print(
            f"| {time_cost} | {memory // 1024} | {parallelism} | "
            f"{statistics.median(timings):.0f} | {percentile(timings, 0.95):.0f} | {mark} |"
        )


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    await admin.close()


async def fill(url: str, n: int) -> tuple[str, str]:
    """n users, each representative of a group and holding a session and a token; returns
    the cookie value and the bearer token of one of them."""
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    now = datetime.now(UTC)
    later = now + timedelta(hours=12)
    await conn.executemany(
        "INSERT INTO users (id, email, name, status, created_at) VALUES ($1, $2, $3, 'active', $4)",
        [(i, f"user{i}@example.jp", f"user {i}", now) for i in range(1, n + 1)],
    )
    await conn.executemany(
        "INSERT INTO groups (id, kind, category, name, status, in_city, guardian_consent,"
        " created_at) VALUES ($1, 'group', 'general', $2, 'active', true, false, $3)",
        [(i, f"group {i}", now) for i in range(1, n + 1)],
    )
    await conn.executemany(
        "INSERT INTO group_members (group_id, user_id, role, name, birth_date, residency)"
        " VALUES ($1, $1, 'representative', 'rep', '1970-01-01', 'lives')",
        [(i,) for i in range(1, n + 1)],
    )
    sessions, tokens = [], []
    chosen_cookie = chosen_token = ""
    for i in range(1, n + 1):
        cookie, token = new_secret(), new_secret()
        sessions.append(
            (cookie.selector, cookie.verifier_hash, i, secrets.token_urlsafe(32), now, now, later)
        )
        tokens.append((i, token.selector, digest(token.verifier), now, later + timedelta(days=30)))
        if i == n // 2:
            chosen_cookie, chosen_token = str(cookie), f"bkt_{token}"
    await conn.executemany(
        "INSERT INTO web_sessions (selector, verifier_hash, user_id, csrf_token, created_at,"
        " last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        sessions,
    )
    await conn.executemany(
        "INSERT INTO api_tokens (user_id, name, selector, verifier_hash, created_at, expires_at)"
        " VALUES ($1, 'bench', $2, $3, $4, $5)",
        tokens,
    )
    await conn.execute("ANALYZE")
    await conn.close()
    return chosen_cookie, chosen_token


async def overhead(base: str, cookie: str, token: str, n: int) -> None:
    kinds = {
        "anonymous (401)": {},
        "session cookie": {"Cookie": f"booking_session={cookie}"},
        "bearer token": {"Authorization": f"Bearer {token}"},
    }
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(n + 20):
            for kind, headers in kinds.items():  # interleaved: the same conditions for each
                response = await client.get("/api/v1/me", headers=headers)
                if response.status_code != (401 if kind.startswith("anon") else 200):
                    raise SystemExit(f"{kind}: unexpected {response.status_code}")
                if i >= 20:  # warm-up
                    timings[kind].append(float(response.headers["server-timing"].split("dur=")[1]))
    base_p95 = percentile(timings["anonymous (401)"], 0.95)
    print("| request | p50 ms | p95 ms | p95 overhead ms |")
    print("|---|---:|---:|---:|")
    for kind, values in timings.items():
        p95 = percentile(values, 0.95)
        print(f"| {kind} | {percentile(values, 0.5):.2f} | {p95:.2f} | {p95 - base_p95:+.2f} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--hash-rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    print(f"Argon2id, {args.hash_rounds} hashes each, this machine ({os.cpu_count()} cores)")
    hashing(args.hash_rounds)

    env = {**os.environ, "BOOKING_DATABASE_URL": args.url, "BOOKING_LOG_LEVEL": "warning"}
    await recreate(args.url)
    subprocess.run(
        [sys.executable, "-m", "booking", "db", "upgrade"], env=env, check=True, cwd=ROOT
    )
    cookie, token = await fill(args.url, args.sessions)
    server = subprocess.Popen(
        [sys.executable, "-m", "booking", "serve", "--port", str(args.port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        print(
            f"\nGET /api/v1/me, server-side, {args.requests} requests each, "
            f"{args.sessions} sessions and tokens in the tables"
        )
        await overhead(base, cookie, token, args.requests)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main())
