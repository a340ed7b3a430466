"""The small drawing words the charts are made of (booking/statistics/charts.py): text measured
and shortened, round axis ticks, a legend that wraps, and elements whose every text is escaped.

Sizes are viewBox units. The charts are WIDTH units wide, so on a 390 px phone (358 px inside the
page's margins) a unit is 0.94 px: text of 13 units is 12.2 px, the smallest the charts use."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 380
FONT = 14  # labels and the legend
SMALL = 13  # a heat map cell's figure, tick labels
ELLIPSIS = "…"
EMPTY = Markup("")


def text_width(text: str, size: float) -> float:
    """An estimate, on the safe side, of the drawn width: a CJK character (and one a Japanese
    font draws as wide: …, ・, ○) is a full em wide, a digit 0.56 em, any other letter 0.62."""
    return sum(_em(ch) for ch in text) * size


def _em(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in "WFA":
        return 1.0
    return 0.56 if ch.isdigit() or ch in ",.-" else 0.62


def fit(text: str, width: float, size: float) -> str:
    """The text, or its beginning and an ellipsis, within `width`."""
    if text_width(text, size) <= width:
        return text
    room = width - text_width(ELLIPSIS, size)
    shown = ""
    for ch in text:
        if text_width(shown + ch, size) > room:
            break
        shown += ch
    return shown + ELLIPSIS


def label(
    x: float,
    y: float,
    text: str,
    *,
    width: float,
    size: float = FONT,
    anchor: str = "start",
    cls: str = "",
) -> Markup:
    """A text element within `width`; shortened, it carries its whole text as a <title>."""
    shown = fit(text, width, size)
    whole = Markup("<title>{}</title>").format(text) if shown != text else Markup("")
    return Markup('<text x="{}" y="{}" font-size="{}" text-anchor="{}"{}>{}{}</text>').format(
        num(x), num(y), size, anchor, Markup(' class="{}"').format(cls) if cls else "", whole, shown
    )


def num(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def count_ticks(top: float) -> list[int]:
    """Round ticks from 0 to at least `top`: a step of 1, 2 or 5 times a power of ten, about
    five steps at most (top 730 -> 0, 200, 400, 600, 800)."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, round(step))
    return [i * step for i in range(math.ceil(top / step) + 1)]


RATE_TICKS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def percent(rate: float) -> int:
    """A rate as a whole percent, half up (0.625 -> 63), as the cells and the legend show it."""
    return math.floor(rate * 100 + 0.5)


def label_step(labels: Sequence[str], slot: float, size: float = SMALL) -> int:
    """Every how many slots a label is drawn so that none overlaps the next (24 months on a
    phone: every second or third)."""
    widest = max((text_width(t, size) for t in labels), default=0.0)
    return max(1, math.ceil((widest + 4) / slot)) if slot > 0 else 1


def legend(items: Sequence[tuple[Markup, str]], *, top: float) -> tuple[Markup, float]:
    """Keys (a 14-unit swatch drawn at 0,0 and its text) in rows that wrap within the width;
    returns the drawing and the height it takes."""
    parts: list[Markup] = []
    x, y = 0.0, top
    for swatch, text in items:
        shown = fit(text, WIDTH - 20, FONT)
        width = 20 + text_width(shown, FONT) + 14
        if x > 0 and x + width > WIDTH:
            x, y = 0.0, y + FONT + 8
        parts.append(
            Markup('<g transform="translate({} {})">{}{}</g>').format(
                num(x), num(y), swatch, label(20, 12, text, width=WIDTH - 20)
            )
        )
        x += width
    height = (y - top) + FONT + 8 if items else 0.0
    return Markup('<g class="legend">{}</g>').format(Markup("").join(parts)), height


def frame(
    *,
    table_id: str,
    title: str,
    desc: str,
    height: float,
    cls: str,
    body: Markup,
    defs: Markup = EMPTY,
) -> Markup:
    """The <svg>: an image named by its title and desc, its figures in the table `table_id`."""
    cid = f"{table_id}-chart"
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="chart {cls}" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-size="{font}" role="img" '
        'aria-labelledby="{cid}-title {cid}-desc" aria-details="{table_id}">'
        '<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>'
        "{defs}{body}</svg>"
    ).format(
        cid=cid,
        cls=cls,
        w=WIDTH,
        h=num(math.ceil(height)),
        font=FONT,
        table_id=table_id,
        title=title,
        desc=desc,
        defs=defs,
        body=body,
    )
