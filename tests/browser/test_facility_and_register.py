"""Issue 18: the facility page and what a new registration is told, as a secretary sees them
on a Japanese phone and an English desktop (axe-core on every page reached, conftest.py).

One journey: the hall's page (one fee column when fees are the same every day, the language's
list separator, ≈ said in words, each room's 「空きを探す」 searching that room), then
registering online (what to bring, to which counters, what then), then the new group's
representative opening a booking form: the pending registration is named before any form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMBINATIONS, Visit
from tests.browser.steps import nth, register_online
from tests.people import PASSWORD


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_the_facility_page_then_registering_then_the_booking_form(visit: Visit) -> None:
    site, page = visit.site, visit.page
    visit.go(f"/facilities/{site.hall_id}")
    room = page.locator(f'section[aria-labelledby="room-{site.room_id}"]')
    fees = room.locator("table.fees")
    # The hall's periods and fees are the same every day: one fee column, no Days column.
    expect(fees.get_by_role("columnheader", name=visit._("Fee (every day)"))).to_be_visible()
    expect(fees.get_by_role("columnheader", name=visit._("Days"), exact=True)).to_have_count(0)
    expect(fees).not_to_contain_text(visit._("Saturdays"))
    # ≈ in words: the page's note, and each mark's words for a screen reader.
    note = page.locator("#approx-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(
        visit._("≈ marks an estimate: a value not yet confirmed by the city's published sources.")
    )
    approx = fees.locator("abbr.approx").first
    expect(approx.locator(".visually-hidden")).to_have_text(visit._("(estimate)"))
    # A fee and its ≈ stay on one line, even on a phone.
    fee = fees.locator("td .nowrap").first
    box = fee.bounding_box()
    assert box is not None
    line = fee.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || e.offsetHeight")
    assert box["height"] <= line * 1.5, (box, line)
    if visit.lang == "ja":  # Japanese lists and labels: 、 and ：, never ", "
        text = page.locator("main").inner_text()
        at = text.find(", ")
        assert at < 0, text[at - 80 : at + 40]
    visit.shot("facility")

    # The room's 「空きを探す」 searches that room of this hall, nothing else.
    find = room.get_by_role("link", name=re.compile(re.escape(visit._("Find free slots"))))
    expect(find).to_have_attribute("href", f"/search?facility={site.hall_id}&room={site.room_id}")
    visit.submit(find, re.compile(rf"/search\?facility={site.hall_id}&room={site.room_id}"))
    booking_links = page.locator('main a[href^="/book?room="]')
    expect(booking_links.first).to_be_visible()
    for href in booking_links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert f"room={site.room_id}&" in href, href

    # Registering online ends on a page that says what happens next.
    email = f"next-steps-{nth(visit)}@example.jp"
    register_online(visit, f"つぎの会{nth(visit)}", email, PASSWORD)
    visit.check()
    steps = page.locator("section.next-steps")
    expect(steps.get_by_role("heading", name=visit._("What happens next"))).to_be_visible()
    expect(steps).to_contain_text(visit._("The representative's identity document"))
    expect(steps).to_contain_text(visit._("The member list"))
    expect(steps.locator(f'a[href="/facilities/{site.hall_id}"]')).to_have_count(1)
    visit.shot("registered")

    # Its representative logs in and opens a booking form: told first, nothing to fill in.
    visit.field("Card number or e-mail address").fill(email)
    visit.field("Password").fill(PASSWORD)
    visit.submit(visit.button("Log in"), "**/my/bookings**")
    day = visit.free_days(site.room_id, site.clock.now().date())[0]
    visit.go(f"/book?room={site.room_id}&date={day.isoformat()}")
    notice = page.locator("section.standing")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading", level=3)).to_contain_text(
        visit._("Waiting for a facility to check it")
    )
    expect(notice).to_contain_text(visit._("The representative's identity document"))
    expect(page.locator('form[action="/book"]')).to_have_count(0)
    visit.shot("pending-book")
    visit.submit(
        notice.get_by_role(
            "link", name=re.compile(visit._("Which counters, and what happens next"))
        ),
        "**/my/groups/*",
    )
    expect(page.locator("section.next-steps")).to_be_visible()
