"""The desk's boards at a glance and the pages at a larger text size and in high contrast, in
a real browser: the week board is one table a desktop shows whole (rooms across, each day's
periods down), the day board fills its box, and on a phone the week scrolls inside its own box
with its headers in view; a secretary chooses 特大 and 高コントラスト in the footer, the choice
stays from page to page, and the key pages pass axe at each size and fit a 390 px phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Visit
from tests.browser.steps import TODAY

PERIODS = 3  # the seeded hall's day: morning, afternoon, evening
WEEK_HEIGHT_MAX = 1500  # px: the seven day tables stood 4,863 px tall


def _open_board(visit: Visit, view: str) -> None:
    visit.go(f"/manage/facilities/{visit.site.hall_id}?view={view}")


def _box_and_table(visit: Visit, table: str) -> dict[str, float]:
    return visit.page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector);
            const box = table.closest('.board-wrap');
            const t = table.getBoundingClientRect(), b = box.getBoundingClientRect();
            return {tableWidth: t.width, tableHeight: t.height, boxWidth: box.clientWidth,
                    boxLeft: b.left, boxTop: b.top,
                    pageWidth: document.documentElement.scrollWidth};
        }""",
        table,
    )


@pytest.mark.parametrize("visit", [("en", "desktop")], indirect=True)
def test_the_week_board_is_one_table_and_the_day_board_fills_its_box(visit: Visit) -> None:
    visit.log_in("manager")
    page = visit.page
    _open_board(visit, "day")
    day = _box_and_table(visit, "table.board.day")
    assert day["tableWidth"] >= day["boxWidth"] - 2, day  # it filled half of it before

    visit.submit(visit.link("Week board"), "**view=week**")
    expect(page.locator("table")).to_have_count(1)
    week = page.locator("table.board.week")
    rooms = week.locator("thead th").count() - 2  # after the day and the period
    assert rooms >= 2
    expect(week.locator("tbody")).to_have_count(7)
    expect(week.locator("tbody tr")).to_have_count(7 * PERIODS)
    expect(week.locator('tbody th[scope="rowgroup"] time').first).to_have_attribute(
        "datetime", TODAY.isoformat()
    )
    measured = _box_and_table(visit, "table.board.week")
    assert measured["tableHeight"] < WEEK_HEIGHT_MAX, measured
    assert measured["tableWidth"] <= measured["boxWidth"] + 1, measured  # no scrolling across
    assert measured["pageWidth"] <= 1280, measured
    # A free slot's link books it at the counter, as the day board's does.
    day_after = TODAY + timedelta(days=1)
    cell = week.locator(
        f'a[href^="/manage/facilities/{visit.site.hall_id}/book?room="]'
        f'[href*="date={day_after.isoformat()}"]'
    ).first
    visit.submit(cell, "**/book?**")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Counter booking"))


@pytest.mark.parametrize("visit", [("ja", "phone")], indirect=True)
def test_on_a_phone_the_week_scrolls_in_its_box_with_its_headers_in_view(visit: Visit) -> None:
    # A clerk who reads the pages at 特大 in high contrast: axe checks the board so too.
    visit.page.context.add_cookies(
        [
            {"name": "text_size", "value": "larger", "url": visit.site.url},
            {"name": "contrast", "value": "high", "url": visit.site.url},
        ]
    )
    visit.log_in("manager")
    _open_board(visit, "week")
    page = visit.page
    assert _classes(visit) == "text-larger contrast-high"
    measured = _box_and_table(visit, "table.board.week")
    assert measured["pageWidth"] <= 390, measured  # the page itself never scrolls across
    assert measured["tableWidth"] > measured["boxWidth"], measured
    page.evaluate(
        "() => { const b = document.querySelector('.board-wrap'); b.scrollTop = 300; "
        "b.scrollLeft = 300; }"
    )
    stuck = page.evaluate(
        """() => {
            const box = document.querySelector('.board-wrap').getBoundingClientRect();
            const room = document.querySelector('table.board.week thead th:nth-child(3)');
            const day = document.querySelector('table.board.week tbody th.day');
            return {roomTop: room.getBoundingClientRect().top - box.top,
                    dayLeft: day.getBoundingClientRect().left - box.left};
        }"""
    )
    assert abs(stuck["roomTop"]) <= 2, stuck  # the rooms stay on top
    assert abs(stuck["dayLeft"]) <= 2, stuck  # the days stay on the left


def _classes(visit: Visit) -> str:
    return visit.page.locator("html").get_attribute("class") or ""


def _choice(visit: Visit, group: str, words: str) -> re.Pattern[str]:
    """The name of a footer link: its group ("Text size:" or "Colours:") and its words."""
    return re.compile(rf"^{re.escape(visit._(group))}\s*{re.escape(words)}$")


def _choose(visit: Visit, group: str, words: str) -> None:
    footer = visit.page.locator("#display")
    visit.submit(footer.get_by_role("link", name=_choice(visit, group, words)))


@pytest.mark.parametrize("visit", [("ja", "phone")], indirect=True)
def test_a_larger_text_and_high_contrast_are_remembered_and_every_key_page_fits(
    visit: Visit,
) -> None:
    site, page = visit.site, visit.page
    visit.log_in("member")
    day = visit.free_days(site.room_id, TODAY + timedelta(days=40))[0]
    key_pages = [
        f"/search?ward={site.hall_ward}&kind=civic_hall&from={day}&to={day}",
        f"/facilities/{site.hall_id}",
        f"/book?room={site.room_id}&date={day}&period=10",
        "/login",
    ]
    visit.go(key_pages[0])
    assert _classes(visit) == ""
    # The header's link leads to the choice, at the foot of the page.
    header = page.locator("header.site")
    expect(header.get_by_role("link", name="文字の大きさ・配色")).to_have_attribute(
        "href", "#display"
    )
    for size, expected in (("大", "text-large"), ("特大", "text-larger")):
        _choose(visit, "Text size:", size)
        assert _classes(visit) == expected
        for path in key_pages:
            visit.go(path)  # axe, the CSP and the asset budget at this size
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} at {size}: {width} px wide"
    _choose(visit, "Colours:", "高コントラスト")
    assert _classes(visit) == "text-larger contrast-high"
    # Remembered: a link of the page (swapped in by htmx), then a fresh load, keep both.
    visit.submit(page.get_by_role("link", name="空き施設検索"), "**/search")
    assert _classes(visit) == "text-larger contrast-high"
    for path in key_pages:
        visit.go(path)
        assert _classes(visit) == "text-larger contrast-high"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} in high contrast: {width} px wide"
    # Links are underlined and borders thick in high contrast.
    link_style = page.evaluate(
        "() => getComputedStyle(document.querySelector('main a')).textDecorationLine"
    )
    assert "underline" in link_style
    high = _choice(visit, "Colours:", "高コントラスト")
    expect(page.locator("#display").get_by_role("link", name=high)).to_have_attribute(
        "aria-current", "true"
    )
    visit.shot("display-larger-contrast")
    # And back: the defaults, the page plain again.
    _choose(visit, "Text size:", "標準")
    assert _classes(visit) == "contrast-high"
