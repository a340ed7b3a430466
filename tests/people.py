"""Fixtures: a small world of people: two groups, their people, two managers, an admin.

Built through the services (never by writing rows by hand), inside the test's rolled-back
transaction. Each person gets a live web session; `headers(role)` gives the cookie and the
CSRF token a browser would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.api_tokens import create_token
from booking.accounts.auth import CSRF_HEADER, SESSION_COOKIE
from booking.accounts.login import set_password
from booking.accounts.models import GroupCategory, GroupKind, Residency, StaffRole, User
from booking.accounts.schemas import MemberIn, RegistrationIn, RepresentativeIn
from booking.accounts.sessions import OpenedSession, open_session, principal_for_user
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import FrozenClock
from booking.inventory.models import Facility, FacilityKind, Room
from booking.settings import Settings
from tests.conftest import Database

PASSWORD = "correct horse battery"


def member(name: str, born: date = date(1980, 5, 1), email: str | None = None) -> MemberIn:
    return MemberIn(name=name, birth_date=born, residency=Residency.LIVES, email=email)


def registration(
    name: str,
    rep_email: str | None,
    *,
    password: str | None = None,
    members: int = 4,
    member_emails: dict[int, str] | None = None,
    category: GroupCategory = GroupCategory.GENERAL,
    facility_id: int | None = None,
) -> RegistrationIn:
    emails = member_emails or {}
    return RegistrationIn(
        kind=GroupKind.GROUP,
        name=name,
        category=category,
        facility_id=facility_id,
        representative=RepresentativeIn(
            name=f"{name} 代表",
            birth_date=date(1970, 1, 1),
            residency=Residency.LIVES,
            email=rep_email,
            password=password,
        ),
        members=[member(f"{name} 会員{i}", email=emails.get(i)) for i in range(members)],
    )


async def kind_facilities(session: AsyncSession, kind: str) -> list[int]:
    stmt = (
        select(Facility.id)
        .join(FacilityKind, FacilityKind.id == Facility.kind_id)
        .where(FacilityKind.key == kind, Facility.active)
        .order_by(Facility.id)
    )
    return list((await session.scalars(stmt)).all())


@dataclass
class World:
    settings: Settings
    here: int  # a children's culture centre managed by manager_here
    elsewhere: int  # another one, managed by manager_elsewhere
    group_a: int  # a city-wide group, active, card issued
    group_b: int
    centre_group: int  # the children's centre's own group (facility "here")
    other_centre_group: int  # a group of the other centre
    user_ids: dict[str, int] = field(default_factory=dict)
    member_ids: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, OpenedSession] = field(default_factory=dict)
    card_a: str = ""
    admin_token: int = 0
    room: int = 0  # a room of the facility "here"
    policy_id: int = 0  # a reservation policy (its revisions from a date)
    # Set by tests that book (the access matrix): a civic hall, a booking body, a booking.
    hall_id: int = 0
    booking_body: dict[str, Any] = field(default_factory=dict)
    booking_id: int = 0
    receipt_id: int = 0  # a receipt of that booking
    block_id: int = 0
    application_id: int = 0
    feed_id: int = 0
    feed_file: str = ""
    notice_id: int = 0  # a notice of the facility "here"
    entry_id: int = 0  # group A waiting in a line at the hall
    offer_id: int = 0  # group A's open offer at the hall
    series_id: int = 0  # a series of group A at the hall (one date)
    b_slot: dict[str, Any] = field(default_factory=dict)  # group B's booked slot at the hall

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        opened = self.sessions[role]
        return {
            "Cookie": f"{SESSION_COOKIE}={opened.cookie_value}",
            CSRF_HEADER: opened.csrf_token,
        }


ROLES = (
    "anonymous",
    "member",
    "representative",
    "other_representative",
    "manager_here",
    "manager_elsewhere",
    "admin",
)


@pytest.fixture
async def world(session: AsyncSession, database: Database, clock: FrozenClock) -> World:
    settings = database.settings
    here, elsewhere = (await kind_facilities(session, "children_centre"))[:2]
    users: dict[str, int] = {}
    admin = await grant_staff_role(
        session,
        clock,
        settings,
        SYSTEM,
        email="admin@city.example",
        name="管理者",
        role=StaffRole.ADMIN,
        password=PASSWORD,
    )
    users["admin"] = admin.id
    for role, facility in (("manager_here", here), ("manager_elsewhere", elsewhere)):
        manager = await grant_staff_role(
            session,
            clock,
            settings,
            SYSTEM,
            email=f"{role}@city.example",
            name=role,
            role=StaffRole.MANAGER,
            facility_ids=[facility],
            password=PASSWORD,
        )
        users[role] = manager.id

    group_a = await groups.register(
        session,
        clock,
        settings,
        None,
        registration(
            "川崎合唱団",
            "rep-a@example.jp",
            password=PASSWORD,
            member_emails={0: "member-a@example.jp"},
        ),
        None,
    )
    group_b = await groups.register(
        session,
        clock,
        settings,
        None,
        registration("幸区将棋クラブ", "rep-b@example.jp", password=PASSWORD),
        None,
    )
    staff_here = await principal(session, users["manager_here"])
    staff_elsewhere = await principal(session, users["manager_elsewhere"])
    centre_group = await groups.register(
        session,
        clock,
        settings,
        staff_here,
        registration(
            "子ども会こまどり",
            "centre-rep@example.jp",
            category=GroupCategory.CHILDREN_CENTRE,
            facility_id=here,
        ),
        None,
    )
    other_centre_group = await groups.register(
        session,
        clock,
        settings,
        staff_elsewhere,
        registration(
            "子ども会つばめ",
            "other-centre@example.jp",
            category=GroupCategory.CHILDREN_CENTRE,
            facility_id=elsewhere,
        ),
        None,
    )
    admin_principal = await principal(session, users["admin"])
    activated = await groups.activate(session, clock, settings, admin_principal, group_a.id, None)
    await groups.activate(session, clock, settings, admin_principal, group_b.id, None)
    world = World(
        settings=settings,
        here=here,
        elsewhere=elsewhere,
        group_a=group_a.id,
        group_b=group_b.id,
        centre_group=centre_group.id,
        other_centre_group=other_centre_group.id,
        card_a=activated.card_number or "",
    )
    roster_a = await groups.roster(session, group_a.id)
    rep_a = next(m for m in roster_a if m.role.value == "representative")
    member_a = next(m for m in roster_a if m.email == "member-a@example.jp")
    rep_b = next(m for m in await groups.roster(session, group_b.id) if m.user_id)
    assert rep_a.user_id
    assert member_a.user_id
    assert rep_b.user_id
    users["representative"] = rep_a.user_id
    users["member"] = member_a.user_id
    users["other_representative"] = rep_b.user_id
    world.user_ids = users
    # The member was invited by mail; here they have set their password already.
    await set_password(clock, settings, await session.get_one(User, member_a.user_id), PASSWORD)
    world.member_ids = {"member": member_a.id, "representative": rep_a.id}
    for role, user_id in users.items():
        world.sessions[role] = await open_session(session, clock, settings, user_id)
    world.room = await session.scalar(select(Room.id).where(Room.facility_id == here)) or 0
    token = await create_token(session, clock, admin_principal, "admin's script", 30)
    world.admin_token = token.token.id
    await session.commit()
    return world


async def principal(session: AsyncSession, user_id: int) -> Principal:
    """A user's rights as the services see them (their roles and staff assignments)."""
    return await principal_for_user(session, await session.get_one(User, user_id))


async def principal_as(session: AsyncSession, world: World, role: str) -> Principal:
    """The rights of the world's user in `role` ("admin", "member", "manager_here", ...)."""
    return await principal(session, world.user_ids[role])
