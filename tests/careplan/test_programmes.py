"""Home programmes: the patient logs from the phone page, the therapist reads adherence per week
(hand-checked), and the patient sees only their own programme."""

from __future__ import annotations

from datetime import date, timedelta

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.careplan.seed_library import seed_library
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from tests.careplan.conftest import CareEnv
from tests.world import token


def test_weekly_adherence_and_the_patients_own_view(care: CareEnv) -> None:
    client, world, maria = care.client, care.world, care.maria
    with session_scope(runtime_of(client.app).sessionmaker) as s:
        assert seed_library(s, SYSTEM_SEEDING, care.data_dir) == 10
    library = client.get("/api/v1/careplan/exercises?language=es", headers=maria).json()
    by_code = {e["code"]: e for e in library}
    assert by_code["heel-raises"]["title"] == "Elevaciones de talones"
    assert by_code["heel-raises"]["media"][0]["content_type"] == "image/svg+xml"

    monday = date.today() - timedelta(days=date.today().weekday() + 14)
    assigned = client.post(
        "/api/v1/careplan/programmes",
        json={
            "patient_id": world.ids["patient_carlos"],
            "starts_on": str(monday),
            "ends_on": str(monday + timedelta(days=55)),
            "items": [
                {
                    "exercise_id": by_code["sit-to-stand"]["id"],
                    "sets": 2,
                    "reps": 10,
                    "days_per_week": 3,
                },
                {
                    "exercise_id": by_code["heel-raises"]["id"],
                    "sets": 2,
                    "reps": 15,
                    "days_per_week": 2,
                },
            ],
        },
        headers=maria,
    )
    assert assigned.status_code == 201, assigned.text
    programme = assigned.json()
    sit, heel = (item["id"] for item in programme["items"])
    carlos = token(client, world, "carlos")
    # First week: sit-to-stand done, done, partly (2.5 of 3); heel raises done, not done (1 of 2).
    # Tuesday's sit-to-stand is first logged "not done", then corrected: the newest log counts.
    logs = [
        (sit, 0, "done", 2), (sit, 1, "not_done", 0), (sit, 1, "done", 3), (sit, 3, "partly", 5),
        (heel, 0, "done", 1), (heel, 2, "not_done", 0),
    ]  # fmt: skip
    for item, day, status, pain in logs:
        logged = client.post(
            f"/api/v1/careplan/programmes/{programme['id']}/adherence",
            json={"item_id": item, "performed_on": str(monday + timedelta(days=day)),
                  "status": status, "pain_0_10": pain, "difficulty": "right"},
            headers=carlos,
        )  # fmt: skip
        assert logged.status_code == 201, logged.text
    for day, field in ((monday + timedelta(days=60), "performed_on"), (monday, "item_id")):
        refused = client.post(
            f"/api/v1/careplan/programmes/{programme['id']}/adherence",
            json={"item_id": sit if field == "performed_on" else "0" * 32,
                  "performed_on": str(day), "status": "done", "pain_0_10": 1,
                  "difficulty": "easy"},
            headers=carlos,
        )  # fmt: skip
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    weeks = client.get(
        f"/api/v1/careplan/programmes/{programme['id']}/adherence", headers=maria
    ).json()
    first = weeks[0]
    assert first["week_starts_on"] == str(monday)
    assert (first["expected_sessions"], first["credited_sessions"]) == (5.0, 3.5)
    assert first["adherence_pct"] == 70.0
    assert first["mean_pain_0_10"] == 2.2  # (2 + 3 + 5 + 1 + 0) / 5
    assert weeks[1]["adherence_pct"] == 0.0 and weeks[1]["mean_pain_0_10"] is None

    today_list = client.get("/api/v1/careplan/my/exercises-today?language=es", headers=carlos)
    mine = [e for e in today_list.json() if e["programme_id"] == programme["id"]]
    assert [(e["exercise"]["title"], e["sets"], e["reps"]) for e in mine] == [
        ("Levantarse de la silla", 2, 10),
        ("Elevaciones de talones", 2, 15),
    ]
    assert client.get("/api/v1/careplan/my/exercises-today", headers=maria).status_code == 404
    # The patient's phone page lists today's exercises and logs one.
    page = client.get("/my/exercises?lang=es", headers=carlos)
    assert page.status_code == 200 and "Levantarse de la silla" in page.text
    # Lucía's programme is not Carlos's: it answers like one that does not exist.
    lucia = client.post(
        "/api/v1/careplan/programmes",
        json={"patient_id": world.ids["patient_lucia"], "starts_on": str(monday),
              "ends_on": str(monday + timedelta(days=55)),
              "items": [{"exercise_id": by_code["tandem-stance"]["id"], "sets": 1, "reps": 3,
                         "days_per_week": 5}]},
        headers=maria,
    ).json()  # fmt: skip
    foreign = client.get(f"/api/v1/careplan/programmes/{lucia['id']}", headers=carlos)
    missing = client.get(f"/api/v1/careplan/programmes/{'0' * 32}", headers=carlos)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(lucia["id"], "X") == missing.json()["detail"].replace(
        "0" * 32, "X"
    )
    assert client.get(f"/api/v1/careplan/programmes/{programme['id']}", headers=carlos).is_success
