"""A manager posts a notice (お知らせ) and a closure at the desk; a member then sees both on the
facility's page and finds the closed day gone from the search. In Japanese, on a phone and on
a desktop; axe-core checks every page reached (tests/browser/conftest.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Visit, another_visit
from tests.browser.steps import TODAY, search_one_day, slot_item
from tests.browser.test_manager_journeys import open_desk

JAPANESE = [("ja", "phone"), ("ja", "desktop")]


@pytest.mark.parametrize("visit", JAPANESE, indirect=True)
def test_a_manager_posts_a_notice_and_a_closure_and_a_member_sees_both(
    visit: Visit, browser: Browser
) -> None:
    site, page = visit.site, visit.page
    offset = JAPANESE.index((visit.lang, visit.viewport))
    title = f"空調工事のお知らせ（{visit.viewport}）"
    last_day = TODAY + timedelta(days=14)
    open_desk(visit)
    visit.submit(visit.link("Notices"), "**/notices")
    visit.field("Title (Japanese)").fill(title)
    visit.field("Text (Japanese, required)").fill("工事の間は音がします。\n受付は通常どおりです。")
    visit.field("Shown from").fill(TODAY.isoformat())
    visit.field("Shown until (empty: until withdrawn)").fill(last_day.isoformat())
    visit.submit(visit.button("Post the notice"), "**/notices?posted=1")
    expect(page.get_by_role("status")).to_have_text(visit._("The notice is posted."))
    posted = page.locator("ul.cards li").filter(has_text=title)
    expect(posted).to_contain_text(visit._("Shown now"))

    # A closure within the next 60 days, on a day the room is free (nobody to move).
    day = visit.free_days(site.room_id, date(2027, 1, 12) + timedelta(days=2 * offset))[0]
    visit.submit(visit.link("Blocks and closures"), "**/blocks")
    closure = page.locator("form[action$='/closures']")
    closure.get_by_label(re.compile(f"^{re.escape(visit._('From'))}")).fill(day.isoformat())
    closure.get_by_label(re.compile(f"^{re.escape(visit._('To'))}")).fill(day.isoformat())
    visit.field("Reason shown to groups").fill(f"電気設備点検（{visit.viewport}）")
    visit.submit(visit.button("Close on these dates"), "**closed_from=**")
    expect(page.get_by_role("status")).to_contain_text(
        visit._("The facility is closed on those dates.")
    )

    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        member.go(f"/facilities/{site.hall_id}")
        notices = member.page.locator("section[aria-labelledby=notices]")
        notice = notices.locator("li").filter(has_text=title)
        expect(notice).to_contain_text("工事の間は音がします。")
        expect(notice).to_contain_text(member.texts.long_day(TODAY))
        expect(notice).to_contain_text(member.texts.long_day(last_day))
        closed = member.page.locator(f'ul.dates time[datetime="{day.isoformat()}"]')
        expect(closed).to_have_count(1)
        expect(member.page.locator("main")).to_contain_text(f"電気設備点検（{visit.viewport}）")
        search_one_day(member, day)
        expect(slot_item(member, site.room_id, day)).to_have_count(0)
        # The day after the notice's last day it is gone from the page.
        site.clock.set(site.clock.now() + timedelta(days=15))
        member.go(f"/facilities/{site.hall_id}")
        expect(member.page.locator("main")).not_to_contain_text(title)
    finally:
        member.page.context.close()
