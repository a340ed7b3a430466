"""Benchmark of the usage permit's and the receipt's PDFs (issue 16 §4: a permit p95 <= 150 ms).
Run by hand, not in CI:

    .venv/bin/python bench/permits.py [--count 200] [--http-count 200] [--no-http]

1. The render alone: render_permit and render_receipt (the CPU part), the first call with the
   font's registration, then `--count` alternating ja and en, serially and through the worker
   threads (two at once) with eight requests waiting at a time.
2. Over HTTP on PostgreSQL (unless --no-http): a fresh database with the bundled network,
   `--http-count` confirmed bookings of one civic hall, one `booking serve` process, the facility
   clerk's session; the client's latency and the server's (Server-Timing) of
   GET /api/v1/bookings/{id}/permit.pdf on its first issue (the counter's UPDATE and the INSERT)
   and again, POST /api/v1/bookings/{id}/payment (the receipt issued in the payment's
   transaction), GET its receipt's PDF, each one request at a time, then the permits again with
   eight in flight. The booking's JSON (GET /api/v1/bookings/{id}) is timed first, for scale:
   the same session check and a primary-key read, without a document.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from availability import percentile, recreate, run
from sqlalchemy import insert

from booking.accounts.models import Group, StaffRole
from booking.accounts.sessions import open_session
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import SystemClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.documents.permits import PeriodLine, PermitFacts
from booking.documents.reading import ReceiptFacts
from booking.documents.render import permit_pdf, receipt_pdf, render_permit, render_receipt
from booking.inventory.network import SnapshotCache
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 150.0

FACTS = PermitFacts(
    number="2026-0017-000123",
    verification_code="K7QX-3M9P-2D4F",
    issued_on=date(2026, 11, 20),
    facility_ja="川崎市中原市民館",
    facility_en="Nakahara Civic Hall",
    room_ja="第1会議室",
    room_en="Meeting Room 1",
    use_date=date(2026, 12, 5),
    periods=(
        PeriodLine("午前", "Morning", "09:00", "12:00"),
        PeriodLine("午後", "Afternoon", "13:00", "17:00"),
    ),
    group_name="中原区子ども会連絡協議会",
    purpose_ja="会議・打合せ",
    purpose_en="Meeting",
    event_name="定例役員会",
    headcount=25,
    fee_total=1200,
    payment_status=PaymentStatus.PAID,
)
RECEIPT = ReceiptFacts(
    kind="receipt",
    number="R-2026-0017-000123",
    verification_code="K7QX-3M9P-2D4F",
    issued_on=date(2026, 11, 20),
    amount=1200,
    method="counter",
    booking_id=4711,
    facility_ja=FACTS.facility_ja,
    facility_en=FACTS.facility_en,
    room_ja=FACTS.room_ja,
    room_en=FACTS.room_en,
    use_date=FACTS.use_date,
    periods=FACTS.periods,
    group_name=FACTS.group_name,
)


def summary(label: str, millis: list[float]) -> str:
    ordered = sorted(millis)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{label}: n={len(ordered)} median {statistics.median(ordered):.1f} ms, "
        f"p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"
    )


async def concurrent(count: int) -> list[float]:
    waits = asyncio.Semaphore(8)
    millis: list[float] = []

    async def one(i: int) -> None:
        async with waits:
            start = time.perf_counter()
            await permit_pdf(FACTS, "ja" if i % 2 else "en")
            millis.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(one(i) for i in range(count)))
    return millis


def render_alone(count: int) -> None:
    start = time.perf_counter()
    size = len(render_permit(FACTS))
    print(f"first (font registration included): {(time.perf_counter() - start) * 1000:.0f} ms")
    for label, render, facts in (
        ("permit", render_permit, FACTS),
        ("receipt", render_receipt, RECEIPT),
    ):
        millis = []
        for i in range(count):
            start = time.perf_counter()
            size = len(render(facts, "ja" if i % 2 else "en"))  # type: ignore[arg-type]
            millis.append((time.perf_counter() - start) * 1000)
        print(summary(f"{label} render, serial", millis) + f", {size} bytes")
    print(
        summary(
            "permit, 8 waiting, 2 threads (latency incl. queue)", asyncio.run(concurrent(count))
        )
    )
    asyncio.run(receipt_pdf(RECEIPT))  # the receipt's path through the threads works


async def fill(url: str, n: int) -> tuple[list[int], str, str]:
    """`n` confirmed bookings of one civic hall's room (rows written directly: booking them
    through the API would time the booking, not the documents) and its clerk's session."""
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    clock = SystemClock()
    async with create_sessionmaker(engine)() as session:
        snapshot = await SnapshotCache().get(session)
        room = next(
            r
            for r in snapshot.rooms
            if r.online_bookable and snapshot.facilities[r.facility_id].kind == "civic_hall"
        )
        now = datetime.now(UTC)
        group_id = await session.scalar(
            insert(Group)
            .values(
                kind="group",
                category="general",
                name="中原区子ども会連絡協議会",
                status="active",
                card_number="1234567",
                valid_until=date(2099, 3, 31),
                in_city=True,
                guardian_consent=False,
                created_at=now,
            )
            .returning(Group.id)
        )
        codes = [p.code for p in room.grid.periods]
        rows = [
            {
                "group_id": group_id,
                "room_id": room.id,
                "facility_id": room.facility_id,
                "use_date": date(2027, 1, 4) + timedelta(days=i // len(codes)),
                "period_codes": [codes[i % len(codes)]],
                "status": BookingStatus.CONFIRMED,
                "purpose": "meeting",
                "headcount": 12,
                "event_name": "定例役員会",
                "fee_total": 1200,
                "fee_breakdown": {},
                "payment_status": PaymentStatus.UNPAID,
                "channel": "online",
                "created_at": now,
            }
            for i in range(n)
        ]
        ids = list((await session.scalars(insert(Booking).returning(Booking.id), rows)).all())
        clerk = await grant_staff_role(
            session,
            clock,
            settings,
            SYSTEM,
            email="clerk@city.example",
            name="clerk",
            role=StaffRole.MANAGER,
            facility_ids=[room.facility_id],
            password="bench password 2026",  # noqa: S106 - a throwaway database
        )
        opened = await open_session(session, clock, settings, clerk.id)
        await session.commit()
    await engine.dispose()
    return ids, f"booking_session={opened.cookie_value}", opened.csrf_token


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def timed(
    client: httpx.AsyncClient, ids: list[int], request: Request, in_flight: int = 1
) -> tuple[list[float], list[float]]:
    """Client-side and server-side (Server-Timing) milliseconds of one request per booking."""
    queue = list(ids)
    client_ms: list[float] = []
    server_ms: list[float] = []

    async def worker() -> None:
        while queue:
            booking_id = queue.pop()
            began = time.perf_counter()
            response = await request(client, booking_id)
            client_ms.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{booking_id}: {response.status_code} {response.text}")
            server_ms.append(float(response.headers["server-timing"].split("dur=")[1]))

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return client_ms, server_ms


def row(label: str, measured: tuple[list[float], list[float]]) -> float:
    client_ms, server_ms = measured
    cells = [percentile(client_ms, 0.5), percentile(client_ms, 0.95)]
    cells += [percentile(server_ms, 0.5), percentile(server_ms, 0.95)]
    print(f"| {label} | {len(client_ms)} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return cells[1]


async def over_http(url: str, n: int, port: int) -> None:
    env = {**os.environ, "BOOKING_DATABASE_URL": url}
    await recreate(url)
    run("db", "upgrade", env=env)
    run("facilities", "load", env=env)
    ids, cookie, csrf = await fill(url, n)
    server = subprocess.Popen(
        [sys.executable, "-m", "booking", "serve", "--port", str(port)],
        env={**env, "BOOKING_LOG_LEVEL": "warning"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    receipts: dict[int, str] = {}

    async def permit(client: httpx.AsyncClient, booking_id: int) -> httpx.Response:
        lang = "en" if booking_id % 2 else "ja"
        return await client.get(
            f"/api/v1/bookings/{booking_id}/permit.pdf?lang={lang}", headers=headers
        )

    async def read(client: httpx.AsyncClient, booking_id: int) -> httpx.Response:
        return await client.get(f"/api/v1/bookings/{booking_id}", headers=headers)

    async def pay(client: httpx.AsyncClient, booking_id: int) -> httpx.Response:
        return await client.post(
            f"/api/v1/bookings/{booking_id}/payment",
            json={"status": "paid", "method": "counter"},
            headers=headers,
        )

    async def receipt(client: httpx.AsyncClient, booking_id: int) -> httpx.Response:
        return await client.get(receipts[booking_id], headers=headers)

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(100):
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            await permit(client, ids[0])  # warm: the font, the snapshot, the connections
            target = f"target: permit p95 <= {TARGET_P95_MS:.0f} ms"
            print(f"over HTTP on PostgreSQL, one server process ({target})")
            print("| request | n | client p50 ms | client p95 ms | server p50 ms | server p95 ms |")
            print("|---|---:|---:|---:|---:|---:|")
            row("the booking as JSON (for comparison)", await timed(client, ids, read))
            worst = row("permit, first issue", await timed(client, ids[1:], permit))
            worst = max(worst, row("permit, again", await timed(client, ids, permit)))
            row("payment (receipt issued)", await timed(client, ids, pay))
            for booking_id in ids:  # each receipt's address, from the booking's documents
                listed = await client.get(
                    f"/api/v1/bookings/{booking_id}/documents", headers=headers
                )
                receipts[booking_id] = listed.json()[-1]["url"]
            row("receipt PDF", await timed(client, ids, receipt))
            worst = max(worst, row("permit, 8 in flight", await timed(client, ids, permit, 8)))
            verdict = "within" if worst <= TARGET_P95_MS else "OVER"
            print(f"worst permit p95 (client): {worst:.1f} ms ({verdict} the target)")
            print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--http-count", type=int, default=200)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_permits"
    )
    parser.add_argument("--port", type=int, default=8768)
    args = parser.parse_args()
    render_alone(args.count)
    if not args.no_http:
        asyncio.run(over_http(args.url, args.http_count, args.port))


if __name__ == "__main__":
    main()
