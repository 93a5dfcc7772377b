"""Arabic on a 390 × 844 phone: the page reads right to left, the menu opens on the right, and
nothing pushes the page sideways."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.conftest import SCREENSHOTS
from tests.world import PASSWORD, World, build_world

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# Against the phone's width: a mobile layout viewport widens to fit what overflows it.
OVERFLOW = f"document.scrollingElement.scrollWidth - {PHONE['width']}"
MENU_EDGES = """() => [...document.querySelectorAll('.sections a')]
  .filter(e => e.offsetParent !== null)
  .map(e => { const words = document.createRange(); words.selectNodeContents(e);
              const r = words.getBoundingClientRect(); return [r.left, r.right]; })"""
"""Where each menu entry's words sit (the links themselves span the whole width)."""


@pytest.fixture(autouse=True)
def _one_backend(database_url: str) -> None:
    """Before the server and browser start: the layout does not depend on the database."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the layout does not depend on the database: one backend is enough")


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def test_arabic_pages_mirror_and_fit_a_phone(browser, live_server: str, world: World) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?lang=ar")
        assert page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]
        page.fill("input[name=email]", world.emails["therapist_madrid"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/lang/ar?next=/")  # the language switcher's choice, kept
        for name, path in (
            ("home", "/"),
            ("patient", f"/patients/{world.ids['patient_carlos']}"),
        ):
            page.goto(live_server + path)
            assert page.evaluate("document.dir") == "rtl", name
            assert page.evaluate(OVERFLOW) <= 0, f"{name} is wider than the phone"
            page.screenshot(path=SCREENSHOTS / f"rtl-phone-{name}.png", full_page=True)
        # The menu folds open under the bar with its words against the right edge.
        page.click(".menu-toggle")
        edges = page.evaluate(MENU_EDGES)
        assert edges, "the menu shows no sections"
        assert all(right >= PHONE["width"] - 24 for _, right in edges), edges
        assert all(left > 40 for left, _ in edges), edges  # short words leave the left empty
        assert page.evaluate(OVERFLOW) <= 0, "the open menu is wider than the phone"
        page.screenshot(path=SCREENSHOTS / "rtl-phone-menu.png")
        # The patient's own pages, in the patient's Arabic.
        context.clear_cookies()
        page.goto(f"{live_server}/login?lang=ar")
        page.fill("input[name=email]", world.emails["carlos"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/lang/ar?next=/")
        for name in ("progress", "exercises"):
            page.goto(f"{live_server}/my/{name}")
            assert page.evaluate("document.dir") == "rtl", name
            assert page.evaluate(OVERFLOW) <= 0, f"my {name} is wider than the phone"
            page.screenshot(path=SCREENSHOTS / f"rtl-phone-my-{name}.png", full_page=True)
    finally:
        context.close()
