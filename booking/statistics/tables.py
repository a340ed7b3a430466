"""A statistics table as every consumer receives it: the dashboard, the API, CSV and XLSX.

A table is language-neutral: column titles are English msgids (translated where shown) and a
name cell carries both languages; numbers stay numbers. A rate is a float from 0 to 1, or None
where its denominator is 0 (nothing to divide: shown as a dash, never as 0 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from booking.pages.i18n import Lang, translations

# ratio: a mean such as 2.4 applicants a slot (a float, or None with nothing to divide)
Unit = Literal["text", "count", "rate", "ratio", "yen"]


@dataclass(frozen=True, slots=True)
class Name:
    """A name in both languages: a facility, a room, a ward, a month, a period."""

    ja: str
    en: str

    def in_lang(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


Cell = Name | int | float | None


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the API's and the JSON's field name: "occupancy", "facility"
    # An English msgid, marked with N_ where defined; a Name where the column is a value of
    # the data (a month of a heat map's table).
    title: str | Name
    unit: Unit
    # The formula shown beside the figure (an English msgid); None for a name column.
    formula: str | None = None

    def title_in(self, lang: Lang) -> str:
        """The title in `lang`: a msgid translated, or a name of the data in that language."""
        if isinstance(self.title, Name):
            return self.title.in_lang(lang)
        return translations(lang).gettext(self.title)


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # e.g. "occupancy_by_facility": a file name's stem and an element id
    title: str  # an English msgid
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    # Why a cell is empty or a row is missing (an English msgid), e.g. the anonymity rule.
    note: str | None = None
