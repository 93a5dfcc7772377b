"""Server-rendered pages: each role's home shows what it owns, nothing more, in its language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from tests.world import World, build_world, sign_in


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def test_home_redirects_to_login_when_signed_out(client: TestClient, world: World) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


def test_wrong_password_shows_message(client: TestClient, world: World) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": world.emails["operator"], "password": "wrong", "login_csrf": login_csrf},
    )
    assert response.status_code == 401
    assert "The e-mail address or the password is wrong." in response.text


def test_therapist_home_lists_own_clinic_patients(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["therapist_madrid"])
    page = client.get("/").text
    assert "Test, Carlos" in page and "Test, Lucia" in page
    assert "Jordi" not in page and "Amani" not in page
    assert "SX2-0001" in page and "LT1-0001" not in page


def test_operator_home_shows_tree_with_counts_and_no_patient_names(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.emails["operator"])
    page = client.get("/").text
    assert "Test Consortium" in page and "Nairobi Clinic" in page
    assert "Carlos" not in page


def test_patient_page_for_other_clinic_is_404_page(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["therapist_madrid"])
    response = client.get(f"/patients/{world.ids['patient_jordi']}")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Jordi" not in response.text


def test_patient_search_is_scoped(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["therapist_madrid"])
    rows = client.get("/patients/search?q=jor").text
    assert "Jordi" not in rows and "No patients match." in rows
    assert "Lucia" in client.get("/patients/search?q=luc").text


def test_spanish_interface_by_language_choice(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["therapist_madrid"])
    client.get("/lang/es", follow_redirects=False)
    page = client.get("/").text
    assert '<html lang="es" dir="ltr">' in page
    assert "Pacientes" in page and "Cerrar sesión" in page
    patient = client.get(f"/patients/{world.ids['patient_lucia']}").text
    assert "Ictus" in patient and "1,75 m" in patient  # Spanish decimal comma


def test_a_page_asked_in_a_language_without_a_catalog_says_it_is_english(
    client: TestClient, world: World
) -> None:
    # No Hebrew catalog ships: the words are English, and so are lang and dir (a right-to-left
    # page comes with a complete right-to-left catalog; see text_direction).
    page = client.get("/login?lang=he").text
    assert '<html lang="en" dir="ltr">' in page and "Sign in" in page


def test_an_arabic_page_is_right_to_left_with_arabic_words(
    client: TestClient, world: World
) -> None:
    page = client.get("/login?lang=ar").text
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول" in page and "Sign in" not in page


def test_device_and_model_pages(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["therapist_madrid"])
    device = client.get(f"/devices/{world.ids['unit_madrid']}")
    assert device.status_code == 200
    assert "Strider X2" in device.text and "guidance force pct" in device.text
    other = client.get(f"/devices/{world.ids['unit_barcelona']}")
    assert other.status_code == 404


def test_static_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/login").text
    assert "/static/vendor/htmx.min.js" in page and "http" not in page.split("<body")[0]
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_patient_list_pages_with_show_more(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    from datetime import date

    from exoshare.db import session_scope
    from exoshare.patients import service
    from exoshare.patients.schemas import Diagnosis, Sex

    with session_scope(session_factory) as s:
        for i in range(30):
            service.create_patient(
                s,
                SYSTEM_SEEDING,
                world.ids["madrid"],
                f"MRN-X{i:02d}",
                f"Extra{i:02d}",
                "Zz",
                Sex.female,
                date(1990, 1, 1),
                1.6,
                60.0,
                Diagnosis.stroke,
            )
    sign_in(client, world.emails["therapist_madrid"])
    home = client.get("/").text
    assert "Show more (7 left)" in home  # 32 patients, 25 per page
    second = client.get("/patients/search?page=1").text
    assert second.count("<tr>") == 7 and "Show more" not in second


def test_manufacturer_sees_anonymous_field_usage_of_own_models(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    from datetime import UTC, datetime, timedelta

    from exoshare.db import session_scope
    from exoshare.fleet import metering

    now = datetime.now(UTC)
    with session_scope(session_factory) as s:
        for days_ago, patient in (
            (1, "patient_carlos"),
            (2, "patient_carlos"),
            (3, "patient_lucia"),
        ):
            metering.record_usage(
                s,
                unit_id=world.ids["unit_madrid"],
                patient_id=world.ids[patient],
                session_start=now - timedelta(days=days_ago),
            )
        usage = metering.field_usage_by_model(s, [world.ids["model"]], now - timedelta(days=30))
    assert usage[world.ids["model"]] == metering.ModelFieldUsage(world.ids["model"], 1, 1, 3, 2)
    sign_in(client, world.emails["manufacturer"])
    page = client.get("/").text
    assert "Strider X2" in page and "Lumen T1" not in page  # own models only
    assert "Sessions, last 30 days" in page
    assert "Carlos" not in page and "Madrid" not in page  # counts, never who or where
