"""A group's series (定期利用) in a real browser: a secretary books a choir's evening for 13
weeks from the booking form on a phone; the facility has closed on one of those days, which the
dates shown first say; they book the free ones and find 12 bookings in the series, then cancel
its last weeks with each date's charge shown first. Japanese on a phone, English on a desktop;
axe-core checks every page reached.

The clock is set to 1 June 2027: the first-come window then reaches to the end of September,
so the 13 Tuesdays (Thursdays for the second run) from 8 June are all in it, far from the
other journeys' dates and periods (their mornings of December to May).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import COMBINATIONS, Visit, another_visit
from tests.browser.steps import nth, search_one_day, slot_item, tokyo

BOTH = pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
NOW = date(2027, 6, 1)
EVENING = "30"


def close_the_hall(visit: Visit, browser: Browser, day: date) -> None:
    """The hall's desk closes the facility on one day (a one-off closure date)."""
    desk = another_visit(browser, visit.site, visit.lang, visit.viewport)
    try:
        desk.log_in("manager")
        desk.go(f"/manage/facilities/{visit.site.hall_id}/blocks")
        closure = desk.page.locator("form[action$='/closures']")
        closure.get_by_label(re.compile(f"^{re.escape(desk._('From'))}")).fill(day.isoformat())
        closure.get_by_label(re.compile(f"^{re.escape(desk._('To'))}")).fill(day.isoformat())
        desk.field("Reason shown to groups").fill("電気設備の点検")
        desk.submit(desk.button("Close on these dates"), "**/blocks?closed_from=**")
    finally:
        desk.page.context.close()


def desk_sees_the_series(visit: Visit, browser: Browser, day: date, series_id: int) -> None:
    """The hall's desk sees the day's occurrence on its board marked as a series, and opens
    the series: 12 bookings."""
    desk = another_visit(browser, visit.site, visit.lang, visit.viewport)
    try:
        desk.log_in("manager")
        desk.go(f"/manage/facilities/{visit.site.hall_id}?date={day.isoformat()}")
        mark = desk.page.locator(f'table.board a[href="/manage/series/{series_id}"]')
        expect(mark).to_have_accessible_name(
            re.compile(re.escape(desk._("Series %(id)s", id=series_id)))
        )
        desk.submit(mark, f"**/manage/series/{series_id}")
        expect(desk.page.locator("table tbody tr.occurrence")).to_have_count(12)
    finally:
        desk.page.context.close()


@BOTH
def test_a_secretary_books_thirteen_weeks_and_gets_the_free_twelve(
    visit: Visit, browser: Browser
) -> None:
    site = visit.site
    site.clock.set(tokyo(NOW))
    first = date(2027, 6, 8) + timedelta(days=2 * nth(visit))  # a Tuesday, or a Thursday
    last = first + timedelta(weeks=12)
    closed = first + timedelta(weeks=5)
    close_the_hall(visit, browser, closed)

    visit.log_in("member")
    search_one_day(visit, first, EVENING)
    item = slot_item(visit, site.room_id, first)
    visit.submit(item.locator("a.button"), "**/book?**")
    page = visit.page
    expect(page.locator(f"#p-{EVENING}")).to_be_checked()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("24")
    visit.field("Name of the event (optional)").fill("合唱団の練習")
    page.get_by_label(visit._("Every week")).check()
    visit.field("Repeat until").fill(last.isoformat())
    visit.submit(visit.button("Book"), "**/book/series?**")

    # Each date with its state and fee before anything is booked: the closure says so.
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("The dates of the series"))
    rows = page.locator("table.occurrences tbody tr")
    expect(rows).to_have_count(13)
    closed_row = rows.filter(has=page.locator(f'time[datetime="{closed.isoformat()}"]'))
    expect(closed_row).to_contain_text(visit._("Closed day"))
    expect(page.locator("table.occurrences tr.free")).to_have_count(12)
    fee = int(re.sub(r"\D", "", rows.first.locator("td").nth(1).inner_text()))
    expect(page.locator("#series-total")).to_have_text(
        visit.texts.ngettext(
            "%(n)s free date: %(total)s in all",
            "%(n)s free dates: %(total)s in all",
            12,
            total=visit.texts.yen(12 * fee),
        )
    )
    visit.shot("series-dates")
    visit.submit(
        visit.button(
            visit.texts.ngettext(
                "Book only the %(n)s free date", "Book only the %(n)s free dates", 12
            )
        ),
        "**/my/series/*?done=booked",
    )
    expect(page.get_by_role("status")).to_have_text(
        visit.texts.ngettext(
            "The series is booked: %(n)s booking.", "The series is booked: %(n)s bookings.", 12
        )
    )
    booked = page.locator("table tbody tr.occurrence")
    expect(booked).to_have_count(12)
    expect(booked.filter(has_text=visit._("Confirmed"))).to_have_count(12)
    expect(page.locator(f'ul.dates time[datetime="{closed.isoformat()}"]')).to_have_count(1)
    series_id = int(re.findall(r"/my/series/(\d+)", page.url)[0])
    visit.shot("series")

    desk_sees_the_series(visit, browser, first, series_id)

    # My bookings mark each date as part of the series and lead back to it.
    visit.submit(visit.link("My bookings"), "**/my/bookings")
    marks = page.locator(f'ul.cards a[href="/my/series/{series_id}"]')
    expect(marks.first).to_be_visible()
    visit.submit(marks.first, f"**/my/series/{series_id}")

    # The last weeks are cancelled, each date's charge shown first (early enough: free).
    visit.submit(visit.link("Cancel the rest of the series"), f"**/my/series/{series_id}/cancel")
    from_day = first + timedelta(weeks=8)
    visit.field("From").fill(from_day.isoformat())
    visit.submit(visit.button("Show"), "**/cancel?from=**")
    expect(page.locator("table tbody tr.occurrence")).to_have_count(5)
    expect(page.locator("#charge")).to_have_text(
        visit.texts.ngettext(
            "Cancelling %(n)s date now is free of charge.",
            "Cancelling %(n)s dates now is free of charge.",
            5,
        )
    )
    visit.submit(
        visit.button(visit.texts.ngettext("Cancel %(n)s date", "Cancel %(n)s dates", 5)),
        f"**/my/series/{series_id}?done=cancelled",
    )
    expect(page.get_by_role("status")).to_have_text(
        visit._("The rest of the series was cancelled.")
    )
    expect(booked.filter(has_text=visit._("Cancelled"))).to_have_count(5)
    expect(booked.filter(has_text=visit._("Confirmed"))).to_have_count(7)
