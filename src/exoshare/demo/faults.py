"""Rare device faults the simulator injects (fall, sensor dropout, overheating) and their schedule.

A fault is a plain description of what happens when; the simulator renders it into the signals
and labels it in the ground truth.

>>> schedule = random_faults(3600.0, FaultRates(fall_per_h=0.0), np.random.default_rng(0))
>>> all(not isinstance(f, Fall) for f in schedule)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHANK_IMU_CHANNELS = tuple(
    f"shank_{kind}_{axis}_{{side}}_{unit}"
    for kind, unit in (("acc", "mps2"), ("gyr", "dps"))
    for axis in ("x", "y", "z")
)


@dataclass(frozen=True)
class Fall:
    """The patient falls forward at ``time_s``; impact ``duration_s`` later, then lies still."""

    time_s: float
    duration_s: float = 0.7
    impact_g: float = 9.0


@dataclass(frozen=True)
class SensorDropout:
    """``channels`` read NaN from ``time_s`` for ``duration_s`` (a loose connector, a radio gap)."""

    time_s: float
    duration_s: float
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Overheating:
    """The cuff on ``side`` heats up at ``rate_c_per_min`` from ``time_s`` until it reaches
    ``peak_c``, stays ``hold_s``, then cools back with time constant ``cooling_tau_s``."""

    time_s: float
    side: str
    rate_c_per_min: float = 1.5
    peak_c: float = 42.5
    hold_s: float = 60.0
    cooling_tau_s: float = 120.0


Fault = Fall | SensorDropout | Overheating


@dataclass(frozen=True)
class FaultRates:
    """Expected number of each fault per hour of session. Falls in supervised sessions are rare."""

    fall_per_h: float = 0.02
    sensor_dropout_per_h: float = 0.5
    overheating_per_h: float = 0.03


def dropout_channel_choices(side: str) -> list[tuple[str, ...]]:
    """Channel groups that fail together: one joint encoder, or the whole shank IMU of a side."""
    encoders = [(f"{joint}_angle_{side}_deg",) for joint in ("hip", "knee", "ankle")]
    imu = tuple(name.format(side=side) for name in SHANK_IMU_CHANNELS)
    return [*encoders, imu, (f"emg_envelope_{side}_pct",)]


def random_faults(
    duration_s: float, rates: FaultRates, rng: np.random.Generator, earliest_s: float = 20.0
) -> list[Fault]:
    """Draw faults as independent Poisson processes over ``[earliest_s, duration_s)``.

    At most one fall (the session ends with it) and one overheating episode are kept.
    """
    out: list[Fault] = []
    span_h = max(0.0, duration_s - earliest_s) / 3600.0

    def times(rate_per_h: float) -> np.ndarray:
        n = rng.poisson(rate_per_h * span_h)
        return np.sort(rng.uniform(earliest_s, duration_s, size=n))

    fall_times = times(rates.fall_per_h)
    if len(fall_times):
        out.append(Fall(float(fall_times[0])))
    for t in times(rates.sensor_dropout_per_h):
        side = "left" if rng.random() < 0.5 else "right"
        choices = dropout_channel_choices(side)
        channels = choices[int(rng.integers(len(choices)))]
        out.append(SensorDropout(float(t), float(rng.uniform(0.3, 5.0)), channels))
    heat_times = times(rates.overheating_per_h)
    if len(heat_times):
        side = "left" if rng.random() < 0.5 else "right"
        out.append(Overheating(float(heat_times[0]), side))
    return sorted(out, key=lambda f: f.time_s)
