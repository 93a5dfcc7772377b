"""Federated training in the federation's own environment (Flower), driven from here by
subprocess: FedAvg's weighted mean, DP clipping and epsilon, what the messages carry, and the
federated model against the centrally trained one on non-IID clinics."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from exoshare.errors import FederationUnavailable
from exoshare.outcomes.cohort import CohortParameters, generate_cohort
from exoshare.outcomes.prediction import patients_from_rows
from exoshare.sharing import federation_env
from exoshare.sharing.federated import simulate, write_partitions, write_plan
from exoshare.sharing.federated_features import N_FEATURES, clinic_arrays
from exoshare.sharing.models import FederatedRun
from exoshare.sharing.schemas import FederatedStrategy

PROBE = federation_env.PROJECT / "tests" / "probe.py"
# Severity mixes (non-walking, assisted, independent at admission) of three clinics that see
# different patients: a stroke unit's acute severe cases, a mixed one, a mild outpatient one.
MIXES = ((0.8, 0.1, 0.1), (0.34, 0.33, 0.33), (0.1, 0.1, 0.8))
TOLERANCE_MPS = 0.01
"""How far the federated model's MAE may lie from the central one's (docs/sharing.md)."""


@pytest.fixture(scope="module")
def federation() -> None:
    try:
        federation_env.ensure()
    except FederationUnavailable as missing:
        pytest.skip(f"the federation environment cannot be created here: {missing.detail}")


@pytest.fixture(scope="module")
def probe(federation: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The probe's findings: 12 patients a clinic, 3 rounds, noise multiplier 1."""
    run_dir = _run_dir(tmp_path_factory.mktemp("probe"), 12, 3, 1.0)
    output = federation_env.run_python(str(PROBE), str(run_dir))
    line = next(x for x in output.splitlines() if x.startswith("PROBE "))
    result: dict[str, Any] = json.loads(line.removeprefix("PROBE "))
    return result


def _run_dir(tmp_path: Path, patients: int, rounds: int, noise: float) -> Path:
    parts = [
        clinic_arrays(
            patients_from_rows(generate_cohort(patients, 100 + i, CohortParameters(severity_mix=m)))
        )
        for i, m in enumerate(MIXES)
    ]
    write_partitions(tmp_path, parts)
    run = FederatedRun(
        strategy=FederatedStrategy.fedavg,
        rounds=rounds,
        proximal_mu=0.0,
        dp_noise_multiplier=noise,
        dp_clipping_norm=1.0,
        dp_delta=1e-5,
    )
    write_plan(tmp_path, run, len(parts))
    return tmp_path


def test_one_fedavg_round_is_the_mean_weighted_by_example_counts(probe: dict[str, Any]) -> None:
    # w = (10 * [1, 2] + 30 * [4, -1]) / 40, b = (10 * 0 + 30 * 3) / 40
    assert probe["fedavg"] == {"params": [[3.25, -0.25], [2.25]]}


def test_dp_clips_each_clinics_update_to_the_bound(probe: dict[str, Any]) -> None:
    # From [1, 1]: updates [3, 4] (norm 5, clipped to 2: [1.2, 1.6]) and [0.6, 0.8] (norm 1,
    # kept); every clinic weighs the same under DP: [1, 1] + [0.9, 1.2].
    assert probe["clip"]["params"][0] == pytest.approx([1.9, 2.2], abs=1e-12)


def test_messages_carry_only_arrays_and_metrics_and_epsilon_is_rdps(
    probe: dict[str, Any],
) -> None:
    result = probe["run"]
    sent, received = result["sent"], result["received"]
    assert isinstance(sent, list) and isinstance(received, list)
    assert len(sent) == len(received) == 3 * 3 * 2  # 3 rounds, 3 clinics, train and evaluate
    shapes = {"arrays": [[N_FEATURES], [1]]}
    for message in sent:
        assert message["arrays"] == shapes and message["metrics"] == {}
        assert set(message["configs"]) == {"config"}
        assert set(message["configs"]["config"]) <= {
            "local-steps", "learning-rate", "l2", "proximal-mu", "server-round"
        }  # fmt: skip
    trained = [m for m in received if m["arrays"]]
    evaluated = [m for m in received if not m["arrays"]]
    assert len(trained) == len(evaluated) == 9
    for message in trained:
        assert message["arrays"] == shapes and message["configs"] == {}
        assert message["metrics"] == {
            "metrics": ["clinic-weight", "num-examples", "partition-id", "train-loss", "train-mae"]
        }
    for message in evaluated:
        assert message["configs"] == {}
        assert message["metrics"] == {
            "metrics": ["clinic-weight", "num-examples", "partition-id", "test-mae", "test-mse"]
        }
    for message in received:
        assert set(message["metric_types"]) <= {"int", "float"}
    # Noise multiplier 1, 3 rounds, every clinic in every round (no sampling amplification),
    # delta 1e-5: dp-accounting's RDP accountant gives 9.00996.
    assert result["epsilon"] == pytest.approx(result["dp_accounting_epsilon"], rel=1e-12)
    assert result["epsilon"] == pytest.approx(9.00996, abs=1e-5)


def test_federated_model_is_within_tolerance_of_central_on_non_iid_clinics(
    federation: None, tmp_path: Path
) -> None:
    rounds: list[int] = []
    results = simulate(_run_dir(tmp_path, 60, 20, 0.0), rounds.append)
    assert rounds == list(range(1, 21))
    comparison = results["comparison"]
    federated, central = comparison["federated_mae"], comparison["central_mae"]
    assert abs(federated - central) <= TOLERANCE_MPS
    assert 0.05 < central < 0.15 and 0.05 < federated < 0.15
    assert results["federated"]["epsilon"] is None
    first, last = results["federated"]["rounds"][0], results["federated"]["rounds"][-1]
    assert {m["partition-id"] for m in last["train"]} == {0, 1, 2}
    mean = [
        sum(m["test-mae"] * m["num-examples"] for m in r["evaluate"])
        / sum(m["num-examples"] for m in r["evaluate"])
        for r in (first, last)
    ]
    assert mean[1] < mean[0]
    assert not math.isnan(federated)
    print(f"federated MAE {federated:.4f} m/s, central {central:.4f} m/s")
