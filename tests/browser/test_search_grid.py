"""The search grid in a real browser (issue 18): on a 390 px phone the page never scrolls
sideways, the grid scrolls inside its own box with the room and period columns fixed, every
line names its period, and a week fits the screen; on a desktop a month nearly fits at once.
Public holidays are red like Sundays. Every page is checked by axe-core (conftest.Visit.check).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMBINATIONS, VIEWPORTS, Visit
from tests.browser.steps import tokyo

START = date(2027, 1, 4)  # a month holding 成人の日 (Monday 11 January 2027)
HOLIDAY, SUNDAY, WEEKDAY = date(2027, 1, 11), date(2027, 1, 10), date(2027, 1, 12)
PERIODS = {"ja": {"午前", "午後", "夜間", "日中"}, "en": {"Morning", "Afternoon", "Evening"}}


def day_header(visit: Visit, day: date) -> str:
    return f'table.grid thead th:has(time[datetime="{day.isoformat()}"])'


def colour(visit: Visit, selector: str) -> str:
    return str(visit.page.eval_on_selector(selector, "e => getComputedStyle(e).color"))


def page_width(visit: Visit) -> int:
    return int(visit.page.evaluate("() => document.documentElement.scrollWidth"))


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_the_grid_scrolls_in_its_box_names_periods_and_has_a_week_for_phones(
    visit: Visit,
) -> None:
    page, width = visit.page, VIEWPORTS[visit.viewport]["width"]
    # 20 December: the counter-only rooms' January is open (from the 1st a month ahead).
    visit.site.clock.set(tokyo(date(2026, 12, 20)))
    visit.go(f"/search?ward={visit.site.hall_ward}&from={START.isoformat()}&view=grid")
    grid = page.locator("table.grid")
    expect(grid).to_be_visible()
    expect(grid.locator("thead th.day")).to_have_count(31)
    assert page_width(visit) <= width, "the page itself scrolls sideways"

    # Every line names its period in words on the screen (a phone cannot hover).
    labels = grid.locator("tbody th.period")
    expect(labels.first).to_be_visible()
    # (a grid that splits the afternoon adds each one's start: 午後 13:00, 午後 15:00)
    assert {text.split()[0] for text in labels.all_inner_texts()} <= PERIODS[visit.lang]
    assert labels.count() > grid.locator("tbody th.room").count()  # several a room

    # 成人の日 is red like the Sunday before it; the Tuesday after is not.
    holiday = colour(visit, day_header(visit, HOLIDAY))
    assert holiday == colour(visit, day_header(visit, SUNDAY))
    assert holiday != colour(visit, day_header(visit, WEEKDAY))

    # A room booked at the counter only: 窓 on its slots, and the words under its name.
    counter = grid.locator("tbody th.room small.counter").first
    expect(counter).to_contain_text(visit._("Counter only"))
    row = grid.locator("tbody:has(th.room small.counter)").first
    assert row.locator(".mark.counter_only").count() > 1
    assert row.locator("a.mark").count() == 0  # nothing to book online

    box = page.locator(".grid-wrap")
    sizes = box.evaluate("b => [b.scrollWidth, b.clientWidth]")
    if visit.viewport == "desktop":
        # Most of the month at once: the days whose column ends inside the box.
        shown = page.evaluate(
            "() => { const box = document.querySelector('.grid-wrap').getBoundingClientRect();"
            " return [...document.querySelectorAll('table.grid th.day')]"
            ".filter(th => th.getBoundingClientRect().right <= box.right + 0.5).length; }"
        )
        assert shown >= 28, f"{shown} of 31 days fit a {width} px desktop"
        return

    # A phone: the box scrolls, not the page; the room and period stay in view.
    assert sizes[0] > sizes[1], "the month does not scroll inside its box"
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    assert box.evaluate("b => b.scrollLeft") > 0
    left = box.evaluate("b => b.getBoundingClientRect().left")
    room = grid.locator("tbody th.room").first
    assert abs(room.bounding_box()["x"] - left) <= 2, "the room column scrolled away"  # type: ignore[index]
    expect(room).to_be_in_viewport()
    expect(labels.first).to_be_in_viewport()
    assert page_width(visit) <= width

    # The week view: seven days that fit the phone without scrolling, week by week.
    visit.submit(visit.link("Week view"), "**view=week**")
    expect(grid.locator("thead th.day")).to_have_count(7)
    expect(grid.locator("thead th.day").first.locator("time")).to_have_attribute(
        "datetime", START.isoformat()
    )
    week = page.locator(".grid-wrap").evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert week[0] <= week[1], "a week does not fit a phone"
    assert page_width(visit) <= width
    visit.submit(visit.link("Next week"), "**view=week**")
    expect(grid.locator("thead th.day").first.locator("time")).to_have_attribute(
        "datetime", (START + timedelta(days=7)).isoformat()
    )
    expect(page.locator('input[name="view"][value="week"]')).to_be_checked()  # (folded form)
