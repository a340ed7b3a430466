"""`booking db check`: do claims and reservations agree? (DESIGN.md invariant 1 and 7)

After a crash or a manual repair, every claim must belong to an owner that holds claims of
its kind, and every such owner must hold all its claims (a won lottery application too); two
live claims on one slot are impossible by the unique constraint, and are checked anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.models import RoomUnit
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Block, Booking, BookingStatus, Claim, ClaimKind
from booking.reservations.series_check import series_problems
from booking.waitlist.models import OfferStatus, WaitlistOffer

# Which bookings own claims, and of which kind. A hold owns `hold` claims. A booking that is
# confirmed or waiting for approval owns `booking` claims, and keeps them once its date has
# come: a completed booking or a no-show used its slot (the no-show pays the full fee), so the
# slot stays taken in the room's history. Only cancellation, rejection and hold expiry release.
HOLDING: dict[ClaimKind, tuple[BookingStatus, ...]] = {
    ClaimKind.HOLD: (BookingStatus.HELD,),
    ClaimKind.BOOKING: (
        BookingStatus.CONFIRMED,
        BookingStatus.PENDING_APPROVAL,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    ),
}


@dataclass
class CheckReport:
    double_claims: list[str] = field(default_factory=list)
    orphan_claims: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)  # occurrences unlike their series

    @property
    def ok(self) -> bool:
        return not (self.double_claims or self.orphan_claims or self.incomplete or self.series)

    def lines(self) -> list[str]:
        return (
            [f"double claim: {x}" for x in self.double_claims]
            + [f"orphan claim: {x}" for x in self.orphan_claims]
            + [f"missing claims: {x}" for x in self.incomplete]
            + [f"series: {x}" for x in self.series]
        )


async def check(session: AsyncSession) -> CheckReport:
    report = CheckReport()
    doubled = await session.execute(
        select(Claim.unit_id, Claim.use_date, Claim.period_code, func.count())
        .group_by(Claim.unit_id, Claim.use_date, Claim.period_code)
        .having(func.count() > 1)
    )
    report.double_claims = [f"unit {u} {d} {p} x{n}" for u, d, p, n in doubled.all()]

    booking_orphans: list[tuple[int, ClaimKind, int | None]] = []
    for kind, statuses in HOLDING.items():
        found = await session.execute(
            select(Claim.id, Claim.kind, Claim.owner_id)
            .outerjoin(
                Booking,
                and_(Booking.id == Claim.owner_id, Booking.status.in_(statuses)),
            )
            .where(Claim.kind == kind, Booking.id.is_(None))
        )
        booking_orphans.extend(found.all())
    block_orphans = await session.execute(
        select(Claim.id, Claim.kind, Claim.owner_id)
        .outerjoin(Block, and_(Block.id == Claim.owner_id, Block.released_at.is_(None)))
        .where(Claim.kind == ClaimKind.BLOCK, Block.id.is_(None))
    )
    win_orphans = await session.execute(
        select(Claim.id, Claim.kind, Claim.owner_id)
        .outerjoin(
            LotteryApplication,
            and_(
                LotteryApplication.id == Claim.owner_id,
                LotteryApplication.status == ApplicationStatus.WON,
            ),
        )
        .where(Claim.kind == ClaimKind.LOTTERY_WIN, LotteryApplication.id.is_(None))
    )
    # An offer claims the slot it offers while it is open (waitlist/offers.py).
    offer_orphans = await session.execute(
        select(Claim.id, Claim.kind, Claim.owner_id)
        .outerjoin(
            WaitlistOffer,
            and_(WaitlistOffer.id == Claim.owner_id, WaitlistOffer.status == OfferStatus.OPEN),
        )
        .where(Claim.kind == ClaimKind.OFFER, WaitlistOffer.id.is_(None))
    )
    report.orphan_claims = [
        f"claim {cid} ({kind.value}) of {owner}"
        for cid, kind, owner in [
            *booking_orphans,
            *block_orphans.all(),
            *win_orphans.all(),
            *offer_orphans.all(),
        ]
    ]

    units = (
        select(RoomUnit.room_id, func.count().label("units")).group_by(RoomUnit.room_id).subquery()
    )
    for kind, statuses in HOLDING.items():
        held = (
            select(Claim.owner_id, func.count().label("claims"))
            .where(Claim.kind == kind)
            .group_by(Claim.owner_id)
            .subquery()
        )
        owners = await session.execute(
            select(Booking.id, Booking.period_codes, units.c.units, held.c.claims)
            .join(units, units.c.room_id == Booking.room_id)
            .outerjoin(held, held.c.owner_id == Booking.id)
            .where(Booking.status.in_(statuses))
        )
        report.incomplete += [
            f"booking {bid}: {claims or 0} of {len(periods) * n_units}"
            for bid, periods, n_units, claims in owners.all()
            if (claims or 0) != len(periods) * n_units
        ]
    # A win waiting for confirmation holds its slots until it is confirmed or lapses; an open
    # wait-list offer until it is accepted, declined or expires.
    for kind, owner, live, label in (
        (
            ClaimKind.LOTTERY_WIN,
            LotteryApplication,
            LotteryApplication.status == ApplicationStatus.WON,
            "lottery application",
        ),
        (
            ClaimKind.OFFER,
            WaitlistOffer,
            WaitlistOffer.status == OfferStatus.OPEN,
            "wait-list offer",
        ),
    ):
        held = (
            select(Claim.owner_id, func.count().label("claims"))
            .where(Claim.kind == kind)
            .group_by(Claim.owner_id)
            .subquery()
        )
        owners = await session.execute(
            select(owner.id, owner.period_codes, units.c.units, held.c.claims)
            .join(units, units.c.room_id == owner.room_id)
            .outerjoin(held, held.c.owner_id == owner.id)
            .where(live)
        )
        report.incomplete += [
            f"{label} {oid}: {claims or 0} of {len(periods) * n_units}"
            for oid, periods, n_units, claims in owners.all()
            if (claims or 0) != len(periods) * n_units
        ]
    report.series = await series_problems(session)
    return report
