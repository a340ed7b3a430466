"""The statistics as tables: counts of the span's months, grouped, divided (figures.py).

Every consumer calls these: the staff pages, the staff API, the downloads, the open data.
`facility_ids=None` is the whole network; a manager's view passes their facilities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import GroupCategory
from booking.errors import InvalidInput
from booking.inventory.models import FacilityKind, Ward
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.pages.i18n import N_, translations
from booking.settings import Settings
from booking.statistics import figures
from booking.statistics.counts import (
    SLOT_COUNTS,
    USE_COUNTS,
    CountsCache,
    MonthCounts,
    day_type_of_key,
    read_month,
)
from booking.statistics.span import Span, month_end
from booking.statistics.tables import Cell, Column, Name, Table

Dimension = Literal[
    "facility", "room", "ward", "kind", "period", "day_type", "weekday", "month", "category",
    "residency",
]  # fmt: skip
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
SLOT_DIMENSIONS = frozenset(DIMENSIONS) - {"category", "residency"}
USE_DIMENSIONS = frozenset(DIMENSIONS) - {"period"}

DAY_TYPES = {
    "weekday": N_("Weekdays"),
    "saturday": N_("Saturdays"),
    "sunday_holiday": N_("Sundays and holidays"),
}
WEEKDAYS = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
    N_("Sunday"), N_("Public holiday"),
)  # fmt: skip
CATEGORIES = {
    GroupCategory.GENERAL.value: N_("General"),
    GroupCategory.EXEMPT.value: N_("Exempt (reduced fees)"),
    GroupCategory.COMMERCIAL.value: N_("Commercial"),
    GroupCategory.SENIOR_CIVIC.value: N_("Civic group at a senior recreation centre"),
    GroupCategory.CHILDREN_CENTRE.value: N_("Group of a children's culture centre"),
}
UNKNOWN_WARD = Name("区不明", "Ward unknown")
DIMENSION_COLUMNS: dict[Dimension, tuple[Column, ...]] = {
    "facility": (Column("facility", N_("Facility"), "text"),),
    "room": (Column("facility", N_("Facility"), "text"), Column("room", N_("Room"), "text")),
    "ward": (Column("ward", N_("Ward"), "text"),),
    "kind": (Column("kind", N_("Kind of facility"), "text"),),
    "period": (Column("period", N_("Period"), "text"),),
    "day_type": (Column("day_type", N_("Day"), "text"),),
    "weekday": (Column("weekday", N_("Day of the week"), "text"),),
    "month": (Column("month", N_("Month"), "text"),),
    "category": (Column("category", N_("Category of group"), "text"),),
    "residency": (Column("residency", N_("In or out of the city"), "text"),),
}

Sort = tuple[object, ...]
Label = tuple[Sort, tuple[Name, ...]]


def both(message: str) -> Name:
    """A msgid as a Name in both languages."""
    return Name(translations("ja").gettext(message), message)


def month_name(month: date) -> Name:
    return Name(f"{month.year}年{month.month}月", f"{month:%b %Y}")


def checked_dimension(
    value: str, allowed: frozenset[Dimension], field: str = "group_by"
) -> Dimension:
    if value not in allowed:
        choices = ", ".join(d for d in DIMENSIONS if d in allowed)
        raise InvalidInput(f"must be one of {choices}", field=field)
    return value


@dataclass
class Names:
    """What the dimensions are called: the network's own names and the two small tables."""

    network: NetworkSnapshot
    wards: dict[int, Name]
    kinds: dict[str, Name]

    def label(  # noqa: PLR0911 - one case per dimension
        self, dimension: Dimension, month: date, room: RoomInfo | None, key: tuple[object, ...]
    ) -> Label:
        if dimension == "month":
            return ((month,), (month_name(month),))
        if dimension not in _BY_ROOM:
            return self._of_key(dimension, key)
        assert room is not None  # noqa: S101 - _project keeps the room for these dimensions
        facility = self.network.facilities[room.facility_id]
        if dimension == "facility":
            return (self.order(room)[:3], (Name(facility.name_ja, facility.name_en),))
        if dimension == "room":
            return (
                self.order(room),
                (Name(facility.name_ja, facility.name_en), Name(room.name_ja, room.name_en)),
            )
        if dimension == "ward":
            ward = self.wards.get(facility.ward_id) if facility.ward_id else None
            return ((ward is None, facility.ward_id or 0), (ward or UNKNOWN_WARD,))
        if dimension == "kind":
            return (
                (facility.kind,),
                (self.kinds.get(facility.kind, Name(facility.kind, facility.kind)),),
            )
        code = str(key[1])
        period = next((p for p in room.grid.periods if p.code == code), None)
        if period is None:
            return ((99, code), (Name(code, code),))
        return ((period.start, period.name_ja), (Name(period.name_ja, period.name_en),))

    def _of_key(self, dimension: Dimension, key: tuple[object, ...]) -> Label:
        """The dimensions read from a count's key alone, whatever its room."""
        if dimension == "weekday":
            day = int(str(key[0]))
            return ((day,), (both(WEEKDAYS[day]),))
        if dimension == "day_type":
            kind = day_type_of_key(int(str(key[0])))
            return ((list(DAY_TYPES).index(kind.value),), (both(DAY_TYPES[kind.value]),))
        if dimension == "category":
            category = str(key[1])
            order = list(CATEGORIES).index(category) if category in CATEGORIES else 99
            return ((order,), (both(CATEGORIES.get(category, category)),))
        in_city = bool(key[2])
        return ((not in_city,), (both(N_("In the city") if in_city else N_("Out of the city")),))

    def order(self, room: RoomInfo) -> Sort:
        facility = self.network.facilities[room.facility_id]
        ward = self.wards.get(facility.ward_id) if facility.ward_id else None
        return (ward is None, facility.ward_id or 0, facility.id, self.room_order[room.id])

    @cached_property
    def room_order(self) -> dict[int, int]:
        return {room.id: index for index, room in enumerate(self.network.rooms)}


async def names(session: AsyncSession, network: NetworkSnapshot) -> Names:
    wards = {w.id: Name(w.name_ja, w.name_en) for w in (await session.scalars(select(Ward))).all()}
    kinds = {
        k.key: Name(k.name_ja, k.name_en)
        for k in (await session.scalars(select(FacilityKind))).all()
    }
    return Names(network, wards, kinds)


@dataclass(frozen=True)
class Source:
    """Where a report reads: the session, the network, the process's counts, the time zone."""

    session: AsyncSession
    network: NetworkSnapshot
    cache: CountsCache
    tz: ZoneInfo
    max_age: float = 0.0  # CountsCache.months: serve months found current this recently
    _names: list[Names] = field(default_factory=list, compare=False)

    @classmethod
    def of(
        cls,
        session: AsyncSession,
        network: NetworkSnapshot,
        cache: CountsCache,
        settings: Settings,
    ) -> Source:
        """A request's source: the settings' time zone and the age its figures may have."""
        return cls(session, network, cache, settings.tz, settings.statistics_max_age_seconds)

    async def names(self) -> Names:
        """The dimensions' names, read once a request (a dashboard groups nine times)."""
        if not self._names:
            self._names.append(await names(self.session, self.network))
        return self._names[0]

    async def counts(self, span: Span) -> list[MonthCounts]:
        """Whole months from the cache; a month the span cuts is read for its days alone."""
        whole, parts = [], []
        for month in span.months():
            last = month_end(month)
            first, end = max(month, span.start), min(last, span.end)
            if (first, end) == (month, last):
                whole.append(month)
            else:
                parts.append(await read_month(self.session, self.network, first, self.tz, last=end))
        kept = await self.cache.months(
            self.session, self.network, whole, self.tz, max_age=self.max_age
        )
        return [*kept, *parts]


def _rooms(network: NetworkSnapshot, facility_ids: frozenset[int] | None) -> dict[int, RoomInfo]:
    return {r.id: r for r in network.rooms if facility_ids is None or r.facility_id in facility_ids}


def _grouped(
    months: Sequence[MonthCounts],
    facility_ids: frozenset[int] | None,
    labels: Names,
    dimensions: Sequence[Dimension],
    *,
    uses: bool,
) -> dict[tuple[Label, ...], list[int]]:
    """The counts summed per value of the dimensions. Each month's sums are kept on its counts
    (which a new version replaces), so a dashboard after one booking sums one month again."""
    width = len(USE_COUNTS if uses else SLOT_COUNTS)
    totals: dict[tuple[Label, ...], list[int]] = defaultdict(lambda: [0] * width)
    memo_key = (tuple(dimensions), uses, facility_ids)
    for counts in months:
        part = counts.grouped.get(memo_key)
        if part is None:
            part = counts.grouped[memo_key] = _group_month(
                counts, facility_ids, labels, dimensions, uses=uses
            )
        for group, values in part.items():
            total = totals[group]
            for index, value in enumerate(values):
                total[index] += value
    return totals


# The part of a count's key (after the room) each dimension reads; None: the room's alone.
_KEY_PART: dict[Dimension, int | None] = {
    "weekday": 0, "day_type": 0, "period": 1, "category": 1, "residency": 2,
}  # fmt: skip
_BY_ROOM = frozenset({"facility", "room", "ward", "kind", "period"})


def _group_month(
    counts: MonthCounts,
    facility_ids: frozenset[int] | None,
    labels: Names,
    dimensions: Sequence[Dimension],
    *,
    uses: bool,
) -> dict[tuple[Label, ...], tuple[int, ...]]:
    """A month's counts summed per value of the dimensions: first projected on the parts of
    the key the dimensions read (kept with the counts: most groupings share one), then named."""
    width = len(USE_COUNTS if uses else SLOT_COUNTS)
    sums: dict[tuple[Label, ...], list[int]] = defaultdict(lambda: [0] * width)
    rooms = _rooms(labels.network, facility_ids)
    known: dict[tuple[object, ...], Label] = {}
    for key, values in _project(counts, rooms, facility_ids, dimensions, uses=uses).items():
        room = None if key[0] is None else rooms[int(str(key[0]))]
        group = []
        for dimension in dimensions:
            seen = (dimension, *key)
            label = known.get(seen)
            if label is None:
                label = known[seen] = labels.label(dimension, counts.month, room, key[1:])
            group.append(label)
        total = sums[tuple(group)]
        for index, value in enumerate(values):
            total[index] += value
    return {group: tuple(values) for group, values in sums.items()}  # kept: see MonthCounts


def _project(
    counts: MonthCounts,
    rooms: dict[int, RoomInfo],
    facility_ids: frozenset[int] | None,
    dimensions: Sequence[Dimension],
    *,
    uses: bool,
) -> dict[tuple[object, ...], tuple[int, ...]]:
    """The month's counts of the rooms in scope, summed over the parts of their keys no
    dimension reads (such a part becomes None)."""
    width = len(USE_COUNTS if uses else SLOT_COUNTS)
    keep = (
        any(d in _BY_ROOM for d in dimensions),
        *(any(_KEY_PART.get(d) == part for d in dimensions) for part in range(3 if uses else 2)),
    )
    memo_key = ("projection", keep, uses, facility_ids)
    found: dict[tuple[object, ...], tuple[int, ...]] | None = counts.grouped.get(memo_key)
    if found is not None:
        return found
    sums: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0] * width)
    entries: Iterator[tuple[tuple[object, ...], Sequence[int]]] = iter(
        counts.uses.items() if uses else counts.slots.items()
    )
    for key, values in entries:
        if key[0] not in rooms:
            continue
        total = sums[tuple(part if kept else None for part, kept in zip(key, keep, strict=True))]
        for index, value in enumerate(values):
            total[index] += value
    found = counts.grouped[memo_key] = {key: tuple(values) for key, values in sums.items()}
    return found


def slots_by_room(counts: MonthCounts, network: NetworkSnapshot) -> dict[int, tuple[int, ...]]:
    """A month's slot counts summed per room of the network (kept with the counts)."""
    projected = _project(counts, _rooms(network, None), None, ("room",), uses=False)
    return {int(str(key[0])): values for key, values in projected.items()}


def _rate(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def occupancy_cells(c: Sequence[int]) -> tuple[Cell, ...]:
    return (c[0], c[1], _rate(c[1], c[0]))


def demand_cells(c: Sequence[int]) -> tuple[Cell, ...]:
    bookable, _booked, lottery, applications, contested, winning, waiting, first = c
    return (
        bookable,
        lottery,
        applications,
        _rate(applications, lottery, 2),
        contested,
        winning,
        _rate(winning, applications),
        applications - winning,
        waiting,
        first,
    )


def use_cells(c: Sequence[int]) -> tuple[Cell, ...]:
    return tuple(c)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    figures: tuple[Column, ...]
    cells: Callable[[Sequence[int]], tuple[Cell, ...]]
    uses: bool
    allowed: frozenset[Dimension]


OCCUPANCY = Report(
    "occupancy",
    N_("Occupancy"),
    figures.OCCUPANCY_FIGURES,
    occupancy_cells,
    uses=False,
    allowed=SLOT_DIMENSIONS,
)
DEMAND = Report(
    "demand",
    N_("Demand"),
    figures.DEMAND_FIGURES,
    demand_cells,
    uses=False,
    allowed=SLOT_DIMENSIONS,
)
USE = Report("use", N_("Use"), figures.USE_FIGURES, use_cells, uses=True, allowed=USE_DIMENSIONS)
REPORTS = {report.key: report for report in (OCCUPANCY, DEMAND, USE)}


async def table(
    source: Source,
    report: Report,
    span: Span,
    group_by: Sequence[Dimension],
    facility_ids: frozenset[int] | None = None,
) -> Table:
    """The report's figures per value of the dimensions (one or two), in their order."""
    for dimension in group_by:
        checked_dimension(dimension, report.allowed)
    labels = await source.names()
    totals = _grouped(await source.counts(span), facility_ids, labels, group_by, uses=report.uses)
    rows = tuple(
        (*(name for _sort, cells in group for name in cells), *report.cells(values))
        for group, values in sorted(totals.items(), key=lambda item: [s for s, _ in item[0]])
    )
    columns = tuple(c for d in group_by for c in DIMENSION_COLUMNS[d]) + report.figures
    return Table(f"{report.key}_by_{'_'.join(group_by)}", report.title, columns, rows)


async def total(
    source: Source, report: Report, span: Span, facility_ids: frozenset[int] | None = None
) -> tuple[Cell, ...]:
    """The report's figures over the whole span and scope: the dashboard's headline."""
    labels = await source.names()
    totals = _grouped(await source.counts(span), facility_ids, labels, (), uses=report.uses)
    width = len(USE_COUNTS if report.uses else SLOT_COUNTS)
    return report.cells(totals.get((), [0] * width))


@dataclass(frozen=True)
class HeatMap:
    rows: tuple[Name, ...]
    columns: tuple[Name, ...]
    values: tuple[tuple[float | None, ...], ...]  # occupancy, None where nothing was bookable
    table: Table


async def heat_map(
    source: Source,
    span: Span,
    rows: Dimension,
    columns: Dimension,
    facility_ids: frozenset[int] | None = None,
) -> HeatMap:
    """Occupancy by two dimensions (room × month, weekday × period), with its table: the same
    figures in rows and columns, for screen readers and for copying."""
    for dimension in (rows, columns):
        checked_dimension(dimension, OCCUPANCY.allowed, "by")
    labels = await source.names()
    totals = _grouped(await source.counts(span), facility_ids, labels, (rows, columns), uses=False)
    row_labels = sorted({group[0] for group in totals}, key=lambda label: label[0])
    column_labels = sorted({group[1] for group in totals}, key=lambda label: label[0])
    values = tuple(
        tuple(
            _rate(totals[(row, column)][1], totals[(row, column)][0])
            if (row, column) in totals
            else None
            for column in column_labels
        )
        for row in row_labels
    )
    column_names = tuple(names_[0] for _sort, names_ in column_labels)
    pivot = Table(
        f"occupancy_{rows}_{columns}",
        N_("Occupancy"),
        (
            *DIMENSION_COLUMNS[rows],
            *(Column(f"c{i + 1}", name, "rate") for i, name in enumerate(column_names)),
        ),
        tuple((*names_, *line) for (_sort, names_), line in zip(row_labels, values, strict=True)),
    )
    return HeatMap(
        tuple(
            Name(" ".join(n.ja for n in ns), " ".join(n.en for n in ns)) for _s, ns in row_labels
        ),
        column_names,
        values,
        pivot,
    )
