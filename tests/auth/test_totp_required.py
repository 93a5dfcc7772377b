"""EXOSHARE_REQUIRE_TOTP_FOR_ADMINS: operators and clinic admins without a second factor reach
only its enrolment, over the API and in the browser."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient

from exoshare.config import Settings
from tests.auth.test_totp import _enrol
from tests.world import PASSWORD, World, token


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.require_totp_for_admins = True
    return settings


def test_required_setting_confines_admins_to_enrolment(client: TestClient, world: World) -> None:
    admin = token(client, world, "admin_madrid")
    blocked = client.get("/api/v1/users", headers=admin)
    assert blocked.status_code == 403
    assert blocked.json()["type"].endswith("/second-factor-enrolment-required")
    assert client.get("/api/v1/me", headers=admin).status_code == 200
    status = client.get("/api/v1/auth/totp", headers=admin).json()
    assert status == {"enabled": False, "required": True, "unused_recovery_codes": 0}
    # Therapists are not concerned by the setting.
    therapist = token(client, world, "therapist_madrid")
    patient = f"/api/v1/patients/{world.ids['patient_lucia']}"
    assert client.get(patient, headers=therapist).status_code == 200

    _enrol(client, admin)
    assert client.get("/api/v1/users", headers=admin).status_code == 200


def test_required_setting_sends_admin_pages_to_enrolment(client: TestClient, world: World) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"email": world.emails["operator"], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/account/security"
    security = client.get("/account/security")
    assert security.status_code == 200
    assert 'action="/account/security/totp"' in security.text
    csrf = security.text.split('name="csrf_token" value="')[1].split('"')[0]
    started = client.post("/account/security/totp", data={"csrf_token": csrf})
    secret = started.text.split("secret=")[1].split("&")[0]
    confirmed = client.post(
        "/account/security/totp/confirm",
        data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()},
    )
    assert confirmed.status_code == 200 and confirmed.text.count("<li><code>") == 10
    assert client.get("/", follow_redirects=False).status_code == 200
