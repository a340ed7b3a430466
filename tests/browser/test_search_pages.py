"""The search page as a group's secretary uses it (issue 18), in a real browser: on a phone in
Japanese and on a desktop in English, the results begin within the first screen, a month of
the ward with the most rooms is a few screens (the days fold, the first one open), the chosen
conditions are one line with the form folded behind「条件を変える」, a facility's own search can
be dropped again, and a blank search form offers the last search. axe on every page reached.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMBINATIONS, VIEWPORTS, Visit

BIGGEST_WARD = "takatsu"  # 高津区: 28 rooms, the most of any ward in the bundled data
FIRST_SCREEN = 600  # px from the top: where the results must begin after a search
FEW_SCREENS = 5  # a ward's month: at most this many screens high (was 25 pages of ~9)


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_a_wards_month_comes_first_folds_by_day_and_is_remembered(visit: Visit) -> None:
    page = visit.page
    screen = VIEWPORTS[visit.viewport]["height"]
    visit.go("/search")
    expect(visit.field("Ward")).to_be_visible()  # a first visit: the form, open
    visit.field("Ward").select_option(BIGGEST_WARD)
    visit.field("From").fill("2026-12-01")
    visit.field("To").fill("2026-12-31")
    visit.submit(visit.button("Search"), "**/search?**")

    heading = page.locator("#results-heading")
    box = heading.bounding_box()
    assert box is not None
    assert box["y"] < FIRST_SCREEN, box
    ward = "高津区" if visit.lang == "ja" else "Takatsu"
    expect(page.locator("p.criteria")).to_contain_text(ward)
    expect(visit.field("Ward")).to_be_hidden()  # folded behind「条件を変える」
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= FEW_SCREENS * screen, f"{height} px for a ward's month"
    days = page.locator("nav.days a")
    assert days.count() >= 25  # December but the New Year holidays
    shown = page.locator("section.day")
    chip = shown.locator("a.chip").first
    expect(chip).to_be_visible()
    # The chip's name says what it does, the day, the facility, the room and the period.
    expect(chip).to_have_accessible_name(re.compile(re.escape(visit.texts.day(date(2026, 12, 1)))))
    visit.shot("search-list")
    visit.submit(days.nth(1), "**day=**")  # another day: a link, no JavaScript
    expect(shown.locator("h3 time")).to_have_attribute("datetime", "2026-12-02")
    expect(page.locator('nav.days a[aria-current="page"] time')).to_have_attribute(
        "datetime", "2026-12-02"
    )

    # The way back to the conditions: what was asked is still there; narrow to one facility.
    page.locator("details.search-form > summary").click()
    expect(page.locator("details.search-form > summary")).to_have_text(
        visit._("Change the conditions")
    )
    expect(visit.field("Ward")).to_have_value(BIGGEST_WARD)
    facility = shown.locator("h4.facility a").first.inner_text()
    visit.field("Facility").select_option(label=facility)
    visit.submit(visit.button("Search"), "**facility=**")
    expect(page.locator("p.criteria")).to_contain_text(facility)
    for link in page.locator("#results h4.facility a").all():
        expect(link).to_have_text(facility)
    drop = page.get_by_role("link", name=visit._("Drop “%(name)s”", name=facility))
    visit.submit(drop, re.compile(r"/search\?(?!.*facility=)"))
    expect(page.locator("p.criteria")).not_to_contain_text(facility)

    # A blank search form offers the last search; following it searches again.
    visit.go("/search")
    again = visit.link("Search again as last time")
    expect(again).to_be_visible()
    expect(page.locator("p.last-search")).to_contain_text(ward)
    visit.submit(again, "**/search?**")
    expect(page.locator("#results-heading")).to_be_visible()
    expect(page.locator("p.criteria")).to_contain_text(ward)
