"""Patient records through the HTTP API, tried by every kind of caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.patients.models import Patient
from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _names(response_json: dict) -> set[str]:
    return {p["given_name"] for p in response_json["items"]}


def test_therapist_lists_only_own_clinic(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/patients", headers=token(client, world, "therapist_madrid"))
    assert response.status_code == 200
    assert _names(response.json()) == {"Carlos", "Lucia"}
    assert response.json()["total"] == 2


def test_therapist_gets_404_for_other_clinics_patient(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    response = client.get(f"/api/v1/patients/{world.ids['patient_jordi']}", headers=headers)
    assert response.status_code == 404
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["status"] == 404
    assert "Jordi" not in response.text and "MRN-jordi" not in response.text
    # The same answer as for an id that does not exist at all.
    missing = client.get("/api/v1/patients/0123456789abcdef0123456789abcdef", headers=headers)
    assert missing.status_code == 404


def test_region_operator_does_not_read_clinical_records(client: TestClient, world: World) -> None:
    headers = token(client, world, "operator")
    assert client.get("/api/v1/patients", headers=headers).json()["total"] == 0
    response = client.get(f"/api/v1/patients/{world.ids['patient_carlos']}", headers=headers)
    assert response.status_code == 404


def test_patient_sees_only_own_record(client: TestClient, world: World) -> None:
    headers = token(client, world, "carlos")
    listing = client.get("/api/v1/patients", headers=headers).json()
    assert [p["id"] for p in listing["items"]] == [world.ids["patient_carlos"]]
    own = client.get(f"/api/v1/patients/{world.ids['patient_carlos']}", headers=headers)
    assert own.status_code == 200 and own.json()["given_name"] == "Carlos"
    same_clinic = client.get(f"/api/v1/patients/{world.ids['patient_lucia']}", headers=headers)
    assert same_clinic.status_code == 404


def test_patient_cannot_change_own_record(client: TestClient, world: World) -> None:
    headers = token(client, world, "carlos")
    response = client.patch(
        f"/api/v1/patients/{world.ids['patient_carlos']}", json={"height_m": 1.9}, headers=headers
    )
    assert response.status_code == 403


def test_reads_are_audited_with_who_and_where(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    patient_id = world.ids["patient_lucia"]
    assert client.get(f"/api/v1/patients/{patient_id}", headers=headers).status_code == 200
    with session_factory() as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.patient_id == patient_id, AuditEvent.action == "read"
            )
        ).all()
    assert len(events) == 1
    assert events[0].user_id == world.ids["therapist_madrid"]
    assert events[0].client_address == "testclient"
    assert events[0].request_path == f"/api/v1/patients/{patient_id}"


def test_clinic_admin_reads_audit_log_therapist_may_not(client: TestClient, world: World) -> None:
    patient_id = world.ids["patient_lucia"]
    client.get(f"/api/v1/patients/{patient_id}", headers=token(client, world, "therapist_madrid"))
    admin = client.get(
        f"/api/v1/patients/{patient_id}/audit-events", headers=token(client, world, "admin_madrid")
    )
    assert admin.status_code == 200
    actions = [(e["action"], e["user_id"]) for e in admin.json()]
    assert ("read", world.ids["therapist_madrid"]) in actions
    therapist = client.get(
        f"/api/v1/patients/{patient_id}/audit-events",
        headers=token(client, world, "therapist_madrid"),
    )
    assert therapist.status_code == 403


def test_audit_log_is_append_only_in_the_database(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    client.get(
        f"/api/v1/patients/{world.ids['patient_lucia']}",
        headers=token(client, world, "therapist_madrid"),
    )
    with session_factory() as s:
        event = s.scalars(select(AuditEvent)).first()
        assert event is not None
        event.action = "forged"
        with pytest.raises(Exception, match="append-only"):
            s.commit()


def test_void_hides_from_lists_but_keeps_record_with_reason(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    patient_id = world.ids["patient_lucia"]
    response = client.post(
        f"/api/v1/patients/{patient_id}/void",
        json={"reason": "duplicate of MRN-0042"},
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["voided"] is True
    assert _names(client.get("/api/v1/patients", headers=headers).json()) == {"Carlos"}
    assert client.get(f"/api/v1/patients/{patient_id}", headers=headers).status_code == 404
    with session_factory() as s:
        stored = s.get(Patient, patient_id)
        assert stored is not None
        assert stored.voided and stored.void_reason == "duplicate of MRN-0042"
        assert stored.voided_by_id == world.ids["therapist_madrid"]


def test_void_without_reason_is_refused_and_changes_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    patient_id = world.ids["patient_lucia"]
    response = client.post(
        f"/api/v1/patients/{patient_id}/void", json={"reason": ""}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"
    with session_factory() as s:
        assert s.get(Patient, patient_id).voided is False  # type: ignore[union-attr]


def test_create_patient_and_unit_mixup_is_named(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    payload = {
        "clinic_id": world.ids["madrid"],
        "medical_record_number": "MRN-9",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "sex": "female",
        "birth_date": "1980-02-03",
        "height_m": 165,
        "weight_kg": 60,
        "diagnosis": "stroke",
        "onset_date": "2026-01-10",
        "preferred_language": "es",
    }
    bad = client.post("/api/v1/patients", json=payload, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "height_m"
    assert "metres" in bad.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(Patient).where(Patient.medical_record_number == "MRN-9")) is None
    good = client.post("/api/v1/patients", json={**payload, "height_m": 1.65}, headers=headers)
    assert good.status_code == 201
    assert good.json()["height_m"] == 1.65


def test_therapist_cannot_create_patient_in_other_clinic(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    payload = {
        "clinic_id": world.ids["barcelona"],
        "medical_record_number": "MRN-10",
        "given_name": "Pau",
        "family_name": "Vidal",
        "sex": "male",
        "birth_date": "1960-02-03",
        "height_m": 1.7,
        "weight_kg": 70,
        "diagnosis": "stroke",
    }
    response = client.post("/api/v1/patients", json=payload, headers=headers)
    assert response.status_code == 404
    assert response.json()["field"] == "clinic_id"


def test_malformed_request_names_each_field(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    response = client.post(
        "/api/v1/patients",
        json={"clinic_id": world.ids["madrid"], "sex": "robot", "birth_date": "yesterday"},
        headers=headers,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"sex", "birth_date", "given_name", "height_m"} <= fields


def test_pagination(client: TestClient, world: World) -> None:
    headers = token(client, world, "admin_madrid")
    first = client.get("/api/v1/patients?limit=1&offset=0", headers=headers).json()
    second = client.get("/api/v1/patients?limit=1&offset=1", headers=headers).json()
    assert first["total"] == 2 and len(first["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert client.get("/api/v1/patients?limit=0", headers=headers).status_code == 422


def test_unauthenticated_is_401_problem(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/patients")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/not-authenticated")
    bad = client.get("/api/v1/patients", headers={"Authorization": "Bearer exo_nope"})
    assert bad.status_code == 401
