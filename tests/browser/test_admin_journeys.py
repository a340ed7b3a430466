"""The city's administrator in a real browser: managers and their facilities, suspending a
person and reinstating them, the audit trail and its filters. Every page reached is checked
(axe, the CSP, the asset budget: Visit.check)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMBINATIONS, Visit
from tests.browser.steps import TODAY, nth


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_make_a_manager_then_suspend_and_reinstate_them_and_read_the_trail(visit: Visit) -> None:
    site, page = visit.site, visit.page
    clerk = f"clerk-{nth(visit)}@city.example"
    visit.log_in("admin")
    visit.submit(visit.link("Administration"), "**/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Administration"))
    visit.submit(
        page.locator("main").get_by_role("link", name=visit._("Managers and administrators")),
        "**/admin/staff",
    )

    # No facility ticked: the page says so beside the boxes, and keeps what was typed.
    visit.field("E-mail address").fill(clerk)
    visit.field("Name").fill("窓口 太郎")
    visit.submit(visit.button("Grant the role"), "**/admin/staff")
    expect(page.locator("#e-facility_ids")).to_have_text(visit._("Choose one or more facilities."))
    expect(visit.field("E-mail address")).to_have_value(clerk)

    box = page.locator(f"#fc-{site.hall_id}")
    page.locator("details", has=box).locator("summary").click()
    box.check()
    visit.submit(visit.button("Grant the role"), "**/admin/staff?done=appointed")
    expect(page.get_by_role("status")).to_have_text(visit._("The role is granted."))
    manager = page.locator("ul.cards li").filter(has_text=clerk)
    visit.submit(
        manager.get_by_role("link", name=visit.containing("Change the facilities")),
        "**/admin/managers/*",
    )
    expect(page.locator(f"#fc-{site.hall_id}")).to_be_checked()

    visit.go(f"/admin/people?q={clerk}")
    visit.submit(
        page.locator("main ul.cards").get_by_role("link", name="窓口 太郎"), "**/admin/people/*"
    )
    person = page.url.split("/admin/people/")[1]
    visit.field("Reason").fill("窓口での確認のため")
    visit.submit(visit.button("Suspend this person"), "**/admin/people/*?done=suspended")
    expect(page.locator("dl.facts")).to_contain_text("窓口での確認のため")
    visit.submit(visit.button("Reinstate this person"), "**/admin/people/*?done=reinstated")
    expect(page.get_by_role("status")).to_have_text(
        visit._("The person is reinstated: they may log in again.")
    )

    visit.submit(
        page.locator("main").get_by_role("link", name=visit._("Changes to this person")),
        "**/admin/audit?**",
    )
    actions = page.locator("main ul.cards h2 code")
    expect(actions.first).to_have_text("user.reinstated")
    expect(actions.nth(1)).to_have_text("user.suspended")
    visit.field("Kind of change").fill("user.")
    visit.field("From").fill(TODAY.isoformat())
    visit.field("To").fill(TODAY.isoformat())
    visit.submit(
        visit.button("Filter the events"), re.compile(r".*/admin/audit\?.*action=user\..*")
    )
    expect(page.locator("main ul.cards li").first).to_be_visible()
    target = page.locator("main ul.cards h2 a").filter(has_text=f"user {person}").first
    visit.submit(target, f"**/admin/people/{person}")


@pytest.mark.parametrize("visit", [("ja", "phone")], indirect=True)
def test_a_bad_filter_of_the_trail_is_shown_beside_its_field(visit: Visit) -> None:
    visit.log_in("admin")
    visit.go("/admin/audit?from=2026-11-25&to=2026-11-24&actor=nobody@example.jp")
    page = visit.page
    expect(page.locator("#e-to")).to_have_text(visit._("The last date is before the first."))
    expect(page.locator("#e-actor")).to_have_text(visit._("No one has this e-mail address."))
    expect(visit.field("To")).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("visit", [("en", "phone")], indirect=True)
def test_a_manager_sees_no_administration(visit: Visit) -> None:
    visit.log_in("manager")
    expect(visit.link("Facility desk")).to_be_visible()
    expect(visit.page.get_by_role("link", name=visit._("Administration"))).to_have_count(0)
    visit.go("/admin")
    expect(visit.page.get_by_role("alert")).to_have_text(
        visit._("Only an administrator can do this.")
    )


# Every page of the administrator's (GET), with {manager} and {member} filled in: a new page
# joins this list. The journeys above reach their forms' other states (refused, done).
ADMIN_PAGES = (
    "/admin",
    "/admin/staff",
    "/admin/managers/{manager}",
    "/admin/people?q=example",
    "/admin/people/{member}",
    "/admin/audit",
    "/admin/audit?action=user.&from=2026-11-01&to=2026-11-30",
    "/admin/audit?from=2026-11-25&to=2026-11-24",  # refused: the message beside its field
)


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_every_administrator_page_passes_axe(visit: Visit) -> None:
    visit.log_in("admin")
    answer = visit.page.request.get(f"{visit.site.url}/api/v1/managers")
    assert answer.ok, answer.text()
    manager = next(u["id"] for u in answer.json() if u["email"] == visit.site.users["manager"])
    visit.go(f"/admin/people?q={visit.site.users['member']}")
    found = visit.page.locator("main ul.cards a").first.get_attribute("href") or ""
    member = found.rsplit("/", 1)[-1]
    for path in ADMIN_PAGES:
        visit.go(path.format(manager=manager, member=member))  # checks axe, the CSP, the budget
        expect(visit.page.get_by_role("heading", level=1)).to_be_visible()
    assert visit.checked >= len(ADMIN_PAGES)
