"""Benchmark of the registration desk's queue and search pages on PostgreSQL (issue 16 §4: the
registration queue of 20,000 registrations, p95 <= 50 ms). Run by hand, not in CI:

    .venv/bin/python bench/registration_queue.py [--registrations 20000] [--requests 200]

It makes a fresh database, loads the bundled Kawasaki network, writes `--registrations`
registrations (3% pending, 7% suspended, the rest active with cards; a tenth are children's
centres' own) with 5 to 8 members each, then starts `booking serve` (one process) and measures
the server-side latency (the Server-Timing header) of, for a facility manager (the scope
condition: city-wide or their centre's) and an administrator:
- GET /manage/registrations: the queue, page 1 and page 5 (25 a page);
- GET /manage/registrations?q=...: a search by card number, e-mail, phone, group name and a
  member's name (the costliest: every member's name is read, no index serves `%...%`);
- a registration's page, for information.
It prints p50, p95 and p99 per page, and the plan of the member-name search; `--compare`
measures again without the desk's indexes of migration 0011 (dropped in the bench's database).
The desk's home page (/manage) is measured too: the floor of any logged-in page on the machine
as loaded at the time (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from availability import percentile, recreate, run
from sqlalchemy import insert, select, text

from booking.accounts.models import Group, GroupStatus, Member, StaffRole
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import SystemClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.models import Facility, FacilityKind
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
]
GIVEN = [
    "花子",
    "一郎",
    "陽子",
    "健太",
    "美咲",
    "大輔",
    "由美",
    "翔太",
    "恵子",
    "誠",
    "直子",
    "拓也",
    "明美",
    "浩二",
    "さくら",
    "蓮",
]
ACTIVITIES = [
    "合唱団",
    "将棋クラブ",
    "太極拳の会",
    "囲碁同好会",
    "手芸サークル",
    "英会話の会",
    "写真クラブ",
]
WARDS = ["川崎", "幸", "中原", "高津", "宮前", "多摩", "麻生"]
RESIDENCIES = ("lives", "lives", "works", "studies", "none")


def registrations(n: int, centres: list[int], seed: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The groups' rows and, per group, how many members it has."""
    rng = random.Random(seed)
    cards = rng.sample(range(1_000_000, 10_000_000), n)
    start = datetime(2024, 4, 1, tzinfo=UTC)
    rows, sizes = [], []
    for i in range(n):
        draw = rng.random()
        status = "pending" if draw < 0.03 else "suspended" if draw < 0.10 else "active"
        centre = rng.random() < 0.10
        rows.append(
            {
                "kind": "group",
                "category": "children_centre" if centre else "general",
                "name": f"{rng.choice(WARDS)}{rng.choice(ACTIVITIES)} {i}",
                "name_kana": None,
                "facility_id": rng.choice(centres) if centre else None,
                "status": status,
                "card_number": None if status == "pending" else str(cards[i]),
                "valid_until": None if status == "pending" else date(2027, 3, 31),
                "in_city": True,
                "email": f"group{i}@example.jp",
                "phone": f"044-{rng.randrange(100, 1000)}-{rng.randrange(1000, 10000)}",
                "guardian_consent": False,
                "suspended_reason": "会費未納" if status == "suspended" else None,
                "created_at": start + timedelta(minutes=rng.randrange(0, 60 * 24 * 970)),
                "activated_at": None,
            }
        )
        sizes.append(rng.randint(5, 8))
    return rows, sizes


def members(group_ids: list[int], sizes: list[int], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    rows: list[dict[str, Any]] = []
    for group_id, size in zip(group_ids, sizes, strict=True):
        rows.extend(
            {
                "group_id": group_id,
                "user_id": None,
                "role": "representative" if j == 0 else "member",
                "name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                "birth_date": date(1940 + rng.randrange(0, 60), rng.randint(1, 12), 1),
                "residency": rng.choice(RESIDENCIES),
                "email": None,
                "phone": None,
            }
            for j in range(size)
        )
    return rows


async def fill(url: str, n: int, seed: int) -> tuple[dict[str, str], dict[str, str]]:
    """The registrations and two staff logins: their cookies, and things to search for."""
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    clock = SystemClock()
    async with create_sessionmaker(engine)() as session:
        centres = list(
            (
                await session.scalars(
                    select(Facility.id)
                    .join(FacilityKind, FacilityKind.id == Facility.kind_id)
                    .where(FacilityKind.key == "children_centre")
                    .order_by(Facility.id)
                )
            ).all()
        )
        rows, sizes = registrations(n, centres, seed)
        ids = list((await session.scalars(insert(Group).returning(Group.id), rows)).all())
        roster = members(ids, sizes, seed)
        for start in range(0, len(roster), 10_000):
            await session.execute(insert(Member), roster[start : start + 10_000])
        logins = {}
        for role, facilities in (("manager", centres[:2]), ("admin", [])):
            user = await grant_staff_role(
                session,
                clock,
                settings,
                SYSTEM,
                email=f"{role}@city.example",
                name=role,
                role=StaffRole.MANAGER if role == "manager" else StaffRole.ADMIN,
                facility_ids=facilities,
                password="bench password 2026",  # noqa: S106 - a throwaway database
            )
            opened = await open_session(session, clock, settings, user.id)
            logins[role] = f"booking_session={opened.cookie_value}"
        await session.execute(text("ANALYZE"))
        await session.commit()
        active = next(r for r in rows if r["status"] == "active" and r["facility_id"] is None)
        wanted = {
            "card number": active["card_number"],
            "e-mail": active["email"],
            "phone": active["phone"].replace("-", ""),
            "group name": "多摩将棋",
            "member name": "佐々木 蓮",
            "no match": "存在しない名前",
        }
        counts = await session.execute(
            select(Group.status, text("count(*)")).group_by(Group.status)
        )
        print("registrations:", {GroupStatus(s).value: c for s, c in counts.all()})
        print(f"members: {len(roster):,}")
    await engine.dispose()
    return logins, wanted


async def timed(client: httpx.AsyncClient, path: str, cookie: str, n: int) -> list[float]:
    """Server-side ms of n requests after 5 warm-ups."""
    millis = []
    for i in range(n + 5):
        response = await client.get(path, headers={"Cookie": cookie})
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        if i >= 5:
            millis.append(float(response.headers["server-timing"].split("dur=")[1]))
    return millis


async def plan(url: str, q: str) -> None:
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415

    from booking.accounts.desk import _matches  # noqa: PLC0415

    engine = create_engine(Settings(database_url=url))
    stmt = select(Group).where(_matches(q)).order_by(Group.created_at, Group.id).limit(26)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        lines = (await conn.execute(text(f"EXPLAIN ANALYZE {sql}"))).scalars().all()
    await engine.dispose()
    print(f"plan of the search {q!r}:")
    for line in lines:
        print("   ", line)


# The desk's indexes (migration 0011): trigram GIN indexes that serve `LIKE '%...%'` on the
# names searched, and the pending queue's partial index. `--compare` measures again after
# dropping them (in the bench's own database), to show what they are worth.
DESK_INDEXES = (
    "ix_groups_pending_created",
    "ix_groups_name_trgm",
    "ix_groups_name_kana_trgm",
    "ix_group_members_name_trgm",
)


async def indexes(url: str) -> list[str]:
    engine = create_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        names = await conn.scalars(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename IN ('groups', 'group_members')"
                " ORDER BY indexname"
            )
        )
        found = list(names.all())
    await engine.dispose()
    return found


async def drop_indexes(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        for name in DESK_INDEXES:
            await conn.execute(text(f"DROP INDEX {name}"))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(
    client: httpx.AsyncClient, logins: dict[str, str], wanted: dict[str, str], n: int
) -> float:
    """One table of figures; the worst p95 of the queue and the searches."""
    print("| page | who | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---:|---:|---:|")
    pages = [
        ("the desk's home (the floor of a logged-in page)", "/manage"),
        ("queue, page 1", "/manage/registrations"),
        ("queue, page 5", "/manage/registrations?page=5"),
    ]
    pages += [(f"search: {k}", f"/manage/registrations?q={v}") for k, v in wanted.items()]
    worst = 0.0
    for label, path in pages:
        for who in ("manager", "admin"):
            ms = await timed(client, path, logins[who], n)
            if path != "/manage":
                worst = max(worst, percentile(ms, 0.95))
            print(f"| {label} | {who} | {row(ms)} |")
    found = await client.get(
        "/manage/registrations?q=" + wanted["card number"], headers={"Cookie": logins["admin"]}
    )
    group_id = found.text.split('href="/manage/registrations/')[1].split('"')[0]
    ms = await timed(client, f"/manage/registrations/{group_id}", logins["admin"], n)
    print(f"| a registration's page | admin | {row(ms)} |")
    verdict = "within" if worst <= TARGET_P95_MS else "OVER"
    print(f"worst p95 of the queue and the searches: {worst:.1f} ms ({verdict} the target)")
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return worst


def row(ms: list[float]) -> str:
    return " | ".join(f"{percentile(ms, share):.1f}" for share in (0.5, 0.95, 0.99))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_queue"
    )
    parser.add_argument("--registrations", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--compare", action="store_true", help="again without the desk's indexes")
    args = parser.parse_args()

    env = {**os.environ, "BOOKING_DATABASE_URL": args.url}
    await recreate(args.url)
    run("db", "upgrade", env=env)
    run("facilities", "load", env=env)
    logins, wanted = await fill(args.url, args.registrations, args.seed)
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
            print(f"indexes on groups and group_members: {await indexes(args.url)}")
            print(f"server-side latency, {args.requests} requests each (target p95 <= 50 ms)")
            await measure(client, logins, wanted, args.requests)
            await plan(args.url, wanted["member name"])
            if args.compare:
                await drop_indexes(args.url)
                print(f"without the desk's indexes: {await indexes(args.url)}")
                await measure(client, logins, wanted, args.requests)
                await plan(args.url, wanted["member name"])
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
