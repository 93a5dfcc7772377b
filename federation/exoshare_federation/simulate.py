"""Run a training on one machine: Flower's simulation engine (Ray) with one virtual SuperNode
per clinic partition, then the central baseline on the pooled arrays for comparison.

    python -m exoshare_federation.simulate RUN_DIR

The central baseline exists only here: on a real SuperLink the arrays never meet.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from flwr.simulation import run_simulation

from exoshare_federation import data, model, plan
from exoshare_federation.client_app import app as client_app
from exoshare_federation.server_app import app as server_app


def central(run_dir: Path, p: plan.Plan) -> dict[str, object]:
    """The same model trained on the pooled arrays for rounds x local steps, and both models'
    test error per partition and pooled."""
    parts = [data.load(data.partition_path(run_dir, i)) for i in range(p.clients)]
    x = np.concatenate([part.x_train for part in parts])
    y = np.concatenate([part.y_train for part in parts])
    training = model.Training(p.rounds * p.local_steps, p.learning_rate, p.l2)
    pooled = model.train(model.zeros(p.features), x, y, training)
    with np.load(run_dir / "federated.npz") as saved:
        federated = [saved["weights"], saved["bias"]]
    x_test = np.concatenate([part.x_test for part in parts])
    y_test = np.concatenate([part.y_test for part in parts])
    np.savez(run_dir / "central.npz", weights=pooled[0], bias=pooled[1])
    return {
        "federated_mae": model.mae(federated, x_test, y_test),
        "central_mae": model.mae(pooled, x_test, y_test),
        "test_examples": len(y_test),
        "partitions": [
            {
                "partition": i,
                "federated_mae": model.mae(federated, part.x_test, part.y_test),
                "central_mae": model.mae(pooled, part.x_test, part.y_test),
            }
            for i, part in enumerate(parts)
        ],
    }


def main(run_dir: Path) -> None:
    os.environ[data.RUN_DIR_ENV] = str(run_dir)  # Ray's workers inherit it
    p = plan.read({})
    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=p.clients,
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": 1, "include_dashboard": False},
        },
    )
    if not (run_dir / "federated.json").exists():
        sys.exit("the federated run ended without its results (see the log above)")
    comparison = central(run_dir, p)
    (run_dir / "comparison.json").write_text(json.dumps(comparison), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
