"""Pages of tele-rehabilitation: supervisor overview, live page, progress (staff and patient)."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.gait.recording import Recording
from exoshare.runtime import runtime_of
from exoshare.telemetry import imports
from exoshare.telemetry.store import RawStore
from tests.telerehab.helpers import announce, device_secret, plan, ready_world
from tests.world import sign_in, token


def _walk(seconds: float, cadence_hz: float) -> Recording:
    t = np.arange(0, seconds, 0.01)
    return Recording(
        100.0,
        {
            "shank_gyr_z_left_dps": 200 * np.sin(2 * np.pi * cadence_hz * t),
            "shank_gyr_z_right_dps": 200 * np.sin(2 * np.pi * cadence_hz * (t - 0.5 / cadence_hz)),
            "knee_angle_left_deg": 30 + 30 * np.sin(2 * np.pi * cadence_hz * t),
            "knee_angle_right_deg": 30 + 30 * np.sin(2 * np.pi * cadence_hz * (t - 0.5)),
        },
        1_767_225_600.0 + 86400 * cadence_hz,
        {"height_m": 1.75},
    )


def test_supervisor_live_and_progress_pages(
    client: TestClient, session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world, location="home")["id"]
    client.post(f"/api/v1/telerehab/sessions/{sid}/start", headers=maria)
    announce(client, device_secret(session_factory, world), world)
    store = RawStore(str(runtime_of(client.app).settings.resolved_telemetry_url()))
    with session_scope(session_factory) as s:
        unit = s.get(DeviceUnit, world.ids["unit_madrid"])
        assert unit is not None
        for cadence_hz in (0.8, 1.0):
            imports.import_recording(
                s, store, unit, world.ids["patient_carlos"], _walk(30, cadence_hz), "upload"
            )

    sign_in(client, world.emails["therapist_madrid"])
    overview = client.get("/telerehab")
    assert overview.status_code == 200
    assert f'href="/telerehab/sessions/{sid}"' in overview.text and "SX2-0001" in overview.text
    live = client.get(f"/telerehab/sessions/{sid}")
    assert live.status_code == 200
    assert 'canvas class="live-chart" data-joint="knee"' in live.text
    assert 'id="setting-form"' in live.text and "/static/telerehab-live.js" in live.text
    assert client.get("/static/telerehab-live.js").status_code == 200
    progress = client.get(f"/patients/{world.ids['patient_carlos']}/progress")
    assert progress.status_code == 200
    assert "You have walked in 2 sessions." in progress.text
    assert "You now take 24 more steps per minute than in your first session." in progress.text
    assert progress.text.count("<svg") >= 3

    client.cookies.clear()
    sign_in(client, world.emails["carlos"])
    client.get("/lang/es")
    mine = client.get("/my/progress")
    assert mine.status_code == 200
    assert "Has caminado en 2 sesiones." in mine.text
    assert "Start a session" not in mine.text and "Iniciar una sesión" not in mine.text
    assert client.get(f"/telerehab/sessions/{sid}").status_code == 200  # his own, read-only
    assert 'id="setting-form"' not in client.get(f"/telerehab/sessions/{sid}").text

    client.cookies.clear()
    sign_in(client, world.emails["therapist_barcelona"])
    assert client.get(f"/telerehab/sessions/{sid}").status_code == 404
    assert f"/telerehab/sessions/{sid}" not in client.get("/telerehab").text
