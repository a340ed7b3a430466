"""Holds (仮予約): completed by staff in time, or released by the worker when they lapse.

The worker's expiry is safe to run twice at once or on two machines (DESIGN.md invariant 4):
each lapsed hold is locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer) and
changed only while still held, so a second run finds nothing left to do.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.groups import get_group
from booking.audit.service import SYSTEM, record
from booking.clock import Clock
from booking.errors import Conflict
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.notifications.booking_mail import (
    booking_context,
    facility_url,
    moment_en,
    moment_ja,
)
from booking.notifications.outbox import enqueue
from booking.reservations.bookings import audited, notify
from booking.reservations.changes import get_booking, require_facility_staff
from booking.reservations.claims import release_claims
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from booking.settings import Settings
from booking.waitlist.offers import hand_on

REMIND_BEFORE = timedelta(hours=24)


async def complete_hold(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    booking_id: int,
) -> Booking:
    """The group confirmed by phone or at the counter: the hold becomes a booking, final, and
    the group is mailed so with its usage permit (booking_mail.permit_url)."""
    booking, group = await get_booking(session, principal, booking_id, for_update=True)
    require_facility_staff(principal, booking)
    if booking.status is not BookingStatus.HELD:
        raise Conflict(f"the booking is {booking.status.value}, not held", code="not_held")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= clock.now():
        raise Conflict("the hold has lapsed", code="hold_lapsed")
    before = audited(booking)
    booking.status = BookingStatus.CONFIRMED
    # decided_at: when it stopped being tentative (a public feed's LAST-MODIFIED)
    booking.decided_at = booking.updated_at = clock.now()
    await session.execute(
        update(Claim)
        .where(Claim.kind == ClaimKind.HOLD, Claim.owner_id == booking.id)
        .values(kind=ClaimKind.BOOKING)
    )
    await record(
        session,
        clock,
        principal.actor,
        "booking.hold_completed",
        ("booking", booking.id),
        before=before,
        after=audited(booking),
    )
    await notify(session, clock, settings, snapshot, group, booking, "booking_confirmed")
    return booking


async def expire_holds(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings | None = None,
    snapshots: SnapshotCache | None = None,
) -> int:
    """Release every lapsed hold once, its slots offered to their wait lists first; returns
    how many this run released."""
    now = clock.now()
    freed = []
    async with sessionmaker.begin() as session:
        lapsed = (
            await session.scalars(
                select(Booking)
                .where(Booking.status == BookingStatus.HELD, Booking.hold_expires_at <= now)
                .order_by(Booking.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not lapsed:
            return 0
        # The names of places and periods: each lapsed hold's mail names them.
        snapshot = await (snapshots or SnapshotCache()).get(session)
        settings = settings or Settings()
        for booking in lapsed:
            before = audited(booking)
            freed += await release_claims(session, [ClaimKind.HOLD], booking.id)
            booking.status = BookingStatus.CANCELLED
            booking.cancel_cause = "expired"
            booking.cancelled_at = booking.updated_at = now
            booking.cancellation_charge = 0
            # Nothing is owed for a hold that was never completed (as for a rejection).
            if booking.payment_status is PaymentStatus.UNPAID:
                booking.payment_status = PaymentStatus.WAIVED
            await record(
                session,
                clock,
                SYSTEM,
                "booking.hold_expired",
                ("booking", booking.id),
                before=before,
                after=audited(booking),
            )
            await tell_lapsed(session, clock, settings, snapshot, booking)
        if freed:
            await hand_on(session, clock, settings, snapshot, freed)
        return len(lapsed)


async def tell_lapsed(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    booking: Booking,
) -> None:
    """The group hears, in the release's transaction, that its hold lapsed, that the slot is
    free again (to anyone) and where to find it to book again: the facility's page."""
    if booking.hold_expires_at is None:
        return
    group = await get_group(session, booking.group_id)
    expired = booking.hold_expires_at.astimezone(settings.tz)
    await notify(
        session,
        clock,
        settings,
        snapshot,
        group,
        booking,
        "hold_lapsed",
        expired_ja=moment_ja(expired),
        expired_en=moment_en(expired),
        facility_url=facility_url(settings, booking.facility_id),
    )


async def remind_holds(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> int:
    """Mail each group once when its hold has a day left."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        due = (
            await session.scalars(
                select(Booking)
                .where(
                    Booking.status == BookingStatus.HELD,
                    Booking.hold_reminded_at.is_(None),
                    Booking.hold_expires_at <= now + REMIND_BEFORE,
                    Booking.hold_expires_at > now,
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        # The names of places and periods, read only when someone is to be reminded.
        snapshot = await (snapshots or SnapshotCache()).get(session) if due else None
        for booking in due:
            booking.hold_reminded_at = now
            group = await get_group(session, booking.group_id)
            if snapshot and group.email and booking.hold_expires_at is not None:
                expires = booking.hold_expires_at.astimezone(settings.tz)
                await enqueue(
                    session,
                    clock,
                    to=group.email,
                    template="hold_expiring",
                    context=booking_context(
                        snapshot,
                        settings,
                        group.name,
                        booking,
                        expires_ja=moment_ja(expires),
                        expires_en=moment_en(expires),
                    ),
                )
        return len(due)
