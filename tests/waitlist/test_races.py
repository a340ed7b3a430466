"""The wait list's guarantees under concurrency (issue 17), on committed data, both engines:

- a freed slot with a line is never booked first-come by someone else, not even by bookings
  racing the cancellation that frees it (the offer's claims are written in the cancelling
  transaction);
- an offer accepted twice at once makes one booking, and the second is told the offer is
  taken (the offer's row lock), not merely that the slot is;
- the worker expiring an offer at the moment it is accepted ends one way only: booked and
  accepted, or expired and handed on.

SQLite has one writer: the racers take turns, and the outcome must be the same. On PostgreSQL
they run at once; `Race.at_once` (tests/races.py) also forces each order of the last race.
The worker's own loop runs its pass on the same committed data (last test).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import User
from booking.accounts.sessions import principal_for_user
from booking.clock import FrozenClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import BookingError, Conflict
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.jobs.worker import run_worker
from booking.reservations import changes
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.consistency import check
from booking.reservations.models import Booking, BookingStatus
from booking.settings import Settings
from booking.waitlist import lines, offers
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.conftest import DEFAULT_NOW, committed_database
from tests.people import registration
from tests.places import open_weekday
from tests.races import Race, city_admin

GROUPS = 8


@pytest.fixture
def committed(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with committed_database(engine_settings, tmp_path, "waitlist_races", db_pool_size=20) as s:
        yield s


@dataclass
class Line(Race):
    settings: Settings
    clock: FrozenClock
    snapshot: NetworkSnapshot
    room_id: int
    day: date
    group_ids: list[int]
    people: list[Principal]  # each group's representative

    def request(self, i: int, periods: list[str]) -> BookingRequest:
        return BookingRequest(
            group_id=self.group_ids[i],
            room_id=self.room_id,
            use_date=self.day,
            period_codes=periods,
            purpose="meeting",
            headcount=5,
        )

    async def book(self, i: int, periods: list[str], clock: FrozenClock | None = None) -> Booking:
        async with self.sessionmaker.begin() as session:
            return await book(
                session,
                clock or self.clock,
                self.settings,
                self.snapshot,
                self.people[i],
                self.request(i, periods),
            )

    async def join(self, i: int, periods: list[str]) -> WaitlistEntry:
        async with self.sessionmaker.begin() as session:
            return await lines.join(
                session,
                self.clock,
                self.settings,
                self.snapshot,
                self.people[i],
                group_id=self.group_ids[i],
                room_id=self.room_id,
                use_date=self.day,
                period_codes=periods,
            )

    async def cancel(self, i: int, booking_id: int) -> None:
        async with self.sessionmaker.begin() as session:
            await changes.cancel(
                session, self.clock, self.settings, self.snapshot, self.people[i], booking_id
            )

    async def offer_to(self, entry_id: int) -> WaitlistOffer | None:
        async with self.sessionmaker() as session:
            return await session.scalar(
                select(WaitlistOffer).where(WaitlistOffer.entry_id == entry_id)
            )

    async def accept(
        self, session: AsyncSession, i: int, offer_id: int, clock: FrozenClock
    ) -> Booking:
        return await offers.accept(
            session,
            clock,
            self.settings,
            self.snapshot,
            self.people[i],
            offer_id,
            purpose="meeting",
            headcount=5,
        )

    async def consistent(self) -> None:
        async with self.sessionmaker() as session:
            report = await check(session)
        assert report.ok, report.lines()


@pytest.fixture
async def line(committed: Settings) -> AsyncIterator[Line]:
    clock = FrozenClock(DEFAULT_NOW)
    engine: AsyncEngine = create_engine(committed)
    sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        staff = await city_admin(session, clock, committed)
        snapshot = await SnapshotCache().get(session)
        room = next(
            r
            for r in snapshot.rooms
            if r.online_bookable
            and len(r.unit_ids) == 1
            and snapshot.facilities[r.facility_id].kind == "civic_hall"
            and snapshot.facilities[r.facility_id].closes_on is None
            and r.purposes is None
        )
        ids, people = [], []
        for i in range(GROUPS):
            email = f"line{i}@example.jp"
            group = await groups.register(
                session,
                clock,
                committed,
                None,
                registration(f"列{i}", email, password="long enough password"),
                None,
            )
            await groups.activate(session, clock, committed, staff, group.id, None)
            user = await session.scalar(select(User).where(User.email == email))
            assert user is not None
            ids.append(group.id)
            people.append(await principal_for_user(session, user))
    try:
        yield Line(
            engine,
            sessionmaker,
            committed,
            clock,
            snapshot,
            room.id,
            open_weekday(snapshot, room.facility_id, date(2027, 2, 8)),
            ids,
            people,
        )
    finally:
        await engine.dispose()


async def test_bookings_racing_a_cancellation_never_take_a_slot_with_a_line(line: Line) -> None:
    for period in ("10", "20", "30"):
        booking = await line.book(0, [period])
        entry = await line.join(1, [period])
        cancelling = asyncio.ensure_future(line.cancel(0, booking.id))

        async def first_come(
            i: int, period: str = period, cancelling: asyncio.Future[None] = cancelling
        ) -> list[str]:
            """Try until the cancellation is over, then once more: some tries come after it."""
            outcomes = []
            while True:
                done = cancelling.done()
                try:
                    await line.book(i, [period])
                    outcomes.append("booked")
                except BookingError as error:
                    outcomes.append(error.code)
                if done:
                    return outcomes
                await asyncio.sleep(0)

        tries = await asyncio.gather(*(first_come(i) for i in range(2, GROUPS)))
        await cancelling
        everything = [code for outcome in tries for code in outcome]
        assert "booked" not in everything, everything
        assert set(everything) == {"slot_taken"}
        offer = await line.offer_to(entry.id)
        assert offer is not None, period
        assert offer.status is OfferStatus.OPEN
    await line.consistent()


async def test_an_offer_accepted_twice_at_once_makes_one_booking(line: Line) -> None:
    booking = await line.book(0, ["10", "20"])
    entry = await line.join(1, ["10", "20"])
    await line.cancel(0, booking.id)
    offer = await line.offer_to(entry.id)
    assert offer is not None

    async def accepting() -> Booking | BookingError:
        try:
            async with line.sessionmaker.begin() as session:
                return await line.accept(session, 1, offer.id, line.clock)
        except BookingError as error:
            return error

    outcomes = await asyncio.gather(*(accepting() for _ in range(4)))
    booked = [o for o in outcomes if isinstance(o, Booking)]
    refused = [o for o in outcomes if isinstance(o, BookingError)]
    assert len(booked) == 1
    # The losers waited for the winner's lock and found the offer taken, not just the slot.
    assert {e.code for e in refused} == {"offer_not_open"}, refused
    async with line.sessionmaker() as session:
        made = await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.group_id == line.group_ids[1], Booking.status == BookingStatus.CONFIRMED)
        )
    assert made == 1
    await line.consistent()


async def offered(line: Line, periods: list[str]) -> tuple[WaitlistOffer, WaitlistEntry]:
    """A fresh open offer to group 1, with group 2 next in line."""
    booking = await line.book(0, periods)
    entry = await line.join(1, periods)
    next_in_line = await line.join(2, periods)
    await line.cancel(0, booking.id)
    offer = await line.offer_to(entry.id)
    assert offer is not None
    return offer, next_in_line


async def one_way_only(line: Line, offer: WaitlistOffer, next_in_line: WaitlistEntry) -> str:
    """Accepted and booked, with nobody else offered; or expired, unbooked and handed on."""
    async with line.sessionmaker() as session:
        found = await session.get_one(WaitlistOffer, offer.id)
        entry = await session.get_one(WaitlistEntry, offer.entry_id)
        found_bookings = await session.scalars(
            select(Booking).where(
                Booking.group_id == line.group_ids[1],
                Booking.use_date == offer.use_date,
                Booking.status == BookingStatus.CONFIRMED,
            )
        )
        bookings = sum(1 for b in found_bookings if b.period_codes == offer.period_codes)
        handed_on = await session.scalar(
            select(WaitlistOffer).where(WaitlistOffer.entry_id == next_in_line.id)
        )
    if found.status is OfferStatus.ACCEPTED:
        assert (entry.status, bookings, handed_on) == (EntryStatus.BOOKED, 1, None)
    else:
        assert (found.status, entry.status, bookings) == (
            OfferStatus.EXPIRED,
            EntryStatus.EXPIRED,
            0,
        )
        assert handed_on is not None
        assert handed_on.status is OfferStatus.OPEN
    await line.consistent()
    return found.status.value


def clocks(offer: WaitlistOffer) -> tuple[FrozenClock, FrozenClock]:
    """The accepting request's clock a second before the deadline, the worker's at it: two
    machines whose clocks straddle the instant."""
    expires: datetime = offer.expires_at
    return FrozenClock(expires - timedelta(seconds=1)), FrozenClock(expires)


async def test_expiry_at_the_moment_of_acceptance_ends_one_way_only(line: Line) -> None:
    seen = set()
    for periods in (["10"], ["20"], ["30"]):
        offer, next_in_line = await offered(line, periods)
        accepting_clock, worker_clock = clocks(offer)

        async def accepting(
            offer: WaitlistOffer = offer, accepting_clock: FrozenClock = accepting_clock
        ) -> Booking | BookingError:
            try:
                async with line.sessionmaker.begin() as session:
                    return await line.accept(session, 1, offer.id, accepting_clock)
            except BookingError as error:
                return error

        accepted, expired = await asyncio.gather(
            accepting(), offers.expire_offers(line.sessionmaker, worker_clock, line.settings)
        )
        outcome = await one_way_only(line, offer, next_in_line)
        seen.add(outcome)
        if outcome == "accepted":
            assert isinstance(accepted, Booking)
            assert expired == 0
        else:
            assert isinstance(accepted, Conflict)
            assert accepted.code == "offer_not_open"
            assert expired == 1
    assert seen  # which way each round went is the engines' choice


@pytest.mark.engines("postgresql")
async def test_the_worker_skips_an_offer_being_accepted(line: Line) -> None:
    offer, next_in_line = await offered(line, ["10"])
    accepting_clock, worker_clock = clocks(offer)
    expired = await line.at_once(
        lambda session: line.accept(session, 1, offer.id, accepting_clock),
        lambda _session: offers.expire_offers(line.sessionmaker, worker_clock, line.settings),
        second_waits=False,  # SKIP LOCKED: the worker moves on at once
    )
    assert expired == 0
    assert await one_way_only(line, offer, next_in_line) == "accepted"
    # Its next pass finds the offer accepted: nothing to expire.
    assert await offers.expire_offers(line.sessionmaker, worker_clock, line.settings) == 0


@pytest.mark.engines("postgresql")
async def test_an_acceptance_waits_for_the_worker_and_finds_the_offer_expired(line: Line) -> None:
    offer, next_in_line = await offered(line, ["20"])
    accepting_clock, worker_clock = clocks(offer)

    async def expiring(session: AsyncSession) -> int:
        # The worker's real pass, in the transaction at_once holds open.
        return await offers.expire_lapsed(session, worker_clock, line.settings, SnapshotCache())

    refusal = await line.at_once(
        expiring,
        lambda session: line.accept(session, 1, offer.id, accepting_clock),
    )
    # The acceptance waited for the worker's lock, then found the offer expired.
    assert isinstance(refusal, Conflict)
    assert refusal.code == "offer_not_open"
    assert await one_way_only(line, offer, next_in_line) == "expired"


async def test_the_worker_loop_expires_offers_and_hands_them_on(line: Line, tmp_path: Path) -> None:
    """`booking worker` runs the wait list's pass beside the holds' (jobs/schedule.py):
    one pass at the deadline expires the offer and offers the slot to the next in line."""
    offer, next_in_line = await offered(line, ["30"])
    settings = line.settings.model_copy(
        update={"mail_backend": "files", "mail_dir": tmp_path / "mail"}
    )
    await run_worker(settings, FrozenClock(offer.expires_at), once=True)
    assert await one_way_only(line, offer, next_in_line) == "expired"
    mails = [p.read_text() for p in (tmp_path / "mail").iterdir()]
    assert sum("/my/waitlist" in m for m in mails) >= 2  # the expiry and the next offer
