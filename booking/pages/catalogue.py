"""Names the pages show for keys of the data (wards, facility kinds, purposes, periods).

Read once per inventory revision and kept with the network snapshot (it changes with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.calendar import day_type
from booking.inventory.models import FacilityKind, Purpose, Ward
from booking.inventory.network import NetworkSnapshot, PeriodInfo, RoomInfo
from booking.pages.i18n import N_

DAY_TYPES = {
    "weekday": N_("Weekdays"),
    "saturday": N_("Saturdays"),
    "sunday_holiday": N_("Sundays and holidays"),
}

Names = dict[str, tuple[str, str]]  # key -> (ja, en), in the data's order


@dataclass(frozen=True, slots=True)
class Catalogue:
    wards: Names
    kinds: Names
    purposes: Names
    rooms: dict[int, RoomInfo]

    def periods_on(self, room: RoomInfo, day: date) -> list[PeriodInfo]:
        codes = room.grid.codes_by_day_type.get(day_type(day), ())
        return [p for p in room.grid.periods if p.code in codes]


async def catalogue(session: AsyncSession, snapshot: NetworkSnapshot) -> Catalogue:
    found = snapshot.derived.get(Catalogue)
    if isinstance(found, Catalogue):
        return found
    wards = (await session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id))).all()
    kinds = (await session.scalars(select(FacilityKind).order_by(FacilityKind.id))).all()
    purposes = (await session.scalars(select(Purpose).order_by(Purpose.id))).all()
    made = Catalogue(
        wards={w.key: (w.name_ja, w.name_en) for w in wards},
        kinds={k.key: (k.name_ja, k.name_en) for k in kinds if k.key in snapshot.kinds},
        purposes={p.key: (p.name_ja, p.name_en) for p in purposes},
        rooms={room.id: room for room in snapshot.rooms},
    )
    snapshot.derived[Catalogue] = made
    return made
