"""Run in the federation environment by tests/sharing/test_federation_env.py; prints JSON.

    python tests/probe.py RUN_DIR

in one process (importing Flower takes seconds): ``fedavg``, one FedAvg aggregation of two
hand-made replies; ``clip``, server-side DP clipping of two hand-made replies; ``run``, which
drives the real ServerApp main and ClientApp through an in-process Grid (each node's
ClientApp is called directly, where the simulation engine would use a Ray actor), records every
message both ways, and computes epsilon with dp-accounting itself for comparison.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import dp_accounting
import numpy as np
from exoshare_federation import client_app, data, plan, server_app
from flwr.app import ArrayRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg
from flwr.supercore.task_identity import TaskIdentity

# Who this process is, as Flower's runtime records it for a task before messages are made.
TaskIdentity.run_id = 1
TaskIdentity.node_id = 0
TaskIdentity.task_id = 1


def reply(params: list[np.ndarray], examples: int) -> Message:
    content = RecordDict(
        {
            "arrays": ArrayRecord(numpy_ndarrays=params),
            "metrics": MetricRecord({"num-examples": examples, "clinic-weight": 1}),
        }
    )
    return Message(content=content, dst_node_id=1, message_type=MessageType.TRAIN)


def fedavg() -> dict[str, object]:
    replies = [
        reply([np.array([1.0, 2.0]), np.array([0.0])], 10),
        reply([np.array([4.0, -1.0]), np.array([3.0])], 30),
    ]
    arrays, _ = FedAvg().aggregate_train(1, replies)
    assert arrays is not None
    return {"params": [a.tolist() for a in arrays.to_numpy_ndarrays()]}


def clip() -> dict[str, object]:
    strategy = DifferentialPrivacyServerSideFixedClipping(
        FedAvg(weighted_by_key="clinic-weight"), 0.0, 2.0, 2
    )
    # The global model the round started from (configure_train keeps it in this attribute).
    strategy.current_arrays = ArrayRecord(numpy_ndarrays=[np.array([1.0, 1.0])])
    replies = [reply([np.array([4.0, 5.0])], 10), reply([np.array([1.6, 1.8])], 30)]
    arrays, _ = strategy.aggregate_train(1, replies)
    assert arrays is not None
    return {"params": [a.tolist() for a in arrays.to_numpy_ndarrays()]}


class LocalGrid(Grid):
    """Nodes 1..n, each running the ClientApp in this process with its partition id.

    A test harness for reading every message that crosses between server and clients: the
    strategy's rounds go through ``send_and_receive`` and ``get_node_ids`` only, so Grid's other
    abstract members (a real SuperLink's run and message plumbing) are refused loudly rather than
    imitated.
    """

    def __init__(self, nodes: int) -> None:
        self.nodes = list(range(1, nodes + 1))
        self.sent: list[dict[str, object]] = []
        self.received: list[dict[str, object]] = []

    def set_run(self, run: object) -> None:
        raise NotImplementedError

    @property
    def run(self) -> object:
        raise NotImplementedError

    def create_message(self, *args: object, **kwargs: object) -> Message:
        raise NotImplementedError

    def get_node_ids(self) -> Iterable[int]:
        return self.nodes

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        raise NotImplementedError

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        raise NotImplementedError

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        replies = []
        for message in messages:
            self.sent.append(describe(message))
            node = message.metadata.dst_node_id
            context = Context(
                run_id=1,
                node_id=node,
                node_config={"partition-id": node - 1, "num-partitions": len(self.nodes)},
                state=RecordDict(),
                run_config={},
            )
            answer = client_app.app(message, context)
            self.received.append(describe(answer))
            replies.append(answer)
        return replies


def describe(message: Message) -> dict[str, object]:
    content = message.content
    return {
        "arrays": {
            k: [list(a.shape) for a in r.to_numpy_ndarrays()]
            for k, r in content.array_records.items()
        },
        "metrics": {k: sorted(r.keys()) for k, r in content.metric_records.items()},
        "configs": {k: dict(r) for k, r in content.config_records.items()},
        "metric_types": sorted(
            {type(v).__name__ for r in content.metric_records.values() for v in r.values()}
        ),
    }


def run(run_dir: Path) -> dict[str, object]:
    os.environ[data.RUN_DIR_ENV] = str(run_dir)
    p = plan.read({})
    grid = LocalGrid(p.clients)
    context = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    server_app.main(grid, context)
    federated = json.loads((run_dir / "federated.json").read_text(encoding="utf-8"))
    expected = None
    if p.private:
        accountant = dp_accounting.rdp.RdpAccountant()
        accountant.compose(dp_accounting.GaussianDpEvent(p.dp_noise_multiplier), p.rounds)
        expected = accountant.get_epsilon(p.dp_delta)
    with np.load(run_dir / "federated.npz") as saved:
        final = [saved["weights"].tolist(), saved["bias"].tolist()]
    return {
        "sent": grid.sent,
        "received": grid.received,
        "epsilon": federated["epsilon"],
        "dp_accounting_epsilon": expected,
        "rounds": federated["rounds"],
        "final": final,
    }


if __name__ == "__main__":
    result = {"fedavg": fedavg(), "clip": clip(), "run": run(Path(sys.argv[1]))}
    print("PROBE " + json.dumps(result))
