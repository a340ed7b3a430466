"""`booking db check` knows offers: an offer claim must belong to an open offer, and an open
offer must hold every claim of its slot."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.reservations.consistency import check
from booking.reservations.models import Claim, ClaimKind
from booking.waitlist.models import OfferStatus, WaitlistOffer
from tests.people import World
from tests.places import Hall
from tests.waitlist.conftest import waiting_and_offered


async def test_offer_claims_and_open_offers_agree(
    world: World, hall: Hall, session: AsyncSession
) -> None:
    _, offer_id = await waiting_and_offered(session, hall, world.group_a)
    assert (await check(session)).ok
    # An open offer short of its claim (a crash between writes, a manual repair).
    claim = await session.scalar(
        select(Claim).where(Claim.kind == ClaimKind.OFFER, Claim.owner_id == offer_id)
    )
    assert claim is not None
    await session.execute(delete(Claim).where(Claim.id == claim.id))
    report = await check(session)
    assert report.incomplete == [f"wait-list offer {offer_id}: 0 of 1"]
    assert report.orphan_claims == []
    # The claim back, but its offer ended: an orphan.
    session.add(
        Claim(
            unit_id=claim.unit_id,
            use_date=claim.use_date,
            period_code=claim.period_code,
            kind=ClaimKind.OFFER,
            owner_id=offer_id,
            created_at=claim.created_at,
        )
    )
    await session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id == offer_id)
        .values(status=OfferStatus.DECLINED)
    )
    report = await check(session)
    assert report.incomplete == []
    assert len(report.orphan_claims) == 1
    assert report.orphan_claims[0].endswith(f"(offer) of {offer_id}")
