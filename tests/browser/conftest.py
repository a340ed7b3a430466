"""Browser fixtures: Debian's Chromium driven by Playwright, against the site on loopback.

Every page a journey reaches is checked (`Browser.check`): axe-core finds no serious or
critical WCAG 2.2 AA violation, the Content-Security-Policy refused nothing, and the page
ships at most 100 KB of CSS and JavaScript. A failing test leaves a screenshot of its page
in tests/_artifacts/screenshots.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    sync_playwright,
)

from booking.pages.i18n import Texts
from tests.browser.site import Site, start_site
from tests.conftest import DEFAULT_NOW, in_thread
from tests.people import PASSWORD

CHROMIUM = os.environ.get("BOOKING_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
ARTIFACTS = Path(__file__).parents[1] / "_artifacts" / "screenshots"
# The README's screenshots: BOOKING_README_SCREENSHOTS=1 writes them to docs/screenshots.
README_SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
ASSET_BUDGET = 100 * 1024
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# Chromium's own traffic is refused by this closed network: keep it from trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Run in the page by Visit.check: first waits until htmx is done with a request a click
# started (these classes mark one from the request to the settle of its swap: else axe could
# check the page before the swap), then axe-core, then the CSS and JavaScript it loaded.
CHECK = """async (tags) => {
  const busy = '.htmx-request, .htmx-swapping, .htmx-settling';
  for (let waited = 0; document.querySelector(busy); waited += 20) {
    if (waited > 15000) throw new Error('htmx still busy after 15 s');
    await new Promise(done => setTimeout(done, 20));
  }
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  const violations = r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
  const shipped = performance.getEntriesByType('resource')
    .filter(e => e.initiatorType === 'script' || e.initiatorType === 'link')
    .reduce((n, e) => n + e.decodedBodySize, 0);
  return {violations, shipped};
}"""


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running, server, thread = in_thread(lambda: start_site(tmp_path_factory.mktemp("site")))
    yield running
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _clock_back(site: Site) -> Iterator[None]:
    yield
    site.clock.set(DEFAULT_NOW)


# Package-scoped: Playwright's sync API keeps an event loop running in this thread while it
# is open, and the async tests that follow this package need the thread's loop free.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
            "as .ci/run does"
        )
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Visit:
    """One person's browser: a page, its language and viewport, and the checks."""

    page: Page
    site: Site
    lang: str
    viewport: str
    csp_violations: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def texts(self) -> Texts:
        return Texts(self.lang, self.site.settings.tz)  # type: ignore[arg-type]

    def _(self, message: str, **values: Any) -> str:
        return self.texts.gettext(message, **values)

    def go(self, path: str) -> None:
        self.page.goto(self.site.url + path)
        self.check()

    def check(self) -> None:
        """axe-core, the CSP and the asset budget on the page as it is now."""
        page = self.page
        # goto and wait_for_url wait for the load already; a click's navigation may not have.
        # Not "networkidle": it waits 500 ms after each load for requests these pages never
        # make (a quarter of the journeys' time), and not at all for an htmx swap.
        page.wait_for_load_state("load")
        found = page.evaluate(CHECK, AXE_TAGS)  # one round trip for all three checks
        serious = [v for v in found["violations"] if v["impact"] in {"serious", "critical"}]
        assert not serious, f"axe on {page.url}: {json.dumps(serious, ensure_ascii=False)}"
        assert not self.csp_violations, f"CSP refused on {page.url}: {self.csp_violations}"
        shipped = found["shipped"]
        assert shipped <= ASSET_BUDGET, f"{page.url} ships {shipped} bytes of CSS and JS"
        self.checked += 1

    def field(self, message: str) -> Locator:
        """The control labelled with this text (translated), "(required)" or not."""
        text, required = re.escape(self._(message)), re.escape(self._("(required)"))
        label = re.compile(rf"^{text}(\s*{required})?$")
        return self.page.get_by_label(label)

    def containing(self, message: str) -> re.Pattern[str]:
        """A name that contains the translated text (buttons add hidden words for context)."""
        return re.compile(re.escape(self._(message)))

    def button(self, message: str, **values: Any) -> Locator:
        return self.page.get_by_role("button", name=self._(message, **values))

    def link(self, message: str, **values: Any) -> Locator:
        return self.page.get_by_role("link", name=self._(message, **values), exact=True)

    def submit(self, locator: Locator, url: str | re.Pattern[str] | None = None) -> None:
        """Click a control that loads another page (htmx swaps it in), then check that page."""
        locator.click()
        if url is not None:
            self.page.wait_for_url(url)
        self.check()

    def free_days(
        self, room_id: int, start: date, period: str = "10", days: int = 60
    ) -> list[date]:
        """Days from `start` on which the room's period is open, as the API tells."""
        answer = self.page.request.get(
            f"{self.site.url}/api/v1/availability",
            params={
                "room": str(room_id),
                "from": start.isoformat(),
                "to": (start + timedelta(days=days - 1)).isoformat(),
                "period": period,
                "state": "open,lottery",
            },
        )
        assert answer.ok, answer.text()
        return [
            date.fromisoformat(day["date"])
            for room in answer.json()["rooms"]
            for day in room["days"]
            if day["slots"]
        ]

    def log_in(self, role: str) -> None:
        self.go("/login")
        self.field("Card number or e-mail address").fill(self.site.users[role])
        self.field("Password").fill(PASSWORD)
        self.submit(self.button("Log in"), "**/my/bookings**")

    def shot(self, name: str) -> None:
        """A screenshot for the README, when asked for (BOOKING_README_SCREENSHOTS=1)."""
        if os.environ.get("BOOKING_README_SCREENSHOTS") == "1":
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            # caret="initial": hiding the caret injects a <style>, which the CSP refuses.
            self.page.screenshot(
                path=README_SHOTS / f"{name}-{self.lang}-{self.viewport}.png", caret="initial"
            )


COMBINATIONS = [("ja", "phone"), ("en", "desktop")]
ALL_COMBINATIONS = [*COMBINATIONS, ("ja", "desktop"), ("en", "phone")]


def _context(browser: Browser, site: Site, lang: str, viewport: str, **options: Any) -> Any:
    context: BrowserContext = browser.new_context(
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        locale="ja-JP" if lang == "ja" else "en-GB",
        timezone_id="Asia/Tokyo",
        **options,
    )
    if lang == "en":  # as if the switch had been used once: the choice is remembered
        context.add_cookies([{"name": "lang", "value": "en", "url": site.url}])
    # Injected by the DevTools protocol: the page's CSP (no inline scripts) stays on.
    context.add_init_script(path=str(AXE))
    return context


@pytest.fixture
def visit(request: pytest.FixtureRequest, browser: Browser, site: Site) -> Iterator[Visit]:
    lang, viewport = getattr(request, "param", COMBINATIONS[0])
    context = _context(browser, site, lang, viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    visit = Visit(page, site, lang, viewport)
    page.on(
        "console",
        lambda message: (
            visit.csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield visit
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%H%M%S")  # noqa: DTZ005 - a file name only
        page.screenshot(
            path=ARTIFACTS / f"{request.node.name}-{stamp}.png", full_page=True, caret="initial"
        )
    context.close()


def another_visit(browser: Browser, site: Site, lang: str, viewport: str) -> Visit:
    context = _context(browser, site, lang, viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return Visit(page, site, lang, viewport)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def clean_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
