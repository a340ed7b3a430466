"""Benchmark of the usage permit's PDF (issue 16 §4: p95 <= 150 ms). Run by hand, not in CI:

    .venv/bin/python bench/permits.py [--count 200]

Times render_permit itself (the CPU part of GET /api/v1/bookings/{id}/permit.pdf; the database
part is a few primary-key reads and, on a first issue, one counter UPDATE and one INSERT): the
first call with the font's registration, then `--count` permits alternating ja and en, serially
and through permit_pdf (worker threads, two at once) with eight requests waiting at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date

from booking.documents.permits import PeriodLine, PermitFacts
from booking.documents.render import permit_pdf, render_permit
from booking.reservations.models import PaymentStatus

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    start = time.perf_counter()
    size = len(render_permit(FACTS))
    print(f"first (font registration included): {(time.perf_counter() - start) * 1000:.0f} ms")
    millis = []
    for i in range(count):
        start = time.perf_counter()
        render_permit(FACTS, "ja" if i % 2 else "en")
        millis.append((time.perf_counter() - start) * 1000)
    print(summary("serial", millis) + f", {size} bytes")
    print(summary("8 waiting, 2 threads (latency incl. queue)", asyncio.run(concurrent(count))))


if __name__ == "__main__":
    main()
