"""Time spent at each level of device assistance (``assistance_pct`` binned)."""

from __future__ import annotations

import itertools

import numpy as np

DEFAULT_BIN_EDGES_PCT = (0.0, 25.0, 50.0, 75.0, 100.0)


def time_in_assistance_levels_s(
    assistance_pct: np.ndarray,
    sampling_rate_hz: float,
    bin_edges_pct: tuple[float, ...] = DEFAULT_BIN_EDGES_PCT,
) -> dict[str, float]:
    """Seconds spent in each assistance bin; keys like ``"25-50"`` (%, upper edge exclusive).

    The last bin includes its upper edge so that 100 % is counted. Each sample counts
    ``1 / sampling_rate_hz`` seconds. Bins follow the usual 25 %-steps of guidance force used to
    wean patients off robotic assistance (e.g. Lokomat guidance force, Hidler et al. 2009,
    Neurorehabil Neural Repair 23(1):5-13).

    >>> time_in_assistance_levels_s(np.array([10.0, 10.0, 60.0, 100.0]), 2.0)
    {'0-25': 1.0, '25-50': 0.0, '50-75': 0.5, '75-100': 0.5}
    """
    edges = np.asarray(bin_edges_pct, dtype=np.float64)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin_edges_pct must be strictly increasing, got {bin_edges_pct}")
    counts, _ = np.histogram(np.asarray(assistance_pct, dtype=np.float64), bins=edges)
    labels = [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
    return {lab: float(c) / sampling_rate_hz for lab, c in zip(labels, counts, strict=True)}
