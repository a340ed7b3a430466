"""The `booking lottery` commands: draw a cycle, verify it against the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.inventory.network import SnapshotCache
from booking.lottery.draw import Entry, digest
from booking.lottery.drawing import DrawResult, draw_each
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryCycle, LotteryDraw
from booking.lottery.verify import parse_entry, verify_document
from booking.settings import Settings

DRAWN = (
    ApplicationStatus.WON,
    ApplicationStatus.LOST,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.LAPSED,
)


async def draw_cycle(
    settings: Settings, clock: Clock, use_month: date, facility_id: int | None
) -> list[DrawResult]:
    engine = create_engine(settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            snapshot = await SnapshotCache().get(session)
            stmt = select(LotteryApplication.facility_id).where(
                LotteryApplication.use_month == use_month,
                LotteryApplication.status == ApplicationStatus.APPLIED,
            )
            facilities = sorted(set((await session.scalars(stmt.distinct())).all()))
        if facility_id is not None:
            facilities = [facility_id]
        due = [(use_month, fid) for fid in facilities]
        return await draw_each(sessionmaker, clock, settings, snapshot, due)
    finally:
        await engine.dispose()


async def verify_cycle(settings: Settings, use_month: date, facility_id: int | None) -> list[str]:
    """Each published draw must replay, its secret match the cycle's commitment, and its
    application list be exactly the drawn applications in the database."""
    engine = create_engine(settings)
    problems: list[str] = []
    try:
        async with create_sessionmaker(engine)() as session:
            cycle = await session.get(LotteryCycle, use_month)
            stmt = select(LotteryDraw).where(LotteryDraw.use_month == use_month)
            if facility_id is not None:
                stmt = stmt.where(LotteryDraw.facility_id == facility_id)
            draws = (await session.scalars(stmt)).all()
            if cycle is None or not draws:
                return [f"no draw for {use_month:%Y-%m}"]
            for drawn in draws:
                where = f"facility {drawn.facility_id}"
                problems += [
                    f"{where}: {p}" for p in verify_document(drawn.document, cycle.commitment)
                ]
                rows = (
                    await session.scalars(
                        select(LotteryApplication).where(
                            LotteryApplication.use_month == use_month,
                            LotteryApplication.facility_id == drawn.facility_id,
                            LotteryApplication.status.in_(DRAWN),
                        )
                    )
                ).all()
                published = [parse_entry(line) for line in drawn.document["applications"]]
                units = {e.id: e.units for e in published}
                current = [
                    Entry(
                        a.id,
                        a.group_id,
                        a.room_id,
                        a.use_date,
                        tuple(a.period_codes),
                        units.get(a.id, ()),
                    )
                    for a in rows
                ]
                if digest(current) != drawn.digest:
                    problems.append(f"{where}: the applications differ from those drawn")
    finally:
        await engine.dispose()
    return problems
