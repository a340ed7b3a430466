"""The statistics dashboard in a real browser: an administrator finds it in the administration's
tabs, reads the headline and each chart beside its table, switches the fiscal year, downloads
a table as CSV; a manager reaches their hall's from the desk's tabs. axe-core checks every page
(Visit.check), and on a 390 px phone the page itself never scrolls sideways (a wide table
scrolls in its own box)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMBINATIONS, Visit

BOTH = pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
CHARTS = (
    "occupancy_ward_month",
    "occupancy_weekday_period",
    "demand_by_month",
    "occupancy_by_month",
)


def _page_width(visit: Visit) -> int:
    return int(visit.page.evaluate("() => document.documentElement.scrollWidth"))


@BOTH
def test_an_administrator_reads_switches_and_downloads(visit: Visit) -> None:
    page = visit.page
    visit.log_in("admin")
    visit.submit(visit.link("Administration"), "**/admin")
    visit.submit(visit.link("Statistics"), "**/manage/statistics")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Statistics"))
    expect(visit.field("Fiscal year")).to_have_value("2026")  # the clock's (November 2026)
    glance = page.locator("dl.headline")
    for figure in ("Occupancy", "Applications per slot", "Win rate", "Bookings", "Fees charged"):
        expect(glance.get_by_text(visit._(figure), exact=True)).to_be_visible()
    expect(glance).to_contain_text(visit._("booked slots ÷ bookable slots"))
    # Each chart an image named by its title, its figures in the table it points at.
    for table_id in CHARTS:
        chart = page.locator(f"#{table_id}-chart")
        expect(chart).to_have_attribute("role", "img")
        expect(chart).to_have_attribute("aria-details", table_id)
        expect(page.locator(f"table#{table_id}")).to_have_count(1)
    expect(page.locator("table#use_by_category caption")).to_have_text(
        visit._("Use by category of group")
    )
    months = page.locator("table#occupancy_by_month tbody tr")
    expect(months).to_have_count(12)
    expect(months.first.locator("th")).to_have_text(
        "2026年4月" if visit.lang == "ja" else "Apr 2026"
    )
    if visit.viewport == "phone":
        assert _page_width(visit) <= 390
    visit.shot("statistics")

    # Another fiscal year: chosen, shown, kept by the downloads' links.
    page.locator("details.search-form > summary").click()
    visit.field("Fiscal year").select_option("2025")
    visit.submit(visit.button("Show"), re.compile(r"fiscal_year=2025"))
    expect(months.first.locator("th")).to_have_text(
        "2025年4月" if visit.lang == "ja" else "Apr 2025"
    )
    expect(visit.field("Fiscal year")).to_have_value("2025")
    expect(page.locator('a[rel="next"]')).to_have_text(visit._("FY%(year)s", year="2026"))

    # A table as CSV: UTF-8 with a BOM, the header in the page's language.
    link = page.locator('a[href^="/manage/statistics/occupancy_by_month.csv?"]')
    expect(link).to_have_attribute("href", re.compile(r"fiscal_year=2025"))
    with page.expect_download() as download:
        link.click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[0] == visit._("Month")
    assert len(lines) == 1 + 12
    assert download.value.suggested_filename == "occupancy_by_month_20250401-20260331.csv"


@BOTH
def test_a_manager_reaches_their_halls_statistics_from_the_desk(visit: Visit) -> None:
    page = visit.page
    visit.log_in("manager")
    hall = visit.site.hall_id
    visit.go(f"/manage/facilities/{hall}")
    visit.submit(visit.link("Statistics"), f"**/manage/statistics?facility={hall}")
    expect(page.locator("table#occupancy_room_month")).to_have_count(1)
    expect(page.locator("#occupancy_room_month-chart")).to_be_visible()
    if visit.viewport == "phone":
        assert _page_width(visit) <= 390
    visit.shot("statistics-hall")
    # A bad date is the form again, with the reason beside the field.
    visit.go(f"/manage/statistics?facility={hall}&from=2026-04-01")
    expect(page.locator("#e-to")).to_have_text(visit._("a range needs both from and to"))
