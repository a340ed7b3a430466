"""HTTP for staff statistics: occupancy, demand and use as JSON, the dashboard's figures.

Administrators see the whole network or one facility; a manager sees their own facilities
(a facility not theirs is refused, as everywhere in the house). The figures are the same
report.table(...) the dashboard and its downloads show; the formulas travel with the columns.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter, QueryParameter

from booking.accounts.access import Principal, require_facility, require_staff
from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network, StatisticsCounts
from booking.errors import InvalidInput, NotFound
from booking.pages.i18n import translations
from booking.statistics.report import REPORTS, Report, Source, checked_dimension, table, total
from booking.statistics.span import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, Span, span_from_query
from booking.statistics.tables import Cell, Column, Name
from booking.web.errors import error_responses
from booking.web.fields import ONE_LINE, MaybeId, OneLine

DIMENSION_MAX = 20
FiscalYear = Annotated[
    Annotated[int, msgspec.Meta(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)] | None,
    Parameter(
        ge=FIRST_FISCAL_YEAR,
        le=LAST_FISCAL_YEAR,
        description="年度: April of this year to March of the next; instead of from and to",
    ),
]
GroupBy = Annotated[
    Annotated[OneLine, msgspec.Meta(max_length=DIMENSION_MAX)] | None,
    Parameter(
        max_length=DIMENSION_MAX,
        pattern=ONE_LINE,
        description="one dimension: facility (default), room, ward, kind, period, day_type, "
        "weekday, month; for use also category, residency (not period)",
    ),
]
From = Annotated[
    date | None, QueryParameter(name="from", description="first date, inclusive (with to)")
]
To = Annotated[date | None, QueryParameter(description="last date, inclusive; at most 2 years")]


class ColumnRead(msgspec.Struct):
    key: str
    title_ja: str
    title_en: str
    unit: str
    formula_ja: str | None
    formula_en: str | None


class StatisticsRead(msgspec.Struct):
    from_: date = msgspec.field(name="from")
    to: date = msgspec.field()
    group_by: str = msgspec.field()
    columns: list[ColumnRead] = msgspec.field()
    # One object a row: each dimension column a {"ja", "en"} name, each figure a number or null
    rows: list[dict[str, Any]] = msgspec.field()
    # The figures over the whole span and scope (no dimension columns)
    total: dict[str, Any] = msgspec.field()


def column_read(column: Column) -> ColumnRead:
    ja = translations("ja")
    formula = column.formula
    return ColumnRead(
        key=column.key,
        title_ja=column.title_in("ja"),
        title_en=column.title_in("en"),
        unit=column.unit,
        formula_ja=ja.gettext(formula) if formula else None,
        formula_en=formula,
    )


def _value(cell: Cell) -> Any:
    return {"ja": cell.ja, "en": cell.en} if isinstance(cell, Name) else cell


def scope_of(principal: Principal, facility: int | None, network: Network) -> frozenset[int] | None:
    """The facilities a request covers: None for the whole network (administrators only)."""
    require_staff(principal)
    if facility is not None:
        require_facility(principal, facility)
        if facility not in network.facilities:
            raise NotFound(f"no facility {facility}", field="facility")
        return frozenset({facility})
    return None if principal.is_admin else principal.facility_ids


DESCRIPTION = (
    "Administrators: the whole network, or one facility with `facility`. Managers: their own "
    "facilities (another facility is a 403). Give `fiscal_year`, or `from` and `to` (at most "
    "2 years); neither is the current fiscal year. Each column carries its unit (count, rate "
    "0-1, ratio, yen) and its formula in Japanese and English; a rate is null where its "
    "denominator is 0."
)


class StatisticsController(Controller):
    path = "/api/v1/statistics"
    tags = ["statistics"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/occupancy",
        summary="Occupancy: booked slots ÷ bookable slots, by one dimension (staff)",
        description=DESCRIPTION,
        responses=error_responses(400, 401, 403, 404),
    )
    async def occupancy(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        from_: From = None,
        to: To = None,
        fiscal_year: FiscalYear = None,
        group_by: GroupBy = None,
        facility: MaybeId = None,
    ) -> StatisticsRead:
        query = Query(from_, to, fiscal_year, group_by, facility, _dimensions(request))
        source = Source.of(db_session, network, statistics_counts, settings)
        return await answer(REPORTS["occupancy"], source, auth, clock, query)

    @get(
        "/demand",
        summary="Demand: lottery applications per slot, win rate, wait-list joins (staff)",
        description=DESCRIPTION,
        responses=error_responses(400, 401, 403, 404),
    )
    async def demand(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        from_: From = None,
        to: To = None,
        fiscal_year: FiscalYear = None,
        group_by: GroupBy = None,
        facility: MaybeId = None,
    ) -> StatisticsRead:
        query = Query(from_, to, fiscal_year, group_by, facility, _dimensions(request))
        source = Source.of(db_session, network, statistics_counts, settings)
        return await answer(REPORTS["demand"], source, auth, clock, query)

    @get(
        "/use",
        summary="Use: bookings, people, cancellations, no-shows and fees (staff)",
        description=DESCRIPTION + " `period` is not a dimension of use (a booking spans periods).",
        responses=error_responses(400, 401, 403, 404),
    )
    async def use(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        from_: From = None,
        to: To = None,
        fiscal_year: FiscalYear = None,
        group_by: GroupBy = None,
        facility: MaybeId = None,
    ) -> StatisticsRead:
        query = Query(from_, to, fiscal_year, group_by, facility, _dimensions(request))
        source = Source.of(db_session, network, statistics_counts, settings)
        return await answer(REPORTS["use"], source, auth, clock, query)


class Query(msgspec.Struct, frozen=True):
    start: date | None
    end: date | None
    fiscal_year: int | None
    group_by: str | None
    facility: int | None
    dimensions: int  # how many times group_by was given


def _dimensions(request: Request[Any, Any, Any]) -> int:
    return len(request.query_params.getall("group_by", []))


async def answer(
    report: Report, source: Source, auth: Auth, clock: CurrentClock, query: Query
) -> StatisticsRead:
    """Who may see it first (401, 403), then the input (400), then the figures."""
    scope = scope_of(auth.required(), query.facility, source.network)
    span: Span = span_from_query(
        query.start, query.end, query.fiscal_year, today=local_today(clock, source.tz)
    )
    if query.dimensions > 1:
        raise InvalidInput("give one dimension (group_by once)", field="group_by")
    dimension = checked_dimension(query.group_by or "facility", report.allowed)
    found = await table(source, report, span, (dimension,), scope)
    headline = await total(source, report, span, scope)
    keys = [column.key for column in found.columns]
    return StatisticsRead(
        from_=span.start,
        to=span.end,
        group_by=dimension,
        columns=[column_read(column) for column in found.columns],
        rows=[{k: _value(c) for k, c in zip(keys, row, strict=True)} for row in found.rows],
        total={
            column.key: _value(cell) for column, cell in zip(report.figures, headline, strict=True)
        },
    )
