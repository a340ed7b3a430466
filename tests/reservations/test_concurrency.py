"""Races through the HTTP app on committed data: never a double booking.

A fresh database per engine (committed, dropped afterwards), the bundled network, an app with
its own connection pool, and many requests in flight at once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from booking.accounts import groups
from booking.accounts.models import User
from booking.accounts.sessions import open_session
from booking.app import create_app
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.lottery.drawing import draw_facility
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.consistency import check
from booking.reservations.holds import expire_holds
from booking.reservations.models import Booking, BookingStatus, Claim, PaymentStatus
from booking.settings import Settings
from tests.conftest import (
    DEFAULT_NOW,
    committed_database,
)
from tests.notifications.test_worker import free_port
from tests.people import registration
from tests.places import open_weekday
from tests.races import city_admin


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    # 200 requests at once are this test's race, not an overload to refuse (tests/processes/).
    limits = {"max_requests_in_flight": 1000, "db_pool_timeout_seconds": 60}
    with committed_database(
        engine_settings, tmp_path, "races", db_pool_size=20, **limits
    ) as settings:
        yield settings


@dataclass
class Race:
    client: httpx.AsyncClient
    group_ids: list[int]
    headers: list[dict[str, str]]  # one session per group's representative
    room_id: int
    combined_room_id: int
    part_room_id: int
    day: date
    settings: Settings
    facility_id: int
    units: dict[int, tuple[int, ...]]  # the units of the combined room and of the part


@pytest.fixture
async def race(committed: Settings) -> AsyncIterator[Race]:
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(committed)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, committed)
        snapshot = await SnapshotCache().get(session)
        combined = next(r for r in snapshot.rooms if len(r.unit_ids) > 1 and r.online_bookable)
        part = next(
            r
            for r in snapshot.rooms
            if r.id != combined.id and set(r.unit_ids) < set(combined.unit_ids)
        )
        day = open_weekday(snapshot, combined.facility_id, date(2027, 2, 8))
        group_ids, headers = [], []
        for i in range(20):
            group = await groups.register(
                session,
                clock,
                committed,
                None,
                registration(f"会{i}", f"rep{i}@example.jp", password="long enough password"),
                None,
            )
            await groups.activate(session, clock, committed, staff, group.id, None)
            rep = await session.scalar(select(User).where(User.email == f"rep{i}@example.jp"))
            assert rep is not None
            opened = await open_session(session, clock, committed, rep.id)
            group_ids.append(group.id)
            headers.append(
                {
                    "Cookie": f"booking_session={opened.cookie_value}",
                    "X-CSRF-Token": opened.csrf_token,
                }
            )
    app = create_app(committed, clock=clock, sessionmaker=sessionmaker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://r"
    ) as client:
        yield Race(
            client,
            group_ids,
            headers,
            part.id,
            combined.id,
            part.id,
            day,
            committed,
            part.facility_id,
            {combined.id: combined.unit_ids, part.id: part.unit_ids},
        )
    await engine.dispose()


def _body(race: Race, i: int, room_id: int, periods: list[str]) -> dict[str, object]:
    return {
        "group_id": race.group_ids[i % len(race.group_ids)],
        "room_id": room_id,
        "use_date": race.day.isoformat(),
        "period_codes": periods,
        "purpose": "meeting",
        "headcount": 5,
    }


async def test_two_hundred_attempts_on_one_slot_make_one_booking(race: Race) -> None:
    async def attempt(i: int) -> int:
        response = await race.client.post(
            "/api/v1/bookings",
            json=_body(race, i, race.room_id, ["20"]),
            headers=race.headers[i % len(race.headers)],
        )
        if response.status_code == 409:  # the race's losers too name the slot (README)
            assert race.day.isoformat() in response.json()["detail"], response.text
        return response.status_code

    statuses = Counter(await asyncio.gather(*(attempt(i) for i in range(200))))
    assert statuses == {201: 1, 409: 199}


async def test_a_combined_room_and_its_parts_never_both(race: Race) -> None:
    """The combined room and one of its parts race for one slot: one booking wins, holding a
    claim on every unit of its room and nothing more; every other attempt is refused.

    Two rounds, so that each side is first in one of them: on 夜間 the combined room's requests
    go first (it usually wins, and must then hold every unit: a combined room that claimed one
    unit failed here), on 午後 the part's do.
    """
    units = race.units
    assert len(units[race.combined_room_id]) > len(units[race.part_room_id])
    engine = create_engine(race.settings)
    sessionmaker = create_sessionmaker(engine)
    for period, first, second in (
        ("30", race.combined_room_id, race.part_room_id),
        ("20", race.part_room_id, race.combined_room_id),
    ):

        async def attempt(i: int, period: str, first: int, second: int) -> tuple[int, int]:
            room = first if i % 2 == 0 else second
            response = await race.client.post(
                "/api/v1/bookings",
                json=_body(race, i, room, [period]),
                headers=race.headers[i % len(race.headers)],
            )
            if response.status_code == 409:  # a part lost to the whole, or the reverse: named too
                assert race.day.isoformat() in response.json()["detail"], response.text
            return room, response.status_code

        results = await asyncio.gather(*(attempt(i, period, first, second) for i in range(20)))
        assert sorted(status for _, status in results) == [201] + [409] * 19
        async with sessionmaker() as session:
            live = (
                await session.scalars(
                    select(Booking).where(
                        Booking.room_id.in_(units),
                        Booking.use_date == race.day,
                        Booking.status == BookingStatus.CONFIRMED,
                    )
                )
            ).all()
            booked = [b for b in live if period in b.period_codes]
            assert len(booked) == 1, booked
            winner = booked[0]
            assert winner.room_id == next(room for room, status in results if status == 201)
            # Through its owner: a claim on each unit of the winning room, for this slot only.
            owned = await session.execute(
                select(Claim.unit_id, Claim.period_code).where(Claim.owner_id == winner.id)
            )
            assert sorted(owned.all()) == [(unit, period) for unit in sorted(units[winner.room_id])]
            # And nobody else holds a unit of the combined room at that slot.
            others = await session.scalar(
                select(func.count())
                .select_from(Claim)
                .where(
                    Claim.unit_id.in_(units[race.combined_room_id]),
                    Claim.use_date == race.day,
                    Claim.period_code == period,
                    Claim.owner_id != winner.id,
                )
            )
            assert others == 0
    await engine.dispose()


async def test_hold_expiry_run_twice_at_once_releases_each_hold_once(race: Race) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    engines = [create_engine(race.settings) for _ in range(2)]
    try:
        async with create_sessionmaker(engines[0]).begin() as session:
            for i in range(10):
                session.add(
                    Booking(
                        group_id=race.group_ids[i],
                        room_id=race.room_id,
                        facility_id=race.facility_id,
                        use_date=race.day,
                        period_codes=["10"],
                        status=BookingStatus.HELD,
                        purpose="meeting",
                        headcount=3,
                        fee_total=0,
                        fee_breakdown={},
                        payment_status=PaymentStatus.WAIVED,
                        channel="counter",
                        created_at=clock.now(),
                        hold_expires_at=clock.now() - timedelta(minutes=1),
                    )
                )
        runs = await asyncio.gather(
            *(expire_holds(create_sessionmaker(engine), clock) for engine in engines)
        )
        assert sum(runs) == 10
        async with create_sessionmaker(engines[0])() as session:
            events = await session.scalar(
                select(func.count()).where(AuditEvent.action == "booking.hold_expired")
            )
        assert events == 10
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.fixture
async def frozen_server(race: Race) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """tests/serve_frozen.py on the race's database, answering: started in the test's setup,
    which runs beside the other workers' tests (only a test's body runs alone)."""
    port = free_port()
    env = {
        **os.environ,
        "BOOKING_DATA_DIR": str(race.settings.data_dir),
        "BOOKING_DATABASE_URL": race.settings.database_url or "",
    }
    server = subprocess.Popen(  # noqa: S603, ASYNC220 - our own interpreter and module
        [sys.executable, "-m", "tests.serve_frozen", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Up to a minute: on a busy machine 15 s was not always enough to import and start,
        # and the test then failed as if bookings had been lost.
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert server.poll() is None, "tests.serve_frozen exited"
                    assert time.monotonic() < deadline, "tests.serve_frozen did not answer"
                    await asyncio.sleep(0.1)
        yield base, server
    finally:
        server.kill()
        server.wait()


async def test_killing_the_server_mid_load_loses_no_acknowledged_booking(
    race: Race, frozen_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    base, server = frozen_server
    acknowledged: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        slots = [(k, p) for k in range(40) for p in ("10", "20", "30")]
        queue = list(enumerate(slots))

        async def worker() -> None:
            while queue:
                i, (k, period) = queue.pop()
                payload = _body(race, i, race.room_id, [period])
                payload["use_date"] = (race.day + timedelta(days=k)).isoformat()
                try:
                    response = await client.post(
                        "/api/v1/bookings", json=payload, headers=race.headers[i % 20]
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                    if len(acknowledged) == 25:
                        server.kill()  # SIGKILL: no cleanup, requests in flight cut off

        await asyncio.gather(*(worker() for _ in range(8)))
    server.kill()
    server.wait()
    assert len(acknowledged) >= 25
    engine = create_engine(race.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            found = (
                await session.scalars(select(Booking.id).where(Booking.id.in_(acknowledged)))
            ).all()
            assert sorted(found) == sorted(acknowledged)
            report = await check(session)
            assert report.ok, report.lines()
    finally:
        await engine.dispose()


async def test_a_draw_run_by_two_processes_at_once_produces_one_result(race: Race) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    engines = [create_engine(race.settings) for _ in range(2)]
    use_month = race.day.replace(day=1)
    try:
        async with create_sessionmaker(engines[0]).begin() as session:
            for i in range(20):
                session.add(
                    LotteryApplication(
                        use_month=use_month,
                        group_id=race.group_ids[i],
                        room_id=race.room_id,
                        facility_id=race.facility_id,
                        use_date=race.day,
                        period_codes=["10"] if i % 2 else ["10", "20"],
                        purpose="meeting",
                        headcount=3,
                        status=ApplicationStatus.APPLIED,
                        created_at=clock.now(),
                    )
                )
            snapshot = await SnapshotCache().get(session)

        async def run(engine: Any) -> Any:
            async with create_sessionmaker(engine).begin() as session:
                return await draw_facility(
                    session, clock, race.settings, snapshot, use_month, race.facility_id
                )

        results = await asyncio.gather(*(run(engine) for engine in engines))
        assert sorted(r.drawn for r in results) == [False, True]
        async with create_sessionmaker(engines[0])() as session:
            wins = await session.scalar(
                select(func.count()).where(LotteryApplication.status == ApplicationStatus.WON)
            )
            assert wins == 1  # one slot 10 contested by all twenty
            assert (await check(session)).ok
    finally:
        for engine in engines:
            await engine.dispose()
