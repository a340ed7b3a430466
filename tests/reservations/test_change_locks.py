"""Two changes of one booking at once, on PostgreSQL (SQLite has one writer, so nothing to
race): each change locks the booking's row, so the second waits for the first to commit and
then acts on what the first left (a double click cancels once; a payment's audit event shows
the payment recorded just before). Reading a booking never waits.

Committed data in a database of its own (tests/conftest.py, committed_database), two
connections; a third watches pg_stat_activity to see the second change wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock, local_today
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import Conflict
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.reservations import changes
from booking.reservations.holds import complete_hold
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW, committed_database
from tests.people import registration
from tests.places import open_weekday
from tests.races import Race, Step, city_admin

pytestmark = pytest.mark.engines("postgresql")


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "change_locks") as settings:
        yield settings


@dataclass
class Desk(Race):
    """Two staff at one facility's desk, and the booking they both change."""

    settings: Settings
    clock: FrozenClock
    snapshot: NetworkSnapshot
    staff: Principal
    group_id: int
    room_id: int
    facility_id: int
    day: date

    async def booking(self, status: BookingStatus, *, on: date | None = None) -> int:
        async with self.sessionmaker.begin() as session:
            booking = Booking(
                group_id=self.group_id,
                room_id=self.room_id,
                facility_id=self.facility_id,
                use_date=on or self.day,
                period_codes=["10"],
                status=status,
                purpose="meeting",
                headcount=3,
                fee_total=1000,
                fee_breakdown={},
                payment_status=PaymentStatus.UNPAID,
                channel="counter",
                created_at=self.clock.now(),
                hold_expires_at=self.clock.now() + timedelta(days=1)
                if status is BookingStatus.HELD
                else None,
            )
            session.add(booking)
        return booking.id

    async def events(self, booking_id: int, action: str) -> list[AuditEvent]:
        async with self.sessionmaker() as session:
            found = await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.target_id == str(booking_id))
                .order_by(AuditEvent.id)
            )
            return list(found.all())


@pytest.fixture
async def desk(committed: Settings) -> AsyncIterator[Desk]:
    clock = FrozenClock(DEFAULT_NOW)
    engine = create_engine(committed)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, committed)
        snapshot = await SnapshotCache().get(session)
        room = next(
            r
            for r in snapshot.rooms
            if r.online_bookable
            and snapshot.facilities[r.facility_id].kind == "civic_hall"
            and snapshot.facilities[r.facility_id].closes_on is None
        )
        group = await groups.register(
            session,
            clock,
            committed,
            None,
            registration("会", "rep@example.jp", password="long enough password"),
            None,
        )
        await groups.activate(session, clock, committed, staff, group.id, None)
    try:
        yield Desk(
            engine,
            sessionmaker,
            committed,
            clock,
            snapshot,
            staff,
            group.id,
            room.id,
            room.facility_id,
            open_weekday(snapshot, room.facility_id, date(2027, 2, 8)),
        )
    finally:
        await engine.dispose()


async def test_a_second_cancellation_waits_and_finds_the_booking_cancelled(desk: Desk) -> None:
    booking_id = await desk.booking(BookingStatus.CONFIRMED)

    def cancelling(session: AsyncSession) -> Awaitable[changes.CancelOutcome]:
        return changes.cancel(
            session, desk.clock, desk.settings, desk.snapshot, desk.staff, booking_id
        )

    second = await desk.at_once(cancelling, cancelling)
    assert isinstance(second, Conflict)
    assert second.code == "not_live"
    assert len(await desk.events(booking_id, "booking.cancelled")) == 1


async def test_a_second_decision_waits_and_finds_the_booking_decided(desk: Desk) -> None:
    booking_id = await desk.booking(BookingStatus.PENDING_APPROVAL)

    def deciding(*, approve: bool) -> Step:
        return lambda session: changes.decide(
            session,
            desk.clock,
            desk.settings,
            desk.snapshot,
            desk.staff,
            booking_id,
            approve=approve,
        )

    second = await desk.at_once(deciding(approve=True), deciding(approve=False))
    assert isinstance(second, Conflict)
    assert second.code == "not_pending"
    assert str(second) == "the booking is confirmed, not pending"
    assert await desk.events(booking_id, "booking.rejected") == []


async def test_a_second_no_show_or_hold_completion_waits_and_is_refused(desk: Desk) -> None:
    today = local_today(desk.clock, desk.settings.tz)
    no_show = await desk.booking(BookingStatus.CONFIRMED, on=today)

    def recording(session: AsyncSession) -> Awaitable[Booking]:
        return changes.record_no_show(session, desk.clock, desk.settings, desk.staff, no_show)

    second = await desk.at_once(recording, recording)
    assert isinstance(second, Conflict)
    assert second.code == "not_confirmed"

    held = await desk.booking(BookingStatus.HELD)

    def completing(session: AsyncSession) -> Awaitable[Booking]:
        return complete_hold(session, desk.clock, desk.settings, desk.snapshot, desk.staff, held)

    second = await desk.at_once(completing, completing)
    assert isinstance(second, Conflict)
    assert second.code == "not_held"


async def test_a_second_payment_waits_and_its_audit_event_starts_from_the_first(
    desk: Desk,
) -> None:
    booking_id = await desk.booking(BookingStatus.CONFIRMED)

    def paying(status: PaymentStatus, method: str | None) -> Step:
        return lambda session: changes.set_payment(
            session, desk.clock, desk.settings, desk.staff, booking_id, status, method
        )

    await desk.at_once(paying(PaymentStatus.PAID, "cash"), paying(PaymentStatus.REFUNDED, None))
    events = await desk.events(booking_id, "booking.payment")
    assert [(e.before or {})["payment_status"] for e in events] == ["unpaid", "paid"]
    assert [(e.after or {})["payment_status"] for e in events] == ["paid", "refunded"]


async def test_reading_or_previewing_a_booking_never_waits_for_a_change_in_progress(
    desk: Desk,
) -> None:
    booking_id = await desk.booking(BookingStatus.CONFIRMED)

    async def reading(session: AsyncSession) -> BookingStatus:
        booking, _ = await changes.get_booking(session, desk.staff, booking_id)
        return booking.status

    def cancelling(*, dry_run: bool) -> Step:
        return lambda session: changes.cancel(
            session,
            desk.clock,
            desk.settings,
            desk.snapshot,
            desk.staff,
            booking_id,
            dry_run=dry_run,
        )

    # While a cancellation is not yet committed, a page and a preview see the booking as it was.
    seen = await desk.at_once(cancelling(dry_run=False), reading, second_waits=False)
    assert seen is BookingStatus.CONFIRMED
    booking_id = await desk.booking(BookingStatus.CONFIRMED)
    preview = await desk.at_once(
        cancelling(dry_run=False), cancelling(dry_run=True), second_waits=False
    )
    assert isinstance(preview, changes.CancelOutcome)
    assert (preview.applied, preview.booking.status) == (False, BookingStatus.CONFIRMED)
    assert len(await desk.events(booking_id, "booking.cancelled")) == 1
