"""A hall's slot taken by one group and groups waiting in line for it (services, no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import User
from booking.clock import FrozenClock
from booking.inventory.network import NetworkSnapshot
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.models import Booking
from booking.waitlist import lines
from booking.waitlist.models import WaitlistEntry
from tests.people import PASSWORD, World, principal, registration
from tests.places import Hall


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
