"""The change log that keeps the cached statistics true (statistics/versions.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base


class StatisticsChange(Base):
    """One row per change to a row the statistics count, appended by database triggers.

    Triggers on bookings, lottery applications and wait-list entries append the use month
    and the table; a change to a group's category or residency appends NULL (every month).
    The table lets a month's booking counts and its demand counts be read again apart: a
    booking changes many times a day, the lottery's rows in its application and draw days.
    Appending takes no lock another writer waits for, unlike a counter row every booking
    would update.

    A month's version counts its rows: the count rises with every commit, in whatever order
    the commits land (the largest id would not: a transaction may commit after one that drew
    a later id). The worker prunes the log once a day and appends a NULL row as it does,
    whose id no earlier version holds, so a pruned count is never taken for an unchanged one.
    """

    __tablename__ = "statistics_changes"
    __table_args__ = (Index("ix_statistics_changes_month", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date | None] = mapped_column(Date)  # the first day; NULL: every month
    # bookings | lottery_applications | waitlist_entries | groups (a prune: statistics_changes)
    source: Mapped[str] = mapped_column(String(24))
