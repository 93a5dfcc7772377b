"""In a real browser: a therapist watches a live session, acknowledges an alert, changes a setting.

Journey 1 end to end: a virtual exoskeleton streams over MQTT (the app's embedded broker) into
the running server; the therapist's page shows the skin-temperature alert, she acknowledges it
with a note and lowers the guidance force, which the device applies and confirms.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.demo.device_client import SimulatedDevice, limits_of_model
from exoshare.demo.faults import Overheating
from exoshare.demo.gait_profiles import healthy_profile
from exoshare.devices.models import DeviceModel
from tests.e2e.conftest import SCREENSHOTS, free_port
from tests.telerehab.helpers import ORG, SERIAL, device_secret, ready_world
from tests.world import PASSWORD, World

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The served app ingests MQTT through its own embedded broker on a free port."""
    return settings.model_copy(update={"mqtt_ingest": True, "mqtt_embedded_port": free_port()})


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return ready_world(session_factory)


@pytest.fixture
def device(
    live_server: str, settings: Settings, world: World, session_factory: sessionmaker[Session]
) -> Iterator[SimulatedDevice]:
    with session_scope(session_factory) as s:
        model = s.scalar(
            select(DeviceModel)
            .where(DeviceModel.id == world.ids["model"])
            .options(selectinload(DeviceModel.envelope))
        )
        limits = limits_of_model(model)
    token = httpx.post(
        f"{live_server}/api/v1/auth/token",
        json={"email": world.emails["therapist_madrid"], "password": PASSWORD},
    ).json()["access_token"]
    planned = httpx.post(
        f"{live_server}/api/v1/telerehab/sessions",
        json={
            "patient_id": world.ids["patient_carlos"],
            "device_unit_id": world.ids["unit_madrid"],
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert planned.status_code == 201, planned.text
    device = SimulatedDevice(
        f"mqtt://127.0.0.1:{settings.mqtt_embedded_port}",
        SERIAL,
        ORG,
        device_secret(session_factory, world),
        world.ids["patient_carlos"],
        healthy_profile(),
        seed=3,
        duration_s=90.0,
        # The cuff heats fast, so the alert comes within seconds rather than minutes.
        faults=[Overheating(2.0, "left", rate_c_per_min=120.0, peak_c=43.0)],
        model_limits=limits,
        keep_recording=False,
    )
    device.therapy_session_id = planned.json()["id"]  # type: ignore[attr-defined]
    loop = asyncio.new_event_loop()
    task = loop.create_task(device.run())
    runner = threading.Thread(
        target=lambda: loop.run_until_complete(asyncio.gather(task, return_exceptions=True)),
        daemon=True,
    )
    runner.start()
    yield device
    loop.call_soon_threadsafe(task.cancel)  # the device powers off when the test is done
    runner.join(timeout=30)
    loop.close()


def test_therapist_acknowledges_alert_and_device_applies_setting(
    page, live_server: str, world: World, device: SimulatedDevice
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", world.emails["therapist_madrid"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/telerehab/sessions/{device.therapy_session_id}")  # type: ignore[attr-defined]

    banner = page.locator("#alert-banner")
    expect(banner).to_be_visible(timeout=60_000)
    expect(banner).to_contain_text("Skin temperature")
    expect(page.locator("#status")).to_have_text("live")
    expect(page.locator("#m-steps")).not_to_have_text("—", timeout=30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "live-session-alert.png", full_page=True)

    banner.locator("input[name=note]").fill("cuff loosened, skin checked")
    banner.locator("button[type=submit]").click()
    expect(banner).to_be_hidden()
    expect(page.locator("#alert-log")).to_contain_text("cuff loosened, skin checked")

    page.select_option("#setting-form select[name=setting]", "guidance_force_pct")
    page.fill("#setting-form input[name=value]", "40")
    page.click("#setting-form button[type=submit]")
    expect(page.locator("#setting-result")).to_have_text(
        re.compile("applied by the device"), timeout=30_000
    )
    expect(page.locator('[data-setting="guidance_force_pct"]')).to_have_text("40")

    # Outside the envelope's maximum step: refused by the server, nothing sent to the device.
    page.fill("#setting-form input[name=value]", "90")
    page.click("#setting-form button[type=submit]")
    expect(page.locator("#setting-result")).to_contain_text("changes too much in one step")
    page.screenshot(path=SCREENSHOTS / "live-session-setting.png", full_page=True)
