"""Stride length, walking distance and speed from belt speed or a two-segment leg model."""

from __future__ import annotations

from typing import Any

import numpy as np

# Winter DA 2009, Biomechanics and Motor Control of Human Movement, 4th ed., fig. 4.1: segment
# lengths as fractions of body height H: thigh 0.245 H, shank 0.246 H, ankle height 0.039 H,
# so floor-to-greater-trochanter leg length is 0.530 H.
_THIGH_FRACTION_OF_LEG = 0.245 / 0.530
_SHANK_FRACTION_OF_LEG = (0.246 + 0.039) / 0.530


def segment_lengths_m(meta: dict[str, Any]) -> tuple[float, float] | None:
    """Thigh and shank(+foot height) lengths in m from ``meta``, or ``None`` if unknown.

    Uses ``thigh_length_m`` and ``shank_length_m`` if both are present, else splits
    ``leg_length_m`` (floor to greater trochanter) with Winter's (2009) segment proportions.

    >>> [round(v, 3) for v in segment_lengths_m({"leg_length_m": 0.9})]
    [0.416, 0.484]
    """
    thigh, shank = meta.get("thigh_length_m"), meta.get("shank_length_m")
    if thigh is not None and shank is not None:
        return float(thigh), float(shank)
    leg = meta.get("leg_length_m")
    if leg is None:
        return None
    return float(leg) * _THIGH_FRACTION_OF_LEG, float(leg) * _SHANK_FRACTION_OF_LEG


def ankle_forward_position_m(
    hip_deg: np.ndarray, knee_deg: np.ndarray, thigh_m: float, shank_m: float
) -> np.ndarray:
    """Horizontal ankle position ahead of the hip (m) from sagittal hip and knee flexion (deg).

    Planar two-segment leg with the pelvis upright: x = L_thigh sin(hip) + L_shank sin(hip - knee)
    (hip flexion and knee flexion positive, as in the channel registry).
    """
    hip = np.radians(hip_deg)
    return thigh_m * np.sin(hip) + shank_m * np.sin(hip - np.radians(knee_deg))


def leg_model_step_lengths_m(
    ic_s: np.ndarray,
    leading_x_m: np.ndarray,
    trailing_x_m: np.ndarray,
    sampling_rate_hz: float,
) -> np.ndarray:
    """Step length at each IC of the leading leg: its ankle minus the trailing ankle position (m).

    At initial contact both feet are on the ground (double support), so the horizontal distance
    between the ankles is the step length (the geometric model used for exoskeleton gait without
    ground sensors, e.g. in the two-link leg model of Winter 2009, ch. 4). The result is the
    ankle-to-ankle distance; it ignores pelvic rotation, which adds a few cm at normal speed.
    """
    idx = np.clip(
        np.round(np.asarray(ic_s) * sampling_rate_hz).astype(np.int64), 0, leading_x_m.size - 1
    )
    return np.asarray(leading_x_m[idx] - trailing_x_m[idx], dtype=np.float64)


def treadmill_stride_lengths_m(
    belt_speed_mps: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, sampling_rate_hz: float
) -> np.ndarray:
    """Stride length = mean belt speed over the stride (m/s) x stride time (s), i.e. the integral.

    On a treadmill the foot in stance moves back with the belt, so the belt displacement during a
    stride equals the stride length relative to the belt (the standard treadmill convention).
    """
    v = np.asarray(belt_speed_mps, dtype=np.float64)
    csum = np.concatenate(([0.0], np.cumsum(v))) / sampling_rate_hz
    a = np.clip(np.round(np.asarray(start_s) * sampling_rate_hz).astype(np.int64), 0, v.size)
    b = np.clip(np.round(np.asarray(end_s) * sampling_rate_hz).astype(np.int64), 0, v.size)
    return np.asarray(csum[b] - csum[a], dtype=np.float64)
