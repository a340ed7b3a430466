"""Every check a registration passes before anything is written (accounts/groups.py
`check_registration`), one row per case, through the service with the bundled facilities.

Facility-specific registrations (RULES.md "Who may book"): a children's culture centre's groups
belong to one children's centre, senior centres' evening groups to one senior centre, and other
registrations are city-wide; staff register only for facilities assigned to them; online, the
representative's address and password are needed and the password is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import GroupCategory, StaffRole
from booking.accounts.people import clean_email
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
CENTRE_RULE = (
    "only children's culture centres and senior recreation centres keep their own registrations"
)
ONLINE = "required to register online"
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
        (
            RuleViolation,
            "facility_id",
            "a children_centre registration belongs to one children_centre",
        ),
    ),
    "senior-civic-without-a-centre": (
        Case(GroupCategory.SENIOR_CIVIC, members=9),
        (RuleViolation, "facility_id", "a senior_civic registration belongs to one senior_centre"),
    ),
    "children-centre-at-a-senior-centre": (
        Case(GroupCategory.CHILDREN_CENTRE, "senior_centre"),
        (
            RuleViolation,
            "facility_id",
            f"{CENTRE_RULE}, and a children_centre one belongs to a children_centre",
        ),
    ),
    "general-at-a-children-centre": (
        Case(GroupCategory.GENERAL, "children_centre"),
        (
            RuleViolation,
            "facility_id",
            f"{CENTRE_RULE}, and a general one is city-wide: leave it out",
        ),
    ),
    "no-such-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "missing"),
        (InvalidInput, "facility_id", "no facility 999999"),
    ),
    "a-centre-no-longer-in-use": (
        Case(GroupCategory.CHILDREN_CENTRE, "inactive"),
        (InvalidInput, "facility_id", "no facility ..."),
    ),
    "staff-of-the-centre": (
        Case(GroupCategory.CHILDREN_CENTRE, "children_centre", staff_of="children_centre"),
        OK,
    ),
    "staff-of-another-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "children_centre", staff_of="senior_centre"),
        (PermissionDenied, "facility_id", "facility ... is not assigned to you"),
    ),
    "too-few-members-before-the-facility": (
        Case(GroupCategory.CHILDREN_CENTRE, "missing", members=3),
        (
            RuleViolation,
            "members",
            "a children_centre group needs at least 5 members, the representative included",
        ),
    ),
    "online-without-a-password": (
        Case(password=None),
        (InvalidInput, "representative.password", ONLINE),
    ),
    "online-with-a-short-password": (
        Case(password="seven77"),
        (InvalidInput, "representative.password", "at least 8 characters"),
    ),
    "two-members-with-one-address": (
        Case(member_emails=((0, "same@example.jp"), (2, "same@example.jp"))),
        (InvalidInput, "members[2].email", "the same e-mail as members[0]"),
    ),
    "a-member-with-the-representatives-address": (
        Case(member_emails=((1, "rep@example.jp"),)),
        (InvalidInput, "members[1].email", "the same e-mail as representative"),
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
    refusal: tuple[type[BookingError], str, str] | None,
) -> None:
    """Each refusal names its field and says why ("..." in a message stands for the id of a
    row of the database)."""
    data, actor = await build(session, case)
    check = groups.check_registration(session, clock, database.settings, actor, data)
    if refusal is None:
        await check
        return
    kind, field, message = refusal
    with pytest.raises(BookingError) as refused:
        await check
    assert type(refused.value) is kind
    assert refused.value.field == field
    pattern = r"\d+".join(re.escape(part) for part in message.split("..."))
    assert re.fullmatch(pattern, refused.value.message), refused.value.message
    if isinstance(refused.value, RuleViolation | InvalidInput):
        assert refused.value.problems == [(field, refused.value.message)]


def _not_an_address(value: str) -> str:
    """What clean_email says of a value that is no e-mail address."""
    with pytest.raises(InvalidInput) as refused:
        clean_email(value, "any")
    return refused.value.message


async def test_every_problem_of_the_people_is_listed_with_its_field(
    database: Database, session: AsyncSession, clock: FrozenClock
) -> None:
    """The form shows every mistake at once, each by its field, the first as the message;
    addresses are compared as stored (trimmed, lower case), so one typed twice in different
    capitals is the same one."""
    data = registration("会", " Rep@Example.JP ", password=PASSWORD, members=6)
    data.representative.birth_date = date(2027, 1, 1)
    data.members[0].email = "no-at-sign"
    data.members[1].email = "REP@example.jp"
    data.members[2].birth_date = date(1900, 1, 1)
    data.members[3].email = "Friend@Example.JP"
    data.members[4].email = "friend@example.jp "
    data.email = "also wrong"
    with pytest.raises(InvalidInput) as refused:
        await groups.check_registration(session, clock, database.settings, None, data)
    problems = [
        ("representative.birth_date", "a birth date cannot be in the future"),
        ("members[0].email", _not_an_address("no-at-sign")),
        ("members[1].email", "the same e-mail as representative"),
        ("members[2].birth_date", "an age over 120 is not plausible"),
        ("members[4].email", "the same e-mail as members[3]"),
        ("email", _not_an_address("also wrong")),
    ]
    assert refused.value.problems == problems
    assert (refused.value.field, refused.value.message) == problems[0]


async def test_addresses_are_checked_and_kept_as_stored(
    database: Database, session: AsyncSession, clock: FrozenClock
) -> None:
    data = registration("会", " Rep@Example.JP ", password=PASSWORD, members=4)
    data.members[0].email = " Friend@Example.JP"
    data.email = "Choir@Example.JP "
    await groups.check_registration(session, clock, database.settings, None, data)
    assert (data.representative.email, data.members[0].email, data.email) == (
        "rep@example.jp",
        "friend@example.jp",
        "choir@example.jp",
    )
