"""Federated training runs: each clinic's consented training arrays prepared, the Flower run in
the federation environment, and its per-round metrics, privacy budget and comparison kept.

What leaves a clinic in a run is the model's parameters and metrics only (the Flower messages);
the arrays are written for the clinic's own SuperNode. exoshare also trains the same model on
the pooled arrays, for comparison: it holds every clinic's records in one database anyway.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal, SystemPrincipal
from exoshare.consents import rules as consent_rules
from exoshare.consents.schemas import ConsentPurpose
from exoshare.errors import FederationUnavailable, InvalidInput, NotFound, PermissionDenied
from exoshare.network import service as network_service
from exoshare.outcomes.forecast import cohort_patient, predictor_observations
from exoshare.outcomes.measures import measurements_of
from exoshare.outcomes.prediction import Patient as CohortPatient
from exoshare.patients import service as patients_service
from exoshare.sharing import federation_env
from exoshare.sharing.federated_features import N_FEATURES, Arrays, clinic_arrays
from exoshare.sharing.models import FederatedRun
from exoshare.sharing.schemas import (
    FederatedClinicOut,
    FederatedClinicRound,
    FederatedRoundOut,
    FederatedRunCreate,
    FederatedRunOut,
    FederatedStatus,
    FederatedStrategy,
)

SYSTEM_TRAINING = SystemPrincipal("federated_training")
"""Reads the consented patients' measurements to build each clinic's arrays (audited)."""

SMALL_CELL = 5
"""Counts below this are withheld from researchers (small-cell suppression)."""

LOCAL_STEPS = 20
LEARNING_RATE = 0.1
L2 = 1e-3
ROUND_DONE = "exoshare-federation round done:"
"""The line the ServerApp prints after each round (federation/exoshare_federation/server_app.py)."""


def _require(principal: Principal) -> None:
    if not principal.can(Permission.federated_train):
        raise PermissionDenied("only the operator and researchers run federated training")


def _clinics(session: Session, principal: Principal, clinic_ids: Sequence[str]) -> list[OrgUnit]:
    if not clinic_ids:
        return network_service.clinics_in_scope(session, principal, Permission.network_read)
    found = network_service.find_org_units(session, set(clinic_ids))
    chosen: list[OrgUnit] = []
    for clinic_id in dict.fromkeys(clinic_ids):
        clinic = found.get(clinic_id)
        # A clinic outside the caller's network view is unknown, like a missing one.
        if (
            clinic is None
            or network_service.find_clinic(session, clinic_id) is None
            or not (principal.covers(Permission.network_read, clinic.path))
        ):
            raise InvalidInput(f"clinic {clinic_id} does not exist", field="clinic_ids")
        chosen.append(clinic)
    return chosen


def start_run(session: Session, principal: Principal, body: FederatedRunCreate) -> FederatedRun:
    """A queued run; ``execute`` trains it (in the background on the web, in the foreground in
    the CLI)."""
    _require(principal)
    if body.strategy is FederatedStrategy.fedprox and body.proximal_mu <= 0:
        raise InvalidInput(
            "FedProx needs a proximal_mu above 0 (try 0.01); use fedavg for none",
            field="proximal_mu",
        )
    if body.strategy is FederatedStrategy.fedavg and body.proximal_mu > 0:
        raise InvalidInput("proximal_mu is FedProx's; choose fedprox or set 0", field="proximal_mu")
    clinics = _clinics(session, principal, body.clinic_ids)
    if len(clinics) < 2:
        raise InvalidInput("federated training needs at least two clinics", field="clinic_ids")
    run = FederatedRun(
        requested_by_id=principal.user_ref,
        strategy=body.strategy,
        rounds=body.rounds,
        proximal_mu=body.proximal_mu,
        dp_noise_multiplier=body.dp_noise_multiplier,
        dp_clipping_norm=body.dp_clipping_norm,
        dp_delta=body.dp_delta,
        clinic_ids=[c.id for c in clinics],
        clinics=[],
        round_metrics=[],
    )
    session.add(run)
    session.flush()
    audit.record(session, principal, "create", "federated_run", run.id)
    return run


def _visible(principal: Principal) -> Any:
    _require(principal)
    return select(FederatedRun)


def list_runs(session: Session, principal: Principal) -> list[FederatedRun]:
    """Every run (a run is a network-wide model; what a caller sees of it is `view`)."""
    return list(session.scalars(_visible(principal).order_by(FederatedRun.created_at.desc())))


def get_run(session: Session, principal: Principal, run_id: str) -> FederatedRun:
    if not principal.can(Permission.federated_train):
        raise NotFound(f"federated run {run_id} not found")
    run = session.scalar(_visible(principal).where(FederatedRun.id == run_id))
    if run is None:
        raise NotFound(f"federated run {run_id} not found")
    return run


# ------------------------------------------------------------------------------- preparing


def consented_patients(session: Session, clinic_id: str) -> list[CohortPatient]:
    """The clinic's stroke patients with an onset date and AI-training consent in force now,
    as the predictor's patients (their measurements without the exoskeleton)."""
    candidates = [
        p
        for p in patients_service.clinic_patients(session, SYSTEM_TRAINING, clinic_id, order="id")
        if p.diagnosis.value == "stroke" and p.onset_date is not None
    ]
    allowed = consent_rules.consented_patient_ids(
        session, [p.id for p in candidates], ConsentPurpose.ai_training
    )
    chosen: list[CohortPatient] = []
    for patient in candidates:
        if patient.id not in allowed:
            continue
        _, rows = measurements_of(session, SYSTEM_TRAINING, patient.id)
        found = predictor_observations(patient, rows)
        if found:
            chosen.append(cohort_patient(patient, found))
    return chosen


def write_partitions(run_dir: Path, partitions: Sequence[Arrays]) -> None:
    """One .npz per partition, named by its opaque index: arrays only, no identifiers."""
    for index, arrays in enumerate(partitions):
        np.savez(
            run_dir / f"partition-{index}.npz",
            x_train=arrays.x_train,
            y_train=arrays.y_train,
            x_test=arrays.x_test,
            y_test=arrays.y_test,
        )


def write_plan(run_dir: Path, run: FederatedRun, clients: int) -> None:
    plan = {
        "num-server-rounds": run.rounds,
        "num-clients": clients,
        "num-features": N_FEATURES,
        "strategy": run.strategy.value,
        "proximal-mu": run.proximal_mu,
        "local-steps": LOCAL_STEPS,
        "learning-rate": LEARNING_RATE,
        "l2": L2,
        "dp-noise-multiplier": run.dp_noise_multiplier,
        "dp-clipping-norm": run.dp_clipping_norm,
        "dp-delta": run.dp_delta,
    }
    (run_dir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")


def simulate(run_dir: Path, on_round: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run the federation's simulation on the run directory; its results."""

    def follow(line: str) -> None:
        if on_round is not None and line.startswith(ROUND_DONE):
            on_round(int(line.removeprefix(ROUND_DONE)))

    federation_env.run_python("-m", "exoshare_federation.simulate", str(run_dir), on_line=follow)
    return {
        "federated": json.loads((run_dir / "federated.json").read_text(encoding="utf-8")),
        "comparison": json.loads((run_dir / "comparison.json").read_text(encoding="utf-8")),
    }


def round_metrics(federated: dict[str, Any]) -> list[dict[str, Any]]:
    """Per round: each partition's train loss and MAE and test MAE, and the test MAE over every
    clinic's test rows."""
    rounds = []
    for entry in federated["rounds"]:
        tests = {int(m["partition-id"]): m for m in entry["evaluate"]}
        examples = sum(m["num-examples"] for m in entry["evaluate"])
        rounds.append(
            {
                "round": entry["round"],
                "test_mae": sum(m["test-mae"] * m["num-examples"] for m in entry["evaluate"])
                / examples,
                "clinics": [
                    {
                        "partition": int(m["partition-id"]),
                        "train_loss": m["train-loss"],
                        "train_mae": m["train-mae"],
                        "test_mae": tests[int(m["partition-id"])]["test-mae"],
                    }
                    for m in sorted(entry["train"], key=lambda m: m["partition-id"])
                ],
            }
        )
    return rounds


def execute(
    make_session: sessionmaker[Session],
    run_id: str,
    on_round: Callable[[int], None] | None = None,
) -> None:
    """Train a queued run: consent read now, arrays prepared, Flower run, results kept."""
    with make_session() as session:
        run = session.get(FederatedRun, run_id)
        if run is None or run.status is not FederatedStatus.queued:
            return
        run.status = FederatedStatus.running
        run.started_at = datetime.now(UTC)
        session.commit()
        clinics: list[dict[str, Any]] = []
        partitions: list[Arrays] = []
        for clinic_id in run.clinic_ids:
            arrays = clinic_arrays(consented_patients(session, clinic_id))
            # A clinic needs train and test rows to take part (its metrics are per example).
            if len(arrays.y_train) and len(arrays.y_test):
                clinics.append(
                    {
                        "partition": len(partitions),
                        "clinic_id": clinic_id,
                        "patients": arrays.patients,
                        "train_examples": len(arrays.y_train),
                        "test_examples": len(arrays.y_test),
                    }
                )
                partitions.append(arrays)
        run.clinics = clinics
        session.commit()
        try:
            if len(partitions) < 2:
                raise FederationUnavailable(
                    "fewer than two clinics have patients with AI-training consent and "
                    "gait-speed measurements to train on"
                )
            with tempfile.TemporaryDirectory(prefix="exoshare-federated-") as directory:
                run_dir = Path(directory)
                write_partitions(run_dir, partitions)
                write_plan(run_dir, run, len(partitions))
                results = simulate(run_dir, on_round)
        except FederationUnavailable as failure:
            run.status = FederatedStatus.failed
            run.error = failure.detail
        else:
            run.round_metrics = round_metrics(results["federated"])
            run.epsilon = results["federated"]["epsilon"]
            run.comparison = results["comparison"]
            run.status = FederatedStatus.finished
        run.finished_at = datetime.now(UTC)
        session.commit()


# ---------------------------------------------------------------------------------- reading


def view(session: Session, principal: Principal, run: FederatedRun) -> FederatedRunOut:
    """The run as the caller may see it: clinics' counts below five withheld unless the caller
    holds federated:counts (the operator)."""
    exact = principal.can(Permission.federated_counts)
    names = {c.id: c.name for c in network_service.find_org_units(session, run.clinic_ids).values()}

    def count(value: int, small: bool) -> int | None:
        return None if small and not exact else value

    clinics = []
    hidden: set[int] = set()
    for entry in run.clinics:
        small = min(entry["patients"], entry["train_examples"], entry["test_examples"]) < SMALL_CELL
        clinics.append(
            FederatedClinicOut(
                partition=entry["partition"],
                clinic_id=entry["clinic_id"],
                clinic_name=names.get(entry["clinic_id"], entry["clinic_id"]),
                patients=count(entry["patients"], small),
                train_examples=count(entry["train_examples"], small),
                test_examples=count(entry["test_examples"], small),
                fewer_than_five=small and not exact,
            )
        )
        if small and not exact:
            hidden.add(entry["partition"])
    comparison = run.comparison or {}
    return FederatedRunOut(
        id=run.id,
        status=run.status,
        strategy=run.strategy,
        rounds=run.rounds,
        proximal_mu=run.proximal_mu,
        dp_noise_multiplier=run.dp_noise_multiplier,
        dp_clipping_norm=run.dp_clipping_norm,
        dp_delta=run.dp_delta,
        epsilon=run.epsilon,
        created_at=run.created_at,
        finished_at=run.finished_at,
        error=run.error,
        federated_mae=comparison.get("federated_mae"),
        central_mae=comparison.get("central_mae"),
        clinics=clinics,
        round_metrics=[
            FederatedRoundOut(
                round=r["round"],
                test_mae=r["test_mae"],
                # A small clinic's own error would describe a handful of patients.
                clinics=[
                    FederatedClinicRound(**c) for c in r["clinics"] if c["partition"] not in hidden
                ],
            )
            for r in run.round_metrics
        ],
    )
