"""Benchmark of the server-rendered search page (booking/pages/search.py) on PostgreSQL.
Run by hand, not in CI:

    .venv/bin/python bench/pages.py [--requests 300] [--today YYYY-MM-DD] [--no-settle]

As bench/availability.py (whose helpers it imports): a fresh database, the bundled Kawasaki
network, 30% of every slot over the next 93 days booked or blocked; then one uvicorn process on
loopback running create_app() with its clock frozen at `--today` (default: today in Tokyo) at
10:00, so a run does not change day half-way. The dates searched start 4 days after today,
inside the first-come window of the default, children's and seniors' policies (halls close 3
days before; only the large halls' window closes earlier, 14 days), so the list shows real
free slots. Measured, for the ward with the most rooms:
- server-side latency (the Server-Timing header) of GET /search over 31 days, in Japanese (the
  default, no `lang` cookie): the list of free slots (page 1: whole days up to
  search.PAGE_SLOTS slots, a ward's month) and the month grid;
- "a ward-month of results on a phone" (issue 18): the same list as a phone asks for it (a
  phone's User-Agent and Accept-Language, no cookie: the page is the same for every screen,
  the layout is CSS), target p95 ≤ 80 ms;
  both 31-day views in English (`lang=en` cookie), for information (a ward's grid over 93 days
  is past what one anonymous search may cost: booking/reservations/availability.py);
- the requests/s of the 31-day list and grid with several requests in flight;
- the CSS and JavaScript the page links to (budget: 100 KB together), raw and gzipped.
The server settles its heap after start-up as `booking serve` does (booking.app.settle_heap:
gc.freeze()); `--no-settle` leaves the garbage collector as Python starts it, to compare.
The load average is printed: other work on the machine shows in the tail figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from availability import WINDOW_DAYS, fill_claims, percentile, recreate, run

from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import build_snapshot
from booking.settings import Settings

SELF = Path(__file__).resolve()
ROOT = SELF.parents[1]
TZ = ZoneInfo("Asia/Tokyo")
LEAD_DAYS = 4  # past every policy's "closes N days before" (halls: 3)
TARGET_P95_MS = 80.0
ASSET_BUDGET_KB = 100.0
PHONE = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Accept-Language": "ja-JP,ja;q=0.9",
}
ASSET = re.compile(r'<(?:link rel="stylesheet" href|script src)="(/static/[^"?]+)[^"]*"')


def serve(port: int, today: date, settle: bool) -> None:
    """The server process: the app as `booking serve` builds it, with a frozen clock; the
    heap settled as `booking serve` settles it, unless --no-settle."""
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    from booking.app import create_app, settle_heap  # noqa: PLC0415
    from booking.clock import FrozenClock  # noqa: PLC0415
    from booking.settings import load_settings  # noqa: PLC0415

    clock = FrozenClock(datetime.combine(today, clock_time(10), tzinfo=TZ))
    app = create_app(load_settings(), clock=clock)
    if settle:
        settle_heap()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


async def biggest_ward(url: str) -> tuple[str, int]:
    """The key of the ward with the most active rooms, and how many."""
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    keys = {ward_id: key for key, ward_id in snapshot.ward_keys.items()}
    wards = (snapshot.facilities[room.facility_id].ward_id for room in snapshot.rooms)
    rooms = Counter(keys[ward_id] for ward_id in wards if ward_id is not None)
    return rooms.most_common(1)[0]


def server_ms(response: httpx.Response) -> float:
    return float(response.headers["server-timing"].split("dur=")[1])


async def page(client: httpx.AsyncClient, params: dict[str, str], lang: str) -> httpx.Response:
    response = await client.get("/search", params=params)
    response.raise_for_status()
    if f'<html lang="{lang}">' not in response.text:
        raise RuntimeError(f"expected a page in {lang!r}")
    return response


async def latency(
    client: httpx.AsyncClient, params: dict[str, str], n: int, lang: str
) -> tuple[list[float], httpx.Response]:
    """Server-side ms of n requests after 5 warm-ups, and the last response."""
    timings = []
    for i in range(n + 5):
        response = await page(client, params, lang)
        if i >= 5:
            timings.append(server_ms(response))
    return timings, response


async def slot_count(client: httpx.AsyncClient, params: dict[str, str], states: str) -> int:
    """The slots the availability API returns for the same search (the page reads the same)."""
    query = {"ward": params["ward"], "from": params["from"], "to": params["to"]}
    if states:
        query["state"] = states
    response = await client.get("/api/v1/availability", params=query)
    response.raise_for_status()
    count: int = response.json()["slot_count"]
    return count


async def throughput(base: str, params: dict[str, str], concurrency: int, n: int) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await page(client, params, "ja")  # the form cookie, as a browser would keep it
        remaining = n

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.get("/search", params=params)
                response.raise_for_status()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - began)


async def assets(client: httpx.AsyncClient, html: str) -> None:
    """The CSS and JavaScript the page links to, as served, raw and gzipped (level 6)."""
    paths = ASSET.findall(html)
    print(f"\nstatic files linked by the page ({len(paths)}), as served by /static:")
    print("| file | raw KB | gzip -6 KB |")
    print("|---|---:|---:|")
    raw_total = gzip_total = 0
    for path in paths:
        response = await client.get(path)
        response.raise_for_status()
        raw, packed = len(response.content), len(gzip.compress(response.content, 6))
        raw_total, gzip_total = raw_total + raw, gzip_total + packed
        print(f"| {path.rsplit('/', 1)[1]} | {raw / 1024:.1f} | {packed / 1024:.1f} |")
    print(f"| together | {raw_total / 1024:.1f} | {gzip_total / 1024:.1f} |")
    verdict = "within" if raw_total / 1024 <= ASSET_BUDGET_KB else "OVER"
    encoding = response.headers.get("content-encoding", "none")
    print(
        f"budget {ASSET_BUDGET_KB:.0f} KB together: raw {verdict}; the app sends them with "
        f"Content-Encoding: {encoding}, cache-control: {response.headers.get('cache-control')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench"
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8769)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--today", type=date.fromisoformat, default=datetime.now(TZ).date())
    parser.add_argument(
        "--no-settle", action="store_true", help="leave the server's garbage collector as is"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.today, settle=not args.no_settle)
    else:
        asyncio.run(bench(args))


async def bench(args: argparse.Namespace) -> None:  # noqa: PLR0915 - one straight script
    env = {**os.environ, "BOOKING_DATABASE_URL": args.url, "BOOKING_LOG_LEVEL": "warning"}
    await recreate(args.url)
    run("db", "upgrade", env=env)
    run("facilities", "load", env=env)
    start = args.today + timedelta(days=LEAD_DAYS)
    taken, slots = await fill_claims(args.url, start, args.seed)
    print(f"claims: {taken} of {slots} unit-slots ({taken / slots:.0%}) over {WINDOW_DAYS} days")
    ward, rooms = await biggest_ward(args.url)

    server = subprocess.Popen(
        [
            sys.executable,
            str(SELF),
            "--serve",
            "--port",
            str(args.port),
            "--today",
            args.today.isoformat(),
            *(["--no-settle"] if args.no_settle else []),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=60) as ja,
            httpx.AsyncClient(base_url=base, timeout=60, cookies={"lang": "en"}) as en,
            httpx.AsyncClient(base_url=base, timeout=60, headers=PHONE) as phone,
        ):
            for _ in range(150):
                try:
                    if (await ja.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            collector = "as Python starts it" if args.no_settle else "settled (gc.freeze())"
            print(
                f"today {args.today} (frozen clock); ward {ward!r}: {rooms} rooms; from {start};"
                f" server-side ms over {args.requests} requests after 5 warm-ups; server GC:"
                f" {collector}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
            print(
                "| view | days | lang | rows on page | slots | HTML KB | gzip KB "
                "| p50 ms | p95 ms | p99 ms |"
            )
            print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
            runs = [
                ("phone", 31, "ja"),
                ("list", 31, "ja"),
                ("grid", 31, "ja"),
                ("list", 31, "en"),
                ("grid", 31, "en"),
            ]
            verdicts = []
            html = ""
            for view, days, lang in runs:
                params = {
                    "ward": ward,
                    "from": start.isoformat(),
                    "to": (start + timedelta(days=days - 1)).isoformat(),
                    "view": "list" if view == "phone" else view,
                }
                client = phone if view == "phone" else ja if lang == "ja" else en
                timings, last = await latency(client, params, args.requests, lang)
                body = last.content
                html = html or last.text
                if view in {"list", "phone"}:
                    shown = body.count(b'<li class="slot"')  # a room's free slots of a day
                    found = await slot_count(ja, params, "open,lottery,counter_only")
                    label = f"{found:,} free"
                else:
                    shown = body.count(b'<th scope="rowgroup"')  # a room's lines of periods
                    found = await slot_count(ja, params, "")
                    label = f"{found:,}"
                p50, p95, p99 = (percentile(timings, share) for share in (0.5, 0.95, 0.99))
                print(
                    f"| {view} | {days} | {lang} | {shown} | {label} | {len(body) / 1024:,.0f} | "
                    f"{len(gzip.compress(body, 6)) / 1024:,.0f} | "
                    f"{p50:.1f} | {p95:.1f} | {p99:.1f} |"
                )
                if days == 31 and lang == "ja":
                    met = "≤" if p95 <= TARGET_P95_MS else ">"
                    what = "a ward-month of results on a phone" if view == "phone" else view
                    verdicts.append(f"{what}: p95 {p95:.1f} ms {met} {TARGET_P95_MS:.0f}")
            print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms, 31 days, Japanese: {'; '.join(verdicts)}")
            await assets(ja, html)
        for view in ("list", "grid"):
            params = {
                "ward": ward,
                "from": start.isoformat(),
                "to": (start + timedelta(days=30)).isoformat(),
                "view": view,
            }
            rps = await throughput(base, params, args.concurrency, args.requests)
            print(
                f"throughput, {view}, 31 days, {args.concurrency} in flight, one server process: "
                f"{rps:.0f} requests/s"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
