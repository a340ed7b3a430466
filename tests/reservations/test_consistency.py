"""`booking db check` stays clean through every status transition, on both databases.

One story walks each way a booking, a hold, a block and a lottery application changes state
(through the services the API and the pages call) and runs the consistency check after each.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.clock import FrozenClock
from booking.inventory.models import Policy, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.services import bump_revision
from booking.lottery import applications
from booking.lottery.drawing import lapse_unconfirmed, run_due_draws
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations import changes
from booking.reservations.blocks import BlockRequest, close_dates, create_block, release_block
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.consistency import check
from booking.reservations.holds import complete_hold, expire_holds
from booking.reservations.models import Booking, BookingStatus, Claim, PaymentStatus
from tests.helpers import jst
from tests.people import World, principal
from tests.places import Hall, open_weekday


class Walk:
    """The actors and the clean-check after each step."""

    def __init__(
        self,
        world: World,
        hall: Hall,
        session: AsyncSession,
        clock: FrozenClock,
        member: Principal,
        manager: Principal,
    ) -> None:
        self.world, self.hall, self.session, self.clock = world, hall, session, clock
        self.member, self.manager = member, manager
        self.steps: list[str] = []

    async def snapshot(self) -> NetworkSnapshot:
        return await SnapshotCache().get(self.session)

    def request(self, day: date, periods: list[str]) -> BookingRequest:
        return BookingRequest(
            group_id=self.world.group_a,
            room_id=self.hall.room_id,
            use_date=day,
            period_codes=periods,
            purpose="meeting",
            headcount=10,
        )

    async def book(
        self, day: date, periods: list[str], *, by: Principal, hold: bool = False
    ) -> Booking:
        made = await book(
            self.session,
            self.clock,
            self.world.settings,
            await self.snapshot(),
            by,
            self.request(day, periods),
            hold=hold,
        )
        await self.clean(f"{'hold' if hold else 'book'} {day} {periods} -> {made.status}")
        return made

    async def clean(self, step: str) -> None:
        await self.session.commit()
        self.steps.append(step)
        report = await check(self.session)
        assert report.ok, (step, report.lines())


@pytest.fixture
async def walk(world: World, hall: Hall, session: AsyncSession, clock: FrozenClock) -> Walk:
    # The hall room takes holds and wants approval of online bookings (counter bookings are
    # confirmed at once), so every transition has a way in.
    policy = Policy(
        key="test-transitions", settings={"holds": {"allowed": True}, "requires_approval": True}
    )
    session.add(policy)
    await session.flush()
    await session.execute(update(Room).where(Room.id == hall.room_id).values(policy_id=policy.id))
    await bump_revision(session, clock.now())
    await session.commit()
    return Walk(
        world,
        hall,
        session,
        clock,
        await principal(session, world.user_ids["member"]),
        await principal(session, hall.manager_id),
    )


async def test_every_transition_leaves_the_check_clean(  # noqa: PLR0915 - one walk, in order
    walk: Walk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world, hall, session, clock = walk.world, walk.hall, walk.session, walk.clock
    settings = world.settings
    day = hall.day
    later = open_weekday(hall.snapshot, hall.facility_id, day + timedelta(days=1))

    # Pending approval -> approved; pending -> rejected.
    pending = await walk.book(day, ["10"], by=walk.member)
    assert pending.status is BookingStatus.PENDING_APPROVAL
    await changes.decide(
        session, clock, settings, await walk.snapshot(), walk.manager, pending.id, approve=True
    )
    await walk.clean("approve")
    rejected = await walk.book(day, ["20"], by=walk.member)
    await changes.decide(
        session, clock, settings, await walk.snapshot(), walk.manager, rejected.id, approve=False
    )
    await walk.clean("reject")

    # A hold completed; a hold left to expire.
    held = await walk.book(day, ["20"], by=walk.manager, hold=True)
    await complete_hold(session, clock, settings, await walk.snapshot(), walk.manager, held.id)
    await walk.clean("complete a hold")
    lapsing = await walk.book(day, ["30"], by=walk.manager, hold=True)
    clock.set(lapsing.hold_expires_at + timedelta(minutes=1))  # type: ignore[operator]
    assert await expire_holds(sessionmaker, clock) == 1
    await walk.clean("hold expiry")
    await session.refresh(lapsing)
    assert (lapsing.status, lapsing.payment_status) == (
        BookingStatus.CANCELLED,
        PaymentStatus.WAIVED,  # nothing is owed for a hold never completed
    )

    # Cancelled by the group in time; late by the facility (charged); for the facility's own
    # reasons, moved to another slot.
    counter = await walk.book(later, ["10"], by=walk.manager)
    await changes.cancel(session, clock, settings, await walk.snapshot(), walk.member, counter.id)
    await walk.clean("cancel by the group")
    moving = await walk.book(later, ["20"], by=walk.manager)
    await changes.cancel(
        session,
        clock,
        settings,
        await walk.snapshot(),
        walk.manager,
        moving.id,
        facility_cause=True,
        move_to=walk.request(later, ["30"]),
    )
    await walk.clean("move")

    # A block made and released.
    block = await create_block(
        session,
        clock,
        await walk.snapshot(),
        walk.manager,
        BlockRequest(hall.room_id, later, later, ["10"], "maintenance"),
    )
    await walk.clean("block")
    await release_block(session, clock, walk.manager, block.id)
    await walk.clean("release the block")

    # The facility closes on the later day: the moved booking is cancelled free.
    moved = await session.scalar(
        select(Booking).where(Booking.use_date == later, Booking.status == BookingStatus.CONFIRMED)
    )
    assert moved is not None
    affected = await close_dates(
        session, clock, settings, walk.manager, hall.facility_id, start=later, end=later, note=None
    )
    assert [b.id for b in affected] == [moved.id]
    await walk.clean("facility closure")
    await changes.cancel(
        session, clock, settings, await walk.snapshot(), walk.manager, moved.id, facility_cause=True
    )
    await walk.clean("facility cancellation")

    # Two days before: a late cancellation notice, at the full fee.
    late = await walk.book(day, ["30"], by=walk.manager)
    clock.set(jst(day - timedelta(days=2), 10))
    manager = await principal(session, hall.manager_id)
    outcome = await changes.cancel(
        session, clock, settings, await walk.snapshot(), manager, late.id
    )
    assert outcome.charge == late.fee_total > 0
    await walk.clean("late cancellation")

    # The day itself: the approved booking is a no-show; the completed hold too. Their slots
    # stay taken (used and paid for), and the check is still clean.
    clock.set(jst(day, 15))
    for booking_id in (pending.id, held.id):
        await changes.record_no_show(session, clock, settings, manager, booking_id)
        await walk.clean(f"no-show {booking_id}")
    taken = await session.scalars(select(Claim.owner_id).where(Claim.use_date == day))
    assert set(taken.all()) == {pending.id, held.id}

    # The lottery for August: applied, withdrawn, won and confirmed, won and lapsed, lost.
    clock.set(jst(date(2027, 4, 17), 10))
    admin = await principal(session, world.user_ids["admin"])
    for group_id in (world.group_a, world.group_b):
        await groups.renew(session, clock, settings, admin, group_id)
    await session.commit()
    member = await principal(session, world.user_ids["member"])
    other = await principal(session, world.user_ids["other_representative"])
    august = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    snapshot = await walk.snapshot()

    async def apply(who: Principal, group_id: int, periods: list[str]) -> LotteryApplication:
        request = BookingRequest(group_id, hall.room_id, august, periods, "meeting", 10)
        made = await applications.apply(session, clock, settings, snapshot, who, request)
        await walk.clean(f"apply {periods}")
        return made

    withdrawn = await apply(member, world.group_a, ["30"])
    await applications.withdraw(session, clock, settings, snapshot, member, withdrawn.id)
    await walk.clean("withdraw")
    first = await apply(member, world.group_a, ["10"])
    second = await apply(other, world.group_b, ["10"])
    alone = await apply(other, world.group_b, ["20"])
    clock.set(jst(date(2027, 4, 24), 10))
    assert [r.drawn for r in await run_due_draws(sessionmaker, clock, settings, snapshot)] == [True]
    await walk.clean("draw")
    statuses = {
        a.id: a.status
        for a in await session.scalars(
            select(LotteryApplication).execution_options(populate_existing=True)
        )
    }
    assert sorted([statuses[first.id], statuses[second.id]]) == [
        ApplicationStatus.LOST,
        ApplicationStatus.WON,
    ]
    winner = first if statuses[first.id] is ApplicationStatus.WON else second
    clock.set(jst(date(2027, 4, 25), 10))
    await applications.confirm(
        session,
        clock,
        settings,
        snapshot,
        member if winner.group_id == world.group_a else other,
        winner.id,
    )
    await walk.clean("confirm a win")
    clock.set(jst(date(2027, 4, 29), 1))
    assert await lapse_unconfirmed(sessionmaker, clock, settings, snapshot) == 1
    await walk.clean(f"lapse {alone.id}")
    assert len(walk.steps) >= 22


async def test_the_check_finds_claims_of_the_wrong_kind_and_wins_without_claims(
    walk: Walk,
) -> None:
    session = walk.session
    held = await walk.book(walk.hall.day, ["10"], by=walk.manager, hold=True)
    # Completed by hand, its claims left as a hold's: both sides are reported.
    await session.execute(
        update(Booking).where(Booking.id == held.id).values(status=BookingStatus.CONFIRMED)
    )
    report = await check(session)
    assert report.orphan_claims == [
        f"claim {c} (hold) of {held.id}"
        for c in (await session.scalars(select(Claim.id).where(Claim.owner_id == held.id)))
    ]
    assert report.incomplete == [f"booking {held.id}: 0 of 1"]
    await session.rollback()

    # A won application whose claims went missing.
    application = LotteryApplication(
        use_month=date(2027, 3, 1),
        group_id=walk.world.group_a,
        room_id=walk.hall.room_id,
        facility_id=walk.hall.facility_id,
        use_date=date(2027, 3, 10),
        period_codes=["10", "20"],
        purpose="meeting",
        headcount=10,
        status=ApplicationStatus.WON,
        created_at=walk.clock.now(),
    )
    session.add(application)
    await session.flush()
    assert (await check(session)).incomplete == [f"lottery application {application.id}: 0 of 2"]
