"""The research workspace: approvals by each clinic's steward, consent at release, the export's
files and its measured risk."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.models import AuditEvent
from exoshare.auth.schemas import Role
from exoshare.db import session_scope
from exoshare.network import service as network
from tests.world import PASSWORD, World, build_world, token

VARIABLES = ["age_years", "sex", "city", "diagnosis", "height_m", "gait_speed_band", "sessions"]


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        barcelona = network.find_org_unit(s, world.ids["barcelona"])
        assert barcelona is not None
        user = auth.create_user(s, "admin_barcelona@test.exoshare.org", "Admin B", PASSWORD)
        auth.add_grant(s, user, Role.clinic_admin, barcelona)
        world.ids["admin_barcelona"] = user.id
        world.emails["admin_barcelona"] = user.email
    return world


def _consent(client: TestClient, world: World, patient: str, headers: dict[str, str]) -> str:
    response = client.post(
        f"/api/v1/patients/{world.ids[patient]}/consents",
        json={"purpose": "research", "decision": "permit"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_request_approved_by_both_stewards_exports_only_consented_patients(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    researcher = token(client, world, "researcher")
    _bad_requests_are_refused_with_the_reason(client, world, researcher)
    created = client.post(
        "/api/v1/research/requests",
        json={
            "title": "Gait speed after stroke",
            "purpose": "Compare recovery of walking between two Spanish clinics",
            "cohort": {"clinic_ids": [world.ids["madrid"], world.ids["barcelona"]]},
            "variables": VARIABLES,
            "k": 2,
            "l_diversity": 1,
            "suppression_limit": 0.0,
        },
        headers=researcher,
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert [a["decision"] for a in created.json()["approvals"]] == ["pending", "pending"]
    export_url = f"/api/v1/research/requests/{request_id}/exports"
    early = client.post(export_url, headers=researcher)
    assert early.status_code == 409
    assert "waiting for 2 of 2" in early.json()["detail"]
    # Each steward decides for their own clinic only.
    madrid_admin = token(client, world, "admin_madrid")
    decide = f"/api/v1/research/requests/{request_id}/decisions"
    foreign = client.post(
        decide,
        json={"clinic_id": world.ids["barcelona"], "decision": "approved"},
        headers=madrid_admin,
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "clinic_id"
    barcelona_admin = token(client, world, "admin_barcelona")
    for admin, clinic in ((madrid_admin, "madrid"), (barcelona_admin, "barcelona")):
        ok = client.post(
            decide,
            json={"clinic_id": world.ids[clinic], "decision": "approved", "note": "ethics ok"},
            headers=admin,
        )
        assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved"
    # Carlos and Jordi agree; Lucia agreed and withdrew before the release.
    _consent(client, world, "patient_carlos", madrid_admin)
    _consent(client, world, "patient_jordi", barcelona_admin)
    lucia_consent = _consent(client, world, "patient_lucia", madrid_admin)
    client.post(
        f"/api/v1/patients/{world.ids['patient_lucia']}/consents/{lucia_consent}/withdraw",
        json={"reason": ""},
        headers=madrid_admin,
    )
    released = client.post(export_url, headers=researcher)
    assert released.status_code == 201, released.text
    body = released.json()
    # Both are men born on 1970-05-01, 1.75 m tall, with a stroke; only the city tells them
    # apart, so it is generalised to the country: one class of two.
    assert body["record_count"] == 2 and body["suppressed_count"] == 0
    assert body["levels"]["city"] == 1
    assert {k: v for k, v in body["levels"].items() if k != "city"} == {
        "age_years": 0,
        "sex": 0,
        "diagnosis": 0,
        "height_m": 0,
    }
    assert body["risk_before"]["prosecutor"]["highest"] == 1.0
    assert body["risk_after"]["prosecutor"]["highest"] == 0.5
    assert body["risk_after"]["prosecutor"]["average"] == 0.5
    assert body["k_achieved"] == 2
    assert body["files"] == ["data.csv", "data.parquet", "dictionary.csv", "provenance.json"]
    files = f"/api/v1/research/exports/{body['id']}/files"
    csv_text = client.get(f"{files}/data.csv", headers=researcher).text
    assert csv_text.splitlines()[0] == "pseudonym," + ",".join(VARIABLES)
    assert "ES" in csv_text and "Madrid" not in csv_text and "Carlos" not in csv_text
    assert "MRN" not in csv_text
    table = pq.read_table(
        io.BytesIO(client.get(f"{files}/data.parquet", headers=researcher).content)
    )
    assert table.num_rows == 2 and set(table.column("city").to_pylist()) == {"ES"}
    provenance = json.loads(client.get(f"{files}/provenance.json", headers=researcher).text)
    assert provenance["consent_snapshot"]["cohort_patients"] == 3
    assert provenance["consent_snapshot"]["left_out_without_consent"] == 1
    assert [a["decision"] for a in provenance["approvals"]] == ["approved", "approved"]
    assert provenance["privacy_model"]["k_achieved"] == 2
    # The record says which exports held whom; the steward cannot download the rows.
    held = client.get(
        f"/api/v1/patients/{world.ids['patient_carlos']}/research-exports", headers=madrid_admin
    ).json()
    assert [h["export_id"] for h in held] == [body["id"]]
    assert (
        client.get(
            f"/api/v1/patients/{world.ids['patient_lucia']}/research-exports", headers=madrid_admin
        ).json()
        == []
    )
    assert client.get(f"{files}/data.csv", headers=madrid_admin).status_code == 404
    with session_scope(session_factory) as s:
        exported = s.scalars(
            select(AuditEvent.patient_id).where(
                AuditEvent.action == "export", AuditEvent.entity == "research_export"
            )
        ).all()
    assert set(exported) == {world.ids["patient_carlos"], world.ids["patient_jordi"]}


def _bad_requests_are_refused_with_the_reason(
    client: TestClient, world: World, researcher: dict[str, str]
) -> None:
    base = {
        "title": "Cadence",
        "purpose": "A purpose long enough",
        "cohort": {"clinic_ids": [world.ids["madrid"]]},
        "variables": ["age_years"],
    }
    unknown = client.post(
        "/api/v1/research/requests", json={**base, "variables": ["given_name"]}, headers=researcher
    )
    assert unknown.status_code == 422 and "'given_name' is not offered" in unknown.json()["detail"]
    not_clinic = client.post(
        "/api/v1/research/requests",
        json={**base, "cohort": {"clinic_ids": [world.ids["spain"]]}},
        headers=researcher,
    )
    assert not_clinic.status_code == 422
    assert not_clinic.json()["errors"][0]["field"] == "cohort.clinic_ids"
    therapist = client.post(
        "/api/v1/research/requests", json=base, headers=token(client, world, "therapist_madrid")
    )
    assert therapist.status_code == 403
    assert client.get("/api/v1/research/requests", headers=researcher).json() == []
