"""Offers: a freed slot goes to the first in its line, never to first-come in between.

`hand_on` runs in the transaction that frees claims (a cancellation, a rejection, a hold's
expiry, a lapsed lottery win, a released block, an offer declined or expired). It reads the
waiting entries of the freed dates in one query, in join order, and gives the first entry whose
whole slot (every unit of its room x its periods) is free an offer with claims of kind `offer`,
inserted in a savepoint: a unique violation means the slot is not free after all, and the next
entry is tried. The freed slot is thus claimed before the transaction that freed it commits.

An offer stands `waitlist.offer_hours` (default 24), never past the end of the date's last
online booking day (Asia/Tokyo); when no time is left, the entry is closed and the slot opens.
Accepting books the slot as an ordinary booking in one transaction; declining or letting it
expire hands the slot on to the next in line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from booking.accounts.access import Principal
from booking.accounts.models import Group
from booking.audit.service import SYSTEM, Actor, record
from booking.clock import Clock, local_today
from booking.db.errors import constraint_of
from booking.errors import Conflict, NotFound
from booking.inventory.network import NetworkSnapshot, RoomInfo, SnapshotCache
from booking.inventory.policy import ReservationPolicy, last_booking_day
from booking.notifications.booking_mail import moment_en, moment_ja, slot, slot_context
from booking.notifications.outbox import enqueue
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.claims import CLAIM_CONSTRAINTS, Freed, release_claims
from booking.reservations.models import Booking, Claim, ClaimKind
from booking.settings import Settings
from booking.waitlist.lines import entry_audit, waitlist_url
from booking.waitlist.models import (
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
)


def online_deadline(policy: ReservationPolicy, use_date: date, tz: ZoneInfo) -> datetime:
    """The end of the last online booking day of the date (00:00 local the day after), UTC."""
    day_after = last_booking_day(policy, use_date) + timedelta(days=1)
    return datetime.combine(day_after, time(0), tz).astimezone(UTC)


def offer_expiry(
    policy: ReservationPolicy, use_date: date, now: datetime, tz: ZoneInfo
) -> datetime:
    """now + offer_hours, but never past the online booking deadline of the date."""
    return min(
        now + timedelta(hours=policy.waitlist.offer_hours), online_deadline(policy, use_date, tz)
    )


def offer_audit(offer: WaitlistOffer) -> dict[str, object]:
    return {
        "status": offer.status.value,
        "entry_id": offer.entry_id,
        "group_id": offer.group_id,
        "room_id": offer.room_id,
        "use_date": offer.use_date.isoformat(),
        "period_codes": list(offer.period_codes),
        "expires_at": offer.expires_at.isoformat(),
        "booking_id": offer.booking_id,
    }


class _Pass:
    """One hand-on: the rooms by id, the groups to mail, and what is taken now."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        snapshot: NetworkSnapshot,
        groups: dict[int, Group],
        taken: set[Freed],
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.snapshot = snapshot
        self.groups = groups
        self.taken = taken

    async def close(self, entry: WaitlistEntry) -> None:
        """No time left to offer the slot before the online deadline: the entry ends."""
        before = entry_audit(entry)
        entry.status = EntryStatus.CLOSED
        entry.ended_at = self.clock.now()
        await record(
            self.session,
            self.clock,
            SYSTEM,
            "waitlist.closed",
            ("waitlist_entry", entry.id),
            before=before,
            after=entry_audit(entry),
        )
        await mail_group(
            self.session,
            self.clock,
            self.settings,
            self.snapshot,
            self.groups.get(entry.group_id),
            "waitlist_closed",
            entry,
        )

    async def offer(
        self, entry: WaitlistEntry, room: RoomInfo, expires_at: datetime
    ) -> WaitlistOffer | None:
        """The offer and its claims in a savepoint; None when the entry is no longer waiting or
        a claim on its slot won (the constraint decides, as for a booking)."""
        now = self.clock.now()
        wanted = [(u, entry.use_date, p) for u in room.unit_ids for p in entry.period_codes]
        try:
            async with self.session.begin_nested():
                moved = await self.session.execute(
                    update(WaitlistEntry)
                    .where(
                        WaitlistEntry.id == entry.id,
                        WaitlistEntry.status == EntryStatus.WAITING,
                    )
                    .values(status=EntryStatus.OFFERED)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(moved, "rowcount", 0):  # left the line meanwhile
                    return None
                offer = WaitlistOffer(
                    entry_id=entry.id,
                    group_id=entry.group_id,
                    room_id=entry.room_id,
                    facility_id=entry.facility_id,
                    use_date=entry.use_date,
                    period_codes=list(entry.period_codes),
                    status=OfferStatus.OPEN,
                    made_at=now,
                    expires_at=expires_at,
                )
                self.session.add(offer)
                await self.session.flush()
                self.session.add_all(
                    Claim(
                        unit_id=unit,
                        use_date=day,
                        period_code=code,
                        kind=ClaimKind.OFFER,
                        owner_id=offer.id,
                        created_at=now,
                    )
                    for unit, day, code in wanted
                )
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_of(exc) not in CLAIM_CONSTRAINTS:
                raise
            return None
        set_committed_value(entry, "status", EntryStatus.OFFERED)
        self.taken.update(wanted)
        await record(
            self.session,
            self.clock,
            SYSTEM,
            "waitlist.offered",
            ("waitlist_offer", offer.id),
            after=offer_audit(offer),
        )
        await mail_group(
            self.session,
            self.clock,
            self.settings,
            self.snapshot,
            self.groups.get(entry.group_id),
            "waitlist_offer",
            entry,
            offer=offer,
        )
        return offer


async def mail_group(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    group: Group | None,
    template: str,
    entry: WaitlistEntry,
    *,
    offer: WaitlistOffer | None = None,
) -> None:
    """A wait-list mail to the group's contact address, linking /my/waitlist."""
    if group is None or not group.email:
        return
    context: dict[str, object] = {
        "name": group.name,
        "entry_id": entry.id,
        "url": waitlist_url(settings),
        **slot_context(slot(snapshot, entry.room_id, entry.use_date, entry.period_codes)),
    }
    if offer is not None:
        expires = offer.expires_at.astimezone(settings.tz)
        context |= {
            "offer_id": offer.id,
            "expires_ja": moment_ja(expires),
            "expires_en": moment_en(expires),
        }
    await enqueue(session, clock, to=group.email, template=template, context=context)


async def hand_on(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    freed: Collection[Freed],
) -> list[WaitlistOffer]:
    """Offer freed slots to their lines, in join order, in the caller's transaction."""
    if not freed:
        return []
    freed_cells = set(freed)
    dates = sorted({day for _, day, _ in freed_cells})
    waiting = (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.use_date.in_(dates), WaitlistEntry.status == EntryStatus.WAITING)
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        )
    ).all()
    if not waiting:
        return []
    rooms = {room.id: room for room in snapshot.rooms}
    candidates = [
        entry
        for entry in waiting
        if (room := rooms.get(entry.room_id)) is not None
        and any(
            (unit, entry.use_date, code) in freed_cells
            for unit in room.unit_ids
            for code in entry.period_codes
        )
    ]
    if not candidates:
        return []
    units = {unit for entry in candidates for unit in rooms[entry.room_id].unit_ids}
    taken_rows = await session.execute(
        select(Claim.unit_id, Claim.use_date, Claim.period_code).where(
            Claim.use_date.in_(sorted({e.use_date for e in candidates})),
            Claim.unit_id.in_(sorted(units)),
        )
    )
    groups = {
        group.id: group
        for group in await session.scalars(
            select(Group).where(Group.id.in_(sorted({e.group_id for e in candidates})))
        )
    }
    taken = {(unit, day, code) for unit, day, code in taken_rows.all()}
    work = _Pass(session, clock, settings, snapshot, groups, taken)
    now = clock.now()
    made = []
    for entry in candidates:
        room = rooms[entry.room_id]
        if any(
            (unit, entry.use_date, code) in work.taken
            for unit in room.unit_ids
            for code in entry.period_codes
        ):
            continue  # part of its slot is still taken (or was just offered to another)
        policy = room.policy_on(entry.use_date)
        if not policy.waitlist.enabled:
            continue
        expires_at = offer_expiry(policy, entry.use_date, now, settings.tz)
        if expires_at <= now:
            await work.close(entry)
            continue
        if (offer := await work.offer(entry, room, expires_at)) is not None:
            made.append(offer)
    return made


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
    """Take the offered slot: an ordinary booking (checks, fee, audit, mail), in this
    transaction; the offer's claims give way to the booking's."""
    offer, entry = await _open_offer(session, principal, offer_id)
    if offer.expires_at <= clock.now():
        raise Conflict("the offer has expired", code="offer_expired")
    before = offer_audit(offer)
    await release_claims(session, [ClaimKind.OFFER], offer.id)
    booking = await book(
        session,
        clock,
        settings,
        snapshot,
        principal,
        BookingRequest(
            group_id=offer.group_id,
            room_id=offer.room_id,
            use_date=offer.use_date,
            period_codes=list(offer.period_codes),
            purpose=purpose,
            headcount=headcount,
            event_name=event_name,
            charges_admission=charges_admission,
        ),
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


async def _end(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    offer: WaitlistOffer,
    entry: WaitlistEntry,
    status: OfferStatus,
) -> list[Freed]:
    """The offer declined or expired: its claims released, the entry ended likewise."""
    before = offer_audit(offer)
    freed = await release_claims(session, [ClaimKind.OFFER], offer.id)
    now = clock.now()
    offer.status = status
    offer.decided_at = now
    offer.decided_by_user_id = actor.user_id
    entry.status = EntryStatus.DECLINED if status is OfferStatus.DECLINED else EntryStatus.EXPIRED
    entry.ended_at = now
    await record(
        session,
        clock,
        actor,
        f"waitlist.{status.value}",
        ("waitlist_offer", offer.id),
        before=before,
        after=offer_audit(offer),
    )
    return freed


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
    freed = await _end(session, clock, principal.actor, offer, entry, OfferStatus.DECLINED)
    await hand_on(session, clock, settings, snapshot, freed)
    return offer


async def open_offers(
    session: AsyncSession, principal: Principal, group_id: int
) -> Sequence[WaitlistOffer]:
    """The group's open offers, soonest deadline first (for a notice on its pages)."""
    if principal.role_in(group_id) is None and not principal.is_staff:
        return []
    found = await session.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.group_id == group_id, WaitlistOffer.status == OfferStatus.OPEN)
        .order_by(WaitlistOffer.expires_at, WaitlistOffer.id)
    )
    return found.all()


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
    freed: list[Freed] = []
    for offer in lapsed:
        entry = entries[offer.entry_id]
        freed += await _end(session, clock, SYSTEM, offer, entry, OfferStatus.EXPIRED)
        await mail_group(
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
        work = _Pass(session, clock, settings, snapshot, groups, set())
        for entry in ended:
            await work.close(entry)
        return len(ended)


async def waitlist_pass(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache | None = None,
) -> tuple[int, int]:
    """What the worker runs every pass: (offers expired, entries closed)."""
    expired = await expire_offers(sessionmaker, clock, settings, snapshots)
    closed = await close_passed(sessionmaker, clock, settings, snapshots)
    return expired, closed
