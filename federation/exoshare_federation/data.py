"""A clinic's training arrays: one .npz per partition, written by exoshare, no identifiers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RUN_DIR_ENV = "EXOSHARE_FEDERATION_RUN_DIR"
"""Where the simulation finds the partitions and the plan (set by ``simulate``)."""


@dataclass(frozen=True)
class Partition:
    x_train: NDArray[np.float64]
    y_train: NDArray[np.float64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.float64]


def partition_path(run_dir: Path, partition_id: int) -> Path:
    return run_dir / f"partition-{partition_id}.npz"


def load(path: Path) -> Partition:
    with np.load(path) as arrays:
        return Partition(
            x_train=arrays["x_train"].astype(np.float64),
            y_train=arrays["y_train"].astype(np.float64),
            x_test=arrays["x_test"].astype(np.float64),
            y_test=arrays["y_test"].astype(np.float64),
        )


def node_partition(node_config: dict[str, bool | float | int | str]) -> tuple[int, Path]:
    """The partition id and data file of this SuperNode: ``data-path`` from its node config on
    a real SuperNode (``--node-config "partition-id=0 data-path=..."``), else the partition's
    file in the simulation's run directory."""
    partition_id = int(node_config["partition-id"])
    if "data-path" in node_config:
        return partition_id, Path(str(node_config["data-path"]))
    return partition_id, partition_path(Path(os.environ[RUN_DIR_ENV]), partition_id)
