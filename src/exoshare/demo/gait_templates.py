"""Normative sagittal joint-angle and EMG templates over the gait cycle, and the stance/swing warp.

The joint templates are truncated Fourier series fitted once, at import, to key points read off
the normative adult curves of Winter (1991, *The biomechanics and motor control of human gait*)
and Perry (1992, *Gait analysis*). Gait-cycle phase runs from 0 (initial contact, IC) to 1 (the
next IC of the same leg); in the template toe-off (final contact, FC) is at
:data:`TEMPLATE_TOE_OFF_PHASE`. Sign convention as in the channel registry: hip and knee flexion
positive, ankle dorsiflexion positive.

>>> round(float(normative_angles_deg("knee", np.array([0.72]))[0]))
62
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.interpolate import CubicSpline

Joint = Literal["hip", "knee", "ankle"]
JOINTS: tuple[Joint, ...] = ("hip", "knee", "ankle")

TEMPLATE_TOE_OFF_PHASE = 0.60
N_HARMONICS = 8

# (percent of gait cycle, angle in degrees). Enough points to pin the characteristic features:
# hip ~+30° at IC, peak extension ~-10° at 50-55 %, peak flexion ~+33° at 85 %; knee ~5° at IC,
# loading-response flexion ~18° at 12-15 %, near-extension ~4° at 40 %, ~38° at toe-off, peak
# ~62° at 72 %; ankle 0° at IC, -6° foot-flat plantarflexion, +10° late stance, -16° just after
# toe-off, back to neutral in mid swing.
_KEY_POINTS: dict[Joint, list[tuple[float, float]]] = {
    "hip": [
        (0, 30.0),
        (10, 27.0),
        (20, 19.0),
        (30, 9.0),
        (40, 0.0),
        (50, -8.5),
        (55, -10.0),
        (60, -6.0),
        (65, 1.0),
        (70, 10.0),
        (75, 18.0),
        (80, 26.0),
        (85, 32.0),
        (90, 33.0),
        (95, 31.5),
    ],
    "knee": [
        (0, 5.0),
        (5, 12.0),
        (12, 18.0),
        (17, 17.5),
        (25, 11.0),
        (33, 6.0),
        (40, 4.0),
        (46, 6.5),
        (52, 13.0),
        (56, 22.0),
        (60, 37.0),
        (65, 52.0),
        (72, 62.0),
        (78, 57.0),
        (84, 42.0),
        (90, 22.0),
        (95, 7.0),
        (98, 3.5),
    ],
    "ankle": [
        (0, 0.0),
        (4, -5.0),
        (8, -6.0),
        (14, -2.0),
        (22, 3.0),
        (32, 6.5),
        (42, 9.5),
        (47, 10.0),
        (52, 5.0),
        (57, -6.0),
        (62, -15.5),
        (66, -14.0),
        (72, -7.0),
        (80, -2.0),
        (88, 0.5),
        (95, 0.5),
    ],
}

# Vastus lateralis envelope (% MVC) of a healthy adult at self-selected speed: a burst at loading
# response and a smaller one in terminal swing, on a low tonic level.
_EMG_BURSTS: tuple[tuple[float, float, float], ...] = ((0.08, 0.06, 24.0), (0.97, 0.035, 9.0))
EMG_TONIC_PCT = 3.0


def _fit_fourier(points: list[tuple[float, float]]) -> np.ndarray:
    phase = np.array([p for p, _ in points] + [100.0]) / 100.0
    angle = np.array([a for _, a in points] + [points[0][1]])
    spline = CubicSpline(phase, angle, bc_type="periodic")
    grid = np.arange(1024) / 1024
    spectrum = np.fft.rfft(spline(grid)) / len(grid)
    coef = np.zeros((N_HARMONICS + 1, 2))
    coef[0, 0] = spectrum[0].real
    coef[1:, 0] = 2 * spectrum[1 : N_HARMONICS + 1].real
    coef[1:, 1] = -2 * spectrum[1 : N_HARMONICS + 1].imag
    return coef


_COEFFICIENTS: dict[Joint, np.ndarray] = {j: _fit_fourier(_KEY_POINTS[j]) for j in JOINTS}


def normative_angles_deg(joint: Joint, phase: np.ndarray) -> np.ndarray:
    """Normative angle of ``joint`` at gait-cycle ``phase`` (any real values; period 1)."""
    coef = _COEFFICIENTS[joint]
    phase = np.asarray(phase, dtype=float)
    out = np.full(phase.shape, coef[0, 0])
    # Element-wise accumulation, not a matrix product: BLAS would sum in an order that depends on
    # the array length, and streamed batches must match a whole recording bit for bit.
    for k in range(1, N_HARMONICS + 1):
        arg = 2 * np.pi * k * phase
        out += coef[k, 0] * np.cos(arg) + coef[k, 1] * np.sin(arg)
    return out


def normative_emg_pct(phase: np.ndarray) -> np.ndarray:
    """Healthy vastus lateralis EMG envelope (% MVC) at gait-cycle ``phase``."""
    phase = np.mod(np.asarray(phase, dtype=float), 1.0)
    out = np.full(phase.shape, EMG_TONIC_PCT)
    for centre, width, peak in _EMG_BURSTS:
        # Wrapped distance so a burst near the end of the cycle continues into the next one.
        d = np.abs(phase - centre)
        d = np.minimum(d, 1.0 - d)
        out += peak * np.exp(-0.5 * (d / width) ** 2)
    return out


WARP_RAMP_HALF_WIDTH = 0.04
"""Half-width, as a fraction of the cycle, of the smooth change between stance and swing pace."""

_G = WARP_RAMP_HALF_WIDTH * (1.0 - 2.0 / np.pi)


def _warp_rates(stance_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Template-phase rates (per unit of leg-cycle time) in stance ``a`` and swing ``b``.

    They make stance last exactly ``stance_fraction`` of the cycle although the rate changes
    smoothly (raised-cosine ramps centred on IC and FC), which keeps angular velocity continuous.
    """
    s = stance_fraction
    tof = TEMPLATE_TOE_OFF_PHASE
    # a*(s-G) + b*G = tof ; a*G + b*(1-s-G) = 1-tof
    det = (s - _G) * (1 - s - _G) - _G * _G
    a = (tof * (1 - s - _G) - _G * (1 - tof)) / det
    b = ((s - _G) * (1 - tof) - _G * tof) / det
    return a, b


def stance_swing_warp(cycle_fraction: np.ndarray, stance_fraction: np.ndarray) -> np.ndarray:
    """Map time within a leg's cycle (0 = IC, 1 = next IC) to template phase.

    Monotone and smooth; maps 0 to 0, ``stance_fraction`` to :data:`TEMPLATE_TOE_OFF_PHASE`
    and 1 to 1, so the template's toe-off lands where this leg's toe-off should be.

    >>> float(stance_swing_warp(np.array([0.7]), np.array([0.7]))[0])
    0.6
    """
    y = np.asarray(cycle_fraction, dtype=float)
    s = np.broadcast_to(np.asarray(stance_fraction, dtype=float), y.shape)
    d = WARP_RAMP_HALF_WIDTH
    lim = 2 * d + 1e-9
    if np.any((s < lim) | (s > 1 - lim)):
        raise ValueError(f"stance_fraction must lie in ({lim:.2f}, {1 - lim:.2f})")
    a, b = _warp_rates(s)
    q = np.pi / (2 * d)
    half_g = _G / 2
    swing_area = np.select(
        [
            y < d,
            y < s - d,
            y < s + d,
            y < 1 - d,
        ],
        [
            0.5 * y + (d / np.pi) * (np.cos(q * y) - 1.0),
            np.full(y.shape, half_g),
            half_g + 0.5 * (y - s + d) - (d / np.pi) * np.cos(q * (y - s)),
            half_g + d + (y - s - d),
        ],
        default=(1 - s) - 0.5 * (1 - y) - (d / np.pi) * (1 - np.cos(q * (1 - y))),
    )
    return a * y + (b - a) * swing_area
