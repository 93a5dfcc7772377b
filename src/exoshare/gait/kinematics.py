"""Joint kinematics per stride: range of motion, gait-cycle normalised curves (101 points)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CYCLE_POINTS = 101


def _stride_sample_bounds(
    start_s: np.ndarray, end_s: np.ndarray, sampling_rate_hz: float, n_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    starts = np.clip(
        np.round(np.asarray(start_s) * sampling_rate_hz).astype(np.int64), 0, n_samples
    )
    ends = np.clip(
        np.round(np.asarray(end_s) * sampling_rate_hz).astype(np.int64) + 1, 0, n_samples
    )
    return starts, ends


def stride_rom_deg(
    angle_deg: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, sampling_rate_hz: float
) -> np.ndarray:
    """Range of motion (max - min, degrees) of ``angle_deg`` within each stride [start_s, end_s].

    Sagittal ROM per gait cycle as in Perry & Burnfield 2010 (*Gait Analysis*, 2nd ed.). Vectorised
    with ``np.maximum.reduceat``; strides must be non-overlapping within one leg, which IC-to-IC
    strides are.

    >>> fs = 100.0
    >>> angle = 20 * np.sin(2 * np.pi * np.arange(300) / fs)
    >>> np.round(stride_rom_deg(angle, np.array([0.0, 1.0]), np.array([1.0, 2.0]), fs), 1)
    array([40., 40.])
    """
    x = np.asarray(angle_deg, dtype=np.float64)
    starts, ends = _stride_sample_bounds(start_s, end_s, sampling_rate_hz, x.size)
    ok = ends - starts >= 2
    out = np.full(starts.size, np.nan)
    if not np.any(ok):
        return out
    # reduceat over [start, end) pairs: interleave the bounds and keep every other result.
    bounds = np.column_stack((starts[ok], ends[ok])).ravel()
    padded = np.append(x, x[-1])  # reduceat needs indices < len; ends may equal len(x)
    hi = np.maximum.reduceat(padded, bounds)[0::2]
    lo = np.minimum.reduceat(padded, bounds)[0::2]
    out[ok] = hi - lo
    return out


@dataclass(frozen=True)
class CycleCurves:
    """Time-normalised curves of one angle: ``curves_deg`` (n_strides x 101), their mean and SD.

    Column k is k % of the gait cycle from IC (0 %) to the next IC of the same leg (100 %).
    """

    percent_cycle: np.ndarray
    curves_deg: np.ndarray
    mean_deg: np.ndarray
    sd_deg: np.ndarray

    @property
    def n_strides(self) -> int:
        return int(self.curves_deg.shape[0])


def normalise_cycles(
    angle_deg: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, sampling_rate_hz: float
) -> CycleCurves:
    """Resample ``angle_deg`` in every stride onto 0..100 % of the cycle (101 points).

    The conventional representation of gait kinematics (Winter DA 2009, *Biomechanics and Motor
    Control of Human Movement*, 4th ed., ch. 1). One ``np.interp`` call for all strides at once;
    SD is the sample SD (ddof=1) across strides, NaN with fewer than two strides.

    >>> fs = 100.0
    >>> angle = np.sin(2 * np.pi * np.arange(500) / fs)
    >>> cc = normalise_cycles(angle, np.array([0.0, 1.0]), np.array([1.0, 2.0]), fs)
    >>> round(float(cc.mean_deg[25]), 3), cc.curves_deg.shape
    (1.0, (2, 101))
    """
    x = np.asarray(angle_deg, dtype=np.float64)
    pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
    start = np.asarray(start_s, dtype=np.float64)
    end = np.asarray(end_s, dtype=np.float64)
    ok = (end > start) & (end * sampling_rate_hz <= x.size - 1) & (start >= 0)
    start, end = start[ok], end[ok]
    if start.size == 0:
        nan = np.full(CYCLE_POINTS, np.nan)
        return CycleCurves(pct, np.empty((0, CYCLE_POINTS)), nan, nan.copy())
    t = start[:, None] + (end - start)[:, None] * (pct[None, :] / 100.0)
    curves = np.interp(t * sampling_rate_hz, np.arange(x.size), x)
    mean = curves.mean(axis=0)
    sd = curves.std(axis=0, ddof=1) if curves.shape[0] > 1 else np.full(CYCLE_POINTS, np.nan)
    return CycleCurves(pct, curves, mean, sd)
