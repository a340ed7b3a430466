"""What holds on every page: the language switch, remembered; keyboard use with a visible
focus; the month grid's marks linked to the booking form."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Visit, another_visit
from tests.browser.steps import TODAY


@pytest.mark.parametrize("visit", [("ja", "phone")], indirect=True)
def test_the_language_is_switched_on_any_page_and_remembered(
    visit: Visit, browser: Browser
) -> None:
    site = visit.site
    visit.go(f"/facilities/{site.hall_id}")
    page = visit.page
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    visit.submit(
        page.get_by_role("link", name="English", exact=True), f"**/facilities/{site.hall_id}"
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")
    english = Visit(page, site, "en", visit.viewport)
    expect(page.get_by_role("heading", name=english._("Rooms and fees"))).to_be_visible()
    # Remembered: another page, and a reload, stay in English.
    english.go("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text(english._("Log in"))
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    english.submit(page.get_by_role("link", name="日本語", exact=True), "**/login")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Log in"))
    # A browser that never chose starts in Japanese, whatever its own language.
    other = another_visit(browser, site, "ja", "desktop")
    try:
        other.go("/login")
        expect(other.page.locator("html")).to_have_attribute("lang", "ja")
    finally:
        other.page.context.close()


@pytest.mark.parametrize("visit", [("en", "desktop"), ("ja", "phone")], indirect=True)
def test_search_and_book_with_the_keyboard_alone(visit: Visit) -> None:
    site = visit.site
    visit.go("/search")
    page = visit.page
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=visit._("Skip to content"))
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    ward = visit.field("Ward")
    while not ward.evaluate("e => e === document.activeElement"):
        page.keyboard.press("Tab")
    assert ward.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    ward.select_option(site.hall_ward)  # a select is changed with the arrow keys as well
    visit.field("From").focus()
    day = visit.free_days(site.room_id, TODAY + timedelta(days=45))[0]
    visit.field("From").fill(day.isoformat())  # a date field's key order is the browser's own
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**/search?**")
    visit.check()
    first = page.locator("li.slot a.button").first
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/login?next=**")  # not logged in: the booking waits behind the login
    visit.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Log in"))


@pytest.mark.parametrize("visit", [("en", "desktop")], indirect=True)
def test_a_month_grid_mark_opens_the_booking_form(visit: Visit) -> None:
    site = visit.site
    visit.log_in("member")
    start = date(2027, 1, 4)
    visit.go(f"/search?ward={site.hall_ward}&from={start.isoformat()}&view=grid")
    page = visit.page
    expect(page.locator("table.grid thead th")).to_have_count(2 + 31)  # room, period, a month
    day = visit.free_days(site.room_id, start)[0]
    mark = page.locator(
        f'a.mark[href="/book?room={site.room_id}&date={day.isoformat()}&period=10"]'
    )
    visit.submit(mark, "**/book?**")
    expect(page.locator("#p-10")).to_be_checked()
    expect(page.locator("main .lead")).to_contain_text(visit.texts.long_day(day))
