"""Every check a registration passes before anything is written (accounts/groups.py
`check_registration`), one row per case, through the service with the bundled facilities.

Facility-specific registrations (RULES.md "Who may book"): a children's culture centre's groups
belong to one children's centre, senior centres' evening groups to one senior centre, and other
registrations are city-wide; staff register only for facilities assigned to them; online, the
representative's address and password are needed and the password is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import GroupCategory, StaffRole
from booking.accounts.schemas import RegistrationIn
from booking.clock import FrozenClock
from booking.errors import BookingError, InvalidInput, PermissionDenied, RuleViolation
from booking.inventory.models import Facility
from tests.conftest import Database
from tests.people import PASSWORD, kind_facilities, registration


@dataclass(frozen=True)
class Case:
    category: GroupCategory = GroupCategory.GENERAL
    # a facility kind, "inactive" (a children's centre no longer in use), "missing", or None
    facility: str | None = None
    staff_of: str | None = None  # registered at the counter by a manager of that kind's first
    members: int = 4
    password: str | None = PASSWORD
    member_emails: tuple[tuple[int, str], ...] = ()


OK = None
CASES = {
    "general-city-wide": (Case(), OK),
    "children-centre-at-its-centre": (
        Case(GroupCategory.CHILDREN_CENTRE, "children_centre"),
        OK,
    ),
    "senior-civic-at-a-senior-centre": (
        Case(GroupCategory.SENIOR_CIVIC, "senior_centre", members=9),
        OK,
    ),
    "children-centre-without-a-centre": (
        Case(GroupCategory.CHILDREN_CENTRE),
        (RuleViolation, "facility_id"),
    ),
    "senior-civic-without-a-centre": (
        Case(GroupCategory.SENIOR_CIVIC, members=9),
        (RuleViolation, "facility_id"),
    ),
    "children-centre-at-a-senior-centre": (
        Case(GroupCategory.CHILDREN_CENTRE, "senior_centre"),
        (RuleViolation, "facility_id"),
    ),
    "general-at-a-children-centre": (
        Case(GroupCategory.GENERAL, "children_centre"),
        (RuleViolation, "facility_id"),
    ),
    "no-such-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "missing"),
        (InvalidInput, "facility_id"),
    ),
    "a-centre-no-longer-in-use": (
        Case(GroupCategory.CHILDREN_CENTRE, "inactive"),
        (InvalidInput, "facility_id"),
    ),
    "staff-of-the-centre": (
        Case(GroupCategory.CHILDREN_CENTRE, "children_centre", staff_of="children_centre"),
        OK,
    ),
    "staff-of-another-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "children_centre", staff_of="senior_centre"),
        (PermissionDenied, None),
    ),
    "too-few-members-before-the-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "missing", members=3),
        (RuleViolation, "members"),
    ),
    "online-without-a-password": (
        Case(password=None),
        (InvalidInput, "representative.password"),
    ),
    "online-with-a-short-password": (
        Case(password="seven77"),
        (InvalidInput, "representative.password"),
    ),
    "two-members-with-one-address": (
        Case(member_emails=((0, "same@example.jp"), (2, "same@example.jp"))),
        (InvalidInput, "members[2].email"),
    ),
    "a-member-with-the-representatives-address": (
        Case(member_emails=((1, "rep@example.jp"),)),
        (InvalidInput, "members[1].email"),
    ),
}


async def build(session: AsyncSession, case: Case) -> tuple[RegistrationIn, Principal | None]:
    facility_id = None
    if case.facility == "missing":
        facility_id = 999_999
    elif case.facility == "inactive":
        facility_id = (await kind_facilities(session, "children_centre"))[0]
        await session.execute(
            update(Facility).where(Facility.id == facility_id).values(active=False)
        )
    elif case.facility is not None:
        facility_id = (await kind_facilities(session, case.facility))[0]
    actor = None
    if case.staff_of is not None:
        assigned = (await kind_facilities(session, case.staff_of))[0]
        actor = Principal(
            1, "staff", None, StaffRole.MANAGER, "session", facility_ids=frozenset({assigned})
        )
    data = registration(
        "会",
        "rep@example.jp",
        password=case.password if actor is None else None,
        members=case.members,
        member_emails=dict(case.member_emails),
        category=case.category,
        facility_id=facility_id,
    )
    return data, actor


@pytest.mark.parametrize(("case", "refusal"), list(CASES.values()), ids=list(CASES))
async def test_registration_checks(
    database: Database,
    session: AsyncSession,
    clock: FrozenClock,
    case: Case,
    refusal: tuple[type[BookingError], str | None] | None,
) -> None:
    data, actor = await build(session, case)
    check = groups.check_registration(session, clock, database.settings, actor, data)
    if refusal is None:
        await check
        return
    kind, field = refusal
    with pytest.raises(BookingError) as refused:
        await check
    assert type(refused.value) is kind
    if field is not None:
        assert refused.value.field == field
