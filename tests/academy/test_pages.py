"""The academy's pages: a learner takes the quiz in the browser, a trainer creates a course and
signs off a practical, a clinic admin sees who holds what; in English and Spanish."""

from __future__ import annotations

from fastapi.testclient import TestClient

from exoshare.runtime import runtime_of
from tests.academy.helpers import QUESTIONS, academy_world
from tests.world import PASSWORD, World


def _login(client: TestClient, world: World, key: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": world.emails[key], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client.get("/academy").text.split('name="csrf_token" value="')[1].split('"')[0]


def test_learner_trainer_and_admin_pages(client: TestClient) -> None:
    world = academy_world(runtime_of(client.app).sessionmaker)
    course_id = world.ids["course"]

    csrf = _login(client, world, "therapist_madrid")
    home = client.get("/academy").text
    assert "Strider X2 basics" in home and "0 / 2" in home
    assert "New course" not in home  # therapists learn, trainers author
    assert "Rango de tallas" in client.get(f"/academy/courses/{course_id}?lang=es").text
    lesson = client.get(f"/academy/lessons/{world.ids['lesson2']}?lang=es").text
    assert "Aún no traducida a su idioma: se muestra en inglés." in lesson
    client.post(f"/academy/lessons/{world.ids['lesson2']}/complete", data={"csrf_token": csrf})
    picks: dict[str, str | list[str]] = {"csrf_token": csrf}
    for number, (_, _, right) in enumerate(QUESTIONS, start=1):
        picks[f"q_{world.ids[f'q{number}']}"] = [world.ids[f"q{number}o{i}"] for i in right]
    result = client.post(f"/academy/courses/{course_id}/quiz", data=picks)
    assert result.status_code == 200
    assert 'data-score="100.0"' in result.text
    assert "The certificate follows once a trainer has signed off your practical." in result.text

    csrf = _login(client, world, "trainer_spain")
    edit = client.get(f"/academy/courses/{course_id}/edit").text
    assert "Therapist Madrid" in edit and "Cuffs" in edit  # Cuffs still lacks Spanish
    signed = client.post(
        f"/academy/courses/{course_id}/signoffs",
        data={"csrf_token": csrf, "learner_id": world.ids["therapist_madrid"], "note": "safe"},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and "error" not in signed.headers["location"]
    created = client.post(
        "/academy/courses",
        data={
            "csrf_token": csrf,
            "model_id": world.ids["other_model"],
            "org_unit_id": world.ids["spain"],
            "topic": "treadmill speed",
            "language": "es",
            "title": "Lumen T1 en la cinta",
            "pass_mark_pct": "90",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"].endswith("/edit")
    draft = client.get(created.headers["location"] + "?lang=es").text
    assert "Lumen T1 en la cinta" in draft and "Borrador: solo lo ven los formadores." in draft
    assert "Nota de aprobado (porcentaje)" in client.get("/academy?lang=es").text

    _login(client, world, "admin_madrid")
    team = client.get("/academy/team").text
    assert "Therapist Madrid" in team and "Strider X2" in team and "Valid" in team
    assert "Therapist Barcelona" not in team  # another clinic's people
    assert "Válido" in client.get("/academy/team?lang=es").text
    assert "Certify a therapist" not in team  # admins see; trainers certify

    _login(client, world, "carlos")
    assert client.get("/academy").status_code == 404  # patients have no academy
