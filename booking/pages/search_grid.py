"""The search page's grid: rooms by days, one line per period with its label in view (phones
cannot hover), Sundays and public holidays coloured alike, and a week view for phones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from babel.dates import format_skeleton

from booking.inventory.calendar import holidays_of_year
from booking.inventory.network import PeriodInfo, RoomInfo
from booking.inventory.policy import Phase, booking_phase
from booking.pages.catalogue import Catalogue
from booking.pages.i18n import N_, Texts
from booking.reservations.availability import SlotState

HOLIDAY = N_("public holiday")  # an English page's word for the day (a Japanese one names it)

# A mark of the grid: the state, the applicants (lottery) or groups waiting (taken), and
# whether the wait list takes it (a taken slot of an online room in the first-come window).
Mark = tuple[str, int | None, bool]


@dataclass(frozen=True, slots=True)
class GridLine:
    """One period of a room across the range: its label and each day's mark, None where the
    period is not one of that day's (a Sunday without an evening)."""

    period: PeriodInfo
    label: str
    start: str | None  # 13:00, where two periods of the room share a name
    marks: list[Mark | None]


@dataclass(frozen=True, slots=True)
class GridRow:
    room: RoomInfo
    facility_name: str
    room_name: str
    phone: str | None  # how to book a counter-only room
    lines: list[GridLine]


@dataclass(frozen=True, slots=True)
class GridDay:
    day: date
    number: int  # 3
    weekday: str  # 木 / Thu
    words: str  # 12月3日(木) 文化の日: the column's name for screen readers
    kind: str  # the header's class: "sun" (Sundays and public holidays, alike), "sat" or ""


@dataclass(frozen=True, slots=True)
class GridHead:
    """The grid's days and the links between its views (the week view is a phone's)."""

    days: list[GridDay]
    week: str  # this range's first week
    month: str  # a month from this range's first day
    previous: str | None  # the week before (None: it would start before today)
    next: str


def grid_rows(
    rooms: list[Any], names: Catalogue, lang: str, today: date, days: list[date]
) -> list[GridRow]:
    """A row a room, a line a period of its grid that has a mark in the range (in the order of
    the day), a mark a day of `days`."""
    index = {day.isoformat(): i for i, day in enumerate(days)}
    rows = []
    for found in rooms:
        room = names.rooms[found.room_id]
        by_code: dict[str, list[Mark | None]] = {}
        for day in found.days:
            i = index[day.date]
            for s in day.slots:
                marks = by_code.get(s.period)
                if marks is None:
                    marks = by_code[s.period] = [None] * len(days)
                taken = s.state == SlotState.BOOKED
                joinable = (
                    taken
                    and room.online_bookable
                    and booking_phase(room.policy_on(days[i]), days[i], today) is Phase.OPEN
                )
                marks[i] = (s.state, s.waiting if taken else s.applicants, joinable)
        periods = sorted(
            (p for p in room.grid.periods if p.code in by_code), key=lambda p: (p.start, p.code)
        )
        rows.append(
            GridRow(
                room,
                found.facility_name_ja if lang == "ja" else found.facility_name_en,
                found.room_name_ja if lang == "ja" else found.room_name_en,
                found.phone,
                [GridLine(p, *label, by_code[p.code]) for p, label in _labels(periods, lang)],
            )
        )
    return rows


def _labels(
    periods: list[PeriodInfo], lang: str
) -> list[tuple[PeriodInfo, tuple[str, str | None]]]:
    """Each period's short name (午前 / Morning), and its start where two share a name (a grid
    that splits the afternoon)."""
    named = [(p, p.name_ja if lang == "ja" else p.name_en) for p in periods]
    seen = [name for _, name in named]
    return [(p, (name, f"{p.start:%H:%M}" if seen.count(name) > 1 else None)) for p, name in named]


def grid_head(days: list[date], query: str, today: date, texts: Texts) -> GridHead:
    """The days' headers (built once a page: a month is 31) and the links between views."""
    holiday_word = texts.gettext(HOLIDAY)
    head = []
    for day in days:
        holiday = holidays_of_year(day.year).get(day)
        words = texts.day(day)
        if holiday:
            words = f"{words} {holiday if texts.lang == 'ja' else holiday_word}"
        kind = "sun" if day.weekday() == 6 or holiday else "sat" if day.weekday() == 5 else ""
        weekday = format_skeleton("E", day, locale=texts.lang)
        head.append(GridDay(day, day.day, weekday, words, kind))
    first = days[0] if days else today
    before = first - timedelta(days=7)
    return GridHead(
        head,
        week=_moved(query, "week", first),
        month=_moved(query, "grid", first),
        previous=_moved(query, "week", max(before, today)) if first > today else None,
        next=_moved(query, "week", first + timedelta(days=7)),
    )


def _moved(query: str, view: str, start: date) -> str:
    """The search with another view from another first day (`to` dropped: each view has its
    own span)."""
    kept = [(k, v) for k, v in parse_qsl(query) if k not in ("view", "from", "to", "page")]
    return "/search?" + urlencode([*kept, ("from", start.isoformat()), ("view", view)])
