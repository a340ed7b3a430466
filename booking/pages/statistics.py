"""The staff's statistics dashboard: the headline figures with their formulas, then each chart
beside its data table, every table a CSV and XLSX download (booking/statistics).

An administrator sees the whole network, or one ward or facility of it; a manager sees their
own facilities only (another's facility is refused as on every desk page). The span is a fiscal
year (the current one by default) or a range of dates; a value that cannot be used shows the
form again with the reason beside its field (400), never an error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from markupsafe import Markup
from sqlalchemy import select

from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network, StatisticsCounts
from booking.errors import InvalidInput, NotFound
from booking.inventory.models import Ward
from booking.inventory.network import NetworkSnapshot
from booking.pages.forms import NOT_A_CHOICE, Form, whole_id
from booking.pages.i18n import N_, Texts
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page
from booking.statistics import charts, figures
from booking.statistics.downloads import FORMATS, download_stem, table_download
from booking.statistics.report import (
    DEMAND,
    OCCUPANCY,
    USE,
    Dimension,
    Source,
    heat_map,
    table,
    total,
)
from booking.statistics.span import (
    FIRST_FISCAL_YEAR,
    LAST_FISCAL_YEAR,
    Span,
    fiscal_year_of,
    span_from_query,
)
from booking.statistics.tables import Cell, Name, Table

# The span's messages (statistics/span.py), for the catalog: shown beside their field.
SPAN_REASONS = (
    N_("give fiscal_year or from and to, not both"),
    N_("a range needs both from and to"),
    N_("must not be before from"),
    N_("a range covers at most 731 days (2 years)"),
)
SPAN_FIELDS = {"fiscal_year": "fiscal_year", "from": "from", "to": "to"}
YEARS_BACK = 9  # the fiscal years offered before the current one
DASH = "–"  # a figure with nothing to divide by: never 0 %

# The headline: (report, the figure's index in total()'s row, its column).
HEADLINE = (
    ("occupancy", 2, figures.OCCUPANCY),
    ("demand", 3, figures.APPLICATIONS_PER_SLOT),
    ("demand", 6, figures.WIN_RATE),
    ("use", 0, figures.BOOKINGS),
    ("use", 6, figures.FEES_CHARGED),
)


@dataclass(frozen=True)
class Scope:
    """Whose figures: facility_ids None is the whole network."""

    facility_ids: frozenset[int] | None
    rows: Dimension  # the heat map's rows: room for a facility, else facility or ward
    query: dict[str, str]  # the query that chose it (kept by links and downloads)


Builder = Callable[[Source, Span, Scope], Awaitable[Table]]


async def _heat(source: Source, span: Span, scope: Scope, rows: Dimension) -> Table:
    return (await heat_map(source, span, rows, "month", scope.facility_ids)).table


def _heat_of(rows: Dimension) -> Builder:
    async def build(source: Source, span: Span, scope: Scope) -> Table:
        return await _heat(source, span, scope, rows)

    return build


async def _weekday_period(source: Source, span: Span, scope: Scope) -> Table:
    return (await heat_map(source, span, "weekday", "period", scope.facility_ids)).table


def _grouped(report: Any, dimension: Dimension) -> Builder:
    async def build(source: Source, span: Span, scope: Scope) -> Table:
        return await table(source, report, span, (dimension,), scope.facility_ids)

    return build


# Every table the dashboard shows (and so offers as a download), by its key.
TABLES: dict[str, Builder] = {
    "occupancy_room_month": _heat_of("room"),
    "occupancy_facility_month": _heat_of("facility"),
    "occupancy_ward_month": _heat_of("ward"),
    "occupancy_weekday_period": _weekday_period,
    "occupancy_by_month": _grouped(OCCUPANCY, "month"),
    "demand_by_month": _grouped(DEMAND, "month"),
    "use_by_category": _grouped(USE, "category"),
    "use_by_residency": _grouped(USE, "residency"),
}
CAPTIONS = {
    "occupancy_room_month": N_("Occupancy by room and month"),
    "occupancy_facility_month": N_("Occupancy by facility and month"),
    "occupancy_ward_month": N_("Occupancy by ward and month"),
    "occupancy_weekday_period": N_("Occupancy by day of the week and period"),
    "occupancy_by_month": N_("Occupancy by month"),
    "demand_by_month": N_("Demand and supply by month"),
    "use_by_category": N_("Use by category of group"),
    "use_by_residency": N_("Use by groups in and out of the city"),
}
DESCRIPTIONS = {
    "heat": N_("Occupancy as shades, darker is fuller; the figures are in the table beside it."),
    "bars": N_(
        "Bookable slots and lottery applications a month; the figures are in the table beside it."
    ),
    "trend": N_("Occupancy month by month; the figures are in the table beside it."),
}


def shown_cell(value: Cell, unit: str, texts: Texts) -> str:  # noqa: PLR0911 - one a unit
    """A figure as a person reads it: 62.5%, 2.40, ¥12,000, 1,227; a dash for nothing."""
    if isinstance(value, Name):
        return value.in_lang(texts.lang)
    if value is None:
        return DASH
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "yen":
        return texts.yen(int(value))
    if isinstance(value, int):
        return texts.number(value)
    return str(value)


@dataclass(frozen=True)
class ShownTable:
    """A table as the page shows it: captioned, its names as row headers, figures formatted."""

    id: str
    caption: str
    headers: list[tuple[str, bool]]  # title, numeric
    rows: list[list[tuple[str, bool]]]  # text, is a name (a row header)
    formulas: list[tuple[str, str]]  # the figure columns' titles and formulas
    csv: str
    xlsx: str
    chart: Markup | None = None


def shown_table(
    found: Table, texts: Texts, query: dict[str, str], chart: Markup | None = None
) -> ShownTable:
    columns = found.columns
    suffix = f"?{urlencode(query)}" if query else ""
    return ShownTable(
        id=found.key,
        caption=texts.gettext(CAPTIONS[found.key]),
        headers=[(c.title_in(texts.lang), c.unit != "text") for c in columns],
        rows=[
            [
                (shown_cell(v, c.unit, texts), c.unit == "text")
                for v, c in zip(row, columns, strict=True)
            ]
            for row in found.rows
        ],
        formulas=[
            (c.title_in(texts.lang), texts.gettext(c.formula))
            for c in columns
            if c.formula is not None
        ],
        csv=f"/manage/statistics/{found.key}.csv{suffix}",
        xlsx=f"/manage/statistics/{found.key}.xlsx{suffix}",
        chart=chart,
    )


def _names(found: Table, texts: Texts) -> list[str]:
    """Each row's name(s) in one label: 市民館 大会議室."""
    width = sum(1 for c in found.columns if c.unit == "text")
    return [
        " ".join(v.in_lang(texts.lang) for v in row[:width] if isinstance(v, Name))
        for row in found.rows
    ]


def _column(found: Table, key: str) -> list[Cell]:
    index = [c.key for c in found.columns].index(key)
    return [row[index] for row in found.rows]


def _rates(values: Sequence[Cell]) -> list[float | None]:
    return [float(v) if isinstance(v, int | float) else None for v in values]


def _counts(values: Sequence[Cell]) -> list[int]:
    return [int(v) if isinstance(v, int | float) else 0 for v in values]


def heat_chart(found: Table, texts: Texts) -> Markup:
    width = sum(1 for c in found.columns if c.unit == "text")
    labels = _names(found, texts)
    if width == 2 and len({row[0] for row in found.rows}) == 1:  # one facility's rooms
        labels = [shown_cell(row[1], "text", texts) for row in found.rows]
    return charts.heat_map(
        title=texts.gettext(CAPTIONS[found.key]),
        desc=texts.gettext(DESCRIPTIONS["heat"]),
        row_labels=labels,
        column_labels=[c.title_in(texts.lang) for c in found.columns[width:]],
        values=[_rates(row[width:]) for row in found.rows],
        table_id=found.key,
        no_data_label=texts.gettext("No bookable slots"),
    )


@dataclass(frozen=True)
class Headline:
    title: str
    value: str
    formula: str


async def _scope(
    form: Form, page: Page, principal: Principal, network: NetworkSnapshot, db_session: DbSession
) -> tuple[Scope, list[tuple[str, str]], Any]:
    """Whose figures the query asks for, the wards to choose from, the facility chosen."""
    wards = (await db_session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id))).all()
    ward_choices = [(w.key, page.texts.name(w)) for w in wards]
    query: dict[str, str] = {}
    own = None if principal.is_admin else principal.facility_ids
    facility = None
    if form["facility"]:
        facility_id = whole_id(form["facility"])
        if facility_id is None:
            form.error("facility", NOT_A_CHOICE)
        else:
            facility = managed_facility(network, principal, facility_id)  # 403 / 404
            query["facility"] = str(facility.id)
            return Scope(frozenset({facility.id}), "room", query), ward_choices, facility
    if form["ward"]:
        ward = next((w for w in wards if w.key == form["ward"]), None)
        if ward is None:
            form.error("ward", NOT_A_CHOICE)
        else:
            query["ward"] = ward.key
            in_ward = frozenset(f.id for f in network.facilities.values() if f.ward_id == ward.id)
            return (
                Scope(in_ward if own is None else in_ward & own, "facility", query),
                ward_choices,
                None,
            )
    rows: Dimension = "ward" if own is None else ("room" if len(own) == 1 else "facility")
    return Scope(own, rows, query), ward_choices, facility


def fiscal_years(current: int, form: Form, texts: Texts) -> list[tuple[str, str]]:
    """The years offered: the last ten and the next (the one asked for too, if another)."""
    years = set(range(current - YEARS_BACK, current + 2))
    asked = whole_id(form["fiscal_year"])
    if asked is not None and FIRST_FISCAL_YEAR <= asked <= LAST_FISCAL_YEAR:
        years.add(asked)
    return [(str(y), texts.gettext("FY%(year)s", year=str(y))) for y in sorted(years, reverse=True)]


def years_around(span: Span, scope: Scope, texts: Texts) -> list[tuple[str, str, str]]:
    """The fiscal years before and after the one shown (none for a range of dates)."""
    year = fiscal_year_of(span.start)
    if span != Span.fiscal_year(year):
        return []
    return [
        (
            texts.gettext("FY%(year)s", year=str(other)),
            f"?{urlencode({'fiscal_year': str(other), **scope.query})}",
            rel,
        )
        for other, rel in ((year - 1, "prev"), (year + 1, "next"))
        if FIRST_FISCAL_YEAR <= other <= LAST_FISCAL_YEAR
    ]


def _span(form: Form, today: date) -> Span | None:
    year = form.integer(
        "fiscal_year", required=False, minimum=FIRST_FISCAL_YEAR, maximum=LAST_FISCAL_YEAR
    )
    start, end = form.day("from", required=False), form.day("to", required=False)
    if not form.ok:
        return None
    try:
        return span_from_query(start, end, year, today=today)
    except InvalidInput as exc:
        form.fail(exc, SPAN_FIELDS)
        return None


def _span_query(form: Form, span: Span | None) -> dict[str, str]:
    if span is None:
        return {}
    if form["from"] or form["to"]:
        return {"from": span.start.isoformat(), "to": span.end.isoformat()}
    return {"fiscal_year": str(fiscal_year_of(span.start))}


class StatisticsPages(Controller):
    path = "/manage/statistics"
    include_in_schema = False

    @get("/", name="statistics")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        texts = page.texts
        form = Form(request.query_params, texts)
        today = local_today(clock, settings.tz)
        scope, wards, facility = await _scope(form, page, principal, network, db_session)
        span = _span(form, today)
        context: dict[str, Any] = {
            "form": form,
            "wards": wards,
            "facility": facility,
            "facilities": [
                (str(f.id), texts.name(f))
                for f in sorted(network.facilities.values(), key=lambda f: f.id)
                if principal.manages(f.id)
            ],
            "span": span,
            "current_year": fiscal_year_of(today),
            "fiscal_years": fiscal_years(fiscal_year_of(today), form, texts),
            "span_text": "",
            "years_around": [],
            "headline": [],
            "sections": [],
        }
        if span is None or not form.ok:
            return page.render("manage/statistics.html", status_code=400, nav="manage", **context)
        if not (form["fiscal_year"] or form["from"] or form["to"]):  # the default, shown chosen
            form.values["fiscal_year"] = str(fiscal_year_of(span.start))
        context["years_around"] = years_around(span, scope, texts)
        context["span_text"] = texts.gettext(
            "%(start)s to %(end)s", start=texts.long_day(span.start), end=texts.long_day(span.end)
        )
        source = Source.of(db_session, network, statistics_counts, settings)
        query = {**_span_query(form, span), **scope.query}
        totals = {
            "occupancy": await total(source, OCCUPANCY, span, scope.facility_ids),
            "demand": await total(source, DEMAND, span, scope.facility_ids),
            "use": await total(source, USE, span, scope.facility_ids),
        }
        context["headline"] = [
            Headline(
                column.title_in(texts.lang),
                shown_cell(totals[report][index], column.unit, texts),
                texts.gettext(column.formula or ""),
            )
            for report, index, column in HEADLINE
        ]
        rooms = await TABLES[f"occupancy_{scope.rows}_month"](source, span, scope)
        weekdays = await TABLES["occupancy_weekday_period"](source, span, scope)
        by_month = await TABLES["occupancy_by_month"](source, span, scope)
        demand = await TABLES["demand_by_month"](source, span, scope)
        months = _names(demand, texts)
        context["sections"] = [
            shown_table(rooms, texts, query, heat_chart(rooms, texts)),
            shown_table(weekdays, texts, query, heat_chart(weekdays, texts)),
            shown_table(
                demand,
                texts,
                query,
                charts.bars(
                    title=texts.gettext(CAPTIONS[demand.key]),
                    desc=texts.gettext(DESCRIPTIONS["bars"]),
                    labels=months,
                    series=[
                        (
                            figures.BOOKABLE_SLOTS.title_in(texts.lang),
                            _counts(_column(demand, "bookable_slots")),
                        ),
                        (
                            figures.SLOT_APPLICATIONS.title_in(texts.lang),
                            _counts(_column(demand, "slot_applications")),
                        ),
                    ],
                    table_id=demand.key,
                ),
            ),
            shown_table(
                by_month,
                texts,
                query,
                charts.trend(
                    title=texts.gettext(CAPTIONS[by_month.key]),
                    desc=texts.gettext(DESCRIPTIONS["trend"]),
                    labels=_names(by_month, texts),
                    series=[
                        (
                            figures.OCCUPANCY.title_in(texts.lang),
                            _rates(_column(by_month, "occupancy")),
                        )
                    ],
                    table_id=by_month.key,
                    unit="rate",
                ),
            ),
            shown_table(await TABLES["use_by_category"](source, span, scope), texts, query),
            shown_table(await TABLES["use_by_residency"](source, span, scope), texts, query),
        ]
        context["query"] = query
        return page.render("manage/statistics.html", nav="manage", **context)

    @get("/{download:str}", name="statistics_download")
    async def download(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        download: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[Any] | Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        key, _, fmt = download.rpartition(".")
        if key not in TABLES or fmt not in FORMATS:
            raise NotFound(f"no table {download[:60]!r}", code="not_found")
        form = Form(request.query_params, page.texts)
        scope, _wards, _facility = await _scope(form, page, principal, network, db_session)
        span = _span(form, local_today(clock, settings.tz))
        if span is None or not form.ok:
            field, reason = next(iter(form.errors.items()), ("", " ".join(form.general)))
            raise InvalidInput(reason, field=field or None)
        source = Source.of(db_session, network, statistics_counts, settings)
        found = await TABLES[key](source, span, scope)
        lang = page.texts.lang
        return table_download(found, lang, fmt, download_stem(found, span.start, span.end))
