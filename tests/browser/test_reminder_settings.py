"""Issue 18: the representative turns the group's use-date reminders off on the group page
(/my/groups/{id}), and the choice stays off on the next visit; a member sees the setting but
no form. On a Japanese phone and an English desktop; axe-core checks every page reached
(tests/browser/conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import COMBINATIONS, Visit, another_visit


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_the_representative_turns_reminders_off_and_they_stay_off(
    visit: Visit, browser: Browser
) -> None:
    site, page = visit.site, visit.page
    group_page = f"/my/groups/{site.group_a}"
    visit.log_in("representative")
    visit.go(group_page)
    expect(page.get_by_role("heading", name=visit._("Reminders"))).to_be_visible()
    box = visit.page.get_by_label(visit._("Mail a reminder two days before each booking"))
    expect(box).to_be_checked()  # on unless turned off (groups.use_reminders)
    expect(box).to_have_accessible_description(
        visit._(
            "A mail to the group's contact address on the morning two days before each "
            "booking's date, with the place, the periods and the fee."
        )
    )
    box.uncheck()
    visit.submit(visit.button("Save the reminder setting"), "**reminders=1**")
    expect(page.get_by_role("status")).to_have_text(
        visit._("Reminders are off: the group is no longer mailed before each booking.")
    )
    visit.shot("reminder-settings")

    # It stays off: a fresh visit of the page, and a member's view of it.
    visit.go(group_page)
    expect(
        visit.page.get_by_label(visit._("Mail a reminder two days before each booking"))
    ).not_to_be_checked()
    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        member.go(group_page)
        section = member.page.locator("main")
        expect(section).to_contain_text(
            member._("The group has turned off the reminders before each booking.")
        )
        expect(member.page.locator('input[name="use_reminders"]')).to_have_count(0)
    finally:
        member.page.context.close()

    # Back on, for the other journeys sharing the site.
    visit.page.get_by_label(visit._("Mail a reminder two days before each booking")).check()
    visit.submit(visit.button("Save the reminder setting"), "**reminders=1**")
    expect(page.get_by_role("status")).to_have_text(
        visit._("Reminders are on: the group is mailed two days before each booking.")
    )
    expect(
        visit.page.get_by_label(visit._("Mail a reminder two days before each booking"))
    ).to_be_checked()
