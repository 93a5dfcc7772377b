"""The Flower ServerApp: FedAvg or FedProx over the clinics, optionally with central
differential privacy (server-side fixed clipping and Gaussian noise, accounted in RDP)."""

from __future__ import annotations

import json

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord, RecordDict
from flwr.serverapp import (
    Grid,
    NeighboringRelation,
    PrivacyConfig,
    SamplingMethod,
    ServerApp,
)
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    FedProx,
    Strategy,
)
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords
from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

from exoshare_federation import model, plan

app = ServerApp()


ROUND_DONE = "exoshare-federation round done:"
"""Printed after each round; exoshare follows the output for its progress bar."""


class Recorder:
    """Keeps every clinic's metrics of every round (the strategy only returns their mean)."""

    def __init__(self) -> None:
        self.train: list[list[dict[str, float]]] = []
        self.evaluate: list[list[dict[str, float]]] = []

    def on_train(self, replies: list[RecordDict], weighted_by_key: str) -> MetricRecord:
        self.train.append([dict(r["metrics"]) for r in replies])  # type: ignore[arg-type]
        return aggregate_metricrecords(replies, weighted_by_key)

    def on_evaluate(self, replies: list[RecordDict], weighted_by_key: str) -> MetricRecord:
        self.evaluate.append([dict(r["metrics"]) for r in replies])  # type: ignore[arg-type]
        print(ROUND_DONE, len(self.evaluate), flush=True)
        return aggregate_metricrecords(replies, weighted_by_key)


def build_strategy(p: plan.Plan, recorder: Recorder) -> tuple[Strategy, RdpAccountant | None]:
    common = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": p.clients,
        "min_evaluate_nodes": p.clients,
        "min_available_nodes": p.clients,
        "weighted_by_key": "clinic-weight" if p.private else "num-examples",
        "train_metrics_aggr_fn": recorder.on_train,
        "evaluate_metrics_aggr_fn": recorder.on_evaluate,
    }
    base: FedAvg = (
        FedProx(proximal_mu=p.proximal_mu, **common)  # type: ignore[arg-type]
        if p.strategy == "fedprox"
        else FedAvg(**common)  # type: ignore[arg-type]
    )
    if not p.private:
        return base, None
    # Every clinic takes part in every round: no sampling amplification is claimed.
    accountant = RdpAccountant(
        PrivacyConfig(
            target_delta=p.dp_delta,
            population_size=p.clients,
            neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
            sampling_method=SamplingMethod.NO_AMPLIFICATION,
        )
    )
    strategy = DifferentialPrivacyServerSideFixedClipping(
        base, p.dp_noise_multiplier, p.dp_clipping_norm, p.clients, accountant=accountant
    )
    return strategy, accountant


@app.main()
def main(grid: Grid, context: Context) -> None:
    p = plan.read(context.run_config)
    recorder = Recorder()
    strategy, accountant = build_strategy(p, recorder)
    config = ConfigRecord(
        {
            "local-steps": p.local_steps,
            "learning-rate": p.learning_rate,
            "l2": p.l2,
            "proximal-mu": p.proximal_mu if p.strategy == "fedprox" else 0.0,
        }
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord(numpy_ndarrays=model.zeros(p.features)),
        num_rounds=p.rounds,
        train_config=config,
    )
    final = result.arrays.to_numpy_ndarrays()
    np.savez(p.output_dir / "federated.npz", weights=final[0], bias=final[1])
    spent = accountant.get_privacy_spent() if accountant else None
    summary = {
        "rounds": [
            {"round": i + 1, "train": train, "evaluate": evaluate}
            for i, (train, evaluate) in enumerate(
                zip(recorder.train, recorder.evaluate, strict=True)
            )
        ],
        "epsilon": spent.epsilon if spent else None,
        "delta": spent.delta if spent else None,
    }
    (p.output_dir / "federated.json").write_text(json.dumps(summary), encoding="utf-8")
