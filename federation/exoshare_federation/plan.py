"""What a training run asks for: rounds, strategy, local training and differential privacy.

Read from the Flower run config (``[tool.flwr.app.config]`` and ``flwr run --run-config``) on a
real SuperLink; in the simulation exoshare writes the same keys to ``plan.json`` in the run
directory, which overrides them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from exoshare_federation.data import RUN_DIR_ENV


@dataclass(frozen=True)
class Plan:
    rounds: int
    clients: int
    features: int
    strategy: str  # "fedavg" or "fedprox"
    proximal_mu: float
    local_steps: int
    learning_rate: float
    l2: float
    dp_noise_multiplier: float  # 0: no differential privacy
    dp_clipping_norm: float
    dp_delta: float
    output_dir: Path

    @property
    def private(self) -> bool:
        return self.dp_noise_multiplier > 0


def read(run_config: dict[str, bool | float | int | str]) -> Plan:
    values: dict[str, object] = dict(run_config)
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        values.update(json.loads((Path(run_dir) / "plan.json").read_text(encoding="utf-8")))
        values["output-dir"] = run_dir
    return Plan(
        rounds=int(values["num-server-rounds"]),  # type: ignore[call-overload]
        clients=int(values["num-clients"]),  # type: ignore[call-overload]
        features=int(values["num-features"]),  # type: ignore[call-overload]
        strategy=str(values["strategy"]),
        proximal_mu=float(values["proximal-mu"]),  # type: ignore[arg-type]
        local_steps=int(values["local-steps"]),  # type: ignore[call-overload]
        learning_rate=float(values["learning-rate"]),  # type: ignore[arg-type]
        l2=float(values["l2"]),  # type: ignore[arg-type]
        dp_noise_multiplier=float(values["dp-noise-multiplier"]),  # type: ignore[arg-type]
        dp_clipping_norm=float(values["dp-clipping-norm"]),  # type: ignore[arg-type]
        dp_delta=float(values["dp-delta"]),  # type: ignore[arg-type]
        output_dir=Path(str(values["output-dir"])),
    )
