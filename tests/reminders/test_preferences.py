"""Reminder preferences: the patient sets their own, their clinic admin may set them, nobody
else; a foreign patient answers like a missing one; a bad phone number is a clear error that
changes nothing; every write is audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from exoshare.app import create_app
from exoshare.auth import audit
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from tests.conftest import BACKENDS, fresh_database
from tests.world import PASSWORD, World, build_world, token

MISSING = "0" * 32


@dataclass
class Env:
    client: TestClient
    world: World


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One world per backend for the module: each test writes its own patients' rows, or
    starts by setting what it reads."""
    directory = tmp_path_factory.mktemp(f"reminders-{request.param}")
    with fresh_database(request, request.param, directory) as url:
        app = create_app(
            Settings(database_url=url, data_dir=directory / "data", secret_key="test-secret",
                     cookie_secure=False)
        )  # fmt: skip
        world = build_world(runtime_of(app).sessionmaker)
        with TestClient(app) as client:
            yield Env(client, world)
        runtime_of(app).engine.dispose()


@pytest.fixture
def client(env: Env) -> TestClient:
    return env.client


@pytest.fixture
def world(env: Env) -> World:
    return env.world


def _url(patient_id: str) -> str:
    return f"/api/v1/reminders/patients/{patient_id}/preference"


SMS = {"channel": "sms", "language": "es", "phone": "612 34 56 78", "lead_hours": 24}


def test_the_patient_chooses_text_messages_stored_in_e164_and_audited(
    client: TestClient, world: World
) -> None:
    carlos = token(client, world, "carlos")
    patient_id = world.ids["patient_carlos"]
    before = client.get(_url(patient_id), headers=carlos)
    assert before.status_code == 200
    assert (before.json()["channel"], before.json()["language"]) == ("none", "es")
    saved = client.put(_url(patient_id), headers=carlos, json={**SMS, "lead_hours": 48})
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in ("channel", "language", "lead_hours", "phone_e164")} == {
        "channel": "sms", "language": "es", "lead_hours": 48, "phone_e164": "+34612345678",
    }  # fmt: skip
    with session_scope(runtime_of(client.app).sessionmaker) as s:
        events = audit.events_for_patient(s, patient_id)
        writes = [e for e in events if (e.action, e.entity) == ("update", "reminder_preference")]
        assert [(e.user_id, e.detail) for e in writes] == [
            (world.ids["carlos"], {"channel": "sms", "language": "es", "lead_hours": 48})
        ]


def test_a_bad_phone_number_is_a_clear_error_and_changes_nothing(
    client: TestClient, world: World
) -> None:
    carlos = token(client, world, "carlos")
    patient_id = world.ids["patient_carlos"]
    assert client.put(_url(patient_id), headers=carlos, json=SMS).status_code == 200
    refused = client.put(_url(patient_id), headers=carlos, json={**SMS, "phone": "612 34"})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/invalid-phone-number")
    assert problem["detail"] == (
        "'612 34' is not a valid phone number of ES: check the digits and the country code "
        "(e.g. +34 612 34 56 78)"
    )
    assert client.get(_url(patient_id), headers=carlos).json()["phone_e164"] == "+34612345678"
    no_phone = client.put(_url(patient_id), headers=carlos, json={**SMS, "phone": None})
    assert no_phone.status_code == 422
    assert no_phone.json()["detail"] == "text-message reminders need a phone number"


def test_another_patients_preference_answers_like_a_missing_one(
    client: TestClient, world: World
) -> None:
    carlos = token(client, world, "carlos")
    for method in ("GET", "PUT"):
        foreign = client.request(method, _url(world.ids["patient_lucia"]), headers=carlos, json=SMS)
        missing = client.request(method, _url(MISSING), headers=carlos, json=SMS)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["detail"].replace(world.ids["patient_lucia"], "ID") == missing.json()[
            "detail"
        ].replace(MISSING, "ID")
    admin = token(client, world, "admin_madrid")
    other_clinic = client.put(_url(world.ids["patient_jordi"]), headers=admin, json=SMS)
    assert other_clinic.status_code == 404


def test_the_clinic_admin_sets_it_for_a_patient_and_a_therapist_may_only_read_it(
    client: TestClient, world: World
) -> None:
    lucia = world.ids["patient_lucia"]
    email = {"channel": "email", "language": "en", "email": "lucia@example.org"}
    admin = token(client, world, "admin_madrid")
    assert client.put(_url(lucia), headers=admin, json=email).status_code == 200
    therapist = token(client, world, "therapist_madrid")
    assert client.get(_url(lucia), headers=therapist).json()["email"] == "lucia@example.org"
    assert client.put(_url(lucia), headers=therapist, json=email).status_code == 403


@pytest.fixture
def carlos_browser(client: TestClient, world: World) -> Iterator[TestClient]:
    browser = TestClient(client.app)
    page = browser.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    signed_in = browser.post(
        "/login",
        data={"email": world.emails["carlos"], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    yield browser


def test_the_patients_own_page_saves_and_refuses_a_bad_number_in_the_readers_language(
    carlos_browser: TestClient, world: World
) -> None:
    page = carlos_browser.get("/my/reminders?lang=es")
    assert page.status_code == 200
    assert "Recordatorios" in page.text and "Número de teléfono móvil" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": csrf, "channel": "sms", "language": "es", "lead_hours": "24"}
    refused = carlos_browser.post("/my/reminders?lang=es", data={**form, "phone": "12"})
    assert refused.status_code == 422
    assert (
        "Esto no es un número de teléfono móvil: escríbalo con el prefijo del país" in refused.text
    )
    saved = carlos_browser.post(
        "/my/reminders", data={**form, "phone": "+34 612 34 56 78"}, follow_redirects=False
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/my/reminders?saved=1")
    shown = carlos_browser.get("/my/reminders")
    assert 'value="+34612345678"' in shown.text
    foreign = carlos_browser.get(f"/patients/{world.ids['patient_lucia']}/reminders")
    missing = carlos_browser.get(f"/patients/{MISSING}/reminders")
    assert foreign.status_code == missing.status_code == 404
