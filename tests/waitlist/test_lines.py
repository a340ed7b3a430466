"""Joining, leaving and positions (booking/waitlist/lines.py), through the services."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group, GroupStatus
from booking.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.notifications.models import OutboxMessage
from booking.reservations import changes
from booking.waitlist import lines
from booking.waitlist.models import EntryStatus
from tests.people import principal
from tests.reservations.test_service_boundaries import refused, with_policy
from tests.waitlist.conftest import Queue


async def test_a_group_joins_a_taken_slot_once_and_sees_its_place(queue: Queue) -> None:
    await queue.book(["10", "20"])
    first = await queue.join(0, ["20", "10"])
    assert first.period_codes == ["10", "20"]  # in the day's order
    assert first.status is EntryStatus.WAITING
    second = await queue.join(1, ["10"])
    error = await refused(queue.join(0, ["10", "20"]), Conflict, "already_waiting")
    assert error.field == "period_codes"
    mine = await lines.group_lines(queue.session, queue.reps[1], queue.snapshot, queue.group_ids[1])
    assert [(line.entry.id, line.position) for line in mine] == [(second.id, 2)]
    ours = await lines.group_lines(queue.session, queue.reps[0], queue.snapshot, queue.group_ids[0])
    assert [(line.entry.id, line.position) for line in ours] == [(first.id, 1)]
    counts = await lines.waiting_counts(queue.session, None, queue.hall.day, queue.hall.day)
    assert counts[(queue.hall.room_id, queue.hall.day, "10")] == 2
    assert counts[(queue.hall.room_id, queue.hall.day, "20")] == 1
    mail = await queue.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "waitlist_joined")
    )
    assert mail is not None
    assert "/my/waitlist" in mail.body_text

    await lines.leave(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.reps[0], first.id
    )
    mine = await lines.group_lines(queue.session, queue.reps[1], queue.snapshot, queue.group_ids[1])
    assert [line.position for line in mine] == [1]
    # Left, it may join again (a new entry, at the end of the line).
    again = await queue.join(0, ["10", "20"])
    assert again.id != first.id


async def test_join_refuses_a_free_slot_a_stranger_and_past_the_window(queue: Queue) -> None:
    await refused(queue.join(0, ["10"]), RuleViolation, "slot_free")
    await queue.book(["10"])
    stranger = await refused(
        lines.join(
            queue.session,
            queue.clock,
            queue.world.settings,
            queue.snapshot,
            queue.reps[1],
            group_id=queue.group_ids[0],
            room_id=queue.hall.room_id,
            use_date=queue.hall.day,
            period_codes=["10"],
        ),
        NotFound,
        "group_not_found",
    )
    assert stranger.field == "group_id"
    # Two days before: online booking has closed (3 days before), so has the wait list.
    queue.clock.set(queue.clock.now() + (queue.hall.day - queue.clock.now().date()) - timedelta(2))
    await refused(queue.join(0, ["10"]), RuleViolation, "outside_window")


async def test_join_follows_the_booking_checks_and_the_cap(
    queue: Queue, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await queue.book(["10", "20", "30"])
    # The hall's staff join for a group (at the counter); a manager of elsewhere may not.
    by_staff = await lines.join(
        session, queue.clock, queue.world.settings, queue.snapshot, queue.staff,
        group_id=queue.group_ids[0], room_id=queue.hall.room_id, use_date=queue.hall.day,
        period_codes=["10"],
    )  # fmt: skip
    assert by_staff.joined_by_user_id == queue.staff.user_id
    elsewhere = await principal(session, queue.world.user_ids["manager_elsewhere"])
    await refused(
        lines.join(
            session, queue.clock, queue.world.settings, queue.snapshot, elsewhere,
            group_id=queue.group_ids[1], room_id=queue.hall.room_id, use_date=queue.hall.day,
            period_codes=["10"],
        ),
        PermissionDenied,
        "facility_not_assigned",
    )  # fmt: skip
    await refused(queue.join(1, ["10", "30"]), InvalidInput, "bad_periods")
    # A cap of 2 live entries: the third line is refused until one is left.
    queue.hall.snapshot = await with_policy(
        session, queue.clock, [queue.hall.room_id], {"waitlist": {"cap_per_group": 2}}
    )
    first = await queue.join(1, ["10"])
    await queue.join(1, ["20"])
    error = await refused(queue.join(1, ["30"]), RuleViolation, "waitlist_cap")
    assert error.field == "group_id"
    await lines.leave(
        session, queue.clock, queue.world.settings, queue.snapshot, queue.reps[1], first.id
    )
    await queue.join(1, ["30"])
    # A room whose policy keeps no wait list.
    queue.hall.snapshot = await with_policy(
        session, queue.clock, [queue.hall.room_id], {"waitlist": {"enabled": False}, "online": True}
    )
    await refused(queue.join(2, ["10"]), RuleViolation, "waitlist_disabled")


async def test_a_suspended_group_and_a_counter_only_room_are_refused(
    queue: Queue, session: AsyncSession
) -> None:
    await queue.book(["10"])
    await session.execute(
        update(Group).where(Group.id == queue.group_ids[0]).values(status=GroupStatus.SUSPENDED)
    )
    await refused(queue.join(0, ["10"]), RuleViolation, "registration_inactive")
    queue.hall.snapshot = replace(
        queue.snapshot,
        rooms=tuple(
            replace(r, online_bookable=False) if r.id == queue.hall.room_id else r
            for r in queue.snapshot.rooms
        ),
    )
    await refused(queue.join(1, ["10"]), RuleViolation, "counter_only")


async def test_the_line_is_in_join_order(queue: Queue) -> None:
    """Join time orders the line (then the id): positions and the offer. The entries are made
    in the groups' order, their join times the other way round (two app servers' clocks may
    write them so): the line follows the times."""
    booking = await queue.book(["10"])
    start = queue.clock.now()
    joined = {i: await queue.join(i, ["10"]) for i in (0, 1, 2)}
    for minutes, i in enumerate((2, 0, 1)):
        joined[i].joined_at = start + timedelta(minutes=minutes)
    await queue.session.flush()
    for i, place in ((2, 1), (0, 2), (1, 3)):
        found = await lines.group_lines(
            queue.session, queue.reps[i], queue.snapshot, queue.group_ids[i]
        )
        assert [line.position for line in found] == [place]
    await changes.cancel(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.booker, booking.id
    )
    assert [joined[i].status for i in (2, 0, 1)] == [
        EntryStatus.OFFERED,
        EntryStatus.WAITING,
        EntryStatus.WAITING,
    ]
    # The offered entry has no position; the others moved up.
    found = await lines.group_lines(
        queue.session, queue.reps[2], queue.snapshot, queue.group_ids[2]
    )
    assert (found[0].position, found[0].offer is not None) == (None, True)
    found = await lines.group_lines(
        queue.session, queue.reps[0], queue.snapshot, queue.group_ids[0]
    )
    assert found[0].position == 1


async def test_a_group_cannot_wait_for_a_slot_it_holds_part_of(queue: Queue) -> None:
    """Its line could never be served: its own booking is in the way of the whole slot."""
    await queue.book(["10"])  # group A's 午前
    await queue.book(["20"], group=0)  # the first waiting group's own 午後
    error = await refused(queue.join(0, ["10", "20"]), RuleViolation, "own_slot")
    assert error.field == "period_codes"
    await refused(queue.join(0, ["20"]), RuleViolation, "own_slot")
    # Another's claim alone, it waits; and a group with no claim there waits for both.
    assert (await queue.join(0, ["10"])).status is EntryStatus.WAITING
    assert (await queue.join(1, ["10", "20"])).status is EntryStatus.WAITING
