"""In a real browser: two roles sign in and each sees its own data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.conftest import SCREENSHOTS
from tests.world import PASSWORD, World, build_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_therapist_and_operator_see_different_data(
    page, live_server: str, world: World, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    backend = database_url.split(":")[0].split("+")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    _sign_in(page, live_server, world.emails["therapist_madrid"])
    expect(page.locator("#patient-rows")).to_contain_text("Test, Lucia")
    expect(page.locator("body")).not_to_contain_text("Jordi")
    page.fill("input[type=search]", "luc")
    expect(page.locator("#patient-rows tr")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / f"therapist-home-{backend}.png", full_page=True)
    page.click("text=Test, Lucia")
    expect(page.locator("h1")).to_have_text("Lucia Test")
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login$"))

    _sign_in(page, live_server, world.emails["operator"])
    expect(page.locator("table.tree")).to_contain_text("Nairobi Clinic")
    expect(page.locator("body")).not_to_contain_text("Lucia")
    page.screenshot(path=SCREENSHOTS / f"operator-home-{backend}.png", full_page=True)


def test_spanish_interface(page, live_server: str, world: World) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _sign_in(page, live_server, world.emails["therapist_madrid"])
    page.click("nav.languages >> text=ES")
    expect(page.locator("h2").first).to_contain_text("Pacientes")
    expect(page.locator("html")).to_have_attribute("lang", "es")
