"""Benchmark of the usage statistics on PostgreSQL (issue 19: the city-wide dashboard for a
fiscal year p95 <= 500 ms, the open-data CSV for a year <= 2 s). Run by hand, not in CI:

    .venv/bin/python bench/usage_statistics.py [--keep] [--requests 30] [--copies N]

1. Seeding (skipped with --keep when the database holds this seed on these migrations, see
   MARKER): a fresh
   database, the bundled Kawasaki network, then `--copies` synthetic copies of every facility
   with its rooms, units and closure rules (keys '<key>-bench-copy-<k>', names '…（ベンチ複製k）'
   / '… (bench copy k)'), in this database only, so that the city-scale year of the issue
   (~300,000 bookings at ~60% occupancy) fits: the bundled 156 rooms hold ~153,000 period-slots
   a fiscal year. By default the copies are worked out from that target. Then, for FY2026
   (2026-04-01..2027-03-31), written with COPY (not the ORM, one by one):
   - 20,000 groups (categories and in-city mixed; no users or rosters: a booking needs none);
   - bookings: each open period-slot of each room (its grid's periods of the day type,
     closure rules, opens_on/closes_on) is taken with probability --occupancy, runs of taken
     slots cut into bookings of one to three periods; completed or no-show before today,
     confirmed after; cancelled bookings (early, late, by the facility) on free slots; fees
     from the room's tariff and the group's category; payment mixed; online or counter (a
     counter-only room's always counter); created in the lottery's confirm days (a win), in the
     first hour after first-come opening, or later. The one combined room (宮前市民館's hall)
     shares units with its parts: no unit is booked twice;
   - blocks (a room's whole day, some released), on days without bookings;
   - lottery applications (~1,000,000) on the lottery rooms: one winner per slot's lottery
     (confirmed with its booking, lapsed on a slot left free, a few won), the rest lost, some
     withdrawn; created in the month's application days;
   - wait-list entries on some booked slots of lottery rooms.
   Claims are not written: the statistics read bookings, blocks and lottery and wait-list rows,
   never claims (so no availability or booking can be made on these slots through this
   database; it is the statistics' bench only). The statistics triggers (migration 0014) are
   off while seeding (session_replication_role = replica, which skips the foreign keys too: the
   rows are consistent by construction). The occupancy reached is measured with SQL and printed.
2. One `booking serve` process (its real clock); an administrator's session; timed over HTTP:
   the dashboard GET /manage/statistics?fiscal_year=2026 (its first request, then --requests
   warm ones; then with one booking of the current month changed before each request), the
   staff API's occupancy, demand and use by facility, and the open-data CSVs (occupancy,
   demand), first at a restart of the server, warm, and first 30 s after a restart (the
   background read of the statistics done). A 404 is printed and the rest
   goes on. Client-side milliseconds, and the server's (Server-Timing) where it says.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from availability import percentile, recreate, run
from frozen import connect, load_line, port_free, wait_ready

from booking.accounts.models import StaffRole
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import SystemClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.calendar import day_type
from booking.inventory.network import NetworkSnapshot, RoomInfo, SnapshotCache, build_snapshot
from booking.inventory.policy import day_of, first_come_opens, months_back
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Tokyo")
FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)
TARGET_BOOKINGS = 300_000
TARGET_APPLICATIONS = 1_000_000
GROUPS = 20_000
MARKER = "bench_statistics_seed"  # a table in the bench database: what was seeded, on which schema
SEED_VERSION = 1  # raise when the seeding changes: --keep then seeds again
TARGET_DASHBOARD_P95_MS = 500.0
TARGET_CSV_MS = 2000.0
WARMED_AFTER = 30  # seconds: the background read of two fiscal years takes ~10-20 s here
CATEGORIES = (
    ("general", 0.70),
    ("exempt", 0.15),
    ("commercial", 0.05),
    ("senior_civic", 0.04),
    ("children_centre", 0.06),
)
COEFFICIENT = {"general": 1.0, "exempt": 0.0, "commercial": 3.0}
PURPOSES = ("meeting", "music", "dance", "study", "lecture", "hobby", "sports")


def days_of_year() -> list[date]:
    return [FY_START + timedelta(days=i) for i in range((FY_END - FY_START).days + 1)]


def at_jst(day: date, seconds: float) -> datetime:
    """An instant `seconds` after 00:00 JST of `day`, in UTC (as the columns hold it)."""
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return (start + timedelta(seconds=seconds)).astimezone(UTC)


def open_days(snapshot: NetworkSnapshot, room: RoomInfo) -> list[date]:
    facility = snapshot.facilities[room.facility_id]
    return [
        day
        for day in days_of_year()
        if day not in snapshot.closed_dates(facility.id, day.year)
        and (facility.opens_on is None or day >= facility.opens_on)
        and (facility.closes_on is None or day <= facility.closes_on)
    ]


def count_slots(snapshot: NetworkSnapshot) -> int:
    return sum(
        len(room.grid.codes_by_day_type[day_type(day)])
        for room in snapshot.rooms
        for day in open_days(snapshot, room)
    )


async def load_snapshot(url: str) -> NetworkSnapshot:
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    return snapshot


async def columns_of(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = $1 AND column_name <> 'id' ORDER BY ordinal_position",
        table,
    )
    return [row["column_name"] for row in rows]


async def copy_network(conn: asyncpg.Connection, copies: int) -> None:
    """`copies` synthetic copies of every bundled facility: rooms, units, room units, the
    facility's own closure rules and the rooms' fee schedules (the kind's rules and policies
    are shared). Keys end in '-bench-copy-<k>'."""
    suffix = "'-bench-copy-' || k"
    facility_columns = await columns_of(conn, "facilities")
    chosen = {
        "key": f"f.key || {suffix}",
        "name_ja": "f.name_ja || '（ベンチ複製' || k || '）'",
        "name_en": "f.name_en || ' (bench copy ' || k || ')'",
        "external_id": "NULL",
    }
    await conn.execute(
        f"INSERT INTO facilities ({', '.join(facility_columns)}) SELECT "
        + ", ".join(chosen.get(c, f"f.{c}") for c in facility_columns)
        + f" FROM facilities f, generate_series(1, {copies}) k"
        " WHERE f.key NOT LIKE '%-bench-copy-%'"
    )
    # old facility id -> new facility id, per copy
    await conn.execute(
        "CREATE TEMP TABLE facility_copy AS SELECT f.id AS old_id, c.id AS new_id"
        " FROM facilities f JOIN facilities c ON c.key LIKE f.key || '-bench-copy-%'"
        " AND c.key ~ ('^' || f.key || '-bench-copy-[0-9]+$')"
    )
    for table, renamed in (
        ("rooms", {"name_ja": "name_ja", "external_id": "NULL"}),
        ("units", {}),
    ):
        names = await columns_of(conn, table)
        await conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT "
            + ", ".join(
                "fc.new_id" if c == "facility_id" else renamed.get(c, f"t.{c}") for c in names
            )
            + f" FROM {table} t JOIN facility_copy fc ON fc.old_id = t.facility_id"
        )
    await conn.execute(
        "INSERT INTO room_units (room_id, unit_id)"
        " SELECT r2.id, u2.id FROM room_units ru"
        " JOIN rooms r ON r.id = ru.room_id JOIN units u ON u.id = ru.unit_id"
        " JOIN facility_copy fc ON fc.old_id = r.facility_id"
        " JOIN rooms r2 ON r2.facility_id = fc.new_id AND r2.key = r.key"
        " JOIN units u2 ON u2.facility_id = fc.new_id AND u2.key = u.key"
    )
    names = await columns_of(conn, "closure_rules")
    await conn.execute(
        f"INSERT INTO closure_rules ({', '.join(names)}) SELECT "
        + ", ".join("fc.new_id" if c == "facility_id" else f"t.{c}" for c in names)
        + " FROM closure_rules t JOIN facility_copy fc ON fc.old_id = t.facility_id"
    )
    names = await columns_of(conn, "room_fee_schedules")
    await conn.execute(
        f"INSERT INTO room_fee_schedules ({', '.join(names)}) SELECT "
        + ", ".join("r2.id" if c == "room_id" else f"t.{c}" for c in names)
        + " FROM room_fee_schedules t JOIN rooms r ON r.id = t.room_id"
        " JOIN facility_copy fc ON fc.old_id = r.facility_id"
        " JOIN rooms r2 ON r2.facility_id = fc.new_id AND r2.key = r.key"
    )
    await conn.execute("UPDATE inventory_revision SET revision = revision + 1")


@dataclass
class Seeded:
    """What the seeding wrote, for the report (and the marker)."""

    copies: int = 0
    rooms: int = 0
    slots: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Rows:
    bookings: list[tuple[Any, ...]] = field(default_factory=list)
    applications: list[tuple[Any, ...]] = field(default_factory=list)
    blocks: list[tuple[Any, ...]] = field(default_factory=list)
    waiting: list[tuple[Any, ...]] = field(default_factory=list)


BOOKING_COLUMNS = [
    "id",
    "group_id",
    "room_id",
    "facility_id",
    "use_date",
    "period_codes",
    "status",
    "purpose",
    "headcount",
    "event_name",
    "charges_admission",
    "fee_total",
    "fee_breakdown",
    "payment_status",
    "payment_method",
    "channel",
    "created_at",
    "cancelled_at",
    "cancel_cause",
    "cancellation_charge",
]
APPLICATION_COLUMNS = [
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
    "withdrawn_at",
    "position",
    "lose_reason",
    "settled_at",
    "booking_id",
]
BLOCK_COLUMNS = [
    "facility_id",
    "room_id",
    "start_date",
    "end_date",
    "period_codes",
    "reason",
    "note",
    "created_at",
    "released_at",
]
WAITING_COLUMNS = [
    "group_id",
    "room_id",
    "facility_id",
    "use_date",
    "period_codes",
    "periods_key",
    "status",
    "joined_at",
    "ended_at",
]


class Generator:
    """The year's rows, drawn from one seeded random stream."""

    def __init__(self, snapshot: NetworkSnapshot, occupancy: float, seed: int) -> None:
        self.snapshot = snapshot
        self.occupancy = occupancy
        self.rng = random.Random(seed)
        self.today = datetime.now(TZ).date()
        self.now = datetime.now(UTC)
        self.categories = self.rng.choices(
            [c for c, _ in CATEGORIES], [w for _, w in CATEGORIES], k=GROUPS + 1
        )
        self.rows = Rows()
        # lotteries to write: (room, day, codes, booking id or None, winner status)
        self.lotteries: list[tuple[RoomInfo, date, list[str], int | None, str]] = []
        self.taken: dict[int, set[tuple[date, str]]] = {}  # unit -> slots its bookings take

    def group(self) -> int:
        return self.rng.randint(1, GROUPS)

    def fee(self, room: RoomInfo, day: date, codes: Sequence[str], group: int) -> int:
        fees = room.fees_on(day).fees or {}
        base = sum(fees.get(code, 0) for code in codes)
        coefficient = COEFFICIENT.get(self.categories[group], 1.0)
        if not room.policy_on(day).fees.coefficients.get("general", 1.0):
            coefficient = 0.0  # a free kind (children's centres)
        return round(base * coefficient)

    def created(self, room: RoomInfo, day: date, online: bool) -> tuple[datetime, bool]:
        """When a first-come booking was made, and whether in the first hour after opening."""
        policy = room.policy_on(day)
        opens = first_come_opens(policy, day)
        if online and self.rng.random() < 0.15:
            return at_jst(opens, self.rng.uniform(0, 3600)), True
        last = max(opens, day - timedelta(days=max(1, policy.first_come_closes_days_before)))
        seconds = self.rng.uniform(3600, ((last - opens).days + 1) * 86400)
        return at_jst(opens, seconds), False

    def lottery_days(self, room: RoomInfo, day: date) -> tuple[date, date, date] | None:
        """The application's first day, its last day and the first confirm day, if the room's
        policy runs a lottery for the day's month."""
        rules = room.policy_on(day).lottery
        if not rules.enabled:
            return None
        base = months_back(day.replace(day=1), rules.months_before)
        return (
            day_of(base, rules.apply_from_day),
            day_of(base, rules.apply_to_day),
            day_of(base, rules.confirm_from_day),
        )

    def booking(self, room: RoomInfo, day: date, codes: list[str], *, cancelled: bool) -> None:
        rng = self.rng
        booking_id = len(self.rows.bookings) + 1
        group = self.group()
        category = self.categories[group]
        counter_only = not room.online_bookable or not room.policy_on(day).online
        online = not counter_only and rng.random() < 0.75
        lottery = self.lottery_days(room, day)
        if lottery is not None and not cancelled and online and rng.random() < 0.85:
            created = at_jst(lottery[2], rng.uniform(0, 4 * 86400))
            self.lotteries.append((room, day, codes, booking_id, "confirmed"))
        else:
            created, _ = self.created(room, day, online)
        fee = self.fee(room, day, codes, group)
        past = day < self.today
        method, cancelled_at, cause, charge = None, None, None, None
        if cancelled:
            status = "cancelled"
            cause = rng.choices(("group", "late", "facility"), (0.6, 0.3, 0.1))[0]
            cancelled_at = min(self.now, at_jst(day, -rng.uniform(1, 20) * 86400))
            cancelled_at = max(cancelled_at, created + timedelta(hours=1))
            charge = fee if cause == "late" else (0 if cause == "group" else None)
            payment = rng.choice(("unpaid", "refunded")) if cause != "late" else "paid"
        elif past:
            status = "no_show" if rng.random() < 0.03 else "completed"
            payment = rng.choices(("paid", "unpaid"), (0.92, 0.08))[0]
        else:
            status = "confirmed"
            payment = rng.choices(("paid", "unpaid"), (0.35, 0.65))[0]
        if fee == 0 and payment == "paid":
            payment = "waived"
        if payment == "paid":
            method = "online" if online and rng.random() < 0.5 else "cash"
        self.rows.bookings.append(
            (
                booking_id,
                group,
                room.id,
                room.facility_id,
                day,
                json.dumps(codes),
                status,
                rng.choice(PURPOSES),
                rng.randint(3, max(4, room.capacity or 30)),
                None,
                category == "commercial" and rng.random() < 0.3,
                fee,
                json.dumps({"periods": codes}),
                payment,
                method,
                "online" if online else "counter",
                created,
                cancelled_at,
                cause,
                charge,
            )
        )

    def free(self, room: RoomInfo, day: date, code: str) -> bool:
        return all((day, code) not in self.taken.get(unit, ()) for unit in room.unit_ids)

    def take(self, room: RoomInfo, day: date, codes: Sequence[str]) -> None:
        for unit in room.unit_ids:
            self.taken.setdefault(unit, set()).update((day, code) for code in codes)

    def room_year(self, room: RoomInfo) -> int:
        """The room's bookings, cancellations, blocks and lapsed lotteries; its slot count."""
        rng = self.rng
        # A combined room books rarely: its parts are the rooms groups mostly take.
        share = self.occupancy * (0.25 if len(room.unit_ids) > 1 else 1.0)
        slots = 0
        for day in open_days(self.snapshot, room):
            codes = list(room.grid.codes_by_day_type[day_type(day)])
            slots += len(codes)
            if rng.random() < 0.003 and all(self.free(room, day, c) for c in codes):
                released = rng.random() < 0.1
                self.rows.blocks.append(
                    (
                        room.facility_id,
                        room.id,
                        day,
                        day,
                        json.dumps(codes),
                        rng.choice(("maintenance", "event")),
                        "bench",
                        at_jst(day, -30 * 86400),
                        self.now if released else None,
                    )
                )
                if not released:
                    self.take(room, day, codes)
                    continue
            # Each free slot taken with the share; a run of taken slots is cut into bookings
            # of one to three periods.
            run: list[str] = []
            for code in [*codes, None]:
                if code is not None and self.free(room, day, code) and rng.random() < share:
                    run.append(code)
                    continue
                while run:
                    length = rng.choices((1, 2, 3), (0.25, 0.45, 0.30))[0]
                    piece, run = run[:length], run[length:]
                    self.take(room, day, piece)
                    self.booking(room, day, piece, cancelled=False)
            for code in codes:
                if self.free(room, day, code):
                    if rng.random() < 0.08:
                        self.booking(room, day, [code], cancelled=True)
                    elif rng.random() < 0.04 and self.lottery_days(room, day) is not None:
                        self.lotteries.append((room, day, [code], None, "lapsed"))
        return slots

    def applications(self, target: int) -> None:
        """Each lottery: its winner (status as drawn), the others lost, some withdrawn; the
        number of applicants drawn so that the year comes to about `target`."""
        rng = self.rng
        mean = max(1.0, target / max(1, len(self.lotteries)))
        for room, day, codes, booking_id, winner in self.lotteries:
            apply_from, apply_to, confirm = self.lottery_days(room, day) or (day, day, day)
            month = day.replace(day=1)
            count = 1 + min(150, round(rng.expovariate(1 / (mean - 1)))) if mean > 1 else 1
            status_of_winner = winner
            if winner == "lapsed" and day >= self.today and rng.random() < 0.3:
                status_of_winner = "won"
            for position in range(count):
                created = at_jst(
                    apply_from, rng.uniform(0, ((apply_to - apply_from).days + 1) * 86400)
                )
                status, withdrawn_at, settled_at, reason, linked = "lost", None, None, "drawn", None
                if position == 0:
                    status, reason = status_of_winner, None
                    if status in ("confirmed", "lapsed"):
                        settled_at = at_jst(confirm, rng.uniform(0, 4 * 86400))
                    linked = booking_id
                elif rng.random() < 0.04:
                    status, withdrawn_at, reason = "withdrawn", created + timedelta(hours=5), None
                self.rows.applications.append(
                    (
                        month,
                        self.group(),
                        room.id,
                        room.facility_id,
                        day,
                        json.dumps(codes),
                        rng.choice(PURPOSES),
                        rng.randint(3, 40),
                        status,
                        created,
                        withdrawn_at,
                        position + 1 if status != "withdrawn" else None,
                        reason,
                        settled_at,
                        linked,
                    )
                )

    def wait_lists(self) -> None:
        """On 4% of the booked slots, one to three groups in line."""
        rng = self.rng
        for row in self.rows.bookings:
            _, _, room_id, facility_id, day, codes, status = row[:7]
            if status == "cancelled" or rng.random() >= 0.04:
                continue
            ended = day < self.today
            for group in rng.sample(range(1, GROUPS + 1), rng.randint(1, 3)):
                status_of = (
                    rng.choice(("closed", "expired", "left", "booked"))
                    if ended
                    else rng.choice(("waiting", "waiting", "left"))
                )
                joined = row[16] + timedelta(hours=rng.uniform(1, 72))
                self.rows.waiting.append(
                    (
                        group,
                        room_id,
                        facility_id,
                        day,
                        codes,
                        ",".join(json.loads(codes)),
                        status_of,
                        joined,
                        None if status_of == "waiting" else joined + timedelta(days=1),
                    )
                )


def group_rows(categories: Sequence[str], rng: random.Random) -> list[tuple[Any, ...]]:
    at = datetime(2020, 4, 1, tzinfo=UTC)
    return [
        (
            i,
            "group",
            categories[i],
            f"ベンチ会{i}",
            "active",
            f"{1000000 + i}",
            date(2099, 3, 31),
            rng.random() < 0.85,
            False,
            at,
        )
        for i in range(1, GROUPS + 1)
    ]


def schema_digest() -> str:
    """The migrations' text: a migration edited in place (the same revision, so `db upgrade`
    would not run it again) makes --keep seed again."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def seeded_before(url: str, args: argparse.Namespace) -> Seeded | None:
    """The marker's record when the database holds this very seed."""
    try:
        conn = await connect(url)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        row = await conn.fetchrow(f"SELECT summary FROM {MARKER}")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    if row is None:
        return None
    summary = json.loads(row["summary"])
    wanted = {
        "version": SEED_VERSION,
        "seed": args.seed,
        "occupancy": args.occupancy,
        "schema": schema_digest(),
    }
    if any(summary.get(k) != v for k, v in wanted.items()):
        return None
    if args.copies is not None and summary["copies"] != args.copies:
        return None
    return Seeded(summary["copies"], summary["rooms"], summary["slots"], summary["counts"], 0.0)


async def seed(url: str, args: argparse.Namespace) -> Seeded:
    began = time.perf_counter()
    env = {**os.environ, "BOOKING_DATABASE_URL": url}
    await recreate(url)
    run("db", "upgrade", env=env)
    subprocess.run(
        [sys.executable, "-m", "booking", "facilities", "load"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    base = await load_snapshot(url)
    base_slots = count_slots(base)
    copies = args.copies
    if copies is None:  # ~1.35 periods a booking, as drawn below
        copies = max(0, round(TARGET_BOOKINGS * 1.35 / (args.occupancy * base_slots)) - 1)
    conn = await connect(url)
    if copies:
        await copy_network(conn, copies)
    snapshot = await load_snapshot(url)
    print(
        f"network: {len(base.rooms)} bundled rooms ({base_slots:,} period-slots in FY2026)"
        f" + {copies} synthetic copies of every facility -> {len(snapshot.rooms)} rooms"
    )
    generator = Generator(snapshot, args.occupancy, args.seed)
    slots = sum(generator.room_year(room) for room in snapshot.rooms)
    generator.applications(TARGET_APPLICATIONS)
    generator.wait_lists()
    rows = generator.rows
    print(f"rows drawn in {time.perf_counter() - began:.1f} s; writing them with COPY")
    await conn.execute("SET session_replication_role = replica")  # no triggers, no FK checks
    await conn.copy_records_to_table(
        "groups",
        records=group_rows(generator.categories, generator.rng),
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
        ],
    )
    await conn.copy_records_to_table("bookings", records=rows.bookings, columns=BOOKING_COLUMNS)
    await conn.copy_records_to_table(
        "lottery_applications", records=rows.applications, columns=APPLICATION_COLUMNS
    )
    await conn.copy_records_to_table("blocks", records=rows.blocks, columns=BLOCK_COLUMNS)
    await conn.copy_records_to_table(
        "waitlist_entries", records=rows.waiting, columns=WAITING_COLUMNS
    )
    await conn.execute("SET session_replication_role = origin")
    for table in ("groups", "bookings"):
        await conn.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    await conn.execute("VACUUM ANALYZE")
    counts = {
        table: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("groups", "bookings", "lottery_applications", "blocks", "waitlist_entries")
    }
    seeded = Seeded(copies, len(snapshot.rooms), slots, counts, time.perf_counter() - began)
    summary = {
        "schema": schema_digest(),
        "version": SEED_VERSION,
        "seed": args.seed,
        "occupancy": args.occupancy,
        "copies": copies,
        "rooms": seeded.rooms,
        "slots": slots,
        "counts": counts,
    }
    await conn.execute(f"CREATE TABLE {MARKER} (summary text)")
    await conn.execute(f"INSERT INTO {MARKER} VALUES ($1)", json.dumps(summary))
    await conn.close()
    return seeded


# The occupancy reached, checked in SQL (not from the generator's own counts): booked slots
# (confirmed, completed, no_show) over the period-slots of the year counted by the seeding,
# less the slots of live blocks.
REACHED = """
SELECT
  (SELECT count(*) FROM bookings b, json_array_elements_text(b.period_codes) p
    WHERE b.status IN ('confirmed', 'completed', 'no_show')
      AND b.use_date BETWEEN '2026-04-01' AND '2027-03-31') AS booked,
  (SELECT count(*) FROM blocks k, json_array_elements_text(k.period_codes) p
    WHERE k.released_at IS NULL) AS blocked,
  (SELECT count(*) FROM bookings WHERE status = 'cancelled') AS cancelled,
  (SELECT count(*) FROM bookings WHERE status = 'no_show') AS no_shows,
  (SELECT count(*) FROM bookings b JOIN room_units ru ON ru.room_id = b.room_id
    GROUP BY b.room_id HAVING count(DISTINCT ru.unit_id) > 1 ORDER BY 1 DESC LIMIT 1)
    AS combined_room_rows,
  (SELECT round(avg(json_array_length(period_codes)), 2) FROM bookings) AS periods_a_booking,
  (SELECT count(DISTINCT (room_id, use_date, period_codes::text)) FROM lottery_applications)
    AS lotteries,
  (SELECT string_agg(status || ' ' || n, ', ' ORDER BY n DESC) FROM
    (SELECT status, count(*) n FROM lottery_applications GROUP BY status) s) AS applications,
  (SELECT pg_size_pretty(pg_database_size(current_database()))) AS size
"""


async def report_seed(url: str, seeded: Seeded) -> None:
    conn = await connect(url)
    found = await conn.fetchrow(REACHED)
    await conn.close()
    counts = seeded.counts
    occupancy = found["booked"] / (seeded.slots - found["blocked"])
    took = f"seeded in {seeded.seconds:.0f} s" if seeded.seconds else "reused (--keep)"
    print(
        f"database: {took}, {found['size']}; {seeded.rooms} rooms"
        f" ({seeded.copies} synthetic copies of the bundled network),"
        f" {seeded.slots:,} period-slots in FY2026"
    )
    print(
        f"bookings {counts['bookings']:,} ({found['periods_a_booking']} periods each;"
        f" {found['cancelled']:,} cancelled, {found['no_shows']:,} no-shows; the combined room"
        f" {found['combined_room_rows']:,}), blocks {counts['blocks']:,} ({found['blocked']:,}"
        f" slots live), groups {counts['groups']:,}, wait-list entries"
        f" {counts['waitlist_entries']:,}"
    )
    print(
        f"occupancy reached: {found['booked']:,} booked slots / "
        f"{seeded.slots - found['blocked']:,} open, unblocked slots = {occupancy:.1%}"
    )
    print(
        f"lottery applications {counts['lottery_applications']:,} in {found['lotteries']:,}"
        f" lotteries: {found['applications']}"
    )


async def admin_headers(url: str) -> dict[str, str]:
    """An administrator (made once, found again on a reused database), logged in now."""
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    clock = SystemClock()
    async with create_sessionmaker(engine)() as session:
        admin = await grant_staff_role(
            session,
            clock,
            settings,
            SYSTEM,
            email="admin@city.example",
            name="admin",
            role=StaffRole.ADMIN,
            password="bench password 2026",  # noqa: S106 - a throwaway database
        )
        opened = await open_session(session, clock, settings, admin.id)
        await session.commit()
    await engine.dispose()
    return {"Cookie": f"booking_session={opened.cookie_value}", "X-CSRF-Token": opened.csrf_token}


class Server:
    """One `booking serve` process, as availability.py starts it."""

    def __init__(self, url: str, port: int, name: str) -> None:
        port_free(port)
        self.base = f"http://127.0.0.1:{port}"
        self.log = Path(f"/tmp/bench-statistics-{port}-{name}.log")  # noqa: S108 - scratch
        self.process = subprocess.Popen(
            [sys.executable, "-m", "booking", "serve", "--port", str(port)],
            env={**os.environ, "BOOKING_DATABASE_URL": url, "BOOKING_LOG_LEVEL": "warning"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    async def ready(self) -> None:
        await wait_ready(self.base, self.process, self.log)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@dataclass
class Measured:
    label: str
    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    status: int = 200
    size: int = 0

    def cells(self) -> str:
        if self.status != 200:
            return f"| {self.label} | {self.status} | – | – | – | – | – |"
        server = (
            f"{percentile(self.server, 0.5):.1f} | {percentile(self.server, 0.95):.1f}"
            if self.server
            else "– | –"
        )
        return (
            f"| {self.label} | {len(self.client)} | {percentile(self.client, 0.5):.1f} |"
            f" {percentile(self.client, 0.95):.1f} | {server} | {self.size / 1024:,.0f} |"
        )


HEADER = (
    "| request | n | client p50 ms | client p95 ms | server p50 ms | server p95 ms | KB |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


async def measure(
    client: httpx.AsyncClient,
    label: str,
    path: str,
    params: dict[str, str],
    n: int,
    headers: dict[str, str] | None = None,
    before: Any = None,
) -> Measured:
    """`n` requests one at a time (with `before()` awaited before each, outside the timing);
    a status other than 200 stops the series and is reported."""
    measured = Measured(label)
    for _ in range(n):
        if before is not None:
            await before()
        began = time.perf_counter()
        response = await client.get(path, params=params, headers=headers)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            measured.status = response.status_code
            print(f"  {label}: GET {path} -> {response.status_code} {response.text[:200]!r}")
            print("  (the server's log: /tmp/bench-statistics-<port>-<part>.log)")
            break
        measured.client.append(elapsed)
        measured.size = len(response.content)
        if (timing := response.headers.get("server-timing")) and "dur=" in timing:
            measured.server.append(float(timing.split("dur=")[1].split(",")[0].split(";")[0]))
    return measured


async def churner(url: str) -> tuple[asyncpg.Connection, Any]:
    """A writer that changes one booking of the current month before each request (its
    headcount: an UPDATE the statistics triggers log), so the month's counts are read again."""
    conn = await connect(url)
    today = datetime.now(TZ).date()
    ids = [
        row["id"]
        for row in await conn.fetch(
            "SELECT id FROM bookings WHERE use_date >= $1 AND use_date < $2"
            " AND status = 'confirmed' ORDER BY id LIMIT 200",
            today.replace(day=1),
            (today.replace(day=1) + timedelta(days=32)).replace(day=1),
        )
    ]
    turn = iter(range(10**9))

    async def change() -> None:
        booking_id = ids[next(turn) % len(ids)]
        await conn.execute(
            "UPDATE bookings SET headcount = headcount % 40 + 1 WHERE id = $1", booking_id
        )

    return conn, change


async def timings(url: str, args: argparse.Namespace) -> list[Measured]:
    headers = await admin_headers(url)
    fiscal = {"fiscal_year": "2026"}
    results: list[Measured] = []
    server = Server(url, args.port, "dashboard")
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
            cold = await measure(
                client, "dashboard, first request", "/manage/statistics", fiscal, 1, headers
            )
            results.append(cold)
            if cold.status == 200:
                results.append(
                    await measure(
                        client,
                        "dashboard, warm",
                        "/manage/statistics",
                        fiscal,
                        args.requests,
                        headers,
                    )
                )
                conn, change = await churner(url)
                results.append(
                    await measure(
                        client,
                        "dashboard, a booking of this month changed before each",
                        "/manage/statistics",
                        fiscal,
                        args.requests,
                        headers,
                        change,
                    )
                )
                await conn.close()
            for figure in ("occupancy", "demand", "use"):
                params = {**fiscal, "group_by": "facility"}
                path = f"/api/v1/statistics/{figure}"
                first = await measure(
                    client, f"API {figure} by facility, first", path, params, 1, headers
                )
                results.append(first)
                if first.status == 200:
                    results.append(
                        await measure(
                            client,
                            f"API {figure} by facility, warm",
                            path,
                            params,
                            args.requests,
                            headers,
                        )
                    )
    finally:
        server.stop()
    # The open data after a restart: its first request reads every month (cold).
    server = Server(url, args.port, "open-data")
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
            for name in ("occupancy", "demand"):
                path = f"/api/v1/open-data/{name}.csv"
                first = await measure(
                    client, f"open data {name}.csv, first at a start", path, fiscal, 1
                )
                results.append(first)
                if first.status == 200:
                    results.append(
                        await measure(client, f"open data {name}.csv, warm", path, fiscal, 10)
                    )
    finally:
        server.stop()
    # The same after the start's background read of the statistics (booking/statistics/warm.py)
    # has had its time: what a request finds unless it comes in a start's first seconds.
    server = Server(url, args.port, "open-data-warmed")
    try:
        await server.ready()
        await asyncio.sleep(WARMED_AFTER)
        async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
            path = "/api/v1/open-data/occupancy.csv"
            label = f"open data occupancy.csv, first {WARMED_AFTER} s after a start"
            results.append(await measure(client, label, path, fiscal, 1))
    finally:
        server.stop()
    return results


async def in_process(url: str, n: int) -> list[Measured]:
    """The core alone (booking.statistics.report), without HTTP or a page: the three tables by
    facility for FY2026, city-wide, from a new process cache (cold: every month read), again
    (warm), and with one booking of the current month changed before each (that month read
    again). Where the pages' time goes, and what the core costs before they land."""
    try:
        from booking.statistics.counts import CountsCache  # noqa: PLC0415
        from booking.statistics.report import REPORTS, Source, table  # noqa: PLC0415
        from booking.statistics.span import Span  # noqa: PLC0415
    except ImportError as error:
        print(f"  in process: the statistics core is not importable ({error})")
        return []
    engine = create_engine(Settings(database_url=url))
    maker = create_sessionmaker(engine)
    cache = CountsCache()
    span = Span.fiscal_year(2026)
    conn, change = await churner(url)
    results = []
    snapshots = SnapshotCache()

    async def all_three() -> None:
        async with maker() as session:
            network = await snapshots.get(session)
            source = Source(session, network, cache, TZ)
            for key in ("occupancy", "demand", "use"):
                await table(source, REPORTS[key], span, ("facility",))

    for label, count, before in (
        ("core: the three tables by facility, cold", 1, None),
        ("core: the three tables by facility, warm", n, None),
        ("core: the same, a booking of this month changed before each", n, change),
    ):
        measured = Measured(label)
        for _ in range(count):
            if before is not None:
                await before()
            began = time.perf_counter()
            try:
                await all_three()
            except Exception as error:  # noqa: BLE001 - reported; the HTTP part still runs
                print(f"  {label}: {type(error).__name__}: {str(error)[:300]}")
                measured.status = 500
                break
            measured.client.append((time.perf_counter() - began) * 1000)
        results.append(measured)
    await conn.close()
    await engine.dispose()
    return results


def verdicts(results: list[Measured]) -> list[str]:
    lines = []
    for measured in results:
        if measured.status != 200 or not measured.client:
            continue
        if measured.label.startswith("dashboard") and len(measured.client) > 1:
            p95 = percentile(measured.client, 0.95)
            verdict = "within" if p95 <= TARGET_DASHBOARD_P95_MS else "OVER"
            lines.append(
                f"{measured.label}: client p95 {p95:.0f} ms ({verdict} the"
                f" {TARGET_DASHBOARD_P95_MS:.0f} ms target)"
            )
        if measured.label.startswith("open data"):
            worst = max(measured.client)
            verdict = "within" if worst <= TARGET_CSV_MS else "OVER"
            lines.append(
                f"{measured.label}: worst {worst:.0f} ms ({verdict} the {TARGET_CSV_MS:.0f} ms"
                " target)"
            )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_statistics"
    )
    parser.add_argument("--keep", action="store_true", help="reuse the database if seeded alike")
    parser.add_argument("--seed-only", action="store_true", help="seed and check, no timing")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--copies", type=int, default=None, help="synthetic network copies")
    parser.add_argument("--occupancy", type=float, default=0.6)
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()

    seeded = await seeded_before(args.url, args) if args.keep else None
    if seeded is None:
        seeded = await seed(args.url, args)
    await report_seed(args.url, seeded)
    if args.seed_only:
        return
    results = await in_process(args.url, args.requests)
    results += await timings(args.url, args)
    print(f"timed over HTTP, one `booking serve` process; {load_line()}")
    print(HEADER)
    for measured in results:
        print(measured.cells())
    for line in verdicts(results):
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
