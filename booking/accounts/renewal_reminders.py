"""The worker's renewal reminders (issue 18): one mail when a registration is due for renewal.

From rules.renewal_reminder_from (1 February for a card valid to 31 March) until the card's
last day, once per validity period: groups.renewal_reminded_for holds the valid_until the mail
was for, so a renewed card (a new valid_until) is reminded again the next year.

Safe with two workers at once: the groups due are locked with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has one writer) and marked in the mail's transaction, so a second pass finds
nothing left to send. booking/jobs/schedule.py says when it runs.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group, GroupStatus
from booking.accounts.rules import (
    renewal_opens,
    renewal_reminder_bound,
    renewal_reminder_from,
    renewed_until,
)
from booking.clock import Clock, local_now
from booking.inventory.models import Facility
from booking.notifications.booking_mail import date_en, date_ja, group_url
from booking.notifications.outbox import enqueue
from booking.settings import Settings

# Where a city-wide registration is renewed: any facility's counter serves it (a manager of
# any facility renews it: accounts/access.require_administer_group and groups.in_scope).
ANY_COUNTER = (
    "市の施設（市民館など）のいずれか",
    "any of the city's facilities (a civic hall, for example)",
)


async def remind_renewals(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> int:
    """Mail each active registration once when it is due for renewal (from 1 February for a
    card valid to 31 March); returns how many this pass reminded."""
    today = local_now(clock, settings.tz).date()
    async with sessionmaker.begin() as session:
        due = (
            await session.scalars(
                select(Group)
                .where(
                    Group.status == GroupStatus.ACTIVE,
                    Group.email.is_not(None),
                    Group.valid_until >= today,
                    Group.valid_until < renewal_reminder_bound(today),
                    or_(
                        Group.renewal_reminded_for.is_(None),
                        Group.renewal_reminded_for != Group.valid_until,
                    ),
                )
                .order_by(Group.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for group in due:
            valid_until = group.valid_until
            # The query's bound is renewal_reminder_from's (rules.py); None: for the type.
            if (
                valid_until is None
                or group.email is None
                or renewal_reminder_from(valid_until) > today
            ):
                continue
            group.renewal_reminded_for = valid_until
            counter = ANY_COUNTER
            if group.facility_id is not None:  # a facility's own registration: its counter
                facility = await session.get_one(Facility, group.facility_id)
                counter = (facility.name_ja, facility.name_en)
            opens = renewal_opens(valid_until)
            renewed = renewed_until(valid_until, today)
            await enqueue(
                session,
                clock,
                to=group.email,
                template="renewal_due",
                context={
                    "name": group.name,
                    "card_number": group.card_number or "",
                    "valid_until_ja": date_ja(valid_until),
                    "valid_until_en": date_en(valid_until),
                    "renewal_opens_ja": date_ja(opens),
                    "renewal_opens_en": date_en(opens),
                    "renewed_until_ja": date_ja(renewed),
                    "renewed_until_en": date_en(renewed),
                    "counter_ja": counter[0],
                    "counter_en": counter[1],
                    "url": group_url(settings, group.id),
                },
            )
        return len(due)
