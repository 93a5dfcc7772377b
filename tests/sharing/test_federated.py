"""Federated runs in exoshare: only patients with AI-training consent in force reach a clinic's
arrays, runs start from the API in the background, bad settings are refused with nothing kept,
and researchers never see a clinic's counts under five."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.db import session_scope
from exoshare.outcomes import measures
from exoshare.outcomes.instruments import InstrumentCode
from exoshare.patients import service as patients
from exoshare.patients.schemas import Diagnosis, Sex
from exoshare.sharing import consent, federated
from exoshare.sharing.federated_features import clinic_arrays
from exoshare.sharing.models import FederatedRun
from exoshare.sharing.schemas import (
    ConsentCreate,
    FederatedStatus,
    FederatedStrategy,
)
from tests.world import build_world, token

ONSET = date(2025, 3, 1)
# 10-metre walk times (s) at days after onset: 0.5, 0.625, 0.833 and 1.0 m/s.
WALKS = {10: 20.0, 20: 16.0, 40: 12.0, 90: 10.0}


def _walks(session: Session, patient_id: str) -> None:
    for day, seconds in WALKS.items():
        measures.record_measurement(
            session,
            SYSTEM_SEEDING,
            patient_id,
            InstrumentCode.ten_mwt,
            {"distance_m": 10, "comfortable_time_s": seconds},
            ONSET + timedelta(days=day),
        )


def _ai(session: Session, patient_id: str, decision: ConsentDecision) -> str:
    body = ConsentCreate(purpose=ConsentPurpose.ai_training, decision=decision)
    return consent.record_consent(session, SYSTEM_SEEDING, patient_id, body).id


def test_a_clinic_trains_only_on_patients_whose_ai_consent_is_in_force(
    session_factory: sessionmaker[Session],
) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        pablo = patients.create_patient(
            s, SYSTEM_SEEDING, world.ids["madrid"], "MRN-pablo", "Pablo", "Test", Sex.male,
            date(1960, 1, 1), 1.7, 70.0, Diagnosis.stroke, ONSET, "es",
        )  # fmt: skip
        for key in ("patient_carlos", "patient_lucia"):
            _walks(s, world.ids[key])
        _walks(s, pablo.id)
        _ai(s, world.ids["patient_carlos"], ConsentDecision.permit)
        lucia = _ai(s, world.ids["patient_lucia"], ConsentDecision.permit)
        consent.withdraw_consent(
            s, SYSTEM_SEEDING, world.ids["patient_lucia"], lucia, "no longer wishes"
        )
        # Pablo was never asked.
    with session_scope(session_factory) as s:
        chosen = federated.consented_patients(s, world.ids["madrid"])
    assert [p.patient_id for p in chosen] == [world.ids["patient_carlos"]]
    arrays = clinic_arrays(chosen)
    # Carlos's speeds after each cutoff: day 14 -> 3 (days 20, 40, 90), 21 -> 2, 28 -> 2,
    # 42 -> 1; none is known by day 7. Lucia's and Pablo's 8 rows each are absent.
    assert arrays.patients == 1
    assert len(arrays.y_train) + len(arrays.y_test) == 8
    assert sorted([*arrays.y_train, *arrays.y_test]) == [
        0.625, 0.833, 0.833, 0.833, 1.0, 1.0, 1.0, 1.0
    ]  # fmt: skip


def test_a_run_starts_from_the_api_and_fails_clearly_without_consented_patients(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    researcher = token(client, world, "researcher")
    url = "/api/v1/research/federated-runs"
    bad = client.post(url, json={"strategy": "fedprox", "proximal_mu": 0}, headers=researcher)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "proximal_mu"
    one = client.post(url, json={"clinic_ids": [world.ids["madrid"]]}, headers=researcher)
    assert one.status_code == 422 and "at least two clinics" in one.json()["detail"]
    unknown = client.post(
        url, json={"clinic_ids": ["nope", world.ids["madrid"]]}, headers=researcher
    )
    assert unknown.status_code == 422 and unknown.json()["detail"] == "clinic nope does not exist"
    with session_scope(session_factory) as s:
        assert s.scalars(select(FederatedRun)).all() == []
    therapist = token(client, world, "therapist_madrid")
    assert client.post(url, json={}, headers=therapist).status_code == 403
    started = client.post(url, json={"rounds": 3}, headers=researcher)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    # The background job ran after the answer: no patient has agreed to AI training here.
    found = client.get(f"{url}/{started.json()['id']}", headers=researcher)
    assert found.status_code == 200
    body = found.json()
    assert body["status"] == "failed" and body["clinics"] == []
    assert body["error"].startswith("fewer than two clinics have patients with AI-training")
    missing = client.get(f"{url}/unknown", headers=researcher)
    hidden = client.get(f"{url}/{body['id']}", headers=therapist)
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["detail"] == "federated run unknown not found"
    page = client.get(f"/research/federated/{body['id']}", headers=researcher)
    assert page.status_code == 200 and "fewer than two clinics" in page.text


def test_researchers_see_no_clinic_count_under_five(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        run = FederatedRun(
            strategy=FederatedStrategy.fedavg,
            rounds=1,
            proximal_mu=0.0,
            dp_noise_multiplier=0.0,
            dp_clipping_norm=1.0,
            dp_delta=1e-5,
            status=FederatedStatus.finished,
            clinic_ids=[world.ids["madrid"], world.ids["barcelona"]],
            clinics=[
                {
                    "partition": 0,
                    "clinic_id": world.ids["madrid"],
                    "patients": 3,
                    "train_examples": 20,
                    "test_examples": 6,
                },
                {
                    "partition": 1,
                    "clinic_id": world.ids["barcelona"],
                    "patients": 12,
                    "train_examples": 70,
                    "test_examples": 25,
                },
            ],
            round_metrics=[
                {
                    "round": 1,
                    "test_mae": 0.2,
                    "clinics": [
                        {"partition": 0, "train_loss": 0.1, "train_mae": 0.3, "test_mae": 0.25},
                        {"partition": 1, "train_loss": 0.1, "train_mae": 0.2, "test_mae": 0.19},
                    ],
                },
            ],
            comparison={"federated_mae": 0.2, "central_mae": 0.19},
        )
        s.add(run)
        s.flush()
        run_id = run.id
    url = f"/api/v1/research/federated-runs/{run_id}"
    seen = client.get(url, headers=token(client, world, "researcher")).json()
    madrid, barcelona = seen["clinics"]
    assert madrid["fewer_than_five"] is True
    assert (madrid["patients"], madrid["train_examples"], madrid["test_examples"]) == (
        None, None, None
    )  # fmt: skip
    assert (barcelona["patients"], barcelona["train_examples"]) == (12, 70)
    assert [c["partition"] for c in seen["round_metrics"][0]["clinics"]] == [1]
    operator = client.get(url, headers=token(client, world, "operator")).json()
    assert operator["clinics"][0]["patients"] == 3 and not operator["clinics"][0]["fewer_than_five"]
    assert [c["partition"] for c in operator["round_metrics"][0]["clinics"]] == [0, 1]
