"""Benchmark of the opening-day rush (issue 20) on PostgreSQL. Run by hand, not in CI:

    .venv/bin/python bench/rush.py [--workers 1,2] [--groups 3000] [--in-flight 100]
    .venv/bin/python bench/rush.py --scenario grids [--workers 1] [--grids 50]

A base database made once (the bundled network, `--groups` active groups each with an API
token), copied as a template for every run, so each run starts from the same empty month.
The server is `booking serve` itself, as an operator runs it (`--workers N`, real clock): the
month rushed is the newest use month whose first-come booking is open today (it opened on the
29th of four months before, `first_come_opens`), so the server needs no frozen clock and the
bench is a rush on the month that opened last.

`--scenario rush` (the default): the month's slots of the halls' online rooms (39 rooms × the
month's days × 3 periods ≈ 3,600), each group wanting 1-4 of them (40/30/20/10%) and listing
`--fallbacks` more in its order of preference; preferences are skewed and seeded: popular
rooms (a Zipf law over the rooms, shuffled by the seed), Saturdays first, then Sundays and
holidays, evenings on weekdays. Every group waits at one asyncio barrier and is released at
once: it books its choices in order, moving to its next choice on 409, until it has what it
wanted or nothing is left of its list. At most `--in-flight` requests are on the wire at once
(the others wait their turn, FIFO, as in a load balancer's queue; by default 1 per database
connection of each process: IN_FLIGHT_PER_CONNECTION says why). Before the release, the
machine's pace: uncontended bookings of the month before. Printed: bookings/s, p50/p95/p99 of
every attempt (client: on the wire, the wait for a connection apart; server: Server-Timing),
5xx (each body printed), 409s, when every group had an answer (its first booking, or nothing
left of its choices), and fairness: the order of each group's first attempt against the order
of its first success.

`--scenario grids`: booking p95 with nothing else running, then while `--grids` anonymous
clients load the month grid of the ward with the most rooms (a ward's month: the most an
anonymous search may cost, booking/reservations/availability.py GRID_ROOM_DAYS) in a loop,
then idle again. Target (issue 20): booking p95 under the grids at most 2× idle.

The machine is shared: the load average is printed; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import httpx
from availability import fill_claims
from frozen import (
    TZ,
    BenchGroup,
    analyze,
    connect,
    fresh_database,
    load_line,
    make_groups,
    percentile,
    port_free,
    wait_ready,
)
from sqlalchemy.engine import make_url

from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.calendar import DayType, day_type
from booking.inventory.network import NetworkSnapshot, build_snapshot
from booking.inventory.policy import Phase, booking_phase
from booking.reservations.bookings import is_closed
from booking.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HALLS = frozenset({"civic_hall", "branch_hall"})
# Requests on the wire at once, per server process. 3,000 browsers each hold a connection, but
# what reaches a process is bounded by the load balancer in front (haproxy's `maxconn` on a
# server line, nginx's `max_conns`), which queues the rest in order: the bench's FIFO
# semaphore is that queue, and the wait in it is reported apart from the time on the wire.
# One request per database connection (BOOKING_DB_POOL_SIZE, 10): a request holds its
# connection from its first query to its answer (booking/deps.py), so a process serves at
# most that many at once. Past it a request waits inside the process for a connection, and
# past BOOKING_DB_POOL_TIMEOUT_SECONDS (2 s) that wait is a 503 (database_busy): with 2 per
# connection a loaded machine gave 1 and 155 such 503s in 10,500 attempts (1 and 2
# processes); past BOOKING_MAX_REQUESTS_IN_FLIGHT (100) a 503 at once.
IN_FLIGHT_PER_CONNECTION = 1
WANTED = (1, 2, 3, 4)
WANTED_SHARE = (0.4, 0.3, 0.2, 0.1)
DAY_WEIGHT = {DayType.SATURDAY: 4.0, DayType.SUNDAY_HOLIDAY: 2.5, DayType.WEEKDAY: 1.0}
ZIPF_S = 0.8  # room popularity: the k-th most popular room is wanted (1/k)^0.8 as much
TARGET_ANSWER_S = 30.0
TARGET_P95_MS = 500.0
GRID_RATIO = 2.0
# The machine's pace at the time of a run: uncontended bookings of the month before, by groups
# of their own, CALIBRATION_IN_FLIGHT at a time (bench/bookings.py's 8), before the release.
CALIBRATION_GROUPS = 50
CALIBRATION_BOOKINGS = 400
CALIBRATION_IN_FLIGHT = 8


@dataclass(frozen=True, slots=True)
class Slot:
    room_id: int
    day: date
    code: str
    weight: float


@dataclass(slots=True)
class Attempt:
    group: int
    status: int
    queued_ms: float  # waiting for a connection (the proxy's queue)
    client_ms: float  # on the wire: request sent to response read
    server_ms: float | None
    sent: float  # seconds after the release
    done: float


@dataclass(slots=True)
class Outcome:
    group: int
    wanted: int
    choices: int
    booked: int = 0
    attempts: int = 0
    first_sent: float | None = None
    first_status: int | None = None
    first_success: float | None = None
    answered: float | None = None  # first booking, or nothing left of its choices
    finished: float | None = None  # all it wanted, or nothing left


def popularity(room_rank: int, day: date, code: str, codes: tuple[str, ...]) -> float:
    """Popular rooms, Saturdays first, evenings on weekdays, afternoons at weekends."""
    kind = day_type(day)
    position = codes.index(code)
    if kind is DayType.WEEKDAY:
        period = 3.0 if position == len(codes) - 1 else 0.5
    else:
        period = 1.5 if position > 0 else 1.0
    return float((1 / (room_rank + 1)) ** ZIPF_S) * DAY_WEIGHT[kind] * period


def rush_month(snapshot: NetworkSnapshot, today: date) -> date:
    """The newest use month in which the halls' first-come booking is open today."""
    room = next(r for r in snapshot.rooms if snapshot.facilities[r.facility_id].kind in HALLS)
    month = today.replace(day=1)
    for _ in range(24):
        following = (month + timedelta(days=32)).replace(day=1)
        day = following.replace(day=20)
        if booking_phase(room.policy_on(day), day, today) is not Phase.OPEN:
            return month
        month = following
    raise SystemExit("no month found whose first-come booking is open")


def month_slots(snapshot: NetworkSnapshot, month: date, today: date, seed: int) -> list[Slot]:
    """Every open slot of the month in the halls' online rooms, weighted by popularity."""
    rooms = [
        r
        for r in snapshot.rooms
        if r.online_bookable and snapshot.facilities[r.facility_id].kind in HALLS
    ]
    random.Random(seed).shuffle(rooms)  # which rooms are popular
    slots = []
    day = month
    while day.month == month.month:
        for rank, room in enumerate(rooms):
            facility = snapshot.facilities[room.facility_id]
            if is_closed(snapshot, facility, day):
                continue
            if booking_phase(room.policy_on(day), day, today) is not Phase.OPEN:
                continue
            codes = room.grid.codes_by_day_type[day_type(day)]
            slots += [Slot(room.id, day, c, popularity(rank, day, c, codes)) for c in codes]
        day += timedelta(days=1)
    return slots


def preferences(
    slots: list[Slot], groups: list[BenchGroup], fallbacks: int, seed: int
) -> dict[int, tuple[int, list[Slot]]]:
    """Each group: how many bookings it wants, and its choices in order (distinct slots drawn
    by weight: the popular ones come first in most lists)."""
    rng = random.Random(seed)
    cumulative = list(accumulate(s.weight for s in slots))
    wanted_of = rng.choices(WANTED, WANTED_SHARE, k=len(groups))
    found = {}
    for group, wanted in zip(groups, wanted_of, strict=True):
        picked: dict[int, Slot] = {}
        while len(picked) < wanted + fallbacks:
            i = bisect(cumulative, rng.random() * cumulative[-1])
            picked.setdefault(i, slots[i])
        found[group.id] = (wanted, list(picked.values()))
    return found


def body(group_id: int, slot: Slot) -> dict[str, object]:
    return {
        "group_id": group_id,
        "room_id": slot.room_id,
        "use_date": slot.day.isoformat(),
        "period_codes": [slot.code],
        "purpose": "meeting",
        "headcount": 10,
    }


def server_ms(response: httpx.Response) -> float | None:
    timing = response.headers.get("server-timing", "")
    return float(timing.split("dur=")[1]) if "dur=" in timing else None


@dataclass
class Rush:
    """The attempts and outcomes of one release, and the bodies of unexpected answers."""

    attempts: list[Attempt] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    t0: float = 0.0


async def one_group(
    rush: Rush,
    client: httpx.AsyncClient,
    gate: asyncio.Semaphore,
    barrier: asyncio.Barrier,
    group: BenchGroup,
    wanted: int,
    choices: list[Slot],
) -> None:
    outcome = rush.outcomes[group.id] = Outcome(group.id, wanted, len(choices))
    headers = {"Authorization": f"Bearer {group.token}"}
    await barrier.wait()
    for slot in choices:
        if outcome.booked == wanted:
            break
        queued = time.perf_counter()
        async with gate:
            sent = time.perf_counter()
            try:
                response = await client.post(
                    "/api/v1/bookings", json=body(group.id, slot), headers=headers
                )
                status, timing = response.status_code, server_ms(response)
            except httpx.HTTPError as error:  # a timeout or a refused connection: an error too
                response, status, timing = None, 0, None
                rush.unexpected.append(
                    f"transport, sent {sent - rush.t0:.1f} s after the release, "
                    f"{time.perf_counter() - sent:.1f} s on the wire: {error!r}"
                )
            done = time.perf_counter()
        t_sent, t_done = sent - rush.t0, done - rush.t0
        rush.attempts.append(
            Attempt(
                group.id,
                status,
                (sent - queued) * 1000,
                (done - sent) * 1000,
                timing,
                t_sent,
                t_done,
            )
        )
        outcome.attempts += 1
        if outcome.first_sent is None:
            outcome.first_sent, outcome.first_status = t_sent, status
        if status == 201:
            outcome.booked += 1
            if outcome.first_success is None:
                outcome.first_success = outcome.answered = t_done
        elif status != 409 and response is not None:
            rush.unexpected.append(f"{status}: {response.text[:600]}")
    outcome.finished = time.perf_counter() - rush.t0
    if outcome.answered is None:
        outcome.answered = outcome.finished


async def release(
    base: str,
    groups: list[BenchGroup],
    wants: dict[int, tuple[int, list[Slot]]],
    in_flight: int,
    seed: int,
) -> Rush:
    """Every group waits at one barrier; all are released at once."""
    rush = Rush()
    order = list(groups)
    random.Random(seed).shuffle(order)  # who reaches the barrier (and the queue) first
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        # The browsers have the page open: connections are up before the minute.
        await asyncio.gather(*(client.get("/ready") for _ in range(in_flight)))
        gate = asyncio.Semaphore(in_flight)
        barrier = asyncio.Barrier(len(order) + 1)
        tasks = [
            asyncio.create_task(one_group(rush, client, gate, barrier, g, *wants[g.id]))
            for g in order
        ]
        while barrier.n_waiting < len(order):  # noqa: ASYNC110 - a barrier has no event
            await asyncio.sleep(0.05)
        rush.t0 = time.perf_counter()
        await barrier.wait()
        await asyncio.gather(*tasks)
    return rush


def ranks(values: list[float]) -> list[float]:
    """Ranks 0..n-1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    found = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            found[order[k]] = (i + j) / 2
        i = j + 1
    return found


def spearman(xs: list[float], ys: list[float]) -> tuple[float, list[float]]:
    """Spearman's rank correlation, and each pair's rank difference."""
    rx, ry = ranks(xs), ranks(ys)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = sum((a - mx) ** 2 for a in rx) ** 0.5
    sy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (sx * sy), [b - a for a, b in zip(rx, ry, strict=True)]


def fairness(outcomes: list[Outcome], places: tuple[int, ...], label: str) -> None:
    served = [o for o in outcomes if o.first_success is not None and o.first_sent is not None]
    if len(served) < 2:
        print(f"fairness, {label}: fewer than 2 groups served")
        return
    rho, moved = spearman([o.first_sent for o in served], [o.first_success for o in served])  # type: ignore[misc]
    shares = ", ".join(f"> {n}: {sum(abs(d) > n for d in moved) / len(moved):.1%}" for n in places)
    print(
        f"fairness, {label} ({len(served)} groups): Spearman {rho:.3f} between the order of "
        f"the first attempt and of the first booking; served out of order by more than N places"
        f" {shares}; largest {max(abs(d) for d in moved):.0f}"
    )


def ms_row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | - | - | - | - |"
    cells = [percentile(values, p) for p in (0.5, 0.95, 0.99)] + [max(values)]
    return f"| {label} | {len(values)} | " + " | ".join(f"{c:.1f}" for c in cells) + " |"


def report(rush: Rush, in_flight: int) -> dict[str, float]:
    attempts, outcomes = rush.attempts, list(rush.outcomes.values())
    statuses = Counter(a.status for a in attempts)
    booked = statuses[201]
    last = max(a.done for a in attempts)
    errors = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    print(
        f"{len(outcomes)} groups, {len(attempts)} attempts in {last:.1f} s: {booked} bookings "
        f"({booked / last:.0f} bookings/s, {len(attempts) / last:.0f} attempts/s); statuses "
        f"{dict(sorted(statuses.items()))}; 5xx and transport errors: {errors}"
    )
    for text in sorted(set(rush.unexpected))[:20]:
        print(f"  unexpected: {text}")
    print("| every attempt, ms | n | p50 | p95 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    print(ms_row("client, on the wire", [a.client_ms for a in attempts]))
    print(ms_row("server (Server-Timing)", [a.server_ms for a in attempts if a.server_ms]))
    print(
        ms_row("  201 server", [a.server_ms for a in attempts if a.status == 201 and a.server_ms])
    )
    print(
        ms_row("  409 server", [a.server_ms for a in attempts if a.status == 409 and a.server_ms])
    )
    print(ms_row(f"waiting for one of {in_flight} connections", [a.queued_ms for a in attempts]))
    print(
        ms_row(
            "client, from the click (wait + wire)", [a.queued_ms + a.client_ms for a in attempts]
        )
    )
    answered = [o.answered for o in outcomes if o.answered is not None]
    finished = [o.finished for o in outcomes if o.finished is not None]
    served = [o for o in outcomes if o.booked]
    nothing = [o for o in outcomes if not o.booked]
    full = [o for o in outcomes if o.booked == o.wanted]
    print(
        f"answers: every group had one after {max(answered):.1f} s (p50 "
        f"{percentile(answered, 0.5):.1f} s, p95 {percentile(answered, 0.95):.1f} s); every "
        f"group done (all it wanted or nothing left) after {max(finished):.1f} s. "
        f"{len(served)} groups booked something "
        f"({len(full)} all they wanted), {len(nothing)} nothing left of their choices; "
        f"wanted {sum(o.wanted for o in outcomes)}, booked {booked}"
    )
    fairness(outcomes, (in_flight, 300), "every group served")
    fairness([o for o in served if o.first_status == 201], (in_flight, 300), "first choice free")
    client_p95 = percentile([a.client_ms for a in attempts], 0.95)
    verdict = (
        f"targets: 0 errors: {'yes' if errors == 0 else 'NO'}; every group answered within "
        f"{TARGET_ANSWER_S:.0f} s: {'yes' if max(answered) <= TARGET_ANSWER_S else 'NO'}; "
        f"p95 ≤ {TARGET_P95_MS:.0f} ms (client, on the wire): "
        f"{'yes' if client_p95 <= TARGET_P95_MS else 'NO'} ({client_p95:.0f} ms)"
    )
    print(verdict)
    return {"booked": booked, "errors": errors}


class Server:
    """`booking serve` as an operator starts it (its own clock), `workers` processes."""

    def __init__(self, env: dict[str, str], port: int, workers: int) -> None:
        port_free(port)
        self.base = f"http://127.0.0.1:{port}"
        self.log = Path(f"/tmp/bench-rush-server-{port}.log")  # noqa: S108 - a bench's scratch
        args = [sys.executable, "-m", "booking", "serve", "--port", str(port)]
        if supports_workers():
            args += ["--workers", str(workers)]
        elif workers > 1:
            raise SystemExit("`booking serve` has no --workers yet: run with --workers 1")
        self.process = subprocess.Popen(
            args,
            env={**env, "BOOKING_WORKERS": str(workers)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    async def ready(self) -> None:
        await wait_ready(self.base, self.process, self.log)

    def processes(self) -> int:
        """Processes serving: the server's own and its children (uvicorn's workers)."""
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return max(1, len(found))

    def stop(self) -> str:
        """Stop it; the errors its log shows."""
        self.process.terminate()
        self.process.wait(timeout=60)
        text = self.log.read_text(errors="replace")
        lines = [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line]
        return f"{len(lines)} error lines in {self.log}" + (f", first: {lines[0]}" if lines else "")


def supports_workers() -> bool:
    shown = subprocess.run(
        [sys.executable, "-m", "booking", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout
    return "--workers" in shown


async def base_database(url: str, count: int) -> tuple[dict[str, str], list[BenchGroup]]:
    """The template every run copies: the bundled network and the groups, analysed."""
    env = await fresh_database(url)
    groups = await make_groups(url, count + CALIBRATION_GROUPS, datetime.now(UTC))
    await analyze(url)
    return env, groups


async def copy_of(base: str, url: str) -> None:
    """The run's database, a copy of the template (the template must have no connection)."""
    conn = await connect(base.rsplit("/", 1)[0] + "/postgres")
    name, template = make_url(url).database, make_url(base).database
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    await conn.close()


async def snapshot_of(url: str) -> NetworkSnapshot:
    engine = create_engine(Settings(database_url=url))
    async with create_sessionmaker(engine)() as session:
        snapshot = await build_snapshot(session, 0)
    await engine.dispose()
    return snapshot


async def check_database(url: str, month: date, booked: int) -> None:
    """Every 201 is one booking of the month in the database, each with its claims."""
    conn = await connect(url)
    end = (month + timedelta(days=32)).replace(day=1)
    bookings = await conn.fetchval(
        "SELECT count(*) FROM bookings WHERE use_date >= $1 AND use_date < $2", month, end
    )
    claims = await conn.fetchval(
        "SELECT count(*) FROM claims WHERE kind = 'booking' AND use_date >= $1 AND use_date < $2",
        month,
        end,
    )
    units = await conn.fetchval(
        "SELECT count(*) FROM bookings b JOIN room_units u ON u.room_id = b.room_id"
        " WHERE b.use_date >= $1 AND b.use_date < $2",
        month,
        end,
    )
    await conn.close()
    ok = bookings == booked and claims == units
    print(
        f"database: {bookings} bookings for {booked} answers 201, {claims} booking claims for "
        f"{units} units booked: {'consistent' if ok else 'NOT CONSISTENT'}"
    )


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def rush_run(
    args: argparse.Namespace, env: dict[str, str], groups: list[BenchGroup], workers: int
) -> None:
    groups, calibration = groups[: args.groups], groups[args.groups :]
    in_flight = args.in_flight or IN_FLIGHT_PER_CONNECTION * Settings().db_pool_size * workers
    await copy_of(args.base_url, args.url)
    snapshot = await snapshot_of(args.url)
    today = datetime.now(TZ).date()
    month = rush_month(snapshot, today)
    slots = month_slots(snapshot, month, today, args.seed)
    wants = preferences(slots, groups, args.fallbacks, args.seed)
    run_env = {**env, "BOOKING_DATABASE_URL": args.url}
    server = Server(run_env, args.port, workers)
    try:
        await server.ready()
        print(
            f"\n## rush, {workers} server process(es) ({server.processes()} running), "
            f"{in_flight} in flight; use month {month:%Y-%m} (first-come open since "
            f"its 29th of M-4; today {today}); {len(slots)} open hall slots; {len(groups)} "
            f"groups wanting {sum(w for w, _ in wants.values())}, {args.fallbacks} fallbacks "
            f"each; {load_line()}"
        )
        await calibrate(server.base, calibration, month, args.seed)
        cpu = cpu_seconds()
        rush = await release(server.base, groups, wants, in_flight, args.seed)
        spent = cpu_seconds() - cpu
        figures = report(rush, in_flight)
        print(
            f"the bench's own CPU: {spent:.1f} s over {max(a.done for a in rush.attempts):.1f} s;"
            f" {load_line()}"
        )
    finally:
        print(f"server: {server.stop()}")
    await check_database(args.url, month, int(figures["booked"]))


async def open_slots(client: httpx.AsyncClient, month: date) -> list[Slot]:
    """The month's open slots of the halls' online rooms, as the availability API says."""
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    response = await client.get(
        "/api/v1/availability",
        params={
            "from": month.isoformat(),
            "to": end.isoformat(),
            "kind": ",".join(sorted(HALLS)),
            "state": "open",
        },
    )
    response.raise_for_status()
    found = []
    for room in response.json()["rooms"]:
        if room["online_bookable"]:
            for day in room["days"]:
                when = date.fromisoformat(day["date"])
                found += [Slot(room["room_id"], when, s["period"], 1.0) for s in day["slots"]]
    return found


@dataclass
class Stage:
    label: str
    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    bodies: set[str] = field(default_factory=set)  # of unexpected answers, each once

    def row(self) -> str:
        if not self.client or not self.server:
            return f"| {self.label} | 0 | - | (no free slot left) |"
        cells = [percentile(v, p) for v in (self.client, self.server) for p in (0.5, 0.95, 0.99)]
        done = sum(self.statuses.values())
        return (
            f"| {self.label} | {done} | {done / self.seconds:.0f} | "
            + " | ".join(f"{c:.1f}" for c in cells)
            + f" | {dict(sorted(self.statuses.items()))} |"
        )


async def bookings(
    base: str,
    groups: list[BenchGroup],
    slots: list[Slot],
    in_flight: int,
    phase: Stage,
    seconds: float | None = None,
) -> None:
    """Book free slots taken from the end of `slots` (which it empties), `in_flight` at a
    time, each by the next group, until none is left or `seconds` have passed."""
    deadline = time.perf_counter() + seconds if seconds else float("inf")
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def booker() -> None:
            while slots and time.perf_counter() < deadline:
                slot = slots.pop()
                group = groups[len(slots) % len(groups)]
                began = time.perf_counter()
                response = await client.post(
                    "/api/v1/bookings",
                    json=body(group.id, slot),
                    headers={"Authorization": f"Bearer {group.token}"},
                )
                phase.client.append((time.perf_counter() - began) * 1000)
                if (timing := server_ms(response)) is not None:
                    phase.server.append(timing)
                phase.statuses[response.status_code] += 1
                if response.status_code not in {201, 409}:
                    phase.bodies.add(f"booking {response.status_code}: {response.text[:300]}")

        began = time.perf_counter()
        await asyncio.gather(*(booker() for _ in range(in_flight)))
        phase.seconds = time.perf_counter() - began


async def grid_clients(
    base: str, params: dict[str, str], count: int, stop: asyncio.Event, phase: Stage
) -> None:
    """`count` anonymous browsers, each with its own connection and cookies, loading the
    month grid again as soon as it has come."""

    async def browser() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            while not stop.is_set():
                began = time.perf_counter()
                response = await client.get("/search", params=params)
                phase.client.append((time.perf_counter() - began) * 1000)
                if (timing := server_ms(response)) is not None:
                    phase.server.append(timing)
                phase.statuses[response.status_code] += 1
                if response.status_code >= 500:
                    title = response.text.partition("<title>")[2].partition("</title>")[0]
                    phase.bodies.add(f"grid {response.status_code}: {title or response.text[:300]}")

    began = time.perf_counter()
    await asyncio.gather(*(browser() for _ in range(count)))
    phase.seconds = time.perf_counter() - began


async def calibrate(base: str, groups: list[BenchGroup], month: date, seed: int) -> None:
    before = (month - timedelta(days=1)).replace(day=1)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        slots = await open_slots(client, before)
    random.Random(seed).shuffle(slots)
    stage = Stage(f"uncontended, {before:%Y-%m}, {CALIBRATION_IN_FLIGHT} in flight")
    await bookings(base, groups, slots[:CALIBRATION_BOOKINGS], CALIBRATION_IN_FLIGHT, stage)
    print(
        f"the machine's pace now: {stage.statuses[201] / stage.seconds:.0f} bookings/s "
        f"uncontended ({CALIBRATION_IN_FLIGHT} in flight, {stage.statuses[201]} of the month "
        f"before), client p50 / p95 {percentile(stage.client, 0.5):.1f} / "
        f"{percentile(stage.client, 0.95):.1f} ms, server p50 / p95 "
        f"{percentile(stage.server, 0.5):.1f} / {percentile(stage.server, 0.95):.1f} ms; "
        f"{load_line()}"
    )
    for text in sorted(stage.bodies):
        print(f"  unexpected: {text}")


def biggest_ward(snapshot: NetworkSnapshot) -> str:
    keys = {ward_id: key for key, ward_id in snapshot.ward_keys.items()}
    wards = (snapshot.facilities[room.facility_id].ward_id for room in snapshot.rooms)
    return Counter(keys[w] for w in wards if w is not None).most_common(1)[0][0]


async def grids_run(
    args: argparse.Namespace, env: dict[str, str], groups: list[BenchGroup], workers: int
) -> None:
    await copy_of(args.base_url, args.url)
    snapshot = await snapshot_of(args.url)
    today = datetime.now(TZ).date()
    month = rush_month(snapshot, today)
    taken, _ = await fill_claims(args.url, month, args.seed)  # the grid as people see it
    ward = biggest_ward(snapshot)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    params = {"ward": ward, "from": month.isoformat(), "to": end.isoformat(), "view": "grid"}
    server = Server({**env, "BOOKING_DATABASE_URL": args.url}, args.port, workers)
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            slots = []  # the halls' free slots of every month open to first-come
            for months_back in (2, 1, 0):
                start = (month - timedelta(days=28 * months_back)).replace(day=1)
                slots += await open_slots(client, start) if start >= today.replace(day=1) else []
            first = await client.get("/search", params=params)
            first.raise_for_status()
        random.Random(args.seed).shuffle(slots)
        seconds = args.phase_seconds
        print(
            f"\n## grids, {workers} server process(es) ({server.processes()} running); month "
            f"{month:%Y-%m}, {taken} claims written (30% of 93 days); the grid: ward {ward!r}, "
            f"{params['from']} to {params['to']}, {len(first.content) / 1024:.0f} KB; "
            f"{args.bookers} bookings in flight, {seconds:.0f} s a phase, of {len(slots)} free "
            f"slots; {load_line()}"
        )
        idle = Stage("bookings, idle")
        await bookings(server.base, groups, slots, args.bookers, idle, seconds)
        loaded = Stage(f"bookings, {args.grids} grids loading")
        grid = Stage(f"grid pages ({args.grids} clients)")
        stop = asyncio.Event()
        browsing = asyncio.create_task(grid_clients(server.base, params, args.grids, stop, grid))
        await asyncio.sleep(3)  # every browser in its loop
        await bookings(server.base, groups, slots, args.bookers, loaded, seconds)
        load = load_line()
        stop.set()
        await browsing
        after = Stage("bookings, idle again")
        await bookings(server.base, groups, slots, args.bookers, after, seconds)
        print(
            "| requests | n | per s | client p50 ms | client p95 ms | client p99 ms "
            "| server p50 ms | server p95 ms | server p99 ms | statuses |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for phase in (idle, loaded, grid, after):
            print(phase.row())
        for text in sorted(set().union(*(p.bodies for p in (idle, loaded, grid, after)))):
            print(f"  unexpected: {text}")
        base_p95 = percentile(idle.client + after.client, 0.95)
        under = percentile(loaded.client, 0.95)
        ratio = under / base_p95
        print(
            f"booking client p95: idle {base_p95:.1f} ms (both idle phases), under {args.grids} "
            f"grids {under:.1f} ms: {ratio:.2f}× (target ≤ {GRID_RATIO:.0f}×: "
            f"{'yes' if ratio <= GRID_RATIO else 'NO'}); server p95 "
            f"{percentile(idle.server + after.server, 0.95):.1f} → "
            f"{percentile(loaded.server, 0.95):.1f} ms; load during the grids: {load}"
        )
    finally:
        print(f"server: {server.stop()}")


async def bench(args: argparse.Namespace) -> None:
    for tool in ("pgrep",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    port_free(args.port)
    began = time.perf_counter()
    env, groups = await base_database(args.base_url, args.groups)
    print(
        f"template {make_url(args.base_url).database}: the bundled network and {len(groups)} "
        f"groups with API tokens in {time.perf_counter() - began:.0f} s; {load_line()}"
    )
    run = rush_run if args.scenario == "rush" else grids_run
    for _ in range(args.runs):
        for workers in args.workers:
            await run(args, env, groups, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=("rush", "grids"), default="rush")
    parser.add_argument(
        "--base-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_rush_base"
    )
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/booking_bench_rush"
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1],
        help="server processes, comma-separated: one run each (e.g. 1,2)",
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole set")
    parser.add_argument("--groups", type=int, default=3000)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=None,
        help="requests on the wire at once, all processes together [default: 1 per database "
        "connection of each process]",
    )
    parser.add_argument("--fallbacks", type=int, default=2, help="choices past what a group wants")
    parser.add_argument("--grids", type=int, default=50, help="anonymous grid clients")
    parser.add_argument("--bookers", type=int, default=4, help="bookings in flight (grids)")
    parser.add_argument("--phase-seconds", type=float, default=20, help="a phase (grids)")
    parser.add_argument("--port", type=int, default=8781)
    parser.add_argument("--seed", type=int, default=20)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
