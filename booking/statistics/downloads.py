"""Every statistics table as a download: CSV (UTF-8 with a BOM, one header row) and XLSX.

Both files carry the same cells, through booking.web.spreadsheet: the header is the columns'
titles in the page's language, a name in that language, a number as a number, an empty cell
where a figure has none (a rate over nothing). The XLSX shows a rate as a percentage, a ratio
with one decimal and yen with separators, and a second sheet, "定義" / "Definitions", lists
each figure column with its formula (and the table's note): a machine reading the CSV gets
one header row, a person opening the workbook finds how every figure was computed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from litestar import Response

from booking.pages.i18n import N_, Lang, translations
from booking.statistics.tables import Name, Table, Unit
from booking.web.spreadsheet import (
    PERCENT,
    RATIO,
    YEN,
    Cell,
    Sheet,
    csv_response,
    xlsx_response,
)

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
NUMBER_FORMATS: dict[Unit, str | None] = {
    "text": None,
    "count": None,
    "rate": PERCENT,
    "ratio": RATIO,
    "yen": YEN,
}
# A file name is ours: a table's key and dates, nothing a user typed.
STEM = re.compile(r"[A-Za-z0-9_.-]{1,100}")

DEFINITIONS = N_("Definitions")
COLUMN = N_("Column")
FORMULA = N_("Formula")
NOTE = N_("Note")


def table_rows(table: Table, lang: Lang) -> tuple[list[str], list[list[Cell]]]:
    """The header (column titles translated) and the rows (names in `lang`, numbers as they
    are, None where a figure has no value: written as an empty cell)."""
    header = [column.title_in(lang) for column in table.columns]
    rows = [[_cell(value, lang) for value in row] for row in table.rows]
    return header, rows


def definitions(table: Table, lang: Lang) -> Sheet:
    """The workbook's second sheet: each figure column's title and formula, then the note."""
    gettext = translations(lang).gettext
    rows: list[list[Cell]] = [
        [column.title_in(lang), gettext(column.formula)]
        for column in table.columns
        if column.formula is not None
    ]
    if table.note is not None:
        rows.append([gettext(NOTE), gettext(table.note)])
    return Sheet(gettext(DEFINITIONS), [gettext(COLUMN), gettext(FORMULA)], rows)


def download_stem(table: Table, start: date, end: date) -> str:
    """The file name's stem: "occupancy_by_facility_20260401-20270331"."""
    return f"{table.key}_{start:%Y%m%d}-{end:%Y%m%d}"


def table_download(table: Table, lang: Lang, fmt: Format, stem: str) -> Response[Any]:
    """The table as `{stem}.csv` or `{stem}.xlsx`, an attachment. `stem` is ours (see
    download_stem); anything else is refused, so no user text reaches the header."""
    if not STEM.fullmatch(stem):
        raise ValueError(f"not a file name of ours: {stem!r}")
    header, rows = table_rows(table, lang)
    filename = f"{stem}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    if fmt == "xlsx":
        formats = [NUMBER_FORMATS[column.unit] for column in table.columns]
        title = translations(lang).gettext(table.title)
        return xlsx_response(
            filename, title, header, rows, formats=formats, more=[definitions(table, lang)]
        )
    raise ValueError(f"not a download format: {fmt!r}")


def _cell(value: Cell | Name, lang: Lang) -> Cell:
    if isinstance(value, Name):
        return value.in_lang(lang)
    return value
