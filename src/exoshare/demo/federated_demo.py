"""The demo's federated training: the acute assessments of three more clinics' stroke patients,
and two runs the researcher asked for, one plain and one with differential privacy, trained in
the background once the server is up (a Flower simulation with Ray takes about a minute on a
busy machine)."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.db import session_scope
from exoshare.demo.outcomes_demo import stroke_visits
from exoshare.network import service as network_service
from exoshare.outcomes import measures
from exoshare.patients import service as patients_service
from exoshare.sharing import federated
from exoshare.sharing.schemas import FederatedRunCreate

RUNS = (
    FederatedRunCreate(rounds=20),
    # Client-level DP over three clinics: every clinic in every round, so no sampling
    # amplification; epsilon is reported at delta 1e-5.
    FederatedRunCreate(rounds=20, dp_noise_multiplier=1.0, dp_clipping_norm=0.5),
)


def queue_runs(session: Session, researcher_email: str) -> list[str]:
    """The demo's runs, queued as the researcher's."""
    researcher = auth_service.user_by_email(session, SYSTEM_DEMO, researcher_email)
    if researcher is None:
        return []
    principal = auth_service.principal_for(session, researcher)
    return [federated.start_run(session, principal, body).id for body in RUNS]


def train_in_background(factory: sessionmaker[Session], run_ids: list[str]) -> None:
    """Train the queued runs one after the other in a daemon thread."""

    def train() -> None:
        for run_id in run_ids:
            federated.execute(factory, run_id)

    threading.Thread(target=train, name="demo-federated", daemon=True).start()


def seed_federated(factory: sessionmaker[Session], researcher_email: str) -> list[str]:
    """The training clinics' assessments, then the queued runs."""
    with session_scope(factory) as session:
        seed_training_measures(session, date.today())
    with session_scope(factory) as session:
        return queue_runs(session, researcher_email)


# Clinics that hold their stroke patients' first 26 weeks of assessments, each seeing a different
# mix of severities (non-walking, assisted, independent at admission): the non-IID setting
# federated training is for. Madrid's stroke patients already have theirs (outcomes_demo).
TRAINING_CLINICS = {
    "CA-TOR-01": (0.7, 0.15, 0.15),
    "IN-BLR-01": (0.4, 0.2, 0.4),
    "US-CHI-01": (0.15, 0.15, 0.7),
}


def seed_training_measures(session: Session, today: date, seed: int = 31) -> int:
    """The acute assessments of the training clinics' stroke patients; returns how many."""
    written = 0
    for code, mix in TRAINING_CLINICS.items():
        clinic = network_service.find_org_unit_by_code(session, code)
        if clinic is None:
            continue
        for index, patient in enumerate(
            patients_service.clinic_patients(session, SYSTEM_DEMO, clinic.id, order="id")
        ):
            if patient.diagnosis.value != "stroke" or patient.onset_date is None:
                continue
            for when, instrument, items in stroke_visits(
                patient, today, seed * 1000 + index, severity_mix=mix, acute_history=True
            ):
                measures.record_measurement(
                    session, SYSTEM_DEMO, patient.id, instrument, items, when
                )
                written += 1
    return written
