"""Scope: another clinic's therapist meets a Madrid plan, note or patient exactly as missing ones;
the patient reads neither plans nor notes, and may not write them."""

from __future__ import annotations

from tests.careplan.conftest import CareEnv, plan_body
from tests.world import token

MISSING = "0" * 32


def _same(foreign: object, missing: object, foreign_id: str) -> None:
    f, m = foreign, missing
    assert f.status_code == m.status_code, (f.text, m.text)  # type: ignore[attr-defined]
    assert f.text.replace(foreign_id, MISSING) == m.text  # type: ignore[attr-defined]


def test_foreign_ids_answer_like_missing_ones(care: CareEnv) -> None:
    client, world, maria = care.client, care.world, care.maria
    plan = client.post("/api/v1/careplan/plans", json=plan_body(world), headers=maria).json()
    note = client.post(
        "/api/v1/careplan/notes",
        json={"therapy_session_id": world.ids["therapy_carlos"]},
        headers=maria,
    ).json()
    barcelona = token(client, world, "therapist_barcelona")
    for path, foreign_id in (
        ("/api/v1/careplan/plans/{}", plan["id"]),
        ("/api/v1/careplan/notes/{}", note["id"]),
        ("/api/v1/careplan/patients/{}/notes", world.ids["patient_carlos"]),
        ("/careplan/plans/{}", plan["id"]),
    ):
        _same(
            client.get(path.format(foreign_id), headers=barcelona),
            client.get(path.format(MISSING), headers=barcelona),
            foreign_id,
        )
    # Ids in a body: 422 naming the field, worded as for an id that does not exist.
    for url, body, field in (
        ("/api/v1/careplan/plans", plan_body(world), "patient_id"),
        ("/api/v1/careplan/notes", {"therapy_session_id": world.ids["therapy_carlos"]},
         "therapy_session_id"),
    ):  # fmt: skip
        foreign_id = body[field]
        foreign = client.post(url, json=body, headers=barcelona)
        missing = client.post(url, json={**body, field: MISSING}, headers=barcelona)
        assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == field
        _same(foreign, missing, foreign_id)
    # A unit of another clinic in Maria's plan is a unit that does not exist for her.
    other_unit = client.post(
        "/api/v1/careplan/plans",
        json=plan_body(world, device_unit_id=world.ids["unit_barcelona"]),
        headers=maria,
    )
    assert other_unit.status_code == 422
    assert (
        other_unit.json()["detail"] == f"device unit {world.ids['unit_barcelona']} does not exist"
    )

    carlos = token(client, world, "carlos")
    assert client.get(f"/api/v1/careplan/plans/{plan['id']}", headers=carlos).status_code == 404
    assert client.get(f"/api/v1/careplan/notes/{note['id']}", headers=carlos).status_code == 404
    own = client.post("/api/v1/careplan/plans", json=plan_body(world), headers=carlos)
    assert own.status_code == 422 and own.json()["errors"][0]["field"] == "patient_id"
