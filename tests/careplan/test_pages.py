"""The care plan's forms in the browser's way (cookie, CSRF token, form posts): a plan and its
next version, a note written, signed and amended, a programme assigned and logged by the patient
from the phone page."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.careplan.conftest import CareEnv
from tests.world import PASSWORD, form_csrf


def _signed_in(care: CareEnv, key: str) -> TestClient:
    browser = TestClient(care.client.app)  # its own cookie jar; the app is already running
    page = browser.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    answer = browser.post(
        "/login",
        data={"email": care.world.emails[key], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return browser


def test_the_forms_of_plan_note_and_programme(care: CareEnv) -> None:
    world = care.world
    lucia = world.ids["patient_lucia"]
    maria = _signed_in(care, "therapist_madrid")
    page = maria.get(f"/patients/{lucia}/careplan?model={world.ids['model']}")
    assert page.status_code == 200 and 'name="w1_guidance_force_pct"' in page.text
    csrf = form_csrf(page.text)
    created = maria.post(
        f"/patients/{lucia}/careplan/plans",
        data={"csrf_token": csrf, "title": "Gait training", "device_model_id": world.ids["model"],
              "sessions_per_week": "3", "minutes_per_session": "45", "starts_on": "2026-01-05",
              "ends_on": "2026-02-01", "goals": "Walk 10 m\nClimb one step",
              "w1_guidance_force_pct": "80", "w2_guidance_force_pct": "70"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    plan_url = created.headers["location"]
    revised = maria.post(
        f"{plan_url}/versions",
        data={"csrf_token": csrf, "based_on_version": "1", "sessions_per_week": "4",
              "minutes_per_session": "45", "starts_on": "2026-01-05", "ends_on": "2026-02-01",
              "goals": "Walk 10 m\nClimb one step", "w1_guidance_force_pct": "80",
              "w2_guidance_force_pct": "65", "reason": "Fewer steps lost"},
        follow_redirects=True,
    )  # fmt: skip
    assert revised.status_code == 200
    diff = re.sub(r"\s+", " ", revised.text)
    assert "Fewer steps lost" in diff
    assert 'Week 2 · Guidance force</td><td class="before">70</td><td class="after">65' in diff
    too_much = maria.post(
        f"{plan_url}/versions",
        data={"csrf_token": csrf, "based_on_version": "2", "sessions_per_week": "4",
              "minutes_per_session": "45", "starts_on": "2026-01-05", "ends_on": "2026-02-01",
              "w3_guidance_force_pct": "130", "reason": "more"},
    )  # fmt: skip
    assert too_much.status_code == 422 and "outside the model" in too_much.text

    therapy = care.client.post(
        "/api/v1/telerehab/sessions",
        json={"patient_id": lucia, "device_unit_id": world.ids["unit_madrid"]},
        headers=care.maria,
    )
    assert therapy.status_code == 201, therapy.text
    note = maria.post(
        "/careplan/notes", data={"csrf_token": csrf, "therapy_session_id": therapy.json()["id"]}
    )
    assert note.status_code == 200 and "Sign</button>" in note.text
    note_url = str(note.url)
    signed = maria.post(
        note_url,
        data={"csrf_token": csrf, "action": "sign", "subjective": "Felt well",
              "objective": "Walked the corridor", "assessment": "Better", "plan": "Same"},
    )  # fmt: skip
    assert "Signed on" in signed.text and "Walked the corridor" in signed.text
    amended = maria.post(
        note_url,
        data={"csrf_token": csrf, "action": "amend", "section": "plan", "text": "Two sessions",
              "reason": "Agreed with the patient"},
    )  # fmt: skip
    assert "Agreed with the patient" in amended.text and "Two sessions" in amended.text

    added = maria.post(
        "/careplan/exercises",
        data={"csrf_token": csrf, "code": "hallway-laps", "category": "gait",
              "title": "Hallway laps", "instructions": "Walk the hallway four times."},
    )  # fmt: skip
    assert added.status_code == 200 and "Hallway laps" in added.text
    card = added.text.split("<h2>Hallway laps</h2>")[1]  # its upload form follows its title
    exercise_id = card.split('data-url="/api/v1/careplan/exercises/')[1].split("/")[0]
    carlos_id = world.ids["patient_carlos"]
    today = date.today()
    assigned = maria.post(
        f"/patients/{carlos_id}/careplan/programmes",
        data={"csrf_token": csrf, "starts_on": str(today), "ends_on": str(today + timedelta(7)),
              "exercise_id": exercise_id, f"sets_{exercise_id}": "1",
              f"reps_{exercise_id}": "4", f"days_{exercise_id}": "7"},
    )  # fmt: skip
    assert assigned.status_code == 200 and "Hallway laps" in assigned.text

    carlos = _signed_in(care, "carlos")
    phone = carlos.get("/my/exercises")
    form = phone.text.split("Hallway laps")[1]
    programme_id = form.split('name="programme_id" value="')[1].split('"')[0]
    item_id = form.split('name="item_id" value="')[1].split('"')[0]
    logged = carlos.post(
        "/my/exercises",
        data={"csrf_token": form_csrf(phone.text), "programme_id": programme_id, "item_id": item_id,
              "status": "partly", "pain_0_10": "3", "difficulty": "hard", "day": "today"},
    )  # fmt: skip
    assert logged.status_code == 200 and "Saved. Thank you!" in logged.text
    assert "✓ Partly" in logged.text
    # The patient's own pages stop at their programme: the care team's page does not exist.
    assert carlos.get(f"/patients/{carlos_id}/careplan").status_code == 404
