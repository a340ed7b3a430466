"""Claims by use month, cached per process and checked against the database on each read.

Availability reads every claim of the network over its range; fetching and grouping them was
most of a request's time (bench/availability.py). A month's claims are kept here with the
month's version, which database triggers move on every change to its claims
(reservations/claim_versions.py); each read looks the versions up in one query and refetches
only the months that moved. A write
committed between the two queries only makes the cache refetch once more, never serve stale.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta

from sqlalchemy import String, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.direct import Direct, fetch
from booking.db.replica import READ_REPLICA
from booking.reservations.claim_versions import month_versions
from booking.reservations.models import Claim

# The claims on one unit for one day as a canonical signature: "10:booking,30:block".
Signature = str
MonthClaims = dict[int, dict[date, Signature]]  # unit -> date -> signature

# A month's claims, the kind as stored (no enum made per row: a month holds thousands).
_MONTH = Direct(
    select(Claim.unit_id, Claim.use_date, Claim.period_code, cast(Claim.kind, String)).where(
        Claim.use_date >= bindparam("first"), Claim.use_date <= bindparam("last")
    )
)


class ClaimsCache:
    def __init__(self, max_months: int = 36) -> None:
        self._months: OrderedDict[date, tuple[int, MonthClaims]] = OrderedDict()
        # The read replica's months, apart: it lags, and readers of both would each evict
        # the other's version of a month (booking/db/replica.py).
        self._replica_months: OrderedDict[date, tuple[int, MonthClaims]] = OrderedDict()
        self._max = max_months

    async def months(self, session: AsyncSession, start: date, end: date) -> list[MonthClaims]:
        """The claims of every month that the range touches (whole months, every unit)."""
        wanted = months_between(start, end)
        versions = await month_versions(session, wanted)
        store = self._replica_months if session.info.get(READ_REPLICA) else self._months
        result = []
        for month in wanted:
            version = versions[month]
            cached = store.get(month)
            if cached is None or cached[0] != version:
                cached = (version, await fetch_month(session, month))
                store[month] = cached
                while len(store) > self._max:
                    store.popitem(last=False)
            store.move_to_end(month)
            result.append(cached[1])
        return result


def months_between(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


async def fetch_month(session: AsyncSession, month: date) -> MonthClaims:
    last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    rows = await fetch(session, _MONTH, {"first": month, "last": last})
    parts: dict[tuple[int, date], list[str]] = {}
    for unit, day, code, kind in rows:
        parts.setdefault((unit, day), []).append(f"{code}:{kind}")
    claims: MonthClaims = {}
    for (unit, day), items in parts.items():
        claims.setdefault(unit, {})[day] = ",".join(sorted(items))
    return claims


def parse(signature: Signature) -> dict[str, str]:
    return dict(part.split(":", 1) for part in signature.split(","))
