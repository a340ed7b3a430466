"""Hand-on: a freed slot goes to the first in its line, never to first-come in between.

`hand_on` runs in the transaction that frees claims (a cancellation, a rejection, a hold's
expiry, a lapsed lottery win, a released block, an offer declined or expired). It reads the
waiting entries of the freed dates in one query, in join order (`joined_at`, then id), and
gives the first entry whose whole slot (every unit of its room x its periods) is free an offer
with claims of kind `offer`. The freed slot is thus claimed before the transaction that freed
it commits: no first-come booking can take it in between, the claims' unique constraint says
so on every engine.

The offers of one pass are written together, in one savepoint (a few statements however many
slots were freed: 1,000 at once is the bench's case). Should that fail, because a claim on one
of the slots won (a concurrent booking: the constraint decides) or an entry left its line
meanwhile, the savepoint is undone and the entries are tried one by one, each in a savepoint
of its own, so that a lost slot only moves its line on to the next entry.

An offer stands `waitlist.offer_hours` (default 24), never past the end of the date's last
online booking day (Asia/Tokyo); when no time is left, the entry is closed and the slot opens.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from booking.accounts.models import Group
from booking.audit.service import SYSTEM, record
from booking.clock import Clock
from booking.db.errors import constraint_of
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import ReservationPolicy, last_booking_day
from booking.notifications.booking_mail import moment_en, moment_ja, slot, slot_context
from booking.notifications.models import OutboxMessage, OutboxStatus
from booking.notifications.outbox import render
from booking.reservations.bookings import is_closed
from booking.reservations.claims import CLAIM_CONSTRAINTS, Freed
from booking.reservations.models import Claim, ClaimKind
from booking.settings import Settings
from booking.waitlist.lines import entry_audit, waitlist_url
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

# An offer planned for an entry: the entry, its room, when the offer expires.
Planned = tuple[WaitlistEntry, RoomInfo, datetime]


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


def cells_of(entry: WaitlistEntry, room: RoomInfo) -> list[Freed]:
    return [(u, entry.use_date, p) for u in room.unit_ids for p in entry.period_codes]


class _Retry(Exception):
    """An entry of the batch left its line meanwhile: undo the batch, go one by one."""


def mail_group(  # noqa: PLR0913
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
    """A wait-list mail to the group's contact address, linking /my/waitlist, added to the
    session (written with the next flush, in the caller's transaction: the outbox's rule)."""
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
    subject, body = render(template, context)
    now = clock.now()
    session.add(
        OutboxMessage(
            created_at=now,
            template=template,
            to_address=group.email,
            subject=subject,
            body_text=body,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
    )


async def close_entry(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    group: Group | None,
    entry: WaitlistEntry,
) -> None:
    """No time left to offer the slot before the online deadline: the entry ends (closed)."""
    before = entry_audit(entry)
    entry.status = EntryStatus.CLOSED
    entry.ended_at = clock.now()
    await record(
        session,
        clock,
        SYSTEM,
        "waitlist.closed",
        ("waitlist_entry", entry.id),
        before=before,
        after=entry_audit(entry),
    )
    mail_group(session, clock, settings, snapshot, group, "waitlist_closed", entry)


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
        group = self.groups.get(entry.group_id)
        await close_entry(self.session, self.clock, self.settings, self.snapshot, group, entry)

    def step(self, entry: WaitlistEntry, room: RoomInfo) -> Planned | WaitlistEntry | None:
        """An offer for the entry if its whole slot is free; the entry itself when no time is
        left to offer it (to be closed); None when part of its slot is taken."""
        if any(cell in self.taken for cell in cells_of(entry, room)):
            return None  # part of its slot is still taken (or offered to one before it)
        policy = room.policy_on(entry.use_date)
        facility = self.snapshot.facilities.get(room.facility_id)
        if not policy.waitlist.enabled or facility is None:
            return None
        if is_closed(self.snapshot, facility, entry.use_date):
            return None  # closed since it joined: nothing to book (its line ends at the deadline)
        now = self.clock.now()
        expires_at = offer_expiry(policy, entry.use_date, now, self.settings.tz)
        return entry if expires_at <= now else (entry, room, expires_at)

    def plan(
        self, candidates: Sequence[WaitlistEntry], rooms: dict[int, RoomInfo]
    ) -> list[Planned | WaitlistEntry]:
        """The steps in join order, each planned offer taking its slot for those after it."""
        steps: list[Planned | WaitlistEntry] = []
        for entry in candidates:
            room = rooms[entry.room_id]
            if (found := self.step(entry, room)) is None:
                continue
            if isinstance(found, tuple):
                self.taken.update(cells_of(entry, room))
            steps.append(found)
        return steps

    async def one_by_one(
        self, candidates: Sequence[WaitlistEntry], rooms: dict[int, RoomInfo]
    ) -> list[WaitlistOffer]:
        """The same, each offer in a savepoint of its own, its slot taken once written."""
        made = []
        for entry in candidates:
            room = rooms[entry.room_id]
            found = self.step(entry, room)
            if isinstance(found, tuple) and (written := await self.write([found])):
                self.taken.update(cells_of(entry, room))
                made += written
        return made

    def _offer_row(self, entry: WaitlistEntry, expires_at: datetime) -> WaitlistOffer:
        return WaitlistOffer(
            entry_id=entry.id,
            group_id=entry.group_id,
            room_id=entry.room_id,
            facility_id=entry.facility_id,
            use_date=entry.use_date,
            period_codes=list(entry.period_codes),
            status=OfferStatus.OPEN,
            made_at=self.clock.now(),
            expires_at=expires_at,
        )

    def _claims(self, offer: WaitlistOffer, entry: WaitlistEntry, room: RoomInfo) -> list[Claim]:
        now = self.clock.now()
        return [
            Claim(
                unit_id=unit,
                use_date=day,
                period_code=code,
                kind=ClaimKind.OFFER,
                owner_id=offer.id,
                created_at=now,
            )
            for unit, day, code in cells_of(entry, room)
        ]

    async def write(self, planned: Sequence[Planned]) -> list[WaitlistOffer] | None:
        """Every planned offer and its claims in one savepoint; None when it had to be undone
        (an entry no longer waiting, or a slot claimed by a concurrent writer)."""
        if not planned:
            return []
        ids = [entry.id for entry, _, _ in planned]
        savepoint = await self.session.begin_nested()
        try:
            moved = await self.session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id.in_(ids), WaitlistEntry.status == EntryStatus.WAITING)
                .values(status=EntryStatus.OFFERED)
                .returning(WaitlistEntry.id)
                .execution_options(synchronize_session=False)
            )
            if len(moved.all()) != len(ids):  # one left its line meanwhile
                await savepoint.rollback()
                return None
            offers = [self._offer_row(entry, expires) for entry, _, expires in planned]
            self.session.add_all(offers)
            await self.session.flush()
            self.session.add_all(
                claim
                for offer, (entry, room, _) in zip(offers, planned, strict=True)
                for claim in self._claims(offer, entry, room)
            )
            await self.session.flush()
        except IntegrityError as exc:
            await savepoint.rollback()
            if constraint_of(exc) not in CLAIM_CONSTRAINTS:
                raise
            return None
        await savepoint.commit()
        for entry, _, _ in planned:
            set_committed_value(entry, "status", EntryStatus.OFFERED)
        return offers

    async def announce(
        self, made: Sequence[WaitlistOffer], entries: dict[int, WaitlistEntry]
    ) -> None:
        """An audit event and a mail for each offer made."""
        for offer in made:
            await record(
                self.session,
                self.clock,
                SYSTEM,
                "waitlist.offered",
                ("waitlist_offer", offer.id),
                after=offer_audit(offer),
            )
            entry = entries[offer.entry_id]
            mail_group(
                self.session,
                self.clock,
                self.settings,
                self.snapshot,
                self.groups.get(entry.group_id),
                "waitlist_offer",
                entry,
                offer=offer,
            )


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
    waiting = (
        await session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.use_date.in_(sorted({day for _, day, _ in freed_cells})),
                WaitlistEntry.status == EntryStatus.WAITING,
            )
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        )
    ).all()
    rooms = {room.id: room for room in snapshot.rooms}
    candidates = [
        entry
        for entry in waiting
        if entry.room_id in rooms
        and any(cell in freed_cells for cell in cells_of(entry, rooms[entry.room_id]))
    ]
    if not candidates:
        return []
    work = _Pass(
        session,
        clock,
        settings,
        snapshot,
        {
            group.id: group
            for group in await session.scalars(
                select(Group).where(Group.id.in_(sorted({e.group_id for e in candidates})))
            )
        },
        await _taken(session, candidates, rooms),
    )
    steps = work.plan(candidates, rooms)
    made = await work.write([s for s in steps if isinstance(s, tuple)])
    if made is None:  # a race lost somewhere in the batch: one entry at a time, afresh
        work.taken = await _taken(session, candidates, rooms)
        made = await work.one_by_one(candidates, rooms)
    for step in steps:
        if isinstance(step, WaitlistEntry):
            await work.close(step)
    await work.announce(made, {entry.id: entry for entry in candidates})
    return made


async def _taken(
    session: AsyncSession, candidates: Sequence[WaitlistEntry], rooms: dict[int, RoomInfo]
) -> set[Freed]:
    """The claims on the candidates' units and dates now, in one query."""
    units = {unit for entry in candidates for unit in rooms[entry.room_id].unit_ids}
    rows = await session.execute(
        select(Claim.unit_id, Claim.use_date, Claim.period_code).where(
            Claim.use_date.in_(sorted({e.use_date for e in candidates})),
            Claim.unit_id.in_(sorted(units)),
        )
    )
    return {(unit, day, code) for unit, day, code in rows.all()}
