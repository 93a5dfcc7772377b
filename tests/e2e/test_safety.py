"""In a real browser: the start list, aborting with a confirmed reason, signing out elsewhere."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.fleet import leases
from exoshare.telerehab.models import TherapySession
from exoshare.telerehab.schemas import TherapyStatus
from tests.e2e.conftest import SCREENSHOTS
from tests.telerehab.helpers import certify, ready_world
from tests.world import PASSWORD, World

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """Maria may run Carlos on SX2-0002; SX2-0001 is leased to Barcelona this month."""
    world = ready_world(session_factory)
    today = date.today()
    with session_scope(session_factory) as s:
        spare = devices.create_unit(
            s, SYSTEM_SEEDING, "SX2-0002", world.ids["model"], world.ids["madrid"]
        )
        world.ids["unit_spare"] = spare.id
        leases.create_lease(
            s, SYSTEM_SEEDING, world.ids["unit_madrid"], world.ids["barcelona"], Decimal("500"),
            today - timedelta(days=3), today + timedelta(days=30), currency="EUR",
        )  # fmt: skip
    return world


def _sign_in(page, live_server: str, world: World) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", world.emails["therapist_madrid"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def test_start_from_the_offered_unit_then_abort_with_a_confirmed_reason(
    page, live_server: str, world: World, session_factory: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _sign_in(page, live_server, world)
    page.goto(f"{live_server}/patients/{world.ids['patient_carlos']}/progress")
    options = page.locator("select[name=device_unit_id] option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", world.ids["unit_spare"])
    page.locator("details.unavailable summary").click()
    expect(page.locator("details.unavailable")).to_contain_text(
        "Unit SX2-0001 is leased to ES-BCN-01"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "safety-start-list.png", full_page=True)

    page.click("text=Start and watch live")
    page.wait_for_url(re.compile(r"/telerehab/sessions/"))
    expect(page.locator("#status")).to_have_text("started")
    page.click("button.lifecycle[data-action=abort]")
    dialog = page.locator("#abort-dialog")
    expect(dialog).to_be_visible()
    # Without a reason nothing is sent: the session keeps running.
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_visible()
    expect(page.locator("#status")).to_have_text("started")
    page.screenshot(path=SCREENSHOTS / "safety-abort-dialog.png", full_page=True)

    dialog.locator("textarea[name=reason]").fill("patient reported knee pain")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#status")).to_have_text("aborted")
    with session_scope(session_factory) as s:
        rows = s.execute(select(TherapySession.status, TherapySession.end_reason)).all()
    assert rows == [(TherapyStatus.aborted, "patient reported knee pain")]

    # Once her certificate has run out, the page shows why instead of the controls.
    certify(session_factory, world, "therapist_madrid", expired=True)
    page.reload()
    expect(page.locator("button.lifecycle")).to_have_count(0)
    expect(page.locator("section .refusal").last).to_contain_text(
        "Only a therapist certified for this model may pause, finish or abort this session."
    )
    page.screenshot(path=SCREENSHOTS / "safety-not-certified.png", full_page=True)


def test_signing_out_in_another_tab_takes_the_live_page_to_the_login(
    page, live_server: str, world: World
) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, live_server, world)
    page.goto(f"{live_server}/patients/{world.ids['patient_carlos']}/progress")
    feeds: list[object] = []
    frames: list[object] = []

    def opened(feed) -> None:  # type: ignore[no-untyped-def]
        feeds.append(feed)
        feed.on("framereceived", lambda frame: frames.append(frame))

    page.on("websocket", opened)
    page.click("text=Start and watch live")
    page.wait_for_url(re.compile(r"/telerehab/sessions/"))
    for _ in range(300):  # the snapshot arrives: the feed is open and authorised
        if frames:
            break
        page.wait_for_timeout(100)
    assert len(feeds) == 1 and frames

    other = page.context.new_page()
    other.goto(f"{live_server}/")
    other.locator("form[action='/logout'] button").click()
    other.wait_for_url(re.compile(r"/login"))
    # The live page's socket is closed by the sign-out, and the page goes to the login.
    page.wait_for_url(re.compile(r"/login\?next=%2Ftelerehab%2Fsessions%2F"), timeout=10_000)
    assert feeds[0].is_closed()  # type: ignore[attr-defined]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "safety-signed-out.png")
