"""How the pages are shown: a larger text and a high-contrast theme, for the readers of senior
centres among others. Chosen by links in every page's footer (no JavaScript), remembered a year
in cookies as the language is, and applied as classes on <html> so the stylesheet alone scales
the text and changes the colours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request

from booking.pages.i18n import N_

TEXT_SIZE_COOKIE = "text_size"
CONTRAST_COOKIE = "contrast"
# value -> its name on the page (標準 / 大 / 特大); the first is the default
TEXT_SIZES = {"normal": N_("Normal"), "large": N_("Large"), "larger": N_("Larger")}
CONTRASTS = {"normal": N_("Standard"), "high": N_("High contrast")}


@dataclass(frozen=True, slots=True)
class Display:
    text_size: str = "normal"
    contrast: str = "normal"

    @property
    def classes(self) -> str:
        """The classes of <html>: none for the defaults, so a plain page stays plain."""
        chosen = []
        if self.text_size != "normal":
            chosen.append(f"text-{self.text_size}")
        if self.contrast != "normal":
            chosen.append(f"contrast-{self.contrast}")
        return " ".join(chosen)


def read_display(cookies: Mapping[str, str]) -> Display:
    """The visitor's choice; a cookie of another value (old, hand-made) is the default, never
    an error: a page must show whatever the browser sends."""
    size = cookies.get(TEXT_SIZE_COOKIE, "")
    contrast = cookies.get(CONTRAST_COOKIE, "")
    return Display(
        text_size=size if size in TEXT_SIZES else "normal",
        contrast=contrast if contrast in CONTRASTS else "normal",
    )


def display_of(request: Request[Any, Any, Any]) -> Display:
    """For the templates (base.html): every page, error pages included, has its request."""
    return read_display(request.cookies)
