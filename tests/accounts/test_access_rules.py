"""The access guards (accounts/access.py) for every role at the edges of its scope, no database.

Read a row as: this guard, on this registration, answers this for each role in ROLES order:
`ok`; `404` (a stranger does not learn the group exists); `403:<code>` (seen, not allowed);
`422:<code>` (allowed in general, refused by the group's state). The edges: a manager of the
registration's own facility against one of another facility (and one of another facility who is
also a member); a city-wide registration, which any manager serves; the representative against
a plain member; a suspended registration, whose representative may no longer change the roster
while staff at the counter still may.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from booking.accounts.access import (
    Principal,
    may_manage_roster,
    require_admin,
    require_administer_group,
    require_facility,
    require_manage_roster,
    require_staff,
    require_view_group,
)
from booking.accounts.models import Group, GroupStatus, MemberRole, StaffRole
from booking.errors import BookingError, NotFound, PermissionDenied, RuleViolation

GROUP, OTHER_GROUP = 10, 11
HERE, ELSEWHERE = 1, 2


def person(user_id: int, memberships: dict[int, MemberRole]) -> Principal:
    return Principal(user_id, "person", None, None, "session", memberships=memberships)


def staff(user_id: int, role: StaffRole, facilities: set[int]) -> Principal:
    return Principal(user_id, "staff", None, role, "session", facility_ids=frozenset(facilities))


PRINCIPALS = {
    "stranger": person(1, {}),
    "member": person(2, {GROUP: MemberRole.MEMBER}),
    "representative": person(3, {GROUP: MemberRole.REPRESENTATIVE}),
    "other_representative": person(4, {OTHER_GROUP: MemberRole.REPRESENTATIVE}),
    "manager_here": staff(5, StaffRole.MANAGER, {HERE}),
    "manager_elsewhere": staff(6, StaffRole.MANAGER, {ELSEWHERE}),
    "admin": staff(7, StaffRole.ADMIN, set()),
    # A manager of another facility who is also a plain member of the group: as a member they
    # see it; as staff they do nothing for a registration outside their facilities.
    "manager_elsewhere_member": Principal(
        9,
        "staff member",
        None,
        StaffRole.MANAGER,
        "session",
        memberships={GROUP: MemberRole.MEMBER},
        facility_ids=frozenset({ELSEWHERE}),
    ),
}
ROLES = tuple(PRINCIPALS)


def registration(facility_id: int | None, status: GroupStatus = GroupStatus.ACTIVE) -> Group:
    return Group(id=GROUP, facility_id=facility_id, status=status)


def outcome(guard: Callable[[], None]) -> str:
    try:
        guard()
    except NotFound:
        return "404"
    except PermissionDenied as exc:
        return f"403:{exc.code}"
    except RuleViolation as exc:
        return f"422:{exc.code}"
    except BookingError as exc:  # pragma: no cover - a guard raising anything else is a bug
        return f"unexpected:{exc.code}"
    return "ok"


CITY = registration(None)
CITY_SUSPENDED = registration(None, GroupStatus.SUSPENDED)
CENTRE = registration(HERE)
CENTRE_SUSPENDED = registration(HERE, GroupStatus.SUSPENDED)
CENTRE_PENDING = registration(HERE, GroupStatus.PENDING)

NA = "403:facility_not_assigned"
NOT_REP = "403:not_representative"
STAFF = "403:staff_only"
SUSPENDED = "422:group_suspended"

# ROLES: stranger member representative other_representative manager_here manager_elsewhere admin
#        manager_elsewhere_member
GROUP_GUARDS = [
    ("view", require_view_group, CITY, "404 ok ok 404 ok ok ok ok"),
    ("view", require_view_group, CENTRE, f"404 ok ok 404 ok {NA} ok ok"),
    ("view", require_view_group, CENTRE_SUSPENDED, f"404 ok ok 404 ok {NA} ok ok"),
    ("roster", require_manage_roster, CITY, f"404 {NOT_REP} ok 404 ok ok ok ok"),
    ("roster", require_manage_roster, CENTRE, f"404 {NOT_REP} ok 404 ok {NA} ok {NOT_REP}"),
    ("roster", require_manage_roster, CITY_SUSPENDED, f"404 {NOT_REP} {SUSPENDED} 404 ok ok ok ok"),
    (
        "roster",
        require_manage_roster,
        CENTRE_SUSPENDED,
        f"404 {NOT_REP} {SUSPENDED} 404 ok {NA} ok {NOT_REP}",
    ),
    # A pending registration's representative completes its roster before activation.
    ("roster", require_manage_roster, CENTRE_PENDING, f"404 {NOT_REP} ok 404 ok {NA} ok {NOT_REP}"),
    ("administer", require_administer_group, CITY, f"404 {STAFF} {STAFF} 404 ok ok ok ok"),
    ("administer", require_administer_group, CENTRE, f"404 {STAFF} {STAFF} 404 ok {NA} ok {STAFF}"),
    (
        "administer",
        require_administer_group,
        CITY_SUSPENDED,
        f"404 {STAFF} {STAFF} 404 ok ok ok ok",
    ),
]


@pytest.mark.parametrize(
    ("guard", "group", "expected"),
    [
        pytest.param(
            guard,
            group,
            expected,
            id=f"{name}-{'city' if group.facility_id is None else 'centre'}-{group.status}",
        )
        for name, guard, group, expected in GROUP_GUARDS
    ],
)
def test_group_guards_per_role(
    guard: Callable[[Principal, Group], None], group: Group, expected: str
) -> None:
    answers = {role: outcome(lambda p=p: guard(p, group)) for role, p in PRINCIPALS.items()}
    assert answers == dict(zip(ROLES, expected.split(), strict=True))


@pytest.mark.parametrize(
    "group",
    [CITY, CENTRE, CITY_SUSPENDED, CENTRE_SUSPENDED],
    ids=["city", "centre", "city-suspended", "centre-suspended"],
)
def test_the_roster_forms_show_exactly_when_the_guard_lets_through(group: Group) -> None:
    for role, principal in PRINCIPALS.items():
        allowed = outcome(lambda p=principal: require_manage_roster(p, group)) == "ok"
        assert may_manage_roster(principal, group) is allowed, role


# ROLES: stranger member representative other_representative manager_here manager_elsewhere admin
#        manager_elsewhere_member
STAFF_GUARDS = [
    ("admin", require_admin, "403:admin_only " * 6 + "ok 403:admin_only"),
    ("staff", require_staff, f"{STAFF} {STAFF} {STAFF} {STAFF} ok ok ok ok"),
    (
        "facility-here",
        lambda p: require_facility(p, HERE),
        f"{STAFF} {STAFF} {STAFF} {STAFF} ok {NA} ok {NA}",
    ),
    (
        "facility-elsewhere",
        lambda p: require_facility(p, ELSEWHERE),
        f"{STAFF} {STAFF} {STAFF} {STAFF} {NA} ok ok ok",
    ),
    (
        "facility-unassigned",
        lambda p: require_facility(p, 99),
        f"{STAFF} {STAFF} {STAFF} {STAFF} {NA} {NA} ok {NA}",
    ),
]


@pytest.mark.parametrize(
    ("guard", "expected"),
    [pytest.param(guard, expected, id=name) for name, guard, expected in STAFF_GUARDS],
)
def test_staff_guards_per_role(guard: Callable[[Principal], None], expected: str) -> None:
    answers = {role: outcome(lambda p=p: guard(p)) for role, p in PRINCIPALS.items()}
    assert answers == dict(zip(ROLES, expected.split(), strict=True))


def test_a_manager_manages_only_assigned_facilities_and_an_admin_all() -> None:
    here, admin = PRINCIPALS["manager_here"], PRINCIPALS["admin"]
    assert here.manages(HERE)
    assert not here.manages(ELSEWHERE)
    assert admin.manages(HERE)
    assert admin.manages(99)
    # A person with no staff role manages nothing, even a facility id they happen to carry.
    carrying = Principal(8, "x", None, None, "session", facility_ids=frozenset({HERE}))
    assert not carrying.manages(HERE)
    assert not carrying.staff_for(CENTRE)
    assert not carrying.staff_for(CITY)


def test_roles_are_per_group() -> None:
    rep = PRINCIPALS["representative"]
    assert rep.role_in(GROUP) is MemberRole.REPRESENTATIVE
    assert rep.role_in(OTHER_GROUP) is None
    assert PRINCIPALS["other_representative"].role_in(GROUP) is None


def _refusal(guard: Callable[[], None]) -> tuple[str, str | None, str]:
    with pytest.raises(BookingError) as refused:
        guard()
    return refused.value.code, refused.value.field, refused.value.message


@pytest.mark.parametrize(
    ("guard", "code", "field", "message"),
    [
        pytest.param(
            lambda: require_admin(PRINCIPALS["manager_here"]),
            "admin_only",
            None,
            "only an administrator may do this",
            id="admin_only",
        ),
        pytest.param(
            lambda: require_staff(PRINCIPALS["member"]),
            "staff_only",
            None,
            "only facility staff may do this",
            id="staff_only",
        ),
        pytest.param(
            lambda: require_facility(PRINCIPALS["manager_here"], ELSEWHERE),
            "facility_not_assigned",
            "facility_id",
            f"facility {ELSEWHERE} is not assigned to you",
            id="facility_not_assigned",
        ),
        pytest.param(
            lambda: require_view_group(PRINCIPALS["stranger"], CENTRE),
            "group_not_found",
            None,
            f"no group {GROUP}",
            id="group_not_found",
        ),
        pytest.param(
            lambda: require_view_group(PRINCIPALS["manager_elsewhere"], CENTRE),
            "facility_not_assigned",
            None,
            "this registration belongs to a facility not assigned to you",
            id="view-facility_not_assigned",
        ),
        pytest.param(
            lambda: require_manage_roster(PRINCIPALS["member"], CITY),
            "not_representative",
            None,
            "only the group's representative may do this",
            id="not_representative",
        ),
        pytest.param(
            lambda: require_manage_roster(PRINCIPALS["representative"], CITY_SUSPENDED),
            "group_suspended",
            None,
            "the registration is suspended; changes go through a counter",
            id="group_suspended",
        ),
        pytest.param(
            lambda: require_administer_group(PRINCIPALS["representative"], CITY),
            "staff_only",
            None,
            "only facility staff may do this",
            id="administer-staff_only",
        ),
    ],
)
def test_each_refusal_says_why_in_the_problem_detail(
    guard: Callable[[], None], code: str, field: str | None, message: str
) -> None:
    """What an API client gets in the problem document: the code it translates, the field it
    marks, and the `detail` text."""
    assert _refusal(guard) == (code, field, message)
