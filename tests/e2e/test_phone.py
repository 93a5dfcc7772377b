"""On a 390 × 844 phone: the therapist's, the learner's and the patient's pages fit, and sign-out
is reachable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.academy.helpers import academy_world
from tests.e2e.conftest import SCREENSHOTS
from tests.world import PASSWORD, World

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# Against the phone's width, not window.innerWidth: a mobile browser widens its layout viewport
# to fit content that is too wide, so innerWidth grows with the overflow it should reveal.
OVERFLOW = f"document.scrollingElement.scrollWidth - {PHONE['width']}"
SMALL_TARGETS = """() => [...document.querySelectorAll(
    '.topbar a, .topbar button, main button, main a, main input, main select')]
  .filter(e => e.offsetParent !== null && e.type !== 'hidden' && e.type !== 'checkbox')
  // A radio button is tapped through its whole label (label.choice), which must be tall enough.
  .map(e => e.type === 'radio' && e.closest('label') ? e.closest('label') : e)
  .map(e => [e.textContent.trim() || e.name || e.tagName, e.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)"""


@pytest.fixture(autouse=True)
def _one_backend(database_url: str) -> None:
    """Before the server and browser start: the layout does not depend on the database."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the layout does not depend on the database: one backend is enough")


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """The small network with a published Strider X2 course (lessons and a quiz) to learn."""
    return academy_world(session_factory)


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _fits(page, name: str, backend: str) -> None:  # type: ignore[no-untyped-def]
    """No sideways scrolling of the page, no tap target under 44 px, and a screenshot."""
    assert page.evaluate(OVERFLOW) <= 0, f"{name} is wider than the phone"
    page.click(".menu-toggle")
    # Open, the menu too fits: the twelve language codes wrap instead of widening the page.
    assert page.evaluate(OVERFLOW) <= 0, f"{name}'s open menu is wider than the phone"
    assert page.evaluate(SMALL_TARGETS) == [], f"{name} has tap targets under 44 px"
    page.screenshot(path=SCREENSHOTS / f"phone-{name}-{backend}.png", full_page=True)
    page.click(".menu-toggle")


def test_therapist_and_patient_pages_fit_a_phone(
    browser, live_server: str, world: World, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    backend = database_url.split(":")[0].split("+")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        _sign_in(page, live_server, world.emails["therapist_madrid"])
        sign_out = page.locator("text=Sign out")
        expect(sign_out).to_be_hidden()  # folded into the menu
        _fits(page, "therapist-home", backend)
        page.goto(f"{live_server}/patients/{world.ids['patient_lucia']}?lang=es")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        _fits(page, "therapist-patient-es", backend)
        page.goto(f"{live_server}/partners")
        _fits(page, "therapist-partners", backend)
        # The same therapist as a learner: the academy, a course, a lesson and its quiz.
        for name, path in (
            ("learner-academy", "/academy"),
            ("learner-course", f"/academy/courses/{world.ids['course']}"),
            ("learner-lesson", f"/academy/lessons/{world.ids['lesson1']}"),
            ("learner-quiz", f"/academy/courses/{world.ids['course']}/quiz"),
        ):
            page.goto(f"{live_server}{path}")
            expect(page.locator("main")).to_contain_text("Strider X2")
            _fits(page, name, backend)
        page.click(".menu-toggle")
        page.click("form[action='/logout'] button")
        page.wait_for_url(re.compile(r".*/login$"))

        _sign_in(page, live_server, world.emails["carlos"])
        page.goto(f"{live_server}/my/progress")
        _fits(page, "patient-progress", backend)
        page.goto(f"{live_server}/my/reminders")
        _fits(page, "patient-reminders", backend)
        page.click(".menu-toggle")
        expect(page.locator("text=Sign out")).to_be_visible()
    finally:
        context.close()
