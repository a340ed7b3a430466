"""What the facility page's fee tables say about days and estimates.

A period grid lists the day types each period runs on; where every period runs every day the
table needs no "Days" column (the same three day types repeated on each row said nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from booking.inventory import estimates
from booking.inventory.calendar import DayType
from booking.inventory.network import PeriodInfo, RoomInfo
from booking.pages.catalogue import DAY_TYPES
from booking.pages.i18n import N_, Texts

EVERY_DAY = N_("Every day")
# The order a reader expects (weekdays first), not the enum's alphabetical one.
DAY_ORDER = tuple(DayType(key) for key in DAY_TYPES)


def same_every_day(periods: Sequence[PeriodInfo]) -> bool:
    """Every period of the grid runs on every day type: one "every day" line for the table."""
    return all(p.day_types >= frozenset(DAY_ORDER) for p in periods)


def days_text(day_types: Iterable[DayType], texts: Texts) -> str:
    """平日、土曜日 / Weekdays, Saturdays; all of them: 毎日 / Every day."""
    chosen = frozenset(day_types)
    if chosen >= frozenset(DAY_ORDER):
        return texts.gettext(EVERY_DAY)
    return texts.join(texts.gettext(DAY_TYPES[d.value]) for d in DAY_ORDER if d in chosen)


def shows_estimates(
    facility_estimates: Iterable[str], rooms: Sequence[RoomInfo], rows: dict[int, Any], today: date
) -> bool:
    """Whether the page marks anything with ≈ (then it says what ≈ means)."""
    if "address" in facility_estimates:
        return True
    for room in rooms:
        row = rows.get(room.id)
        if row is not None and "capacity" in estimates.estimated(row):
            return True
        if any(p.estimated_fields for p in room.grid.periods):
            return True
        tables = [
            room.fees_on(today),
            *(f for f in room.fee_schedules if f.effective_from and f.effective_from > today),
        ]
        if any(t.is_estimate and (t.fees or t.all_day_fee) for t in tables):
            return True
    return False
