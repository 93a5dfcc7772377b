"""Checks of announced channels and sample batches against the channel registry (pure, no I/O).

Each check raises :class:`TelemetryRejected` whose ``code`` names the problem and whose message
names the channel, the sample and the value, so a device log or an import error says exactly
what to fix.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from exoshare.errors import TelemetryRejected
from exoshare.gait.channels import CHANNELS

MIN_SAMPLING_RATE_HZ = 1.0
MAX_SAMPLING_RATE_HZ = 10_000.0
"""The sampling rates exoshare accepts, live or from a file: below 1 Hz no gait event is seen,
above 10 kHz no wearable sensor samples and a batch of 10,000 samples would last under a second."""

RATE_TOLERANCE = 0.02
"""Explicit timestamps may deviate this much (relative) from the announced sample interval."""

UNIT_ALIASES = {"°": "deg", "degrees": "deg", "dps": "deg/s", "°/s": "deg/s", "°C": "degC"}


def check_sampling_rate(
    rate: float,
    source: str = "sampling_rate_hz",
    field: str | None = "sampling_rate_hz",
    error: type[TelemetryRejected] = TelemetryRejected,
) -> float:
    """``rate`` when it is a finite number of Hz within the accepted range, else ``error``.

    Every path checks rates here: a session announced over MQTT or the WebSocket, an uploaded or
    imported file (its metadata, its time column, the ``--rate`` option or form field), and the
    session record every one of them ends in.

    >>> check_sampling_rate(100.0)
    100.0
    >>> check_sampling_rate(0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    exoshare.errors.TelemetryRejected: sampling_rate_hz is 0.5 Hz; a sampling rate ...
    """
    if not (math.isfinite(rate) and MIN_SAMPLING_RATE_HZ <= rate <= MAX_SAMPLING_RATE_HZ):
        raise error(
            "wrong-sampling-rate",
            f"{source} is {rate:g} Hz; a sampling rate lies between "
            f"{MIN_SAMPLING_RATE_HZ:g} and {MAX_SAMPLING_RATE_HZ:g} Hz",
            field=field,
        )
    return rate


def normalise_unit(unit: str) -> str:
    unit = unit.strip()
    return UNIT_ALIASES.get(unit, unit)


def check_channels(channels: dict[str, str]) -> dict[str, str]:
    """Registry names with their registry units; unknown channels and wrong units are refused."""
    checked: dict[str, str] = {}
    for name, unit in channels.items():
        spec = CHANNELS.get(name)
        if spec is None:
            raise TelemetryRejected(
                "unknown-channel",
                f"unknown channel {name!r}; known channels are listed in docs/protocol.md "
                "(exoshare.gait.channels.CHANNELS)",
                field=f"channels.{name}",
                channel=name,
            )
        if normalise_unit(unit) != spec.unit:
            raise TelemetryRejected(
                "wrong-unit",
                f"channel {name} is announced in {unit!r} but is measured in {spec.unit!r}",
                field=f"channels.{name}",
                channel=name,
            )
        checked[name] = spec.unit
    return checked


def batch_times(
    first_sample_time_s: float,
    n_samples: int,
    sampling_rate_hz: float,
    timestamps_s: np.ndarray | None,
) -> np.ndarray:
    """Sample times of a batch; explicit timestamps must rise at the announced rate."""
    implied = first_sample_time_s + np.arange(n_samples) / sampling_rate_hz
    if timestamps_s is None:
        return implied
    interval = 1.0 / sampling_rate_hz
    diffs = np.diff(timestamps_s)
    if not np.all(np.isfinite(timestamps_s)):
        raise TelemetryRejected("malformed", "timestamps must be finite numbers", field="t")
    if np.any(diffs == 0):
        k = int(np.flatnonzero(diffs == 0)[0]) + 1
        raise TelemetryRejected(
            "duplicate-timestamps",
            f"sample {k} repeats the timestamp {timestamps_s[k]:.6f} s of sample {k - 1}",
            field="t",
            sample=k,
        )
    if np.any(diffs < 0):
        k = int(np.flatnonzero(diffs < 0)[0]) + 1
        raise TelemetryRejected(
            "non-monotonic-timestamps",
            f"sample {k} at {timestamps_s[k]:.6f} s is earlier than sample {k - 1} "
            f"at {timestamps_s[k - 1]:.6f} s",
            field="t",
            sample=k,
        )
    if abs(timestamps_s[0] - first_sample_time_s) > interval / 2:
        raise TelemetryRejected(
            "non-monotonic-timestamps",
            f"t0={first_sample_time_s:.6f} s differs from the first timestamp "
            f"{timestamps_s[0]:.6f} s",
            field="t0",
        )
    if len(diffs):
        measured = float(np.median(diffs))
        if abs(measured - interval) > RATE_TOLERANCE * interval:
            raise TelemetryRejected(
                "wrong-sampling-rate",
                f"samples arrive at {1.0 / measured:.4g} Hz but the session announced "
                f"{sampling_rate_hz:.4g} Hz",
                field="t",
                measured_hz=1.0 / measured,
            )
    return np.asarray(timestamps_s, dtype=np.float64)


def _longest_nan_run(missing: np.ndarray) -> tuple[int, int]:
    """(length, start index) of the longest run of True."""
    if not missing.any():
        return 0, 0
    padded = np.concatenate([[False], missing, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return int(ends[k] - starts[k]), int(starts[k])


@functools.lru_cache(maxsize=256)
def _physical_bounds(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest possible value of each channel, as (channels, 1) columns."""
    specs = [CHANNELS[n] for n in names]
    lows = np.array([spec.physical_min for spec in specs])[:, None]
    highs = np.array([spec.physical_max for spec in specs])[:, None]
    return lows, highs


def _all_possible(values: dict[str, np.ndarray], block: np.ndarray | None) -> bool:
    """Every sample of every channel present, finite and physically possible (``block``:
    ``values`` as one array, when the batch has one)."""
    names = tuple(values)
    if block is None:
        # np.array, not np.vstack: the same (channels, n) block without vstack's per-array
        # checks, which cost more than the copy for a 10-sample batch.
        block = np.array([values[name] for name in names], dtype=np.float64)
    lows, highs = _physical_bounds(names)
    return bool(np.isfinite(block).all() and (block >= lows).all() and (block <= highs).all())


def check_values(
    values: dict[str, np.ndarray],
    announced: dict[str, str],
    sampling_rate_hz: float,
    time_s: np.ndarray,
    max_nan_run_s: float,
    block: np.ndarray | None = None,
) -> None:
    """All announced channels and no others; finite values, short NaN gaps, possible values.

    ``block``: ``values`` as one (channels, n) array, rows in ``values``' order (a batch read
    from MessagePack has it), which spares building it again."""
    for name in values:
        if name not in announced:
            code = "unknown-channel" if name not in CHANNELS else "unannounced-channel"
            raise TelemetryRejected(
                code,
                f"channel {name!r} was not announced for this session "
                f"(announced: {', '.join(sorted(announced))})",
                field=f"values.{name}",
                channel=name,
            )
    missing_channels = sorted(set(announced) - set(values))
    if missing_channels:
        raise TelemetryRejected(
            "missing-channel",
            f"batch lacks announced channel(s) {', '.join(missing_channels)}; send NaN for "
            "samples a sensor did not deliver",
            field=f"values.{missing_channels[0]}",
            channel=missing_channels[0],
        )
    if values and _all_possible(values, block):
        return  # the usual batch: one vectorised look instead of the per-channel checks below
    max_run = max(1, round(max_nan_run_s * sampling_rate_hz))
    for name, samples in values.items():
        spec = CHANNELS[name]
        missing = np.isnan(samples)
        if np.isinf(samples).any():
            k = int(np.flatnonzero(np.isinf(samples))[0])
            raise TelemetryRejected(
                "out-of-range",
                f"channel {name} sample {k} is infinite",
                field=f"values.{name}",
                channel=name,
                sample=k,
            )
        run, start = _longest_nan_run(missing)
        if run > max_run:
            raise TelemetryRejected(
                "nan-burst",
                f"channel {name} has {run} missing samples in a row from sample {start} "
                f"({run / sampling_rate_hz:.2f} s, more than the {max_nan_run_s:g} s allowed)",
                field=f"values.{name}",
                channel=name,
                sample=start,
            )
        present = samples[~missing]
        if present.size == 0:
            continue
        outside = (samples < spec.physical_min) | (samples > spec.physical_max)
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            raise TelemetryRejected(
                "out-of-range",
                f"channel {name} sample {k} (t={time_s[k]:.3f} s) is {samples[k]:g} {spec.unit}, "
                f"outside the physically possible [{spec.physical_min:g}, "
                f"{spec.physical_max:g}] {spec.unit}",
                field=f"values.{name}",
                channel=name,
                sample=k,
            )
