"""What the booking checks read of a registration: a loaded `Group` row, or one plain read.

A booking reads its group with one plain SELECT into `GroupRow` (no identity map, no ORM
loading: bench/bookings.py); callers that have loaded `Group` rows pass them to the same
checks, which ask only for `GroupFacts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from booking.accounts.models import GroupCategory, GroupStatus


class GroupFacts(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> GroupCategory: ...
    @property
    def facility_id(self) -> int | None: ...
    @property
    def status(self) -> GroupStatus: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def in_city(self) -> bool: ...
    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    name: str
    category: GroupCategory
    facility_id: int | None
    status: GroupStatus
    valid_until: date | None
    in_city: bool
    email: str | None


GROUP_FACTS = tuple(GroupRow.__dataclass_fields__)  # the columns a GroupRow is read from
