"""Every site that frees claims hands the slot to its wait list in the same transaction: the
slot becomes an offer to the first in line, never an open slot (issue 17). One test a site:
a cancellation (and one with a move), a rejection, a hold's expiry, a lapsed lottery win, a
released block; a declined or expired offer is in test_offers.py."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.lottery.drawing import lapse_unconfirmed
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations import changes
from booking.reservations.blocks import BlockRequest, create_block, release_block
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.consistency import check
from booking.reservations.holds import expire_holds
from booking.reservations.models import BookingStatus, Claim, ClaimKind
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.reservations.test_service_boundaries import with_policy
from tests.waitlist.conftest import Queue


async def offered(queue: Queue, entry: WaitlistEntry, periods: list[str]) -> WaitlistOffer:
    """The entry got an open offer, and the slot is claimed by it (not free for first-come)."""
    await queue.session.refresh(entry)
    offer = await queue.session.scalar(
        select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id)
    )
    assert offer is not None, "the freed slot was not offered to the line"
    assert (offer.status, entry.status) == (OfferStatus.OPEN, EntryStatus.OFFERED)
    kinds = await queue.session.execute(
        select(Claim.period_code, Claim.kind, Claim.owner_id).where(
            Claim.use_date == entry.use_date, Claim.period_code.in_(periods)
        )
    )
    assert sorted(kinds.all()) == [(p, ClaimKind.OFFER, offer.id) for p in sorted(periods)]
    assert (await check(queue.session)).ok
    return offer


async def test_a_cancellation_with_a_move_offers_the_slot_it_left(queue: Queue) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    moved = BookingRequest(
        group_id=queue.world.group_a,
        room_id=queue.hall.room_id,
        use_date=queue.hall.day,
        period_codes=["30"],
        purpose="meeting",
        headcount=5,
    )
    outcome = await changes.cancel(
        queue.session,
        queue.clock,
        queue.world.settings,
        queue.snapshot,
        queue.staff,
        booking.id,
        facility_cause=True,
        move_to=moved,
    )
    assert outcome.moved_to is not None
    await offered(queue, entry, ["10"])


async def test_a_rejection_offers_the_slot(queue: Queue, session: AsyncSession) -> None:
    queue.hall.snapshot = await with_policy(
        session, queue.clock, [queue.hall.room_id], {"requires_approval": True}
    )
    booking = await queue.book(["20"])
    assert booking.status is BookingStatus.PENDING_APPROVAL
    entry = await queue.join(0, ["20"])
    await changes.decide(
        session, queue.clock, queue.world.settings, queue.snapshot, queue.staff, booking.id,
        approve=False,
    )  # fmt: skip
    await offered(queue, entry, ["20"])


async def test_a_lapsed_hold_offers_the_slot(
    queue: Queue, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue.hall.snapshot = await with_policy(
        session, queue.clock, [queue.hall.room_id], {"holds": {"allowed": True}}
    )
    hold = await book(
        session,
        queue.clock,
        queue.world.settings,
        queue.snapshot,
        queue.staff,
        BookingRequest(
            group_id=queue.world.group_a,
            room_id=queue.hall.room_id,
            use_date=queue.hall.day,
            period_codes=["10"],
            purpose="meeting",
            headcount=5,
        ),
        hold=True,
    )
    entry = await queue.join(1, ["10"])
    await session.commit()
    assert hold.hold_expires_at is not None
    queue.clock.set(hold.hold_expires_at)
    assert await expire_holds(sessionmaker, queue.clock, queue.world.settings) == 1
    await offered(queue, entry, ["10"])


async def test_a_lapsed_lottery_win_offers_the_slot(
    queue: Queue, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # A win for February not confirmed in October (the confirmation window) lapses now.
    win = LotteryApplication(
        use_month=queue.hall.day.replace(day=1),
        group_id=queue.world.group_a,
        room_id=queue.hall.room_id,
        facility_id=queue.hall.facility_id,
        use_date=queue.hall.day,
        period_codes=["20", "30"],
        purpose="meeting",
        headcount=5,
        status=ApplicationStatus.WON,
        created_at=queue.clock.now() - timedelta(days=40),
    )
    session.add(win)
    await session.flush()
    [unit] = next(r for r in queue.snapshot.rooms if r.id == queue.hall.room_id).unit_ids
    session.add_all(
        Claim(
            unit_id=unit,
            use_date=queue.hall.day,
            period_code=code,
            kind=ClaimKind.LOTTERY_WIN,
            owner_id=win.id,
            created_at=queue.clock.now(),
        )
        for code in ("20", "30")
    )
    await session.flush()
    entry = await queue.join(2, ["20", "30"])
    await session.commit()
    settings = queue.world.settings
    assert await lapse_unconfirmed(sessionmaker, queue.clock, settings, queue.snapshot) == 1
    await offered(queue, entry, ["20", "30"])


async def test_a_released_block_offers_the_slot(queue: Queue, session: AsyncSession) -> None:
    block = await create_block(
        session,
        queue.clock,
        queue.snapshot,
        queue.staff,
        BlockRequest(
            room_id=queue.hall.room_id,
            start_date=queue.hall.day,
            end_date=queue.hall.day,
            period_codes=["10"],
            reason="maintenance",
        ),
    )
    entry = await queue.join(3, ["10"])
    await release_block(
        session, queue.clock, queue.staff, block.id, queue.world.settings, queue.snapshot
    )
    await offered(queue, entry, ["10"])
