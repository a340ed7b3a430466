"""Offers made to the wait list (booking/waitlist/handon.py makes them): accepted, an
offer is an ordinary booking made in one transaction; declined or let expire, its slot goes to
the next in line. The worker expires lapsed offers and closes lines whose date's online
booking has ended; both passes are safe to run twice at once (SKIP LOCKED).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.models import Group
from booking.audit.service import SYSTEM, Actor, record
from booking.clock import Clock, local_today
from booking.errors import Conflict, NotFound
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.policy import last_booking_day
from booking.reservations.bookings import (
    BookingRequest,
    audited,
    booking_row,
    notify,
    plan,
)
from booking.reservations.claims import Freed, release_claims
from booking.reservations.models import Booking, Claim, ClaimKind
from booking.settings import Settings
from booking.waitlist.handon import close_entry, hand_on, mail_group, offer_audit
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

__all__ = [  # hand_on is made in handon.py; the release sites import it from here
    "accept",
    "close_passed",
    "decline",
    "expire_lapsed",
    "expire_offers",
    "get_offer",
    "hand_on",
    "open_offers",
    "remind_offers",
    "waitlist_pass",
]


async def get_offer(
    session: AsyncSession, principal: Principal, offer_id: int, *, for_update: bool = False
) -> WaitlistOffer:
    """An offer its group's members and the facility's staff may see; others get 404."""
    offer = await session.get(
        WaitlistOffer, offer_id, with_for_update=for_update, populate_existing=True
    )
    if offer is not None and (
        principal.role_in(offer.group_id) is not None or principal.manages(offer.facility_id)
    ):
        return offer
    raise NotFound(f"no offer {offer_id}", code="offer_not_found")


async def _open_offer(
    session: AsyncSession, principal: Principal, offer_id: int
) -> tuple[WaitlistOffer, WaitlistEntry]:
    """The offer locked (FOR UPDATE), then its entry: the order every change takes them in."""
    offer = await get_offer(session, principal, offer_id, for_update=True)
    if offer.status is not OfferStatus.OPEN:
        raise Conflict(f"the offer is {offer.status.value}", code="offer_not_open")
    entry = await session.get_one(
        WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True
    )
    return offer, entry


async def accept(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    offer_id: int,
    *,
    purpose: str,
    headcount: int,
    event_name: str | None = None,
    charges_admission: bool = False,
) -> Booking:
    """Take the offered slot: an ordinary booking (a booking's checks, fee, audit event and
    mail) in this transaction. The offer's claims become the booking's where they are, so the
    slot is never free in between, not even inside the transaction."""
    offer, entry = await _open_offer(session, principal, offer_id)
    if offer.expires_at <= clock.now():
        raise Conflict("the offer has expired", code="offer_expired")
    before = offer_audit(offer)
    request = BookingRequest(
        group_id=offer.group_id,
        room_id=offer.room_id,
        use_date=offer.use_date,
        period_codes=list(offer.period_codes),
        purpose=purpose,
        headcount=headcount,
        event_name=event_name,
        charges_admission=charges_admission,
    )
    planned = await plan(session, clock, settings, snapshot, principal, request)
    booking = booking_row(planned, clock, principal)
    session.add(booking)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "booking.created",
        ("booking", booking.id),
        after={**audited(booking), "waitlist_offer": offer.id},
    )
    await notify(session, clock, settings, snapshot, planned.group, booking, "booking_confirmed")
    await session.execute(
        update(Claim)
        .where(Claim.kind == ClaimKind.OFFER, Claim.owner_id == offer.id)
        .values(kind=ClaimKind.BOOKING, owner_id=booking.id)
    )
    now = clock.now()
    offer.status = OfferStatus.ACCEPTED
    offer.decided_at = now
    offer.decided_by_user_id = principal.user_id
    offer.booking_id = booking.id
    entry.status = EntryStatus.BOOKED
    entry.ended_at = now
    await record(
        session,
        clock,
        principal.actor,
        "waitlist.accepted",
        ("waitlist_offer", offer.id),
        before=before,
        after=offer_audit(offer),
    )
    return booking


def _end(
    clock: Clock, offer: WaitlistOffer, entry: WaitlistEntry, status: OfferStatus, actor: Actor
) -> dict[str, object]:
    """The offer declined or expired, its entry ended likewise; the audit's before."""
    before = offer_audit(offer)
    now = clock.now()
    offer.status = status
    offer.decided_at = now
    offer.decided_by_user_id = actor.user_id
    entry.status = EntryStatus.DECLINED if status is OfferStatus.DECLINED else EntryStatus.EXPIRED
    entry.ended_at = now
    return before


async def _record_end(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    offer: WaitlistOffer,
    before: dict[str, object],
) -> None:
    await record(
        session,
        clock,
        actor,
        f"waitlist.{offer.status.value}",
        ("waitlist_offer", offer.id),
        before=before,
        after=offer_audit(offer),
    )


async def decline(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    principal: Principal,
    offer_id: int,
) -> WaitlistOffer:
    """Say no to an offer: the slot goes to the next in line (or opens)."""
    offer, entry = await _open_offer(session, principal, offer_id)
    freed = await release_claims(session, [ClaimKind.OFFER], offer.id)
    before = _end(clock, offer, entry, OfferStatus.DECLINED, principal.actor)
    await _record_end(session, clock, principal.actor, offer, before)
    await hand_on(session, clock, settings, snapshot, freed)
    return offer


async def open_offers(
    session: AsyncSession, principal: Principal, group_id: int
) -> Sequence[WaitlistOffer]:
    """The group's open offers, soonest deadline first (for a notice on its pages): its
    members see them all, staff those of the facilities they manage, anyone else none."""
    found = await session.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.group_id == group_id, WaitlistOffer.status == OfferStatus.OPEN)
        .order_by(WaitlistOffer.expires_at, WaitlistOffer.id)
    )
    member = principal.role_in(group_id) is not None
    return [o for o in found.all() if member or principal.manages(o.facility_id)]


async def expire_offers(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> int:
    """The worker's pass: lapsed open offers end (locked, SKIP LOCKED: safe to run twice at
    once) and their slots go to the next in line, all in one transaction."""
    async with sessionmaker.begin() as session:
        return await expire_lapsed(session, clock, settings, snapshots or SnapshotCache())


async def expire_lapsed(
    session: AsyncSession, clock: Clock, settings: Settings, snapshots: SnapshotCache
) -> int:
    """`expire_offers` in the caller's transaction."""
    now = clock.now()
    lapsed = (
        await session.scalars(
            select(WaitlistOffer)
            .where(WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at <= now)
            .order_by(WaitlistOffer.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not lapsed:
        return 0
    snapshot = await snapshots.get(session)
    entries = {
        e.id: e
        for e in await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.id.in_([o.entry_id for o in lapsed]))
            .with_for_update()
        )
    }
    groups = {
        g.id: g
        for g in await session.scalars(
            select(Group).where(Group.id.in_({o.group_id for o in lapsed}))
        )
    }
    # Their claims in one statement, whatever their number.
    released = await session.execute(
        delete(Claim)
        .where(Claim.kind == ClaimKind.OFFER, Claim.owner_id.in_([o.id for o in lapsed]))
        .returning(Claim.unit_id, Claim.use_date, Claim.period_code)
    )
    freed: list[Freed] = [(unit, day, code) for unit, day, code in released.all()]
    for offer in lapsed:
        entry = entries[offer.entry_id]
        before = _end(clock, offer, entry, OfferStatus.EXPIRED, SYSTEM)
        await _record_end(session, clock, SYSTEM, offer, before)
        mail_group(
            session,
            clock,
            settings,
            snapshot,
            groups.get(offer.group_id),
            "waitlist_expired",
            entry,
            offer=offer,
        )
    await hand_on(session, clock, settings, snapshot, freed)
    return len(lapsed)


async def close_passed(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> int:
    """The worker's pass: waiting entries whose date's online booking has closed end
    (`closed`); nothing could be offered to them any more. Safe to run twice at once."""
    today = local_today(clock, settings.tz)
    async with sessionmaker.begin() as session:
        snapshot = await (snapshots or SnapshotCache()).get(session)
        rooms = {room.id: room for room in snapshot.rooms}
        # Dates further ahead than any room's online deadline (with a month for revisions
        # from a later date) cannot have passed it: the index on (use_date, status) bounds it.
        horizon = max(
            (r.policy_on(today).first_come_closes_days_before for r in snapshot.rooms), default=0
        )
        near = (
            await session.execute(
                select(WaitlistEntry.id, WaitlistEntry.room_id, WaitlistEntry.use_date).where(
                    WaitlistEntry.status == EntryStatus.WAITING,
                    WaitlistEntry.use_date <= today + timedelta(days=horizon + 31),
                )
            )
        ).all()

        def passed(room_id: int, use_date: date) -> bool:
            room = rooms.get(room_id)
            last = last_booking_day(room.policy_on(use_date), use_date) if room else use_date
            return today > last

        ids = [entry_id for entry_id, room_id, day in near if passed(room_id, day)]
        if not ids:
            return 0
        ended = (
            await session.scalars(
                select(WaitlistEntry)
                .where(WaitlistEntry.id.in_(ids), WaitlistEntry.status == EntryStatus.WAITING)
                .order_by(WaitlistEntry.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        groups = {
            g.id: g
            for g in await session.scalars(
                select(Group).where(Group.id.in_({e.group_id for e in ended}))
            )
        }
        for entry in ended:
            group = groups.get(entry.group_id)
            await close_entry(session, clock, settings, snapshot, group, entry)
        return len(ended)


REMIND_BEFORE = timedelta(hours=6)


async def remind_offers(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> int:
    """The worker's pass: an open offer is recalled to its group once, 6 hours before it
    lapses (an offer made with less time than that left said its deadline already)."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        due = [
            offer
            for offer in await session.scalars(
                select(WaitlistOffer)
                .where(
                    WaitlistOffer.status == OfferStatus.OPEN,
                    WaitlistOffer.reminded_at.is_(None),
                    WaitlistOffer.expires_at > now,
                    WaitlistOffer.expires_at <= now + REMIND_BEFORE,
                )
                .order_by(WaitlistOffer.id)
                .with_for_update(skip_locked=True)
            )
            if offer.expires_at - offer.made_at > REMIND_BEFORE
        ]
        if not due:
            return 0
        snapshot = await (snapshots or SnapshotCache()).get(session)
        groups = {
            g.id: g
            for g in await session.scalars(
                select(Group).where(Group.id.in_({o.group_id for o in due}))
            )
        }
        entries = {
            e.id: e
            for e in await session.scalars(
                select(WaitlistEntry).where(WaitlistEntry.id.in_([o.entry_id for o in due]))
            )
        }
        for offer in due:
            offer.reminded_at = now
            group, entry = groups.get(offer.group_id), entries[offer.entry_id]
            mail_group(
                session, clock, settings, snapshot, group, "waitlist_reminder", entry, offer=offer
            )
        return len(due)


async def waitlist_pass(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> tuple[int, int]:
    """What the worker runs every pass: (offers expired, entries closed); and reminders."""
    expired = await expire_offers(sessionmaker, clock, settings, snapshots)
    await remind_offers(sessionmaker, clock, settings, snapshots)
    closed = await close_passed(sessionmaker, clock, settings, snapshots)
    return expired, closed
