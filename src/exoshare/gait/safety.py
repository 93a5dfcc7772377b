"""Safety flags of a session: skin over-temperature, excess interaction force, falls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from exoshare.gait._signal import runs_above

GRAVITY_MPS2 = 9.80665
#: IEC 60601-1:2005+A1 table 24: applied parts touching skin >= 10 min must stay <= 43 °C.
DEFAULT_SKIN_TEMP_LIMIT_C = 43.0


@dataclass(frozen=True)
class SafetyEpisode:
    """One contiguous period of a safety-rule violation (seconds from the first sample).

    ``kind`` is ``"skin_temperature"``, ``"interaction_force"`` or ``"fall"``; ``channel`` the
    signal it came from; ``peak`` the most extreme value in the channel's unit; ``limit`` the
    threshold.
    """

    kind: str
    channel: str
    start_s: float
    end_s: float
    peak: float
    limit: float


def threshold_episodes(
    values: np.ndarray,
    limit: float,
    sampling_rate_hz: float,
    *,
    kind: str,
    channel: str,
    min_duration_s: float = 0.0,
) -> list[SafetyEpisode]:
    """Episodes where ``values`` exceed ``limit`` for at least ``min_duration_s`` seconds.

    >>> eps = threshold_episodes(np.array([40, 44, 45, 40.0]), 43.0, 1.0, kind="t", channel="c")
    >>> [(e.start_s, e.end_s, e.peak) for e in eps]
    [(1.0, 3.0, 45.0)]
    """
    x = np.asarray(values, dtype=np.float64)
    starts, ends = runs_above(x > limit)
    keep = (ends - starts) / sampling_rate_hz >= min_duration_s
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return []
    # Interleaved [start, end) bounds make reduceat return each run's own maximum at even slots;
    # the padding sample keeps an end equal to len(x) a valid index.
    bounds = np.column_stack((starts, ends)).ravel()
    peaks = np.maximum.reduceat(np.append(x, x[-1]), bounds)[0::2]
    return [
        SafetyEpisode(
            kind, channel, float(a / sampling_rate_hz), float(b / sampling_rate_hz), float(p), limit
        )
        for a, b, p in zip(starts, ends, peaks, strict=True)
    ]


def _moving_mean(x: np.ndarray, win: int) -> np.ndarray:
    """Mean of x[i:i+win] for every i (length n - win + 1)."""
    csum = np.concatenate(([0.0], np.cumsum(x)))
    return (csum[win:] - csum[:-win]) / win


def detect_falls(
    acc_xyz_mps2: np.ndarray,
    sampling_rate_hz: float,
    *,
    channel: str,
    impact_threshold_g: float = 3.0,
    inactivity_s: float = 2.0,
    inactivity_sd_mps2: float = 0.5,
    posture_change_deg: float = 45.0,
) -> list[SafetyEpisode]:
    """Suspected falls: an impact, then lying still in a changed orientation.

    Three-stage rule after Kangas et al. 2008 (Gait Posture 28(2):285-291) with the impact threshold
    of Bourke et al. 2007 (Gait Posture 26(2):194-199, ~3 g upper fall threshold):

    1. impact: acceleration magnitude above ``impact_threshold_g``;
    2. inactivity: in the ``inactivity_s`` window starting 1 s after the impact, the magnitude's
       SD stays below ``inactivity_sd_mps2`` (lying still);
    3. posture: the mean acceleration direction (gravity) in that window differs from the mean
       over the 2 s before the impact by more than ``posture_change_deg``.

    Walking heel strikes pass stage 1 but not 2 and 3, and sitting down passes 2 but not 1.
    ``acc_xyz_mps2`` is (n, 3) in m/s² from a shank or foot IMU; a limb sensor sees the posture
    change of a fall less reliably than a trunk sensor, so a flag is a prompt to check on the
    patient, not a diagnosis. Vectorised with cumulative sums.
    """
    acc = np.asarray(acc_xyz_mps2, dtype=np.float64)
    fs = sampling_rate_hz
    mag = np.linalg.norm(acc, axis=1)
    before = int(2 * fs)
    delay = int(1 * fs)
    win = max(2, int(inactivity_s * fs))
    n = mag.size
    if n < before + delay + win + 1:
        return []
    impacts, _ = signal.find_peaks(
        mag, height=impact_threshold_g * GRAVITY_MPS2, distance=max(1, int(fs))
    )
    impacts = impacts[(impacts >= before) & (impacts + delay + win <= n)]
    if impacts.size == 0:
        return []
    mean_mag = _moving_mean(mag, win)
    mean_sq = _moving_mean(mag**2, win)
    sd_mag = np.sqrt(np.maximum(mean_sq - mean_mag**2, 0.0))
    after_mean = np.column_stack([_moving_mean(acc[:, k], win) for k in range(3)])
    before_mean = np.column_stack([_moving_mean(acc[:, k], before) for k in range(3)])
    a = after_mean[impacts + delay]
    b = before_mean[impacts - before]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    still = sd_mag[impacts + delay] < inactivity_sd_mps2
    fall = still & (angle > posture_change_deg)
    return [
        SafetyEpisode(
            "fall",
            channel,
            float(i / fs),
            float((i + delay + win) / fs),
            float(mag[i]) / GRAVITY_MPS2,
            impact_threshold_g,
        )
        for i in impacts[fall]
    ]
