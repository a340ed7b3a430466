"""The open-data page (オープンデータ): the files, their licence and their columns, for anyone.

The files themselves are the API's (booking/statistics/open_data_controllers.py); this page
lists them for the latest fiscal year that has ended and the current one.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock
from booking.pages.web import Page
from booking.statistics import open_data
from booking.statistics.open_data_controllers import PREFIX
from booking.statistics.span import FIRST_FISCAL_YEAR, fiscal_year_of


class OpenDataPages(Controller):
    include_in_schema = False

    @get("/open-data", name="open_data")
    async def index(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        current = fiscal_year_of(local_today(clock, settings.tz))
        years = [y for y in (current - 1, current) if y >= FIRST_FISCAL_YEAR]
        ja = page.texts.lang == "ja"
        return page.render(
            "open_data.html",
            nav="open_data",
            prefix=PREFIX,
            years=years,
            datasets=list(open_data.DATASETS.values()),
            licence=open_data.LICENCE_JA if ja else open_data.LICENCE_EN,
            licence_url=open_data.LICENCE_URL,
            notes=open_data.NOTES_JA if ja else open_data.NOTES_EN,
            minimum_groups=settings.open_data_minimum_groups,
        )
