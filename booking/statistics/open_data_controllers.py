"""HTTP for the open data: public, no login, cached a few minutes by anyone (open_data.py).

`fiscal_year` defaults to the latest fiscal year that has ended (its figures no longer move);
any fiscal year may be asked for, the current one included (its figures move until it ends).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network, StatisticsCounts
from booking.statistics.open_data import (
    DATASETS,
    Dataset,
    csv_body,
    json_document,
    published,
    schema_document,
)
from booking.statistics.report import Source
from booking.statistics.span import (
    FIRST_FISCAL_YEAR,
    LAST_FISCAL_YEAR,
    checked_fiscal_year,
    fiscal_year_of,
)
from booking.web.errors import error_responses
from booking.web.spreadsheet import CSV_MEDIA_TYPE

PREFIX = "/api/v1/open-data"
CACHE_CONTROL = "public, max-age=300"
FiscalYear = Annotated[
    Annotated[int, msgspec.Meta(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)] | None,
    Parameter(
        ge=FIRST_FISCAL_YEAR,
        le=LAST_FISCAL_YEAR,
        description="年度 (April to March); default: the latest fiscal year that has ended",
    ),
]
DESCRIPTION = (
    "One row per active room and month of the fiscal year. A room-month's figures are "
    "published only when enough distinct groups are behind them (the setting "
    "open_data_minimum_groups, default 3); otherwise they are blank (null) and 秘匿 is 1 "
    "(suppressed: true). Columns, units and formulas: /api/v1/open-data/schema.json. "
    "Licence: CC BY 4.0. Public, cached 5 minutes, with a weak ETag."
)


def _fiscal_year(asked: int | None, clock: CurrentClock, settings: AppSettings) -> int:
    if asked is not None:
        return checked_fiscal_year(asked)
    return max(FIRST_FISCAL_YEAR, fiscal_year_of(local_today(clock, settings.tz)) - 1)


def _cached(
    request: Request[Any, Any, Any], body: bytes, media_type: str, tag: str
) -> Response[bytes]:
    """Public caching with a weak ETag of the data (the JSON's generated_at aside)."""
    etag = f'W/"{tag}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    asked = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if etag.removeprefix("W/") in asked or "*" in asked:
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, media_type=media_type, headers=headers)


async def _dataset(
    dataset: Dataset,
    fmt: str,
    request: Request[Any, Any, Any],
    source: Source,
    clock: CurrentClock,
    settings: AppSettings,
    fiscal_year: int | None,
) -> Response[bytes]:
    year = _fiscal_year(fiscal_year, clock, settings)
    data = await published(source, dataset, year, settings.open_data_minimum_groups)
    text = csv_body(data)
    tag = hashlib.sha256(f"{fmt}\n{text}".encode()).hexdigest()[:32]
    if fmt == "csv":
        response = _cached(request, text.encode(), CSV_MEDIA_TYPE, tag)
        name = f"{dataset.key}_{year}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    base = settings.public_url.rstrip("/")
    document = json_document(
        data,
        generated_at=clock.now(),
        schema_url=f"{base}{PREFIX}/schema.json",
        source_url=f"{base}/open-data",
    )
    body = json.dumps(document, ensure_ascii=False).encode()
    return _cached(request, body, "application/json", tag)


class OpenDataController(Controller):
    path = PREFIX
    tags = ["open data"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/occupancy.csv",
        summary="Occupancy per room and month of a fiscal year, CSV (public open data)",
        description=DESCRIPTION + " UTF-8 with BOM, CRLF, Japanese column names.",
        media_type=CSV_MEDIA_TYPE,
        responses=error_responses(400),
    )
    async def occupancy_csv(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        fiscal_year: FiscalYear = None,
    ) -> Response[bytes]:
        source = Source.of(db_session, network, statistics_counts, settings)
        return await _dataset(
            DATASETS["occupancy"], "csv", request, source, clock, settings, fiscal_year
        )

    @get(
        "/occupancy.json",
        summary="Occupancy per room and month of a fiscal year, JSON (public open data)",
        description=DESCRIPTION + " English keys; the title, licence and columns beside the rows.",
        media_type="application/json",
        responses=error_responses(400),
    )
    async def occupancy_json(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        fiscal_year: FiscalYear = None,
    ) -> Response[bytes]:
        source = Source.of(db_session, network, statistics_counts, settings)
        return await _dataset(
            DATASETS["occupancy"], "json", request, source, clock, settings, fiscal_year
        )

    @get(
        "/demand.csv",
        summary="Lottery demand per room and month of a fiscal year, CSV (public open data)",
        description=DESCRIPTION + " UTF-8 with BOM, CRLF, Japanese column names.",
        media_type=CSV_MEDIA_TYPE,
        responses=error_responses(400),
    )
    async def demand_csv(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        fiscal_year: FiscalYear = None,
    ) -> Response[bytes]:
        source = Source.of(db_session, network, statistics_counts, settings)
        return await _dataset(
            DATASETS["demand"], "csv", request, source, clock, settings, fiscal_year
        )

    @get(
        "/demand.json",
        summary="Lottery demand per room and month of a fiscal year, JSON (public open data)",
        description=DESCRIPTION + " English keys; the title, licence and columns beside the rows.",
        media_type="application/json",
        responses=error_responses(400),
    )
    async def demand_json(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        network: Network,
        statistics_counts: StatisticsCounts,
        clock: CurrentClock,
        settings: AppSettings,
        fiscal_year: FiscalYear = None,
    ) -> Response[bytes]:
        source = Source.of(db_session, network, statistics_counts, settings)
        return await _dataset(
            DATASETS["demand"], "json", request, source, clock, settings, fiscal_year
        )

    @get(
        "/schema.json",
        summary="The open data's schema: both datasets' columns, units, formulas, licence",
        description="Each column's Japanese and English name, type, unit and description; each "
        "figure's formula in both languages; the anonymity rule and why there are no totals.",
        media_type="application/json",
    )
    async def schema(
        self, request: Request[Any, Any, Any], settings: AppSettings
    ) -> Response[bytes]:
        base = settings.public_url.rstrip("/")
        document = schema_document(
            settings.open_data_minimum_groups, source_url=f"{base}/open-data"
        )
        body = json.dumps(document, ensure_ascii=False).encode()
        tag = hashlib.sha256(body).hexdigest()[:32]
        return _cached(request, body, "application/json", tag)
