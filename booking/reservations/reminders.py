"""The worker's use-date reminders (issue 18): a mail two days before each use date.

Safe with two workers at once, as remind_holds is (holds.py): the bookings due are locked with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer) and marked in the mail's
transaction (bookings.reminded_at), so a second pass, here or on another machine, finds
nothing left to send. booking/jobs/schedule.py says when it runs.

A confirmed booking's group hears on the day two days before its use date (in Tokyo), from
09:00 (REMIND_FROM, not in the night) — if the worker is down that whole day the reminder is
skipped, never sent a day late. A booking made after that moment gets none (its confirmation
is the fresher mail), nor do cancelled ones, holds, pending ones, or a group that turned
reminders off (groups.use_reminders) or has no address.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group
from booking.clock import Clock, local_now
from booking.inventory.network import SnapshotCache
from booking.notifications.booking_mail import group_url
from booking.reservations.bookings import notify
from booking.reservations.models import Booking, BookingStatus
from booking.settings import Settings

REMIND_DAYS_BEFORE = 2
REMIND_FROM = time(9, 0)  # Tokyo time: the reminder is a morning mail, never a 0:00 one


async def remind_use_dates(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> int:
    """Mail each group once about each confirmed booking two days ahead; returns how many
    this pass reminded."""
    local = local_now(clock, settings.tz)
    if local.time() < REMIND_FROM:
        return 0
    today = local.date()
    # Booked after this moment: the group has just had the confirmation, no reminder.
    moment = datetime.combine(today, REMIND_FROM, tzinfo=settings.tz)
    async with sessionmaker.begin() as session:
        due = (
            await session.scalars(
                select(Booking)
                .join(Group, Group.id == Booking.group_id)
                .where(
                    Booking.status == BookingStatus.CONFIRMED,
                    Booking.use_date == today + timedelta(days=REMIND_DAYS_BEFORE),
                    Booking.reminded_at.is_(None),
                    Booking.created_at < moment,
                    Group.use_reminders.is_(True),
                    Group.email.is_not(None),
                )
                .order_by(Booking.id)
                .with_for_update(skip_locked=True, of=Booking)
            )
        ).all()
        if not due:
            return 0
        snapshot = await (snapshots or SnapshotCache()).get(session)
        for booking in due:
            booking.reminded_at = clock.now()
            group = await session.get_one(Group, booking.group_id)
            url = group_url(settings, group.id)  # where the group turns reminders off
            await notify(
                session, clock, settings, snapshot, group, booking, "use_reminder", group_url=url
            )
        return len(due)
