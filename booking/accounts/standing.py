"""Where a member's registrations stand, and what each needs before it may book.

A page says this before a form rather than after a refused submit: a pending registration
needs its documents checked at a counter, a suspended one its reason and the desk, an expired
one a renewal at a counter (open since 1 December before it lapsed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.desk import RosterFacts, documents_to_check
from booking.accounts.models import Group
from booking.accounts.rules import fiscal_year_end
from booking.clock import Clock, local_today
from booking.settings import Settings


@dataclass(frozen=True, slots=True)
class Standing:
    """One registration as its member sees it before booking."""

    group_id: int
    name: str
    status: str  # groups.effective_status: pending, active, suspended or expired
    reason: str | None  # a suspension's reason, as staff wrote it
    documents: tuple[str, ...]  # pending: what the counter checks (desk.documents_to_check)
    facility_id: int | None  # a facility's own registration: only its counter checks it
    valid_until: date | None  # expired: the day it lapsed
    would_be_valid_until: date  # pending: the validity a card issued today would have

    @property
    def may_book(self) -> bool:
        return self.status == "active"


def standing(group: Group, roster: Sequence[RosterFacts], today: date) -> Standing:
    status = groups.effective_status(group, today)
    return Standing(
        group_id=group.id,
        name=group.name,
        status=status,
        reason=group.suspended_reason if status == "suspended" else None,
        documents=documents_to_check(group, roster, today) if status == "pending" else (),
        facility_id=group.facility_id,
        valid_until=group.valid_until,
        would_be_valid_until=fiscal_year_end(today),
    )


async def member_standings(
    session: AsyncSession, clock: Clock, settings: Settings, principal: Principal
) -> list[Standing]:
    """The principal's registrations, in the order of their ids."""
    today = local_today(clock, settings.tz)
    found = []
    for group_id in sorted(principal.memberships):
        group = await groups.get_group(session, group_id)
        found.append(standing(group, await groups.roster(session, group_id), today))
    return found
