"""Who is asking, and what they may do (DESIGN.md invariant 8).

A `Principal` is loaded afresh from the database on every request, so a role change, a
suspension or a logout takes effect at once on every app process. The guards raise domain
errors: a stranger to a group gets 404 (its existence is not theirs to learn), a member or a
manager who may see but not do gets 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from booking.accounts.group_facts import GroupFacts
from booking.accounts.models import Group, GroupStatus, MemberRole, StaffRole
from booking.audit.service import Actor
from booking.errors import BookingError, NotFound, PermissionDenied, RuleViolation


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    name: str
    email: str | None
    staff_role: StaffRole | None
    via: Literal["session", "token"]
    # group id -> this person's role on its roster
    memberships: Mapping[int, MemberRole] = field(default_factory=dict)
    # the facilities a manager is assigned to
    facility_ids: frozenset[int] = frozenset()
    session_id: int | None = None
    token_id: int | None = None
    address: str | None = None
    # The session's CSRF token: unsafe requests made with the cookie must send it back.
    csrf_token: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.address)

    @property
    def is_admin(self) -> bool:
        return self.staff_role is StaffRole.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    def manages(self, facility_id: int) -> bool:
        """An administrator acts everywhere; a manager only where assigned."""
        return self.is_admin or (
            self.staff_role is StaffRole.MANAGER and facility_id in self.facility_ids
        )

    def staff_for(self, group: GroupFacts) -> bool:
        """Staff who may act for this group: any manager for a city-wide registration, only the
        facility's own managers for a facility's registration."""
        if self.is_admin:
            return True
        if self.staff_role is not StaffRole.MANAGER:
            return False
        return group.facility_id is None or group.facility_id in self.facility_ids

    def role_in(self, group_id: int) -> MemberRole | None:
        return self.memberships.get(group_id)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("only an administrator may do this", code="admin_only")


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("only facility staff may do this", code="staff_only")


def require_facility(principal: Principal, facility_id: int) -> None:
    """A manager touching a facility not assigned to them is refused."""
    require_staff(principal)
    if not principal.manages(facility_id):
        raise PermissionDenied(
            f"facility {facility_id} is not assigned to you",
            field="facility_id",
            code="facility_not_assigned",
        )


def require_view_group(principal: Principal, group: Group) -> None:
    if principal.role_in(group.id) is not None or principal.staff_for(group):
        return
    if principal.is_staff:  # staff know the group exists; it is out of their scope
        raise PermissionDenied(
            "this registration belongs to a facility not assigned to you",
            code="facility_not_assigned",
        )
    raise NotFound(f"no group {group.id}", code="group_not_found")


def may_manage_roster(principal: Principal, group: Group) -> bool:
    """Whether require_manage_roster would let this principal change the roster (pages show
    the forms only then)."""
    try:
        require_manage_roster(principal, group)
    except BookingError:
        return False
    return True


def require_manage_roster(principal: Principal, group: Group) -> None:
    """The representative manages the roster; staff do it at the counter."""
    require_view_group(principal, group)
    if principal.staff_for(group):
        return
    if principal.role_in(group.id) is not MemberRole.REPRESENTATIVE:
        raise PermissionDenied(
            "only the group's representative may do this", code="not_representative"
        )
    if group.status is GroupStatus.SUSPENDED:
        raise RuleViolation(
            "the registration is suspended; changes go through a counter", code="group_suspended"
        )


def require_administer_group(principal: Principal, group: Group) -> None:
    """Activation, suspension and renewal are staff acts, after checking documents."""
    require_view_group(principal, group)
    if not principal.staff_for(group):
        raise PermissionDenied("only facility staff may do this", code="staff_only")
