"""Joining, leaving and positions (booking/waitlist/lines.py), through the services."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking.errors import Conflict, NotFound, RuleViolation
from booking.notifications.models import OutboxMessage
from booking.waitlist import lines
from booking.waitlist.models import EntryStatus
from tests.reservations.test_service_boundaries import refused
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
