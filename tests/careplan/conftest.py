"""The care plan tests' world: the test network with Maria's (therapist_madrid's) certificate
and a completed session of Carlos on the Madrid unit with an analysed recording."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.app import create_app
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.devices import service as devices_service
from exoshare.patients import service as patients_service
from exoshare.runtime import runtime_of
from exoshare.telerehab import sessions as telerehab_sessions
from tests.conftest import BACKENDS, fresh_database
from tests.security.matrix_world import _recording_csv
from tests.telerehab.helpers import device_secret, ready_world
from tests.world import World, token


@dataclass
class CareEnv:
    client: TestClient
    world: World
    maria: dict[str, str]
    data_dir: Path
    recording: dict


@pytest.fixture(scope="package", params=BACKENDS)
def care(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CareEnv]:
    """One world per backend for every care plan test (each test touches its own rows, so
    they share it and the world is built twice, not twice per test)."""
    directory = tmp_path_factory.mktemp(f"careplan-{request.param}")
    with fresh_database(request, request.param, directory) as url:
        settings = Settings(
            database_url=url,
            data_dir=directory / "data",
            secret_key="test-secret",
            cookie_secure=False,
        )
        app = create_app(settings)
        factory = runtime_of(app).sessionmaker
        world = ready_world(factory)
        with TestClient(app) as client:
            recording = _recorded_session(client, factory, world)
            yield CareEnv(
                client, world, token(client, world, "therapist_madrid"), settings.data_dir,
                recording,
            )  # fmt: skip
        runtime_of(app).engine.dispose()


def _recorded_session(client: TestClient, factory: sessionmaker[Session], world: World) -> dict:
    """Carlos walked yesterday on the Madrid unit: the recording is uploaded by the device and
    analysed, and the completed therapy session (``therapy_carlos``) points to it."""
    secret = device_secret(factory, world)
    uploaded = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": f"Device {secret}"},
        data={
            "patient_id": world.ids["patient_carlos"],
            "mapping": "Knee L=knee_angle_left_deg\nKnee R=knee_angle_right_deg",
        },
        files={"file": ("walk.csv", _recording_csv(1500), "text/csv")},
    )
    assert uploaded.status_code == 201, uploaded.text
    recording: dict = uploaded.json()
    with session_scope(factory) as s:
        started = datetime.now(UTC) - timedelta(days=1)
        record = telerehab_sessions.record_completed_session(
            s,
            SYSTEM_SEEDING,
            patients_service.find_patient(s, world.ids["patient_carlos"]),  # type: ignore[arg-type]
            devices_service.find_unit(s, world.ids["unit_madrid"]),  # type: ignore[arg-type]
            world.ids["therapist_madrid"],
            started_at=started,
            ended_at=started + timedelta(minutes=15),
            telemetry_session_id=recording["id"],
            settings={"guidance_force_pct": 60.0},
        )
        s.flush()
        world.ids["therapy_carlos"] = record.id
    return recording


def plan_body(world: World, **changes: object) -> dict:
    """Version 1 of Carlos's plan: 3 × 45 min a week for four weeks on the Strider X2, guidance
    force stepped down from 80 to 60 %."""
    body: dict = {
        "patient_id": world.ids["patient_carlos"],
        "title": "Robot-assisted gait training",
        "sessions_per_week": 3,
        "minutes_per_session": 45,
        "device_model_id": world.ids["model"],
        "device_unit_id": world.ids["unit_madrid"],
        "starts_on": "2026-01-05",
        "ends_on": "2026-02-01",
        "goals": ["Walk 10 m indoors with a cane", "Stand up from a chair unaided"],
        "progression": [
            {"week": 1, "settings": {"guidance_force_pct": 80}},
            {"week": 2, "settings": {"guidance_force_pct": 70}},
            {"week": 3, "settings": {"guidance_force_pct": 60}},
        ],
    }
    body.update(changes)
    return body
