"""Open data: occupancy and demand per room and month of a fiscal year, anonymised.

One row per active room × month of the 年度 (April to March), in the style of Japanese
municipal open data: CSV in UTF-8 with a BOM and Japanese column names, JSON with English
keys, a schema describing both, under CC BY 4.0. No totals rows: a total printed beside a
suppressed cell would give the cell away by subtraction.

The anonymity rule: a room-month's booked figures are published only when at least
`Settings.open_data_minimum_groups` distinct groups booked it (MonthCounts.groups_booking),
its demand figures only when as many applied in its lottery (groups_applying). Fewer, and the
figures are left blank (null) and the row flagged 秘匿 / "suppressed": true, with the rates made
of them. Nobody at all (0 groups) is published as 0: it identifies nobody. The counts are the
dashboard's (report.Source and its CountsCache).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from booking.inventory.network import RoomInfo
from booking.pages.i18n import translations
from booking.statistics import figures
from booking.statistics.counts import (
    APPLICATIONS,
    BOOKABLE,
    BOOKED_SLOTS,
    CONTESTED,
    LOTTERY,
    SLOT_COUNTS,
    WAITING,
    WINNING,
    MonthCounts,
)
from booking.statistics.report import Names, Source, slots_by_room
from booking.statistics.span import Span
from booking.statistics.tables import Column
from booking.web.spreadsheet import Cell, csv_text

Kind = Literal["integer", "number", "string"]
Value = str | int | float | None

LICENCE_JA = "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）"
LICENCE_EN = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.ja"
SUPPRESSED_KEY = "suppressed"
NOTES_EN = (
    (
        "One row per active room and month of the fiscal year (April to March); retired rooms are "
        "not published."
    ),
    (
        "A room-month's booked figures are published only when at least {n} distinct groups "
        "booked the room in the month, its demand figures only when at least {n} groups applied "
        "in its lottery; otherwise they are blank (CSV) or null (JSON), the rates made of them "
        "too, and 秘匿 is 1 (suppressed: true). A month nobody booked or applied in is published "
        "as 0. Wait-list joins in a month nobody applied in the lottery are withheld too (their "
        "groups are not counted)."
    ),
    (
        "There are no totals rows: a total beside a suppressed cell would give the cell away by "
        "subtraction. Sums of the published rows leave the suppressed ones out."
    ),
    "A slot is one period of a day (午前, 午後, 夜間...) of one room; a closed day has none.",
)
NOTES_JA = (
    "年度（4月〜翌年3月）の室場ごと・月ごとに1行。廃止された室場は掲載していません。",
    (
        "室場・月ごとに、利用したグループが{n}団体未満の場合は利用の数値を、抽選に申し込んだ"
        "グループが{n}団体未満の場合は申込の数値を秘匿し、空欄（JSONではnull）とします。"
        "その数値から計算する率も秘匿し、秘匿列を1とします。利用・申込がない月は0として掲載します。"
        "抽選の申込がなくキャンセル待ちの登録がある月も秘匿します（登録した団体数を数えていないため）。"
    ),
    "合計行は掲載していません。秘匿した数値が合計との差から分かってしまうためです。",
    "コマは室場の1日の利用区分（午前・午後・夜間など）です。休館日にはコマはありません。",
)


@dataclass(frozen=True)
class OpenColumn:
    key: str  # the JSON's key
    name_ja: str  # the CSV's header
    name_en: str
    kind: Kind
    unit: str  # the unit in words: "slots", "ratio 0-1", "" for a name
    description_en: str
    figure: Column | None = None  # the statistics figure it publishes (its formula)
    # Left blank when the row is suppressed
    suppressible: bool = False
    description_ja: str = ""  # a figure's is its formula's translation


@dataclass(frozen=True)
class Place:
    fiscal_year: int
    month: str
    ward: str
    kind: str
    facility: str
    facility_key: str
    room: str
    room_key: str


PLACE_COLUMNS = (
    OpenColumn(
        "fiscal_year",
        "年度",
        "Fiscal year",
        "integer",
        "",
        "April to the next March",
        description_ja="4月から翌年3月まで",
    ),
    OpenColumn(
        "month", "月", "Month", "string", "", "the month, YYYY-MM", description_ja="年月（YYYY-MM）"
    ),
    OpenColumn(
        "ward",
        "区",
        "Ward",
        "string",
        "",
        "the ward the facility stands in",
        description_ja="施設の所在区",
    ),
    OpenColumn(
        "facility_kind",
        "施設種別",
        "Kind of facility",
        "string",
        "",
        "e.g. 市民館",
        description_ja="市民館など",
    ),
    OpenColumn(
        "facility",
        "施設名",
        "Facility",
        "string",
        "",
        "the facility's name",
        description_ja="施設の名称",
    ),
    OpenColumn(
        "facility_id",
        "施設ID",
        "Facility ID",
        "string",
        "",
        "the facility's key",
        description_ja="施設の識別子",
    ),
    OpenColumn(
        "room", "室場名", "Room", "string", "", "the room's name", description_ja="室場の名称"
    ),
    OpenColumn(
        "room_id",
        "室場ID",
        "Room ID",
        "string",
        "",
        "the room's key in its facility",
        description_ja="施設内の室場の識別子",
    ),
)
SUPPRESSED_COLUMN = OpenColumn(
    SUPPRESSED_KEY,
    "秘匿",
    "Suppressed",
    "integer",
    "flag",
    "1 where the row's figures are withheld under the anonymity rule, else 0 (JSON: true or false)",
    description_ja="匿名性のため数値を秘匿した行は1、それ以外は0（JSONではtrue／false）",
)


def _shown(key: str, name_ja: str, kind: Kind, unit: str, figure: Column) -> OpenColumn:
    """A figure published whatever the groups behind it (the supply)."""
    return OpenColumn(key, name_ja, str(figure.title), kind, unit, figure.formula or "", figure)


def _hidden(key: str, name_ja: str, kind: Kind, unit: str, figure: Column) -> OpenColumn:
    """A figure made of what groups did: blank when they are too few."""
    return OpenColumn(
        key, name_ja, str(figure.title), kind, unit, figure.formula or "", figure, suppressible=True
    )


@dataclass(frozen=True)
class Dataset:
    key: str
    title_ja: str
    title_en: str
    columns: tuple[OpenColumn, ...]
    # The figures of one room-month from its summed slot counts, and whether its groups
    # (booking or applying) are too few to publish them
    values: Callable[[Sequence[int]], tuple[Value, ...]]
    groups: Callable[[MonthCounts, int], int]

    @property
    def all_columns(self) -> tuple[OpenColumn, ...]:
        return (*PLACE_COLUMNS, *self.columns, SUPPRESSED_COLUMN)


def _rate(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


SLOTS, APPS = "slots", "applications"
OCCUPANCY = Dataset(
    "occupancy",
    "公共施設の室場別・月別稼働率",
    "Occupancy of the civic facilities' rooms by month",
    (
        _shown("bookable_slots", "利用可能コマ数", "integer", SLOTS, figures.BOOKABLE_SLOTS),
        _hidden("booked_slots", "利用コマ数", "integer", SLOTS, figures.BOOKED_SLOTS),
        _hidden("occupancy", "稼働率", "number", "ratio 0-1", figures.OCCUPANCY),
    ),
    lambda c: (c[BOOKABLE], c[BOOKED_SLOTS], _rate(c[BOOKED_SLOTS], c[BOOKABLE])),
    lambda counts, room: counts.groups_booking.get(room, 0),
)
DEMAND = Dataset(
    "demand",
    "公共施設の室場別・月別抽選申込状況",
    "Lottery demand for the civic facilities' rooms by month",
    (
        _shown("bookable_slots", "利用可能コマ数", "integer", SLOTS, figures.BOOKABLE_SLOTS),
        _hidden("lottery_slots", "抽選申込コマ数", "integer", SLOTS, figures.LOTTERY_SLOTS),
        _hidden("slot_applications", "抽選申込数", "integer", APPS, figures.SLOT_APPLICATIONS),
        _hidden(
            "applications_per_slot",
            "1コマあたり申込数",
            "number",
            "applications per slot",
            figures.APPLICATIONS_PER_SLOT,
        ),
        _hidden("contested_slots", "複数申込コマ数", "integer", SLOTS, figures.CONTESTED_SLOTS),
        _hidden("winning", "当選数", "integer", APPS, figures.WINNING),
        _hidden("win_rate", "当選率", "number", "ratio 0-1", figures.WIN_RATE),
        _hidden("waitlist_joins", "キャンセル待ち登録数", "integer", SLOTS, figures.WAITLIST_JOINS),
    ),
    lambda c: (
        c[BOOKABLE],
        c[LOTTERY],
        c[APPLICATIONS],
        _rate(c[APPLICATIONS], c[LOTTERY], 2),
        c[CONTESTED],
        c[WINNING],
        _rate(c[WINNING], c[APPLICATIONS]),
        c[WAITING],
    ),
    lambda counts, room: counts.groups_applying.get(room, 0),
)
DATASETS = {dataset.key: dataset for dataset in (OCCUPANCY, DEMAND)}


def suppressed(groups: int, minimum: int, *, waiting: int = 0) -> bool:
    """Too few groups to publish: 1 to minimum − 1. None at all identifies nobody (0 is
    published). Wait-list joins carry no count of their groups: where nobody applied in the
    lottery but some waited, the demand row is withheld rather than guessed."""
    return 0 < groups < minimum or (groups == 0 and waiting > 0)


@dataclass(frozen=True)
class Published:
    dataset: Dataset
    fiscal_year: int
    minimum_groups: int
    rows: tuple[tuple[Value, ...], ...]  # in all_columns order; the flag as 0 or 1


async def published(
    source: Source, dataset: Dataset, fiscal_year: int, minimum_groups: int
) -> Published:
    """Every active room × month of the fiscal year, suppressed where its groups are few."""
    labels = await source.names()
    months = await source.cache.months(
        source.session, source.network, Span.fiscal_year(fiscal_year).months(), source.tz
    )
    rows = []
    for counts in months:
        per_room = slots_by_room(counts, source.network)
        for room in source.network.rooms:  # active rooms, in the network's order
            summed = per_room.get(room.id, [0] * len(SLOT_COUNTS))
            figures_ = dataset.values(summed)
            waiting = summed[WAITING] if dataset is DEMAND else 0
            hidden = suppressed(dataset.groups(counts, room.id), minimum_groups, waiting=waiting)
            shown = tuple(
                None if hidden and column.suppressible else value
                for column, value in zip(dataset.columns, figures_, strict=True)
            )
            rows.append((*_place(labels, fiscal_year, counts.month, room), *shown, int(hidden)))
    return Published(dataset, fiscal_year, minimum_groups, tuple(rows))


def _place(labels: Names, fiscal_year: int, month: date, room: RoomInfo) -> tuple[Value, ...]:
    facility = labels.network.facilities[room.facility_id]
    ward = labels.wards.get(facility.ward_id) if facility.ward_id else None
    kind = labels.kinds.get(facility.kind)
    return (
        fiscal_year,
        f"{month:%Y-%m}",
        ward.ja if ward else "",
        kind.ja if kind else facility.kind,
        facility.name_ja,
        facility.key,
        room.name_ja,
        room.key,
    )


def csv_body(data: Published) -> str:
    """Pure data: the Japanese header and the rows (the licence is in the JSON, the schema and
    the page). Every cell neutralised, UTF-8 with a BOM, CRLF."""
    header = [column.name_ja for column in data.dataset.all_columns]
    rows: list[list[Cell]] = [list(row) for row in data.rows]
    return csv_text(header, rows)


def column_document(column: OpenColumn) -> dict[str, Any]:
    return {
        "name_ja": column.name_ja,
        "name_en": column.name_en,
        "key": column.key,
        "type": "boolean" if column.key == SUPPRESSED_KEY else column.kind,
        "description_en": column.description_en,
        "description_ja": column.description_ja
        or translations("ja").gettext(column.description_en),
    }


def json_document(
    data: Published, *, generated_at: datetime, schema_url: str, source_url: str
) -> dict[str, Any]:
    columns = data.dataset.all_columns
    return {
        "title": data.dataset.title_ja,
        "title_en": data.dataset.title_en,
        "licence": {"name": LICENCE_JA, "name_en": LICENCE_EN, "url": LICENCE_URL},
        "source": source_url,
        "fiscal_year": data.fiscal_year,
        "generated_at": generated_at.isoformat(),
        "schema": schema_url,
        "minimum_groups": data.minimum_groups,
        "columns": [column_document(column) for column in columns],
        "rows": [
            {
                column.key: bool(value) if column.key == SUPPRESSED_KEY else value
                for column, value in zip(columns, row, strict=True)
            }
            for row in data.rows
        ],
    }


def schema_document(minimum_groups: int, *, source_url: str) -> dict[str, Any]:
    """Both datasets: each column's names, type, unit and description, and each figure's
    formula in both languages (figures.py)."""
    ja = translations("ja")

    def column(c: OpenColumn) -> dict[str, Any]:
        found = column_document(c) | {"unit": c.unit}
        if c.figure is not None and c.figure.formula:
            found |= {"formula_ja": ja.gettext(c.figure.formula), "formula_en": c.figure.formula}
        found["suppressible"] = c.suppressible
        return found

    return {
        "title": "公共施設の利用状況オープンデータ",
        "title_en": "Open data on the use of the civic facilities",
        "licence": {"name": LICENCE_JA, "name_en": LICENCE_EN, "url": LICENCE_URL},
        "source": source_url,
        "minimum_groups": minimum_groups,
        "notes_ja": [note.format(n=minimum_groups) for note in NOTES_JA],
        "notes_en": [note.format(n=minimum_groups) for note in NOTES_EN],
        "encoding": {"csv": "UTF-8 with BOM, CRLF, header row of Japanese names", "json": "UTF-8"},
        "datasets": [
            {
                "key": dataset.key,
                "title_ja": dataset.title_ja,
                "title_en": dataset.title_en,
                "files": [f"{dataset.key}.csv", f"{dataset.key}.json"],
                "columns": [column(c) for c in dataset.all_columns],
            }
            for dataset in DATASETS.values()
        ],
    }
