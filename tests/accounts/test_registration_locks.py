"""Registrations and locks, on committed databases (tests/conftest.py, committed_database).

Confirming an online registration verifies its password with no lock held (issue 14: 3, a
sibling of the login's), on each engine, as tests/accounts/test_login_races. And two staff
changing one registration at once, on PostgreSQL: the second waits for the first's row lock
and acts on what the first wrote; a third connection watches pg_stat_activity to see it wait.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups, passwords, registrations
from booking.accounts.access import Principal
from booking.accounts.models import Group, GroupStatus
from booking.accounts.schemas import GroupPatch
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import BookingError
from booking.pages.web import ANON_CSRF_COOKIE
from booking.settings import Settings
from tests.accounts.registering import confirm_link, token_of
from tests.accounts.test_login_races import PASSWORD, Site, committed, site  # noqa: F401
from tests.conftest import DEFAULT_NOW, committed_database
from tests.people import registration
from tests.races import Race, Step, city_admin


@pytest.fixture
def verify_probe(site: Site, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: F811
    """What is held while a registration's password is verified; empty when nothing is."""
    held: list[str] = []
    real = passwords.verify_password

    async def verify(settings: Settings, stored: str | None, password: str) -> bool:
        if checked_out := site.engine.pool.checkedout():  # type: ignore[attr-defined]
            held.append(f"{checked_out} connection(s) checked out")
        if site.engine.dialect.name == "sqlite" and site.engine.url.database:
            other = sqlite3.connect(site.engine.url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                held.append(str(exc))
            finally:
                other.close()
        return await real(settings, stored, password)

    monkeypatch.setattr(registrations, "verify_password", verify)
    return held


async def _link(site: Site, email: str) -> str:  # noqa: F811
    body = msgspec.to_builtins(registration("新しい会", email, password=PASSWORD))
    asked = await site.client.post("/api/v1/groups", json=body)
    assert asked.status_code == 202, asked.text
    async with create_sessionmaker(site.engine)() as session:  # closed before the next request
        return token_of(await confirm_link(session, email))


async def test_a_confirmation_verifies_with_no_lock_held(
    site: Site,  # noqa: F811
    verify_probe: list[str],
) -> None:
    token = await _link(site, "api@example.jp")
    wrong = await site.client.post(
        "/api/v1/groups/confirm", json={"token": token, "password": "not the one chosen"}
    )
    assert wrong.status_code == 400
    confirmed = await site.client.post(
        "/api/v1/groups/confirm", json={"token": token, "password": PASSWORD}
    )
    assert confirmed.status_code == 201, confirmed.text

    token = await _link(site, "page@example.jp")
    page = await site.client.post(
        "/register/confirm",
        data={"token": token, "password": PASSWORD, "csrf_token": "t"},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
    )
    assert page.status_code == 303, page.text
    assert len(verify_probe) == 0, verify_probe


# Two staff changing one registration at once (PostgreSQL: SQLite has one writer, so nothing
# to race). Each change reads the registration with a row lock (groups.get_group with
# for_update), so the second waits for the first and acts on what it wrote: without the lock
# it would act on what it read before, and write over the first.


@dataclass
class Counter(Race):
    settings: Settings
    clock: FrozenClock
    staff: Principal
    active: int  # activated, card valid to 31 March 2027
    pending: int

    async def events(self, action: str, group_id: int) -> list[AuditEvent]:
        async with self.sessionmaker() as session:
            stmt = select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.target_id == str(group_id)
            )
            return list((await session.scalars(stmt)).all())

    async def group(self, group_id: int) -> Group:
        async with self.sessionmaker() as session:
            return await session.get_one(Group, group_id)


@pytest.fixture
def committed_counter(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "registration_locks") as settings:
        yield settings


@pytest.fixture
async def counter(committed_counter: Settings) -> AsyncIterator[Counter]:
    settings = committed_counter
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, settings)
        active, pending = [
            await groups.register(
                session,
                clock,
                settings,
                staff,
                registration(name, f"{name}@example.jp", members=4),
                None,
            )
            for name in ("active", "pending")
        ]
        await groups.activate(session, clock, settings, staff, active.id, None)
    try:
        yield Counter(engine, sessionmaker, settings, clock, staff, active.id, pending.id)
    finally:
        await engine.dispose()


@pytest.mark.engines("postgresql")
async def test_a_second_suspension_at_once_waits_and_finds_it_suspended(
    counter: Counter,
) -> None:
    """The first reason stands, and the trail has one suspension."""

    def suspending(reason: str) -> Step:
        return lambda s: groups.suspend(s, counter.clock, counter.staff, counter.active, reason)

    second = await counter.at_once(suspending("会費未納"), suspending("別の理由"))
    assert (second.status, second.suspended_reason) == (GroupStatus.SUSPENDED, "会費未納")
    assert len(await counter.events("group.suspended", counter.active)) == 1


@pytest.mark.engines("postgresql")
async def test_a_renewal_while_a_suspension_is_written_waits_and_is_refused(
    counter: Counter,
) -> None:
    counter.clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # renewal is open
    second = await counter.at_once(
        lambda s: groups.suspend(s, counter.clock, counter.staff, counter.active, "確認中"),
        lambda s: groups.renew(s, counter.clock, counter.settings, counter.staff, counter.active),
    )
    assert isinstance(second, BookingError)
    assert second.code == "not_active"
    group = await counter.group(counter.active)
    assert (group.status, group.valid_until) == (GroupStatus.SUSPENDED, date(2027, 3, 31))


@pytest.mark.engines("postgresql")
async def test_a_second_reinstatement_at_once_waits_and_is_refused(counter: Counter) -> None:
    await counter.alone(
        lambda s: groups.suspend(s, counter.clock, counter.staff, counter.active, "確認中")
    )

    def reinstating(session: AsyncSession) -> Awaitable[Group]:
        return groups.reinstate(session, counter.clock, counter.staff, counter.active)

    second = await counter.at_once(reinstating, reinstating)
    assert isinstance(second, BookingError)
    assert second.code == "not_suspended"
    assert len(await counter.events("group.reinstated", counter.active)) == 1


@pytest.mark.engines("postgresql")
async def test_a_second_activation_at_once_waits_and_keeps_the_first_card(
    counter: Counter,
) -> None:
    def activating(card: str) -> Step:
        return lambda s: groups.activate(
            s, counter.clock, counter.settings, counter.staff, counter.pending, card
        )

    second = await counter.at_once(activating("2345678"), activating("3456789"))
    assert isinstance(second, BookingError)
    assert second.code == "not_pending"
    assert (await counter.group(counter.pending)).card_number == "2345678"


@pytest.mark.engines("postgresql")
async def test_a_second_contact_change_at_once_records_the_first_in_its_before(
    counter: Counter,
) -> None:
    """One staff member renames the group while another changes its phone: the phone's event
    shows the new name before and after, as the registration was."""

    def updating(patch: GroupPatch) -> Step:
        return lambda s: groups.update_group(s, counter.clock, counter.staff, counter.active, patch)

    await counter.at_once(
        updating(GroupPatch(name="新しい名前")), updating(GroupPatch(phone="044-0"))
    )
    renamed, phoned = sorted(
        await counter.events("group.updated", counter.active), key=lambda e: e.id
    )
    assert renamed.after is not None
    assert phoned.before is not None
    assert phoned.after is not None
    assert renamed.after["name"] == phoned.before["name"] == phoned.after["name"] == "新しい名前"
    assert (phoned.before["phone"], phoned.after["phone"]) == (None, "044-0")
    group = await counter.group(counter.active)
    assert (group.name, group.phone) == ("新しい名前", "044-0")


@pytest.mark.engines("postgresql")
async def test_reading_a_registration_being_changed_does_not_wait(counter: Counter) -> None:
    """Bookings, pages and feeds read registrations all the time: a read takes no lock, so
    it neither waits for a change at the counter nor holds one up; it sees what was committed."""

    def viewing(session: AsyncSession) -> Awaitable[Group]:
        return groups.view_group(session, counter.staff, counter.active)

    seen = await counter.at_once(
        lambda s: groups.suspend(s, counter.clock, counter.staff, counter.active, "確認中"),
        viewing,
        second_waits=False,
    )
    assert seen.status is GroupStatus.ACTIVE
