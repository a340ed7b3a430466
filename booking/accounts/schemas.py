"""Request and response shapes of the accounts API. Shapes only: the rules are in services."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from booking.accounts.models import (
    GroupCategory,
    GroupKind,
    GroupStatus,
    MemberRole,
    Residency,
    StaffRole,
    UserStatus,
)
from booking.web.fields import (
    EMAIL_MAX,
    NAME_MAX,
    NOTE_MAX,
    PASSWORD_MAX,
    TOKEN_NAME_MAX,
    CardNumber,
    Id,
    OneLine,
    Phone,
)

Name = Annotated[OneLine, Meta(min_length=1, max_length=NAME_MAX)]
Email = Annotated[OneLine, Meta(min_length=3, max_length=EMAIL_MAX)]
# The minimum length is a rule with its own message (rules.password_problem).
Password = Annotated[OneLine, Meta(max_length=PASSWORD_MAX)]
Reason = Annotated[OneLine, Meta(min_length=1, max_length=NOTE_MAX)]
Login = Annotated[OneLine, Meta(min_length=1, max_length=EMAIL_MAX)]


class Input(Struct, forbid_unknown_fields=True, kw_only=True):
    """Requests refuse unknown fields: a typo is an error, not a silently ignored value."""


class MemberIn(Input):
    name: Name
    birth_date: date
    residency: Residency
    email: Email | None = None
    phone: Phone | None = None


class RepresentativeIn(MemberIn):
    # Required when registering without logging in: it becomes the representative's password.
    password: Password | None = None


class RegistrationIn(Input):
    kind: GroupKind
    name: Name
    representative: RepresentativeIn
    category: GroupCategory = GroupCategory.GENERAL
    name_kana: Name | None = None
    facility_id: Id | None = None
    email: Email | None = None
    phone: Phone | None = None
    guardian_consent: bool = False
    members: Annotated[list[MemberIn], Meta(max_length=300)] = msgspec.field(default_factory=list)


class GroupPatch(Input):
    name: Name | None = None
    name_kana: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    # The mail two days before each use date (issue 18); on unless turned off.
    use_reminders: bool | None = None


class ActivateIn(Input):
    # A card already issued on paper keeps its number; otherwise a random one is issued.
    card_number: CardNumber | None = None


class SuspendIn(Input):
    reason: Reason


class MemberPatch(Input):
    name: Name | None = None
    birth_date: date | None = None
    residency: Residency | None = None
    email: Email | None = None
    phone: Phone | None = None


class RepresentativeChange(Input):
    member_id: Id


class MemberRead(Struct):
    id: int
    name: str
    role: MemberRole
    birth_date: date
    residency: Residency
    email: str | None
    phone: str | None
    has_login: bool


class GroupRead(Struct):
    id: int
    kind: GroupKind
    category: GroupCategory
    name: str
    name_kana: str | None
    facility_id: int | None
    status: GroupStatus
    # "expired" when active but past valid_until: renew to book again
    effective_status: str
    card_number: str | None
    valid_until: date | None
    in_city: bool
    email: str | None
    phone: str | None
    # Whether the group is mailed two days before each use date.
    use_reminders: bool
    member_count: int
    created_at: datetime
    activated_at: datetime | None
    suspended_reason: str | None


class GroupDetail(GroupRead):
    members: list[MemberRead]


class LoginIn(Input):
    login: Annotated[Login, Meta(description="card number or e-mail")]
    password: Password


class MembershipRead(Struct):
    group_id: int
    role: MemberRole


class MeRead(Struct):
    id: int
    name: str
    email: str | None
    staff_role: StaffRole | None
    memberships: list[MembershipRead]
    facility_ids: list[int]
    authenticated_by: str
    # Send it back in the X-CSRF-Token header on every unsafe request made with the cookie.
    csrf_token: str | None = None


class PasswordChangeIn(Input):
    current_password: Password
    new_password: Password


class ResetRequestIn(Input):
    login: Login


class ResetConfirmIn(Input):
    token: Annotated[OneLine, Meta(min_length=1, max_length=200)]
    new_password: Password


class RegistrationConfirmIn(Input):
    """The mailed link's token, and the password chosen when registering."""

    token: Annotated[OneLine, Meta(min_length=1, max_length=200)]
    password: Password


class TokenIn(Input):
    name: Annotated[OneLine, Meta(min_length=1, max_length=TOKEN_NAME_MAX)]
    expires_in_days: Annotated[int, Meta(ge=1, le=366)] = 90


class TokenRead(Struct):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenRead):
    # Shown once; only a hash is kept.
    token: str


class ManagerIn(Input):
    email: Email
    name: Name
    facility_ids: Annotated[list[Id], Meta(min_length=1, max_length=200)]


class AdministratorIn(Input):
    email: Email
    name: Name


class ManagerFacilitiesIn(Input):
    facility_ids: Annotated[list[Id], Meta(min_length=1, max_length=200)]


class UserRead(Struct):
    id: int
    name: str
    email: str | None
    staff_role: StaffRole | None
    status: UserStatus
    facility_ids: list[int]


class AuditRead(Struct):
    id: int
    at: datetime
    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    address: str | None
