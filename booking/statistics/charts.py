"""The dashboard's charts, drawn on the server as SVG (no script, no chart library): an occupancy
heat map, supply against demand in grouped bars, and rates or counts over months as lines.

Each chart is a picture of the data table the page shows beside it (`table_id`): the svg is one
image named by its title and desc and points at that table (aria-details), so a screen reader
reads the table, and a copy takes the table's figures. Colours are CSS classes (site.css, "issue
19: charts"), so the high-contrast display and print choose their own; every series also differs
in something other than colour (lightness, a dash pattern, a marker's shape)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

from booking.statistics.svg import (
    EMPTY,
    FONT,
    RATE_TICKS,
    SMALL,
    WIDTH,
    count_ticks,
    frame,
    label,
    label_step,
    legend,
    num,
    percent,
    text_width,
)

HEAT_STEPS = 5  # 0-19, 20-39, 40-59, 60-79, 80-100 %
ROW = 22  # a heat map row's height
HEAD = 22  # the heat map's column labels
ROW_LABEL_MAX = 100  # widest room name drawn; longer ones end in an ellipsis
PLOT = 180  # the height of the bars' and the lines' plot
MAX_SERIES = 4
DASHES = ("", "6 3", "2 3", "9 3 2 3")  # a line's pattern per series, for greyscale print


def heat_step(rate: float) -> int:
    """The shade of a rate: its whole percent in fifths (62 % -> 3); above 100 % is the top."""
    return min(HEAT_STEPS - 1, max(0, percent(rate) // 20))


def _hatch(cid: str) -> Markup:
    return Markup(
        '<defs><pattern id="{}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="hatch" stroke="#767676" stroke-width="2"/>'
        "</pattern></defs>"
    ).format(cid)


def _heat_cell(
    x: float, y: float, w: float, value: float | None, where: str, hatch: str, no_data: str
) -> Markup:
    box = Markup('x="{}" y="{}" width="{}" height="{}"').format(num(x), num(y), num(w), ROW)
    if value is None:
        return Markup(
            '<rect class="cell heat-none" fill="url(#{})" {}><title>{}: {}</title></rect>'
        ).format(hatch, box, where, no_data)
    step, shown = heat_step(value), str(percent(value))
    cell = Markup('<rect class="cell heat-{}" {}><title>{}: {}%</title></rect>').format(
        step, box, where, shown
    )
    if text_width(shown, SMALL) > w - 1:
        return cell  # no room for the figure: the title and the table have it
    return cell + Markup(
        '<text x="{}" y="{}" font-size="{}" text-anchor="middle"{} aria-hidden="true">{}</text>'
    ).format(
        num(x + w / 2),
        num(y + ROW / 2 + SMALL * 0.35),
        SMALL,
        Markup(' class="on-dark"') if step >= 3 else EMPTY,
        shown,
    )


def heat_map(
    *,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    table_id: str,
    no_data_label: str = "–",
) -> Markup:
    """Rates 0..1 as shaded cells (rows × columns: room × month, weekday × period), each with
    its whole percent when it fits; None (no bookable slots) hatched, never shaded as 0."""
    if len(values) != len(row_labels) or any(len(r) != len(column_labels) for r in values):
        raise ValueError("values must have one row per row label and one cell per column label")
    cid = f"{table_id}-chart"
    hatch = f"{cid}-hatch"
    keys: list[tuple[Markup, str]] = [
        (
            Markup('<rect class="swatch heat-{}" width="14" height="14"/>').format(step),
            f"{step * 20}–{step * 20 + 19 if step < HEAT_STEPS - 1 else 100}%",
        )
        for step in range(HEAT_STEPS)
    ]
    if any(value is None for row in values for value in row):
        keys.append(
            (
                Markup(
                    '<rect class="swatch heat-none" fill="url(#{})" width="14" height="14"/>'
                ).format(hatch),
                no_data_label,
            )
        )
    key, key_height = legend(keys, top=0)
    widest = max((text_width(t, FONT) for t in row_labels), default=0.0)
    left = min(widest + 6, ROW_LABEL_MAX)
    cell = (WIDTH - left - 1) / max(1, len(column_labels))
    top = key_height + 4 + HEAD
    parts = [key]
    every = label_step(column_labels, cell)
    for c, text in enumerate(column_labels):
        if c % every == 0:
            parts.append(
                label(
                    left + cell * c + cell / 2,
                    top - 7,
                    text,
                    width=cell * every - 2,
                    size=SMALL,
                    anchor="middle",
                )
            )
    for r, (name, row) in enumerate(zip(row_labels, values, strict=True)):
        y = top + r * ROW
        parts.append(label(left - 4, y + ROW / 2 + FONT * 0.35, name, width=left - 4, anchor="end"))
        parts.extend(
            _heat_cell(
                left + c * cell,
                y,
                cell,
                value,
                f"{name} · {column_labels[c]}",
                hatch,
                no_data_label,
            )
            for c, value in enumerate(row)
        )
    return frame(
        table_id=table_id,
        title=title,
        desc=desc,
        cls="heat-map",
        height=top + len(row_labels) * ROW + 2,
        defs=_hatch(cid),
        body=Markup("").join(parts),
    )


@dataclass(frozen=True, slots=True)
class _Plot:
    """Where the axes put things: the plot's box, and the value at its top."""

    left: float
    top: float
    width: float
    ceiling: float
    slots: int

    def y(self, value: float) -> float:
        return self.top + PLOT - (value / self.ceiling) * PLOT if self.ceiling else self.top + PLOT

    def slot(self) -> float:
        return self.width / max(1, self.slots)


def _axes(
    labels: Sequence[str],
    ticks: Sequence[float],
    show: Callable[[float], str],
    keys: Sequence[tuple[Markup, str]],
) -> tuple[_Plot, Markup, float]:
    """The legend, the y axis's round ticks as grid lines, the x axis's labels (thinned out so
    none overlaps the next); returns the plot, its drawing and the chart's height."""
    key, key_height = legend(keys, top=0)
    tick_texts = [show(t) for t in ticks]
    left = max(text_width(t, SMALL) for t in tick_texts) + 10
    plot = _Plot(
        left=left, top=key_height + 10, width=WIDTH - left - 2, ceiling=ticks[-1], slots=len(labels)
    )
    parts = [key]
    for value, text in zip(ticks, tick_texts, strict=True):
        y = plot.y(value)
        parts.append(
            Markup('<line class="gridline" x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
                num(left), WIDTH - 2, num(y), num(y)
            )
        )
        parts.append(
            Markup(
                '<text class="tick" x="{}" y="{}" font-size="{}" text-anchor="end">{}</text>'
            ).format(num(left - 4), num(y + SMALL * 0.35), SMALL, text)
        )
    base = plot.top + PLOT
    parts.append(
        Markup('<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
            num(left), WIDTH - 2, num(base), num(base)
        )
    )
    every = label_step(labels, plot.slot())
    for i, text in enumerate(labels):
        if i % every == 0:
            x = left + plot.slot() * (i + 0.5)
            parts.append(
                label(
                    x,
                    base + SMALL + 4,
                    text,
                    width=plot.slot() * every - 2,
                    size=SMALL,
                    anchor="middle",
                )
            )
    return plot, Markup("").join(parts), base + SMALL + 10


def _check_series(labels: Sequence[str], series: Sequence[tuple[str, Sequence[object]]]) -> None:
    if not 1 <= len(series) <= MAX_SERIES:
        raise ValueError(f"between 1 and {MAX_SERIES} series")
    if any(len(values) != len(labels) for _, values in series):
        raise ValueError("every series needs one value per label")


def bars(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    table_id: str,
) -> Markup:
    """Counts as grouped bars, one group per label (a month), one bar per series in the
    legend's order (bookable slots, slot applications), on round ticks from 0."""
    _check_series(labels, series)
    keys = [
        (Markup('<rect class="swatch bar s{}" width="14" height="14"/>').format(i), name)
        for i, (name, _) in enumerate(series)
    ]
    top = max((v for _, values in series for v in values), default=0)
    plot, axes, height = _axes(labels, count_ticks(top), lambda t: f"{int(t):,}", keys)
    slot = plot.slot()
    bar = slot * 0.8 / len(series)
    parts = [axes]
    for i, (name, values) in enumerate(series):
        for j, value in enumerate(values):
            x = plot.left + slot * j + slot * 0.1 + bar * i
            y = plot.y(value)
            parts.append(
                Markup(
                    '<rect class="bar s{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{} · {}: {}</title></rect>"
                ).format(
                    i,
                    num(x),
                    num(y),
                    num(bar),
                    num(plot.top + PLOT - y),
                    labels[j],
                    name,
                    f"{value:,}",
                )
            )
    return frame(
        table_id=table_id,
        title=title,
        desc=desc,
        cls="bars",
        height=height,
        body=Markup("").join(parts),
    )


MARKERS = (  # a point's mark, a shape per series: circle, square, triangle, diamond
    Markup('<circle class="marker s0" cx="{x}" cy="{y}" r="4">{title}</circle>'),
    Markup('<rect class="marker s1" x="{x0}" y="{y0}" width="8" height="8">{title}</rect>'),
    Markup('<path class="marker s2" d="M{x} {ya}L{xr} {yb}L{xl} {yb}Z">{title}</path>'),
    Markup('<path class="marker s3" d="M{x} {ya}L{xr} {y}L{x} {yc}L{xl} {y}Z">{title}</path>'),
)


def _marker(i: int, x: float, y: float, tip: str | None) -> Markup:
    title = Markup("<title>{}</title>").format(tip) if tip is not None else EMPTY
    return MARKERS[i].format(
        title=title,
        x=num(x),
        y=num(y),
        x0=num(x - 4),
        y0=num(y - 4),
        ya=num(y - 5),
        yb=num(y + 4),
        yc=num(y + 5),
        xl=num(x - 5),
        xr=num(x + 5),
    )


def trend(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    table_id: str,
    unit: Literal["rate", "count"],
) -> Markup:
    """Lines over months with a marker at each figure; a gap where a figure is None (no
    denominator), never a drop to 0. Rates on 0-100 %, counts on round ticks from 0."""
    _check_series(labels, series)

    def show(value: float) -> str:
        return f"{percent(value)}%" if unit == "rate" else f"{value:,.1f}".removesuffix(".0")

    keys = [
        (
            Markup(
                '<line class="line s{}" x1="0" x2="14" y1="7" y2="7" stroke-dasharray="{}"/>'
            ).format(i, DASHES[i])
            + _marker(i, 7, 7, None),
            name,
        )
        for i, (name, _) in enumerate(series)
    ]
    top = max((v for _, values in series for v in values if v is not None), default=0.0)
    ticks = RATE_TICKS if unit == "rate" else [float(t) for t in count_ticks(top)]
    plot, axes, height = _axes(labels, ticks, show, keys)
    parts = [axes]
    for i, (name, values) in enumerate(series):
        points = [
            (plot.left + plot.slot() * (j + 0.5), plot.y(v), j, v)
            for j, v in enumerate(values)
            if v is not None
        ]
        path = "".join(
            f"{'L' if j > 0 and values[j - 1] is not None else 'M'}{num(x)} {num(y)}"
            for x, y, j, _ in points
        )
        if path:
            parts.append(
                Markup('<path class="line s{}" d="{}" stroke-dasharray="{}"/>').format(
                    i, path, DASHES[i]
                )
            )
        parts.extend(_marker(i, x, y, f"{labels[j]} · {name}: {show(v)}") for x, y, j, v in points)
    return frame(
        table_id=table_id,
        title=title,
        desc=desc,
        cls=f"trend {unit}",
        height=height,
        body=Markup("").join(parts),
    )
