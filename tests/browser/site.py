"""A running site for browser tests: a fresh SQLite database (the README's default) with the
bundled Kawasaki data, a few people, and the app served by uvicorn on loopback in a thread.

The server shares the test's FrozenClock object, so a test moves time by setting it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from booking.accounts import groups
from booking.accounts.login import set_password
from booking.accounts.models import StaffRole, User
from booking.accounts.sessions import principal_for_user
from booking.accounts.staff import grant_staff_role
from booking.app import create_app
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.db import migrate
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.commands import load_facilities
from booking.inventory.models import Policy, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.services import bump_revision
from booking.lottery.drawing import run_due_draws
from booking.notifications.models import OutboxMessage
from booking.paths import facilities_data_dir
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, FAST_HASHING, in_thread
from tests.people import PASSWORD, registration


@dataclass
class Site:
    url: str
    settings: Settings
    clock: FrozenClock
    hall_id: int = 0  # a civic hall with the lottery, managed by "manager"
    hall_ward: str = ""
    room_id: int = 0  # one of its rooms: first-come and lottery, fees per period
    approval_room_id: int = 0  # another: bookings wait for approval, holds allowed
    card_a: str = ""  # group A's card number
    group_a: int = 0
    users: dict[str, str] = field(default_factory=dict)  # role -> login e-mail

    def mailed_link(self, to: str, template: str) -> str:
        """The path and query of the link in the newest such mail to `to`, read from the
        outbox as the person would read the mail (a reset's is written just after the answer:
        waited for a few seconds)."""
        return in_thread(lambda: asyncio.run(_mailed_link(self.settings, to, template)))

    def draw(self, at: FrozenClock) -> int:
        """Run the draws due at `at`, as the worker would; the number of facilities drawn."""
        # In a thread of its own: Playwright's sync API keeps an event loop on this one.
        return in_thread(lambda: asyncio.run(_draw(self.settings, at)))


async def _mailed_link(settings: Settings, to: str, template: str) -> str:
    engine = create_engine(settings)
    try:
        for _ in range(50):
            async with create_sessionmaker(engine)() as session:
                body = await session.scalar(
                    select(OutboxMessage.body_text)
                    .where(OutboxMessage.to_address == to, OutboxMessage.template == template)
                    .order_by(OutboxMessage.id.desc())
                    .limit(1)
                )
            if body is not None:
                (link,) = {word for word in body.split() if word.startswith("http")}
                parts = urlsplit(link)
                return f"{parts.path}?{parts.query}"
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    raise AssertionError(f"no {template} mail to {to}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_site(data_dir: Path) -> tuple[Site, uvicorn.Server, threading.Thread]:
    port = free_port()
    settings = Settings(
        database_url=None,
        data_dir=data_dir,
        public_url=f"http://127.0.0.1:{port}",
        **FAST_HASHING,
    )
    migrate.upgrade(settings)
    clock = FrozenClock(DEFAULT_NOW)
    asyncio.run(load_facilities(settings, facilities_data_dir(), clock))
    site = Site(url=f"http://127.0.0.1:{port}", settings=settings, clock=clock)
    asyncio.run(_seed(site))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return site, server, thread


async def _seed(site: Site) -> None:
    engine = create_engine(site.settings)
    sessionmaker = create_sessionmaker(engine)
    clock, settings = site.clock, site.settings
    try:
        async with sessionmaker() as session:
            snapshot = await SnapshotCache().get(session)
            hall = _lottery_hall(snapshot)
            site.hall_id, site.hall_ward = hall[0], hall[1]
            site.room_id, site.approval_room_id = hall[2], hall[3]
            # The bundled data allows approval and holds nowhere: one room of the hall does.
            policy = Policy(
                key="browser-approval-holds",
                settings={"requires_approval": True, "holds": {"allowed": True}},
            )
            session.add(policy)
            await session.flush()
            await session.execute(
                update(Room).where(Room.id == site.approval_room_id).values(policy_id=policy.id)
            )
            await bump_revision(session, clock.now())
            admin = await grant_staff_role(
                session,
                clock,
                settings,
                SYSTEM,
                email="admin@city.example",
                name="管理者",
                role=StaffRole.ADMIN,
                password=PASSWORD,
            )
            await grant_staff_role(
                session,
                clock,
                settings,
                SYSTEM,
                email="hall@city.example",
                name="市民館 窓口",
                role=StaffRole.MANAGER,
                facility_ids=[site.hall_id],
                password=PASSWORD,
            )
            group = await groups.register(
                session,
                clock,
                settings,
                None,
                registration(
                    "川崎合唱団",
                    "rep-a@example.jp",
                    password=PASSWORD,
                    member_emails={0: "member-a@example.jp"},
                ),
                None,
            )
            principal = await principal_for_user(session, admin)
            activated = await groups.activate(session, clock, settings, principal, group.id, None)
            # As if renewed already: the journeys apply for and book use months up to July
            # 2027, past the first card's 31 March, and a registration books only dates it is
            # valid on (renewal itself opens on 1 December).
            activated.valid_until = date(2028, 3, 31)
            member = await session.scalar(select(User).where(User.email == "member-a@example.jp"))
            assert member is not None
            await set_password(clock, settings, member, PASSWORD)
            await session.commit()
            site.card_a, site.group_a = activated.card_number or "", group.id
            site.users = {
                "admin": "admin@city.example",
                "manager": "hall@city.example",
                "representative": "rep-a@example.jp",
                "member": "member-a@example.jp",
            }
    finally:
        await engine.dispose()


def _lottery_hall(snapshot: NetworkSnapshot) -> tuple[int, str, int, int]:
    """A civic hall with the lottery and two online rooms with fees and room for 20."""
    wards = {ward_id: key for key, ward_id in snapshot.ward_keys.items()}
    for facility in sorted(snapshot.facilities.values(), key=lambda f: f.id):
        if facility.kind != "civic_hall" or not facility.policy.lottery.enabled:
            continue
        rooms = [
            r
            for r in snapshot.rooms
            if r.facility_id == facility.id
            and r.online_bookable
            and r.fees
            and len(r.unit_ids) == 1
            and (r.capacity or 0) >= 20
            and r.purposes is None
        ]
        if len(rooms) >= 2 and facility.ward_id is not None and facility.closes_on is None:
            return facility.id, wards[facility.ward_id], rooms[0].id, rooms[1].id
    raise AssertionError("no civic hall with two bookable rooms in the bundled data")


async def _draw(settings: Settings, at: FrozenClock) -> int:
    engine = create_engine(settings)
    try:
        sessionmaker: async_sessionmaker = create_sessionmaker(engine)  # type: ignore[type-arg]
        async with sessionmaker() as session:
            snapshot = await SnapshotCache().get(session)
        return len(await run_due_draws(sessionmaker, at, settings, snapshot))
    finally:
        await engine.dispose()


def use_month_window(use_month: date) -> tuple[date, date]:
    """(a day in the application window, a day in the confirmation window) for a use month
    under the default policy: apply 17th-23rd and confirm 25th-28th of the month 4 before."""
    month = use_month.month - 4
    year = use_month.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 20), date(year, month, 25)
