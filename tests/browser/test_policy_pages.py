"""The reservation policies from a date, in a real browser (issue 16 §2): an administrator
finds the policies from the administration's home, changes one from a date with a hold length,
sees the change to come, and a value that is no number is said beside its field. axe-core
checks every page reached.
"""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Visit

# Far ahead, one per run: the site is shared by the browser tests, and no journey books then.
DAYS = {"phone": date(2031, 4, 1), "desktop": date(2031, 5, 1)}


@pytest.mark.parametrize("visit", [("ja", "phone"), ("en", "desktop")], indirect=True)
def test_an_administrator_changes_a_policy_from_a_date(visit: Visit) -> None:
    page = visit.page
    day = DAYS[visit.viewport]
    visit.log_in("admin")
    visit.go("/admin")
    visit.submit(
        page.get_by_role("main").get_by_role("link", name=visit._("Reservation policies")),
        "**/admin/policies",
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Reservation policies"))
    visit.submit(page.locator("section.policy h2 a").first, "**/admin/policies/*")
    url = page.url

    # A value that is no number is said beside its field; what was typed stays.
    visit.field("From").fill(day.isoformat())
    visit.field("A hold lasts, days").fill("三日")
    visit.submit(visit.button("Save the change"))
    expect(page.locator("#e-hold_days")).to_have_text(visit._("Enter a whole number."))
    expect(visit.field("A hold lasts, days")).to_have_value("三日")

    visit.field("A hold lasts, days").fill("2")
    visit.field("Holds by phone are taken").select_option("yes")
    visit.submit(visit.button("Save the change"), f"{url.split('?')[0]}?done=added")
    expect(page.get_by_role("status")).to_have_text(visit._("The policy from that date is saved."))
    change = page.locator(f"#revision-{day.isoformat()}")
    expect(change).to_contain_text(visit.texts.long_day(day))
    expect(change).to_contain_text(visit._("A hold lasts, days"))
    expect(change).to_contain_text(visit._("Yes"))
