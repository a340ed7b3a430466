"""The dashboard's SVG charts, read back as XML: a heat map's shades follow the rates (and "no
bookable slots" is hatched, never shaded as 0 %), every label is escaped, the svg is one image
named by its title and desc and pointing at its table, bars stand in proportion on round ticks,
a line breaks where a figure is missing, and the text stays legible on a 390 px phone."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from booking.statistics.charts import bars, heat_map, trend
from booking.statistics.svg import count_ticks

NS = {"s": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & 会議室'
PHONE = 358  # a 390 px phone less the page's margins (1rem each side)


def parse(chart: Markup) -> ET.Element:
    assert isinstance(chart, Markup)
    return ET.fromstring(str(chart))  # noqa: S314 (our own markup, not a stranger's)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def one_cell_map(value: float | None, **kwargs: str) -> ET.Element:
    return parse(
        heat_map(
            title="Occupancy",
            desc="Occupancy by room and month; the figures are in the table beside it.",
            row_labels=["Hall"],
            column_labels=["Apr"],
            values=[[value]],
            table_id="occupancy",
            **kwargs,
        )
    )


def cells(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if "cell" in classes(r)]


def shade(svg: ET.Element) -> str:
    (cell,) = cells(svg)
    (found,) = [c for c in classes(cell) if c.startswith("heat-")]
    return found


def cell_texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("aria-hidden") == "true"]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, "heat-0"),
        (0.1, "heat-0"),
        (0.194, "heat-0"),  # shown as 19
        (0.195, "heat-1"),  # shown as 20: the shade agrees with the figure drawn on it
        (0.45, "heat-2"),
        (0.62, "heat-3"),
        (0.8, "heat-4"),
        (0.9, "heat-4"),
        (1.0, "heat-4"),
    ],
)
def test_a_cells_shade_follows_its_rate_in_five_steps(rate: float, expected: str) -> None:
    assert shade(one_cell_map(rate)) == expected


def test_a_cell_shows_its_whole_percent_and_names_itself_on_hover() -> None:
    svg = one_cell_map(0.625)
    assert cell_texts(svg) == ["63"]
    (cell,) = cells(svg)
    assert cell.findtext("s:title", namespaces=NS) == "Hall · Apr: 63%"


def test_no_bookable_slots_is_hatched_and_never_drawn_as_zero() -> None:
    svg = one_cell_map(None, no_data_label="No bookable slots")
    (cell,) = cells(svg)
    assert shade(svg) == "heat-none"
    assert cell.get("fill") == "url(#occupancy-chart-hatch)"
    assert svg.find(".//s:pattern[@id='occupancy-chart-hatch']", NS) is not None
    assert cell.findtext("s:title", namespaces=NS) == "Hall · Apr: No bookable slots"
    assert cell_texts(svg) == []  # no "0" on it
    legend = [t.text for t in svg.iterfind(".//s:g[@class='legend']//s:text", NS)]
    assert "No bookable slots" in legend
    # 0 % is a shade of its own, with its figure
    zero = one_cell_map(0.0)
    assert shade(zero) == "heat-0"
    assert cell_texts(zero) == ["0"]


def test_a_heat_map_of_rooms_by_month_has_a_cell_per_figure_and_a_legend() -> None:
    rooms = [f"Room {i}" for i in range(30)]
    months = [f"{m}月" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    values = [[(r * 12 + c) / 360 for c in range(12)] for r in range(30)]
    svg = parse(
        heat_map(
            title="t",
            desc="d",
            row_labels=rooms,
            column_labels=months,
            values=values,
            table_id="rooms",
        )
    )
    drawn = cells(svg)
    assert len(drawn) == 360
    # row by row, left to right, each where its row and column are
    assert [c.findtext("s:title", namespaces=NS) for c in drawn[:2]] == [
        "Room 0 · 4月: 0%",
        "Room 0 · 5月: 0%",
    ]
    assert drawn[-1].findtext("s:title", namespaces=NS) == "Room 29 · 3月: 100%"
    xs = [float(c.get("x", "")) for c in drawn[:12]]
    assert xs == sorted(xs)
    assert len(set(xs)) == 12
    legend = [t.text for t in svg.iterfind(".//s:g[@class='legend']//s:text", NS)]
    assert legend == ["0–19%", "20–39%", "40–59%", "60–79%", "80–100%"]
    # the months over the columns, thinned out where a phone has no room for all: none overlaps
    heads = [t for t in svg.iter(f"{SVG}text") if t.text in months]
    assert heads[0].text == "4月"
    assert 1 < len(heads) <= 12
    for a, b in itertools.pairwise(heads):
        wide = 13 * (len(a.text or "") + len(b.text or "")) / 2  # a 13-unit font, full width
        assert float(b.get("x", "")) - float(a.get("x", "")) >= wide


def test_a_long_room_name_ends_in_an_ellipsis_and_keeps_its_whole_name() -> None:
    name = "体育館アリーナ全面使用（東側）"
    svg = parse(
        heat_map(
            title="t",
            desc="d",
            row_labels=[name, "和室"],
            column_labels=["Apr"],
            values=[[0.5], [0.5]],
            table_id="rooms",
        )
    )
    (shortened,) = [t for t in svg.iter(f"{SVG}text") if t.find("s:title", NS) is not None]
    assert shortened.findtext("s:title", namespaces=NS) == name
    shown = "".join(shortened.itertext()).removeprefix(name)
    assert shown.endswith("…")
    assert name.startswith(shown[:-1])
    assert len(shown) < len(name)
    # drawn in a Japanese font every character of it is a full em (14 units): it ends before
    # the first cell
    first_cell = min(float(c.get("x", "")) for c in cells(svg))
    assert len(shown) * 14 <= first_cell
    short = [t for t in svg.iter(f"{SVG}text") if t.text == "和室"]
    assert short
    assert short[0].find("s:title", NS) is None


def all_charts(text: str) -> list[Markup]:
    return [
        heat_map(
            title=text,
            desc=text,
            row_labels=[text],
            column_labels=[text],
            values=[[0.5]],
            table_id="h",
        ),
        bars(title=text, desc=text, labels=[text], series=[(text, [3])], table_id="b"),
        trend(
            title=text,
            desc=text,
            labels=[text],
            series=[(text, [0.5])],
            table_id="t",
            unit="rate",
        ),
    ]


def test_every_label_is_escaped() -> None:
    for chart in all_charts(HOSTILE):
        assert "<script" not in chart
        assert "& " not in chart
        svg = parse(chart)  # well-formed
        assert svg.find(".//s:script", NS) is None
        assert svg.find(".//script") is None
        texts = ["".join(e.itertext()) for e in svg.iter()]
        assert HOSTILE in texts
        assert svg.findtext("s:title", namespaces=NS) == HOSTILE
        assert svg.findtext("s:desc", namespaces=NS) == HOSTILE


def test_the_svg_is_one_image_named_by_its_title_and_desc_pointing_at_its_table() -> None:
    for chart, table_id in zip(all_charts("Occupancy"), ("h", "b", "t"), strict=True):
        svg = parse(chart)
        assert svg.get("role") == "img"
        assert svg.get("aria-details") == table_id  # the data table beside it
        title_id, desc_id = (svg.get("aria-labelledby") or "").split()
        assert svg.find(f"s:title[@id='{title_id}']", NS) is not None
        assert svg.find(f"s:desc[@id='{desc_id}']", NS) is not None
        assert (title_id, desc_id) == (f"{table_id}-chart-title", f"{table_id}-chart-desc")
        # every id of the page's charts is its own
        ids = [e.get("id") for e in svg.iter() if e.get("id")]
        assert len(ids) == len(set(ids))
        assert all(i.startswith(table_id) for i in ids)
        # sized by its viewBox, legible on a phone: 12 px at the least
        _, _, width, _ = (float(v) for v in (svg.get("viewBox") or "").split())
        sizes = [float(t.get("font-size") or svg.get("font-size") or 0) for t in svg.iter()]
        smallest = min(s for s in sizes if s) * min(1.0, PHONE / width)
        assert width <= 640
        assert smallest >= 12
        assert "style" not in chart  # the CSP refuses inline style: colours are classes


def bar_rects(svg: ET.Element) -> list[ET.Element]:
    return [
        r
        for r in svg.iter(f"{SVG}rect")
        if "bar" in classes(r) and r.find("s:title", NS) is not None
    ]


def test_bars_stand_in_proportion_on_one_baseline_in_the_legends_order() -> None:
    svg = parse(
        bars(
            title="Supply and demand",
            desc="d",
            labels=["Apr", "May", "Jun"],
            series=[("Bookable slots", [800, 400, 0]), ("Slot applications", [200, 1000, 600])],
            table_id="supply",
        )
    )
    rects = bar_rects(svg)
    heights = [float(r.get("height", "")) for r in rects]
    values = [800, 400, 0, 200, 1000, 600]
    assert heights[2] == 0
    assert heights[0] > 0
    for height, value in zip(heights, values, strict=True):
        assert height == pytest.approx(heights[4] * value / 1000, abs=0.02)
    bottoms = {round(float(r.get("y", "")) + float(r.get("height", "")), 1) for r in rects}
    assert len(bottoms) == 1
    assert [r.get("class") for r in rects] == ["bar s0"] * 3 + ["bar s1"] * 3
    assert rects[1].findtext("s:title", namespaces=NS) == "May · Bookable slots: 400"
    legend = [t.text for t in svg.iterfind(".//s:g[@class='legend']//s:text", NS)]
    assert legend == ["Bookable slots", "Slot applications"]
    # the tallest bar reaches the top tick's height at most
    ticks = tick_labels(svg)
    assert ticks == ["0", "200", "400", "600", "800", "1,000"]
    top_line = [g for g in svg.iter(f"{SVG}line") if g.get("class") == "gridline"][-1]
    assert float(rects[4].get("y", "")) == pytest.approx(float(top_line.get("y1", "")))


def tick_labels(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (730, [0, 200, 400, 600, 800]),
        (1000, [0, 200, 400, 600, 800, 1000]),
        (1001, [0, 500, 1000, 1500]),
        (123_456, [0, 50_000, 100_000, 150_000]),
    ],
)
def test_count_ticks_are_round_and_reach_the_top(top: int, expected: list[int]) -> None:
    assert count_ticks(top) == expected


@pytest.mark.parametrize("top", [1, 9, 11, 99, 101, 4_999, 27_000, 98_765, 1_000_001])
def test_a_tick_step_is_one_two_or_five_times_a_power_of_ten(top: int) -> None:
    ticks = count_ticks(top)
    step = ticks[1]
    assert re.fullmatch(r"[125]0*", str(step)), step
    assert ticks == [i * step for i in range(len(ticks))]
    assert ticks[-1] >= top > ticks[-2]
    assert 2 <= len(ticks) <= 6


def titled(element: ET.Element) -> bool:
    return element.find("s:title", NS) is not None


def line_chart(values: list[float | None], unit: str = "rate") -> ET.Element:
    labels = [f"m{i}" for i in range(len(values))]
    return parse(
        trend(
            title="Occupancy over months",
            desc="d",
            labels=labels,
            series=[("Occupancy", values)],
            table_id="trend",
            unit="rate" if unit == "rate" else "count",
        )
    )


def test_a_line_breaks_where_a_figure_is_missing_and_marks_only_figures() -> None:
    svg = line_chart([0.1, 0.2, None, 0.4, 0.5])
    (path,) = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "line s0"]
    d = path.get("d", "")
    assert d.count("M") == 2
    assert d.count("L") == 2
    markers = [
        m for m in svg.iter() if "marker" in classes(m) and m.find("s:title", NS) is not None
    ]
    assert [m.findtext("s:title", namespaces=NS) for m in markers] == [
        "m0 · Occupancy: 10%",
        "m1 · Occupancy: 20%",
        "m3 · Occupancy: 40%",
        "m4 · Occupancy: 50%",
    ]
    # the line's points stand at their rates: 0.4 twice as high above the axis as 0.2
    ys = [float(v) for v in re.findall(r"[ML][\d.]+ ([\d.]+)", d)]
    axis = next(g for g in svg.iter(f"{SVG}line") if g.get("class") == "axis")
    base = float(axis.get("y1", ""))
    assert base - ys[2] == pytest.approx(2 * (base - ys[1]), abs=0.02)
    assert tick_labels(svg) == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_a_line_of_one_figure_between_gaps_is_a_marker_and_no_line() -> None:
    svg = line_chart([None, 0.3, None])
    lines = [p.get("d") or "" for p in svg.iter(f"{SVG}path") if "line" in classes(p)]
    assert all("L" not in d for d in lines)
    markers = [
        m for m in svg.iter() if "marker" in classes(m) and m.find("s:title", NS) is not None
    ]
    assert len(markers) == 1


def test_counts_over_months_on_round_ticks_with_each_series_its_own_dash() -> None:
    svg = parse(
        trend(
            title="Applications",
            desc="d",
            labels=["Apr", "May"],
            series=[("Lottery", [120.0, 340.0]), ("Wait list", [2.5, None])],
            table_id="counts",
            unit="count",
        )
    )
    assert tick_labels(svg) == ["0", "100", "200", "300", "400"]
    lines = [p for p in svg.iter(f"{SVG}path") if "line" in classes(p)]
    assert [p.get("class") for p in lines] == ["line s0", "line s1"]
    assert len({p.get("stroke-dasharray") for p in lines}) == 2
    tips = [m.findtext("s:title", namespaces=NS) for m in svg.iter() if "marker" in classes(m)]
    assert "May · Lottery: 340" in tips
    assert "Apr · Wait list: 2.5" in tips


def test_crowded_month_labels_are_thinned_out_not_overlapped() -> None:
    months = [f"{y}年{m}月" for y in (2026, 2027) for m in range(1, 13)]
    svg = parse(bars(title="t", desc="d", labels=months, series=[("s", [1] * 24)], table_id="b"))
    drawn = [t for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert 1 < len(drawn) < 24
    xs = [float(t.get("x", "")) for t in drawn]
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert gaps == pytest.approx([gaps[0]] * len(gaps), abs=0.02)  # every n-th month


def test_mismatched_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="one row per row label"):
        heat_map(
            title="t",
            desc="d",
            row_labels=["a"],
            column_labels=["x", "y"],
            values=[[0.1]],
            table_id="h",
        )
    with pytest.raises(ValueError, match="one value per label"):
        bars(title="t", desc="d", labels=["a", "b"], series=[("s", [1])], table_id="b")
    with pytest.raises(ValueError, match="series"):
        trend(title="t", desc="d", labels=["a"], series=[], table_id="t", unit="rate")


def test_a_chart_of_nothing_is_an_empty_picture_not_an_error() -> None:
    """A manager's facility with no rooms yet, a span with no months: the page still shows."""
    for chart in (
        heat_map(title="t", desc="d", row_labels=[], column_labels=[], values=[], table_id="h"),
        bars(title="t", desc="d", labels=[], series=[("s", [])], table_id="b"),
        trend(title="t", desc="d", labels=[], series=[("s", [])], table_id="t", unit="count"),
        trend(title="t", desc="d", labels=["a"], series=[("s", [None])], table_id="r", unit="rate"),
    ):
        svg = parse(chart)
        assert svg.get("role") == "img"
        assert not cells(svg)
        assert not [e for e in svg.iter() if "marker" in classes(e) and titled(e)]
