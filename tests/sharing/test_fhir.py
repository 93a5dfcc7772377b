"""FHIR R4 exchange: every emitted resource parses as R4(B), searches by patient and date, and a
patient Bundle imported into an empty database gives back the same record."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.devices import service as devices
from exoshare.network import service as network
from exoshare.network.schemas import OrgUnitKind
from exoshare.outcomes.instruments import InstrumentCode
from exoshare.outcomes.measures import record_measurement
from exoshare.patients import service as patients
from exoshare.sharing import fhir_service
from exoshare.sharing.consent import consents_of
from exoshare.telemetry.models import TelemetrySession
from exoshare.telerehab import sessions as telerehab
from tests.world import World, build_world, token

MAY_1 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
JUNE_1 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        carlos = patients.find_patient(s, world.ids["patient_carlos"])
        unit = devices.find_unit(s, world.ids["unit_madrid"])
        assert carlos is not None and unit is not None
        for n, (start, speed) in enumerate(((MAY_1, 0.42), (JUNE_1, 0.61))):
            recording = TelemetrySession(
                device_unit_id=unit.id,
                device_session_id=f"s{n}",
                patient_id=carlos.id,
                source="upload",
                started_at=start,
                start_time_s=0.0,
                sampling_rate_hz=100.0,
                channels={},
                summary={"speed_mps": speed},
                cadence_steps_per_min=70.0 + 10 * n,
                distance_m=120.0 + 60 * n,
            )
            s.add(recording)
            s.flush()
            telerehab.record_completed_session(
                s,
                SYSTEM_SEEDING,
                carlos,
                unit,
                world.ids["therapist_madrid"],
                start,
                start.replace(hour=10),
                recording.id,
                {"guidance_force_pct": 40.0},
            )
        # A six-minute walk on the day of the June session (an outcome measure with LOINC).
        record_measurement(
            s, SYSTEM_SEEDING, carlos.id, InstrumentCode.six_mwt, {"distance_m": 320.0},
            JUNE_1.date(),
        )  # fmt: skip
    return world


def _resources(bundle: dict) -> list[dict]:
    Bundle.model_validate(bundle)  # the whole Bundle, and each resource in it, is valid
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_everything_bundle_validates_and_searches_filter_by_date(
    client: TestClient, world: World
) -> None:
    headers = token(client, world, "therapist_madrid")
    carlos = world.ids["patient_carlos"]
    client.post(
        f"/api/v1/patients/{carlos}/consents",
        json={"purpose": "research", "decision": "permit"},
        headers=headers,
    )
    response = client.get(f"/fhir/R4/Patient/{carlos}/$everything", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    kinds = sorted(r["resourceType"] for r in _resources(response.json()))
    # Patient, Condition, Organization, Practitioner, Device, 2 Encounters, height + weight,
    # 2 sessions x 3 gait parameters (no symmetry recorded), a 6-minute walk, 1 Consent.
    assert kinds == sorted(
        ["Patient", "Condition", "Organization", "Practitioner", "Device", "Consent"]
        + ["Encounter"] * 2
        + ["Observation"] * 9
    )
    speed = client.get(
        f"/fhir/R4/Observation?patient=Patient/{carlos}&date=ge2026-05-15&date=le2026-06-30",
        headers=headers,
    )
    june = _resources(speed.json())
    assert speed.json()["total"] == 4
    gait = {o["code"]["coding"][0]["code"]: o["valueQuantity"] for o in june}
    assert gait["64098-7"] == {
        "value": 320.0,
        "unit": "m",
        "system": "http://unitsofmeasure.org",
        "code": "m",
    }
    assert gait["gait-speed"] == {
        "value": 0.61,
        "unit": "m/s",
        "system": "http://unitsofmeasure.org",
        "code": "m/s",
    }
    assert gait["cadence"]["value"] == 80.0 and gait["distance"]["code"] == "m"
    may = client.get(
        f"/fhir/R4/Encounter?patient={carlos}&date=ge2026-05-01&date=le2026-05-31", headers=headers
    )
    encounters = _resources(may.json())
    assert [e["period"]["start"] for e in encounters] == ["2026-05-01T09:00:00Z"]
    assert encounters[0]["status"] == "finished" and encounters[0]["class"]["code"] == "AMB"
    bad = client.get(f"/fhir/R4/Encounter?patient={carlos}&date=2026-13-01", headers=headers)
    assert bad.status_code == 422 and "does not exist" in bad.json()["detail"]
    # Another clinic's therapist: the same 404 as for a patient that does not exist.
    other = token(client, world, "therapist_barcelona")
    assert client.get(f"/fhir/R4/Patient/{carlos}", headers=other).status_code == 404
    assert client.get(f"/fhir/R4/Observation?patient={carlos}", headers=other).status_code == 404


def test_round_trip_into_an_empty_database(
    client: TestClient, world: World, tmp_path: Path, _sqlite_template: Path
) -> None:
    headers = token(client, world, "admin_madrid")
    lucia = world.ids["patient_lucia"]
    for body in (
        {"purpose": "research", "decision": "permit"},
        {
            "purpose": "remote_care",
            "decision": "permit",
            "partner_clinic_id": world.ids["barcelona"],
        },
        {"purpose": "ai_training", "decision": "deny"},
    ):
        assert (
            client.post(
                f"/api/v1/patients/{lucia}/consents", json=body, headers=headers
            ).status_code
            == 201
        )
    _invalid_bundles_are_refused_with_the_reason_and_store_nothing(client, world, headers)
    exported = client.get(f"/fhir/R4/Patient/{lucia}/$everything", headers=headers).json()
    original = client.get(f"/api/v1/patients/{lucia}", headers=headers).json()
    consents = client.get(f"/api/v1/patients/{lucia}/consents", headers=headers).json()

    empty = tmp_path / "empty.sqlite3"
    shutil.copy(_sqlite_template, empty)  # a migrated database holding nothing
    url = f"sqlite:///{empty}"
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        root = network.create_org_unit(s, "EXO", "Elsewhere", OrgUnitKind.consortium, None)
        clinic = network.create_org_unit(s, "ES-MAD-01", "Madrid", OrgUnitKind.clinic, root)
        network.create_org_unit(s, "ES-BCN-01", "Barcelona", OrgUnitKind.clinic, root)
        imported = fhir_service.import_bundle(s, SYSTEM_SEEDING, clinic.id, exported)
        again = fhir_service.everything(s, SYSTEM_SEEDING, imported.id)
        rows = {
            (c.purpose.value, c.decision.value, c.partner_clinic_id is not None)
            for c in consents_of(s, SYSTEM_SEEDING, imported.id)
        }
        fields = {
            "medical_record_number": imported.medical_record_number,
            "given_name": imported.given_name,
            "family_name": imported.family_name,
            "sex": imported.sex.value,
            "birth_date": imported.birth_date.isoformat(),
            "height_m": imported.height_m,
            "weight_kg": imported.weight_kg,
            "diagnosis": imported.diagnosis.value,
            "onset_date": imported.onset_date.isoformat() if imported.onset_date else None,
            "preferred_language": imported.preferred_language,
        }
    engine.dispose()
    assert fields == {name: original[name] for name in fields}
    assert rows == {
        (c["purpose"], c["decision"], c["partner_clinic_id"] is not None) for c in consents
    }
    assert len(rows) == 3
    # The re-exported Patient is the same resource but for its id and clinic reference.
    first = next(r for r in _resources(exported) if r["resourceType"] == "Patient")
    second = next(r for r in _resources(again) if r["resourceType"] == "Patient")
    for key in ("id", "managingOrganization"):
        first.pop(key), second.pop(key)
    assert first == second


def _invalid_bundles_are_refused_with_the_reason_and_store_nothing(
    client: TestClient, world: World, headers: dict[str, str]
) -> None:
    url = f"/api/v1/clinics/{world.ids['madrid']}/fhir-import"
    not_bundle = client.post(
        url, json={"resourceType": "Bundle", "type": "nonsense-type", "entry": 3}, headers=headers
    )
    assert not_bundle.status_code == 422
    assert "not a valid FHIR R4 Bundle" in not_bundle.json()["detail"]
    exported = client.get(
        f"/fhir/R4/Patient/{world.ids['patient_carlos']}/$everything", headers=headers
    ).json()
    for entry in exported["entry"]:
        if entry["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "8302-2":
            entry["resource"]["valueQuantity"]["code"] = "cm"
    wrong_unit = client.post(url, json=exported, headers=headers)
    assert wrong_unit.status_code == 422
    assert "give it in UCUM 'm'" in wrong_unit.json()["detail"]
    listed = client.get("/api/v1/patients", headers=headers).json()
    assert listed["total"] == 2
    foreign = client.post(
        f"/api/v1/clinics/{world.ids['barcelona']}/fhir-import", json=exported, headers=headers
    )
    assert foreign.status_code == 404
