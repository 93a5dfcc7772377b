"""At the clinic desk in a browser: the admin books by hand (a refusal first, with its reason
beside the field), reschedules and cancels; the patient sees the appointment, then its cancel."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy.certificates import issue as certify
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope, utcnow
from exoshare.network.models import OrgUnit
from exoshare.scheduling.public_holidays import public_holidays
from tests.e2e.conftest import SCREENSHOTS
from tests.scheduling.test_service import madrid_world
from tests.world import PASSWORD, World

# The desk's pages do not depend on the database: one backend is enough.
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """The Madrid clinic (open 09–11 on weekdays), its therapist certified around today."""
    world = madrid_world(session_factory)
    today = utcnow().date()
    with session_scope(session_factory) as s:
        certify(
            s,
            SYSTEM_SEEDING,
            world.ids["therapist_madrid"],
            world.ids["model"],
            today - timedelta(days=1),
            today + timedelta(days=400),
        )
        madrid = s.get_one(OrgUnit, world.ids["madrid"])
        madrid.address_line1, madrid.postcode, madrid.phone = (
            "Calle de Alcalá 402",
            "28027",
            "+34913204500",
        )
    return world


def _working_monday() -> date:
    """A Monday one to three weeks ahead whose week has no Spanish public holiday on Monday."""
    day = utcnow().date() + timedelta(days=7)
    day += timedelta(days=(7 - day.weekday()) % 7)
    while day in public_holidays("ES", day, day):
        day += timedelta(days=7)
    return day


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_the_desk_books_reschedules_and_cancels_and_the_patient_sees_it(
    browser, live_server: str, world: World
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    monday = _working_monday()
    saturday = monday + timedelta(days=5)
    admin = browser.new_context(viewport={"width": 1280, "height": 800})
    patient = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        desk = admin.new_page()
        _sign_in(desk, live_server, world.emails["admin_madrid"])
        desk.goto(f"{live_server}/waitlist?clinic_id={world.ids['madrid']}")
        desk.click(f"a[href*='patient_id={world.ids['patient_carlos']}']")
        desk.fill("form.desk-form input[name=day]", saturday.isoformat())
        desk.fill("form.desk-form input[name=at]", "09:00")
        desk.click("form.desk-form button[type=submit]")
        closed = desk.locator(".field-error[data-code=clinic-closed]")
        expect(closed).to_have_text(
            f"ES-MAD-01 is not open 09:00–09:45 on {saturday:%b} {saturday.day}, {saturday.year}."
        )
        expect(desk.locator(".field-error[data-code=therapist-not-working]")).to_be_visible()
        desk.screenshot(path=SCREENSHOTS / "desk-refused.png", full_page=True)

        desk.fill("form.desk-form input[name=day]", monday.isoformat())
        desk.click("form.desk-form button[type=submit]")
        expect(desk.locator(".notice")).to_have_text("The session is booked.")
        desk.click("text=Reschedule or cancel")
        desk.screenshot(path=SCREENSHOTS / "desk-change.png", full_page=True)
        desk.fill("form[action$=reschedule] input[name=at]", "10:00")
        desk.click("form[action$=reschedule] button[type=submit]")
        expect(desk.locator("table td", has_text="10:00")).to_have_count(1)
        expect(desk.locator("table td", has_text="09:00")).to_have_count(0)

        mine = patient.new_page()
        _sign_in(mine, live_server, world.emails["carlos"])
        mine.goto(f"{live_server}/my/appointments")
        expect(mine.locator("article.appointment")).to_have_count(1)
        expect(mine.locator("article.appointment")).to_contain_text(
            "From 10:00 to 10:45, at Madrid"
        )
        # Where to go and whom to call, dialled in E.164 and read as Spain writes it.
        address = mine.locator("article.appointment address")
        assert address.inner_text().splitlines() == ["Calle de Alcalá 402", "28027 Madrid"]
        expect(mine.locator("article.appointment a[href='tel:+34913204500']")).to_have_text(
            "913 20 45 00"
        )

        desk.click("text=Reschedule or cancel")
        desk.fill("input[name=reason]", "the patient has a cold")
        desk.click("form[action$=cancel] button[type=submit]")
        expect(desk.locator(".notice")).to_contain_text("cancelled")
        mine.reload()
        expect(mine.locator("article.appointment.cancelled")).to_contain_text("Cancelled")
        mine.screenshot(path=SCREENSHOTS / "desk-patient-cancelled.png", full_page=True)
    finally:
        admin.close()
        patient.close()
