"""Issue 19: every statistics table downloads as CSV and XLSX, with the same cells in both.

A hand-built table goes through a small app as the dashboard's routes send it, and each file is
read back: the CSV with the csv module, the XLSX with openpyxl. Names typed by users that start
like a formula get the leading quote in both (and are string cells in the XLSX, never formulas);
numbers stay numbers; a rate is shown as a percentage; an empty figure is an empty cell.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, get_args

import httpx
import pytest
from litestar import Litestar, Response, get
from litestar.params import FromPath
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from booking.pages.i18n import Lang
from booking.statistics.downloads import (
    NUMBER_FORMATS,
    Format,
    download_stem,
    table_download,
    table_rows,
)
from booking.statistics.tables import Column, Name, Table, Unit
from booking.web.spreadsheet import xlsx_bytes

INJECTION = "=cmd|' /C calc'!A0"
FULL_WIDTH = "＝1+2"
TAB = "\t=1"
COLUMNS = (
    Column("facility", "Facility", "text"),
    Column("bookings", "Bookings", "count", "Test formula: bookings counted"),
    Column("win_rate", "Lottery", "rate", "Test formula: won ÷ applied"),
    # A formula is a msgid too: "Fee" has a translation that no other helper will change.
    Column("fees", "Fee", "yen", "Fee"),
)
TABLE = Table(
    key="use_by_facility",
    title="Facility",
    columns=COLUMNS,
    rows=(
        (Name(INJECTION, "=HYPERLINK(1)"), 3, 0.75, 12000),
        (Name(FULL_WIDTH, "+1"), 0, None, 0),
        (Name(TAB, "@A1"), 7, 2 / 3, 1500),
        (Name("川崎市民館　大ホール", "Kawasaki Civic Hall\tmain"), 12, 0.0, 1234567),
    ),
    note="A cell is empty where nothing was applied for.",
)
STEM = download_stem(TABLE, date(2026, 4, 1), date(2027, 3, 31))


@get("/download/{lang:str}/{fmt:str}", sync_to_thread=False)
def download(lang: FromPath[str], fmt: FromPath[str]) -> Response[Any]:
    fmt_: Format = "csv" if fmt == "csv" else "xlsx"
    lang_: Lang = "ja" if lang == "ja" else "en"
    return table_download(TABLE, lang_, fmt_, STEM)


async def fetch(fmt: str, lang: str) -> httpx.Response:
    app = Litestar([download])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"/download/{lang}/{fmt}")
    assert response.status_code == 200, response.text
    return response


def csv_rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def sheets(response: httpx.Response) -> dict[str, Worksheet]:
    workbook = load_workbook(io.BytesIO(response.content))
    return {name: workbook[name] for name in workbook.sheetnames}


async def test_the_csv_is_utf8_with_a_bom_crlf_one_header_row_and_neutralised() -> None:
    response = await fetch("csv", "ja")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="use_by_facility_20260401-20270331.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf\xe6\x96\xbd\xe8\xa8\xad,")  # BOM, 施設
    lines = response.content.split(b"\r\n")
    assert len(lines) == 1 + 4 + 1  # header, four rows, the empty rest after the last CRLF
    assert lines[-1] == b""
    assert all(b"\n" not in line for line in lines)
    assert csv_rows(response) == [
        ["施設", "予約", "抽選", "使用料"],
        ["'" + INJECTION, "3", "0.75", "12000"],
        ["'" + FULL_WIDTH, "0", "", "0"],
        ["'" + TAB, "7", repr(2 / 3), "1500"],
        ["川崎市民館　大ホール", "12", "0.0", "1234567"],
    ]


async def test_the_xlsx_has_the_same_cells_numbers_as_numbers_and_text_never_a_formula() -> None:
    response = await fetch("xlsx", "ja")
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"] == (
        'attachment; filename="use_by_facility_20260401-20270331.xlsx"'
    )
    found = sheets(response)
    assert list(found) == ["施設", "定義"]
    table = found["施設"]
    assert [[cell.value for cell in row] for row in table.iter_rows()] == [
        ["施設", "予約", "抽選", "使用料"],
        ["'" + INJECTION, 3, 0.75, 12000],
        ["'" + FULL_WIDTH, 0, None, 0],
        ["'" + TAB, 7, 2 / 3, 1500],
        ["川崎市民館　大ホール", 12, 0, 1234567],
    ]
    for row in table.iter_rows():
        for cell in row:
            assert cell.data_type in {"s", "n"}, (cell.coordinate, cell.value, cell.data_type)
            if isinstance(cell.value, str):
                assert cell.data_type == "s"
    rates = [row[2] for row in table.iter_rows(min_row=2)]
    assert {cell.number_format for cell in rates if cell.value is not None} == {"0.0%"}
    assert {row[3].number_format for row in table.iter_rows(min_row=2)} == {"#,##0"}
    assert {row[1].number_format for row in table.iter_rows(min_row=2)} == {"General"}
    assert table.freeze_panes == "A2"
    # 川崎市民館　大ホール is ten full-width characters: twenty wide, plus a margin.
    assert table.column_dimensions["A"].width == 22
    assert table.column_dimensions["B"].width == 8  # 予約 and two digits: the least width


async def test_the_definitions_sheet_lists_each_figure_with_its_formula_and_the_note() -> None:
    ja = sheets(await fetch("xlsx", "ja"))["定義"]
    assert [[cell.value for cell in row] for row in ja.iter_rows()] == [
        ["列", "計算式"],
        ["予約", "Test formula: bookings counted"],
        ["抽選", "Test formula: won ÷ applied"],
        ["使用料", "使用料"],
        ["備考", "A cell is empty where nothing was applied for."],
    ]
    en = sheets(await fetch("xlsx", "en"))
    assert list(en) == ["Facility", "Definitions"]
    assert [cell.value for cell in next(en["Definitions"].iter_rows())] == ["Column", "Formula"]


async def test_in_english_the_header_and_names_are_english_and_both_files_agree() -> None:
    rows = csv_rows(await fetch("csv", "en"))
    table = sheets(await fetch("xlsx", "en"))["Facility"]
    assert rows[0] == ["Facility", "Bookings", "Lottery", "Fee"]
    assert [row[0] for row in rows[1:]] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'@A1",
        "Kawasaki Civic Hall\tmain",
    ]
    assert table.max_row == len(rows)
    for line, row in zip(rows, table.iter_rows(), strict=True):
        for text, cell in zip(line, row, strict=True):
            if cell.value is None:
                assert text == ""
            elif isinstance(cell.value, str):
                assert text == cell.value
            else:
                assert float(text) == cell.value


def test_table_rows_gives_names_in_the_language_and_none_for_an_empty_figure() -> None:
    header, rows = table_rows(TABLE, "en")
    assert header == ["Facility", "Bookings", "Lottery", "Fee"]
    assert rows[1] == ["+1", 0, None, 0]  # neutralised by the writer, not here


@pytest.mark.parametrize(
    "stem", ["", 'x"; filename="evil', "川崎", "a/b", "a b", "x" * 101, "a\r\nb"]
)
def test_a_file_name_that_is_not_ours_is_refused(stem: str) -> None:
    with pytest.raises(ValueError, match="not a file name of ours"):
        table_download(TABLE, "ja", "csv", stem)


def test_a_control_character_xml_cannot_carry_is_dropped_and_sheet_names_made_valid() -> None:
    content = xlsx_bytes("Use: by [facility]/room?" * 2, ["name"], [["a\x0bb"], ["\x01=1"]])
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Use_ by _facility__room_Use_ by"]
    assert [row[0].value for row in workbook.active.iter_rows(min_row=2)] == ["ab", "=1"]


async def test_a_month_column_is_titled_in_the_language_and_a_ratio_has_one_decimal() -> None:
    """A heat map's table: its columns are months of the data (names, not msgids); a ratio
    (applicants a slot) is a number with one decimal shown, not a percentage."""
    table = Table(
        key="heat_map",
        title="Facility",
        columns=(
            Column("facility", "Facility", "text"),
            Column("2026-04", Name("4月", "Apr"), "ratio", "Test formula: applicants a slot"),
        ),
        rows=((Name("川崎", "Kawasaki"), 2.4),),
    )
    assert table_rows(table, "ja") == (["施設", "4月"], [["川崎", 2.4]])
    assert table_rows(table, "en") == (["Facility", "Apr"], [["Kawasaki", 2.4]])
    response = table_download(table, "ja", "xlsx", "heat_map")
    workbook = load_workbook(io.BytesIO(response.content))
    cell = workbook["施設"]["B2"]
    assert (cell.value, cell.number_format) == (2.4, "0.0")
    assert [c.value for c in workbook["定義"]["A2":"B2"][0]] == [
        "4月",
        "Test formula: applicants a slot",
    ]


def test_every_unit_has_its_number_format() -> None:
    assert set(NUMBER_FORMATS) == set(get_args(Unit))
