"""Only an active, unexpired registration books, holds, moves, applies and confirms a win.

The rule (accounts/groups.py `effective_status`, `may_book`) as a table over every status a
registration has, on both sides of its last valid day; then one call of each service that must
refuse an inactive registration, showing that the check is wired there: `registration_inactive`,
not a later check's code (an expired card's date is also refused as `registration_expires`, so
the code tells which check spoke).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import Group, GroupKind, GroupStatus, User
from booking.accounts.sessions import principal_for_user
from booking.clock import FrozenClock
from booking.errors import BookingError, RuleViolation
from booking.inventory.network import SnapshotCache
from booking.lottery import applications
from booking.lottery.drawing import run_due_draws
from booking.lottery.models import ApplicationStatus
from booking.reservations.bookings import BookingRequest, book, is_closed
from booking.reservations.changes import cancel
from booking.reservations.rules import registration_problem
from tests.helpers import jst
from tests.people import World, registration
from tests.places import Hall, open_weekday
from tests.reservations.test_holds_blocks import holds_allowed

__all__ = ["holds_allowed"]  # the fixture, used here

LAST_DAY = date(2027, 3, 31)


def card(status: GroupStatus, valid_until: date | None) -> Group:
    return Group(kind=GroupKind.GROUP, status=status, valid_until=valid_until)


@pytest.mark.parametrize(
    ("group", "today", "effective", "books"),
    [
        pytest.param(card(GroupStatus.PENDING, None), LAST_DAY, "pending", False, id="pending"),
        pytest.param(
            card(GroupStatus.ACTIVE, LAST_DAY), date(2026, 4, 1), "active", True, id="active-first"
        ),
        pytest.param(
            card(GroupStatus.ACTIVE, LAST_DAY), LAST_DAY, "active", True, id="active-last-day"
        ),
        pytest.param(
            card(GroupStatus.ACTIVE, LAST_DAY),
            date(2027, 4, 1),
            "expired",
            False,
            id="expired-the-day-after",
        ),
        pytest.param(
            card(GroupStatus.SUSPENDED, LAST_DAY), LAST_DAY, "suspended", False, id="suspended"
        ),
        pytest.param(
            card(GroupStatus.SUSPENDED, LAST_DAY),
            date(2027, 4, 1),
            "suspended",
            False,
            id="suspended-and-past-validity",
        ),
    ],
)
def test_each_status_and_whether_it_books(
    group: Group, today: date, effective: str, books: bool
) -> None:
    assert groups.effective_status(group, today) == effective
    assert groups.may_book(group, today) is books


def test_every_status_of_the_model_is_in_the_table() -> None:
    """A new status added to the model must be decided here (it books, or it does not)."""
    assert {s.value for s in GroupStatus} == {"pending", "active", "suspended"}


@pytest.mark.parametrize(
    ("valid_until", "use_date", "allowed"),
    [
        pytest.param(LAST_DAY, LAST_DAY, True, id="the-last-valid-day"),
        pytest.param(LAST_DAY, date(2027, 4, 1), False, id="the-day-after"),
        pytest.param(None, date(2030, 1, 1), True, id="no-validity-set"),
    ],
)
def test_a_date_is_booked_or_applied_for_only_up_to_the_last_valid_day(
    valid_until: date | None, use_date: date, allowed: bool
) -> None:
    problem = registration_problem(valid_until, use_date)
    assert (problem is None) is allowed
    if problem:  # it says when the renewal opens
        assert "2026-12-01" in problem


async def principal(session: AsyncSession, user_id: int) -> Principal:
    return await principal_for_user(session, await session.get_one(User, user_id))


def request(hall: Hall, group_id: int, day: date, period: str = "10") -> BookingRequest:
    return BookingRequest(
        group_id=group_id,
        room_id=hall.room_id,
        use_date=day,
        period_codes=[period],
        purpose="meeting",
        headcount=10,
    )


async def suspend(session: AsyncSession, clock: FrozenClock, world: World, group_id: int) -> None:
    admin = await principal(session, world.user_ids["admin"])
    await groups.suspend(session, clock, admin, group_id, "確認中")
    await session.commit()


def inactive(exc: pytest.ExceptionInfo[BookingError]) -> None:
    assert isinstance(exc.value, RuleViolation)
    assert (exc.value.code, exc.value.field) == ("registration_inactive", "group_id")


async def test_an_expired_registration_cannot_book_online(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """1 April 2027: group A's card ended on 31 March; a member books a date in April."""
    clock.set(jst(date(2027, 4, 1), 10))
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 4, 12))
    member = await principal(session, world.user_ids["member"])
    with pytest.raises(BookingError) as refused:
        await book(
            session, clock, world.settings, hall.snapshot, member, request(hall, world.group_a, day)
        )
    inactive(refused)


async def test_a_suspended_registration_cannot_book_at_the_counter(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    await suspend(session, clock, world, world.group_a)
    manager = await principal(session, hall.manager_id)
    with pytest.raises(BookingError) as refused:
        await book(
            session,
            clock,
            world.settings,
            hall.snapshot,
            manager,
            request(hall, world.group_a, hall.day),
        )
    inactive(refused)


async def test_a_pending_registration_cannot_be_given_a_hold(
    world: World, holds_allowed: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    hall = holds_allowed
    manager = await principal(session, hall.manager_id)
    pending = await groups.register(
        session, clock, world.settings, manager, registration("新しい会", "new@example.jp"), None
    )
    assert pending.status is GroupStatus.PENDING
    snapshot = await SnapshotCache().get(session)
    with pytest.raises(BookingError) as refused:
        await book(
            session,
            clock,
            world.settings,
            snapshot,
            manager,
            request(hall, pending.id, hall.day),
            hold=True,
        )
    inactive(refused)


async def test_a_booking_of_a_suspended_registration_is_not_moved(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """The facility cancels group A's booking and moves it to another period: the move is a new
    booking, refused once the registration is suspended."""
    manager = await principal(session, hall.manager_id)
    booked = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        manager,
        request(hall, world.group_a, hall.day),
    )
    await session.commit()
    await suspend(session, clock, world, world.group_a)
    with pytest.raises(BookingError) as refused:
        await cancel(
            session,
            clock,
            world.settings,
            hall.snapshot,
            manager,
            booked.id,
            facility_cause=True,
            move_to=request(hall, world.group_a, hall.day, "20"),
        )
    inactive(refused)


async def test_an_expired_registration_cannot_apply_for_the_lottery(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """17 April 2027, August's applications: group A's card ended on 31 March."""
    clock.set(jst(date(2027, 4, 17), 10))
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 8, 9))
    member = await principal(session, world.user_ids["member"])
    with pytest.raises(BookingError) as refused:
        await applications.apply(
            session, clock, world.settings, hall.snapshot, member, request(hall, world.group_a, day)
        )
    inactive(refused)


async def test_an_expired_registration_cannot_confirm_its_win(
    world: World,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Group A applies on 20 November for March 2027 and wins on the 24th; its validity is then
    corrected at the counter to have ended on the 24th (a data repair), and on the 25th its
    confirmation is refused as inactive."""
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 3, 8))
    member = await principal(session, world.user_ids["member"])
    clock.set(jst(date(2026, 11, 20), 10))
    applied = await applications.apply(
        session, clock, world.settings, hall.snapshot, member, request(hall, world.group_a, day)
    )
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 10))
    await run_due_draws(sessionmaker, clock, world.settings, hall.snapshot)
    await session.refresh(applied)
    assert applied.status is ApplicationStatus.WON
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=date(2026, 11, 24))
    )
    await session.commit()
    clock.set(jst(date(2026, 11, 25), 10))
    with pytest.raises(BookingError) as refused:
        await applications.confirm(
            session, clock, world.settings, hall.snapshot, member, applied.id
        )
    inactive(refused)


async def test_the_last_valid_day_ends_at_midnight_in_tokyo(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    """At the counter on 31 March 2027 at 23:59 (Tokyo) group A still books that day; at 00:00
    on 1 April it is expired and refused (UTC is still on 31 March then)."""
    facility = hall.snapshot.facilities[hall.facility_id]
    assert not is_closed(hall.snapshot, facility, LAST_DAY)
    manager = await principal(session, hall.manager_id)
    clock.set(jst(LAST_DAY, 23, 59))
    booked = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        manager,
        request(hall, world.group_a, LAST_DAY, "30"),
    )
    assert booked.use_date == LAST_DAY
    clock.set(jst(date(2027, 4, 1), 0))
    assert clock.now().date() == LAST_DAY  # in UTC
    april = open_weekday(hall.snapshot, hall.facility_id, date(2027, 4, 1))
    with pytest.raises(BookingError) as refused:
        await book(
            session,
            clock,
            world.settings,
            hall.snapshot,
            manager,
            request(hall, world.group_a, april),
        )
    inactive(refused)


async def test_a_card_runs_to_the_end_of_the_fiscal_year_of_the_day_in_tokyo(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """Activated at 23:59 on 31 March (Tokyo): valid that day only, to 31 March 2027; at 00:00
    on 1 April (still 31 March in UTC): to 31 March 2028."""
    admin = await principal(session, world.user_ids["admin"])
    clock.set(jst(LAST_DAY, 23, 59))
    late = await groups.activate(session, clock, world.settings, admin, world.centre_group, None)
    assert late.valid_until == LAST_DAY
    clock.set(jst(date(2027, 4, 1), 0))
    first = await groups.activate(
        session, clock, world.settings, admin, world.other_centre_group, None
    )
    assert first.valid_until == date(2028, 3, 31)


async def test_each_status_for_activation_suspension_reinstatement_and_renewal(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """Only a pending registration is activated, only an active one renewed, only a suspended
    one reinstated: to active with its card, to pending without one."""
    admin = await principal(session, world.user_ids["admin"])
    settings = world.settings

    async def code_of(action: Any) -> str:
        with pytest.raises(BookingError) as refused:
            await action
        return refused.value.code

    assert (
        await code_of(groups.activate(session, clock, settings, admin, world.group_a, None))
        == "not_pending"
    )
    assert (
        await code_of(groups.renew(session, clock, settings, admin, world.centre_group))
        == "not_active"
    )
    assert await code_of(groups.reinstate(session, clock, admin, world.group_a)) == "not_suspended"
    clock.set(jst(date(2026, 12, 1), 0))
    await groups.suspend(session, clock, admin, world.group_a, "確認中")
    await groups.suspend(session, clock, admin, world.centre_group, "確認中")
    assert (
        await code_of(groups.activate(session, clock, settings, admin, world.group_a, None))
        == "not_pending"
    )
    assert (
        await code_of(groups.renew(session, clock, settings, admin, world.group_a)) == "not_active"
    )
    with_card = await groups.reinstate(session, clock, admin, world.group_a)
    assert with_card.status is GroupStatus.ACTIVE
    without_card = await groups.reinstate(session, clock, admin, world.centre_group)
    assert without_card.status is GroupStatus.PENDING
    renewed = await groups.renew(session, clock, settings, admin, world.group_a)
    assert renewed.valid_until == date(2028, 3, 31)
