"""Transparency: what happened in a cycle at a facility, and groups that look like one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_facility
from booking.accounts.models import Group, Member, MemberRole
from booking.lottery.models import ApplicationStatus, LotteryApplication

COUNTED = (
    ApplicationStatus.APPLIED,
    ApplicationStatus.WON,
    ApplicationStatus.LOST,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.LAPSED,
)
WINS = (ApplicationStatus.WON, ApplicationStatus.CONFIRMED, ApplicationStatus.LAPSED)


@dataclass
class CycleReport:
    applications: int = 0
    wins: int = 0
    slots: int = 0
    contested_slots: int = 0
    applicants_per_slot: list[tuple[int, date, str, int]] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        drawn = self.applications
        return round(self.wins / drawn, 4) if drawn and self.wins else (0.0 if drawn else None)


async def cycle_report(session: AsyncSession, use_month: date, facility_id: int) -> CycleReport:
    rows = (
        await session.execute(
            select(
                LotteryApplication.room_id,
                LotteryApplication.use_date,
                LotteryApplication.period_codes,
                LotteryApplication.status,
            ).where(
                LotteryApplication.use_month == use_month,
                LotteryApplication.facility_id == facility_id,
                LotteryApplication.status.in_(COUNTED),
            )
        )
    ).all()
    per_slot: dict[tuple[int, date, str], int] = defaultdict(int)
    report = CycleReport(applications=len(rows))
    for room_id, use_date, codes, status in rows:
        report.wins += status in WINS
        for code in codes:
            per_slot[(room_id, use_date, code)] += 1
    report.slots = len(per_slot)
    report.contested_slots = sum(1 for n in per_slot.values() if n > 1)
    report.applicants_per_slot = sorted((r, d, p, n) for (r, d, p), n in per_slot.items())
    return report


@dataclass(frozen=True, slots=True)
class SharedContact:
    group_ids: tuple[int, int]
    shared: str  # representative, email or phone
    slot: tuple[int, date, str]


async def shared_contacts(
    session: AsyncSession, principal: Principal, use_month: date, facility_id: int
) -> list[SharedContact]:
    """Pairs of groups that applied for the same slot and share a representative, an e-mail
    or a phone: a known way to multiply one's chances with several cards."""
    require_facility(principal, facility_id)
    rows = (
        await session.execute(
            select(
                LotteryApplication.group_id,
                LotteryApplication.room_id,
                LotteryApplication.use_date,
                LotteryApplication.period_codes,
            ).where(
                LotteryApplication.use_month == use_month,
                LotteryApplication.facility_id == facility_id,
                LotteryApplication.status.in_(COUNTED),
            )
        )
    ).all()
    by_slot: dict[tuple[int, date, str], set[int]] = defaultdict(set)
    for group_id, room_id, use_date, codes in rows:
        for code in codes:
            by_slot[(room_id, use_date, code)].add(group_id)
    group_ids = {g for groups in by_slot.values() for g in groups}
    if not group_ids:
        return []
    contacts = {
        gid: (email, phone)
        for gid, email, phone in (
            await session.execute(
                select(Group.id, Group.email, Group.phone).where(Group.id.in_(group_ids))
            )
        ).all()
    }
    reps = dict(
        (
            await session.execute(
                select(Member.group_id, Member.user_id).where(
                    Member.group_id.in_(group_ids), Member.role == MemberRole.REPRESENTATIVE
                )
            )
        ).all()
    )
    found: dict[tuple[tuple[int, int], str], tuple[int, date, str]] = {}
    for slot, groups in sorted(by_slot.items()):
        for a, b in combinations(sorted(groups), 2):
            for what, left, right in (
                ("representative", reps.get(a), reps.get(b)),
                ("email", contacts[a][0], contacts[b][0]),
                ("phone", contacts[a][1], contacts[b][1]),
            ):
                if left is not None and left == right:
                    found.setdefault(((a, b), what), slot)
    return [SharedContact(pair, what, slot) for (pair, what), slot in sorted(found.items())]
