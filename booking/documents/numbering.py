"""Document numbers: sequential per facility, fiscal year and kind, never shared.

The fiscal year (年度) runs from 1 April to 31 March in the facilities' time zone: a document
issued on 31 March 2027 belongs to fiscal 2026, one issued on 1 April 2027 starts fiscal 2027's
sequence at 1. Each kind (booking/documents/codes.py: permit, receipt, refund, waiver) has
its own sequence.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.upsert import insert_for
from booking.documents.models import DocumentCounter


def fiscal_year(day: date) -> int:
    """The fiscal year of a local date: April to March, named by the year it starts in."""
    return day.year if day.month >= 4 else day.year - 1


async def next_number(session: AsyncSession, facility_id: int, year: int, kind: str) -> int:
    """The next number of `kind` for the facility and fiscal year, taken in the caller's
    transaction: one atomic UPDATE ... RETURNING, so concurrent issuers wait on the counter's
    row and each gets its own number (a first issuer makes the row; a racing second one finds it
    made and raises it)."""
    key = (
        DocumentCounter.facility_id == facility_id,
        DocumentCounter.fiscal_year == year,
        DocumentCounter.kind == kind,
    )
    raise_it = (
        update(DocumentCounter)
        .where(*key)
        .values(last_number=DocumentCounter.last_number + 1)
        .returning(DocumentCounter.last_number)
    )
    number = await session.scalar(raise_it)
    if number is not None:
        return number
    insert = insert_for(session)
    made: int | None = await session.scalar(
        insert(DocumentCounter)
        .values(facility_id=facility_id, fiscal_year=year, kind=kind, last_number=1)
        .on_conflict_do_nothing(index_elements=["facility_id", "fiscal_year", "kind"])
        .returning(DocumentCounter.last_number)
    )
    if made is not None:
        return made
    number = await session.scalar(raise_it)  # another issuer made the row first
    if number is None:  # pragma: no cover - the row exists: it was just seen made
        raise RuntimeError("document counter vanished")
    return number
