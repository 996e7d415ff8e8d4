"""Browser tests of the portal: Playwright driving Debian's Chromium against the real stack's edge.

Each test signs people in through the portal's own pages, acts as a customer and as staff in separate
browser contexts (two people, two sessions), and checks on every page it passes that axe-core finds no
serious accessibility violation and the browser logged no console error. Screenshots of the pages go
to ``tests/portal/artifacts/<test>/`` (git-ignored).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.processes import port_open

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT_ROOT / "portal" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SERIOUS = ("serious", "critical")

pytestmark = pytest.mark.stack


def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def portal_url() -> str:
    settings = DaikoSettings()
    if not port_open("127.0.0.1", settings.edge_port):
        pytest.skip(f"the edge is not running on 127.0.0.1:{settings.edge_port} (daiko-stack up)")
    return f"http://127.0.0.1:{settings.edge_port}"


# Package-scoped, not session-scoped: the sync API keeps its event loop running while it lives, and the
# asyncio tests of every other package need none to be.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (deploy/bootstrap.d/70-portal.sh installs it)")
    expect.set_options(timeout=30_000)  # a busy shared machine: pages may take seconds to answer
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    yield browser
    browser.close()


@dataclass
class Person:
    """One signed-in person: their browser context, page, and what the browser complained about."""

    name: str
    context: BrowserContext
    page: Page
    folder: Path
    console_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def shot(self, what: str) -> Path:
        """Screenshot the page, after checking it with axe-core (no serious or critical violation)."""
        self.check_accessibility(what)
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{self.name}-{what}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self, what: str) -> None:
        # Evaluated through the DevTools protocol, not as a <script>: the edge's CSP (script-src 'self') stays on.
        self.page.evaluate(_axe_source())
        result = self.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in SERIOUS
        ]
        assert serious == [], f"{self.name}'s page '{what}' has accessibility violations: {serious}"


class Cast:
    """The people of one test, each signed in through the portal in their own browser context."""

    def __init__(self, browser: Browser, portal_url: str, folder: Path) -> None:
        self.browser = browser
        self.portal_url = portal_url
        self.folder = folder
        self.people: dict[str, Person] = {}

    def sign(self, name: str, *, staff: bool = False, phone: bool = False) -> Person:
        """Signs in through the development sign-in page, as a fresh customer or as a staff member."""
        person = new_person(self.browser, self.portal_url, self.folder, name, phone=phone)
        self.people[name] = person
        page = person.page
        page.goto("/sign-in")
        if staff:
            page.get_by_label("Staff id").fill(f"staff-{uuid.uuid4().hex[:6]}")
            page.get_by_role("button", name="Sign in as staff").click()
            expect(page.get_by_role("heading", name="Today's work")).to_be_visible()
        else:
            page.get_by_label("Customer id").fill(f"cust-{uuid.uuid4().hex[:8]}")
            page.get_by_role("button", name="Sign in as customer").click()
            expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
        return person


@pytest.fixture
def cast(browser: Browser, portal_url: str, request: pytest.FixtureRequest) -> Iterator[Cast]:
    """The test's people; afterwards, none of their pages may have logged a console error."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    made = Cast(browser, portal_url, folder)
    yield made
    for person in made.people.values():
        person.context.close()
    errors = {name: person.console_errors for name, person in made.people.items() if person.console_errors}
    assert errors == {}, f"console errors: {errors}"


def _console(person: Person, message: ConsoleMessage) -> None:
    """A console error of the page's own code. The browser also logs every 4xx answer as "Failed to load
    resource"; those are API answers the page shows as problems (e.g. a new order's thread is 404 until
    messaging hears of the order), so they are not counted here: the tests check what the page shows.
    Pages of the identity provider are not the portal's and are not counted either."""
    if message.type != "error" or message.text.startswith("Failed to load resource"):
        return
    if "/oidc/" in person.page.url:
        return  # the identity provider's own login page (not the portal's code; the edge's CSP applies to it)
    person.console_errors.append(message.text)


def new_person(browser: Browser, portal_url: str, folder: Path, name: str, *, phone: bool = False) -> Person:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(base_url=portal_url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    person = Person(name=name, context=context, page=page, folder=folder)
    page.on("console", lambda message: _console(person, message))
    page.on("pageerror", lambda error: person.console_errors.append(str(error)))
    return person
