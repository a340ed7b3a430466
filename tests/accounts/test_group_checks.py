"""What a registration's checks report, and how its roster is listed (accounts/groups.py).

A weak password online is refused with its own code, so a form can say so next to the field;
a registration that breaks several rules at once lists every one of them, each by its field;
a roster lists the representative first, then the members in the order they joined, also
after the representative's role was handed to a later member.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups, roster
from booking.accounts.models import GroupCategory, MemberRole, User
from booking.accounts.sessions import principal_for_user
from booking.clock import FrozenClock
from booking.errors import InvalidInput, RuleViolation
from tests.conftest import Database
from tests.people import PASSWORD, World, kind_facilities, registration


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        pytest.param("seven77", "at least 8 characters", id="too-short"),
        pytest.param(
            "Rep@Example.jp",
            "must differ from the e-mail address and card number",
            id="the-address-itself",
        ),
    ],
)
async def test_a_weak_password_online_is_refused_as_weak_by_its_field(
    database: Database, session: AsyncSession, clock: FrozenClock, password: str, reason: str
) -> None:
    data = registration("会", "rep@example.jp", password=password)
    with pytest.raises(InvalidInput) as refused:
        await groups.check_registration(session, clock, database.settings, None, data)
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "weak_password",
        "representative.password",
        reason,
    )


@pytest.mark.parametrize(
    ("rep_email", "password", "field"),
    [
        pytest.param(None, PASSWORD, "representative.email", id="no-address"),
        pytest.param("rep@example.jp", None, "representative.password", id="no-password"),
        pytest.param(None, None, "representative.email", id="neither"),
    ],
)
async def test_online_the_address_and_password_are_required_and_the_missing_one_named(
    database: Database,
    session: AsyncSession,
    clock: FrozenClock,
    rep_email: str | None,
    password: str | None,
    field: str,
) -> None:
    data = registration("会", rep_email, password=password)
    with pytest.raises(InvalidInput) as refused:
        await groups.check_registration(session, clock, database.settings, None, data)
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "invalid_input",
        field,
        "required to register online",
    )


async def test_every_rule_a_registration_breaks_is_listed_with_its_field(
    database: Database, session: AsyncSession, clock: FrozenClock
) -> None:
    """A children's centre group of three led by a 16-year-old without consent: the form shows
    both, the first as the message."""
    centre = (await kind_facilities(session, "children_centre"))[0]
    data = registration(
        "会",
        "rep@example.jp",
        password=PASSWORD,
        members=2,
        category=GroupCategory.CHILDREN_CENTRE,
        facility_id=centre,
    )
    data.representative.birth_date = date(2010, 1, 1)
    with pytest.raises(RuleViolation) as refused:
        await groups.check_registration(session, clock, database.settings, None, data)
    problems = [
        ("guardian_consent", "a representative under 18 needs a guardian's consent"),
        (
            "members",
            "a children_centre group needs at least 5 members, the representative included",
        ),
    ]
    assert refused.value.problems == problems
    assert (refused.value.field, refused.value.message) == problems[0]


async def test_a_roster_lists_the_representative_first_then_the_members_as_they_joined(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """Group A's representative hands the role to the first member (who joined after them):
    the new representative is listed first, the former one first of the members."""
    before = await groups.roster(session, world.group_a)
    assert [m.role for m in before] == [MemberRole.REPRESENTATIVE] + [MemberRole.MEMBER] * 4
    assert [m.id for m in before] == sorted(m.id for m in before)
    former, new, *others = before
    assert new.id == world.member_ids["member"]
    rep = await principal_for_user(
        session, await session.get_one(User, world.user_ids["representative"])
    )
    await roster.change_representative(session, clock, world.settings, rep, world.group_a, new.id)
    after = await groups.roster(session, world.group_a)
    assert [(m.id, m.role) for m in after] == [
        (new.id, MemberRole.REPRESENTATIVE),
        (former.id, MemberRole.MEMBER),
        *[(m.id, MemberRole.MEMBER) for m in others],
    ]
