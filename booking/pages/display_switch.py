"""The footer's links that choose the text size and the colours (booking/pages/display.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Redirect

from booking.errors import InvalidInput
from booking.pages.display import (
    CONTRAST_COOKIE,
    CONTRASTS,
    TEXT_SIZE_COOKIE,
    TEXT_SIZES,
)
from booking.pages.i18n import N_
from booking.pages.web import remembered_cookie, safe_next


class DisplayPages(Controller):
    include_in_schema = False

    @get("/display", name="display")
    async def choose(self, request: Request[Any, Any, Any]) -> Redirect:
        """Set the text size, the contrast or both, then back to the page (a link, like the
        language switch: it changes only how this browser shows the pages)."""
        query = request.query_params
        size, contrast = query.get(TEXT_SIZE_COOKIE), query.get(CONTRAST_COOKIE)
        if size is None and contrast is None:
            raise InvalidInput(N_("Choose a text size or the colours."), field=TEXT_SIZE_COOKIE)
        cookies = []
        if size is not None:
            if size not in TEXT_SIZES:
                raise InvalidInput(
                    N_("Choose the text size: normal, large or larger."), field=TEXT_SIZE_COOKIE
                )
            cookies.append(remembered_cookie(request, TEXT_SIZE_COOKIE, size))
        if contrast is not None:
            if contrast not in CONTRASTS:
                raise InvalidInput(
                    N_("Choose the colours: standard or high contrast."), field=CONTRAST_COOKIE
                )
            cookies.append(remembered_cookie(request, CONTRAST_COOKIE, contrast))
        return Redirect(safe_next(query.get("next")), status_code=303, cookies=cookies)
