"""A hall's slot taken by one group and groups waiting in line for it (services, no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import User
from booking.clock import FrozenClock
from booking.inventory.network import NetworkSnapshot
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.models import Booking, Claim, ClaimKind
from booking.waitlist import lines
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.conftest import DEFAULT_NOW
from tests.people import PASSWORD, World, principal, registration
from tests.places import Hall, open_weekday


@dataclass
class Queue:
    """The hall (its room and day), the world's group A as the one that books, and waiting
    groups with their representatives, in the order they were made."""

    world: World
    hall: Hall
    session: AsyncSession
    clock: FrozenClock
    booker: Principal  # group A's member
    staff: Principal  # the hall's manager
    group_ids: list[int]
    reps: list[Principal]

    @property
    def snapshot(self) -> NetworkSnapshot:
        return self.hall.snapshot

    async def book(
        self, periods: Sequence[str], *, day: date | None = None, group: int | None = None
    ) -> Booking:
        who = self.booker if group is None else self.reps[group]
        return await book(
            self.session,
            self.clock,
            self.world.settings,
            self.snapshot,
            who,
            BookingRequest(
                group_id=self.world.group_a if group is None else self.group_ids[group],
                room_id=self.hall.room_id,
                use_date=day or self.hall.day,
                period_codes=list(periods),
                purpose="meeting",
                headcount=5,
            ),
        )

    async def join(
        self, i: int, periods: Sequence[str], *, day: date | None = None, room: int | None = None
    ) -> WaitlistEntry:
        return await lines.join(
            self.session,
            self.clock,
            self.world.settings,
            self.snapshot,
            self.reps[i],
            group_id=self.group_ids[i],
            room_id=room or self.hall.room_id,
            use_date=day or self.hall.day,
            period_codes=list(periods),
        )


async def waiting_group(
    session: AsyncSession, clock: FrozenClock, world: World, name: str, email: str
) -> tuple[int, Principal]:
    admin = await principal(session, world.user_ids["admin"])
    group = await groups.register(
        session, clock, world.settings, None, registration(name, email, password=PASSWORD), None
    )
    await groups.activate(session, clock, world.settings, admin, group.id, None)
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    return group.id, await principal(session, user.id)


async def waiting_and_offered(session: AsyncSession, hall: Hall, group_id: int) -> tuple[int, int]:
    """The group waiting for 午前 and offered 午後 a week after the hall's day, written as rows
    (committed): (the waiting entry's id, the open offer's id)."""
    day = open_weekday(hall.snapshot, hall.facility_id, hall.day + timedelta(days=7))
    room = next(r for r in hall.snapshot.rooms if r.id == hall.room_id)
    entries = [
        WaitlistEntry(
            group_id=group_id,
            room_id=hall.room_id,
            facility_id=hall.facility_id,
            use_date=day,
            period_codes=[code],
            periods_key=code,
            status=status,
            joined_at=DEFAULT_NOW,
        )
        for code, status in (("10", EntryStatus.WAITING), ("20", EntryStatus.OFFERED))
    ]
    session.add_all(entries)
    await session.flush()
    offer = WaitlistOffer(
        entry_id=entries[1].id,
        group_id=group_id,
        room_id=hall.room_id,
        facility_id=hall.facility_id,
        use_date=day,
        period_codes=["20"],
        status=OfferStatus.OPEN,
        made_at=DEFAULT_NOW,
        expires_at=DEFAULT_NOW + timedelta(hours=24),
    )
    session.add(offer)
    await session.flush()
    session.add_all(
        Claim(
            unit_id=unit,
            use_date=day,
            period_code="20",
            kind=ClaimKind.OFFER,
            owner_id=offer.id,
            created_at=DEFAULT_NOW,
        )
        for unit in room.unit_ids
    )
    await session.commit()
    return entries[0].id, offer.id


@pytest.fixture
async def queue(world: World, hall: Hall, session: AsyncSession, clock: FrozenClock) -> Queue:
    ids, reps = [], []
    for i in range(4):
        name, email = f"待つ会{i}", f"wait{i}@example.jp"
        group_id, rep = await waiting_group(session, clock, world, name, email)
        ids.append(group_id)
        reps.append(rep)
    await session.commit()
    return Queue(
        world,
        hall,
        session,
        clock,
        await principal(session, world.user_ids["member"]),
        await principal(session, hall.manager_id),
        ids,
        reps,
    )
