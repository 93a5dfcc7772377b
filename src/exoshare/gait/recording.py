"""The in-memory representation of one session: uniformly sampled channels plus metadata."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exoshare.gait.channels import channel
from exoshare.gait.errors import GaitDataError


@dataclass
class Recording:
    """Uniformly sampled signals of one session, keyed by registry channel name.

    ``channels`` maps a name from :data:`exoshare.gait.channels.CHANNELS` to a 1-D float array;
    all arrays have the same length. ``start_time_s`` is the Unix time of the first sample.
    ``meta`` carries what the analysis needs to know about the device and the patient, e.g.
    ``{"leg_length_m": 0.9, "device_type": "overground_exoskeleton", "skin_temp_limit_c": 41.0}``.

    >>> rec = Recording(100.0, {"knee_angle_left_deg": np.zeros(300)})
    >>> rec.duration_s
    3.0
    """

    sampling_rate_hz: float
    channels: dict[str, np.ndarray]
    start_time_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sampling_rate_hz) and self.sampling_rate_hz > 0):
            raise GaitDataError(
                f"sampling_rate_hz must be a positive finite number, got {self.sampling_rate_hz}"
            )
        lengths = {name: len(values) for name, values in self.channels.items()}
        if len(set(lengths.values())) > 1:
            raise GaitDataError(f"all channels must have the same length, got {lengths}")
        for name in self.channels:
            channel(name)  # raises with the list of known channels
        self.channels = {
            name: np.asarray(values, dtype=np.float64) for name, values in self.channels.items()
        }

    @property
    def n_samples(self) -> int:
        return len(next(iter(self.channels.values()))) if self.channels else 0

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate_hz

    @property
    def time_s(self) -> np.ndarray:
        """Sample times relative to the first sample, in seconds."""
        return np.arange(self.n_samples) / self.sampling_rate_hz

    def has(self, *names: str) -> bool:
        return all(name in self.channels for name in names)
