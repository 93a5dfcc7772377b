"""Session statistics of per-stride parameters: mean, SD, CV, left-right symmetry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class Distribution:
    """Mean, sample SD (ddof=1) and CV = 100 * SD / mean (%) of one parameter.

    NaN entries are ignored; with fewer than two values SD and CV are NaN.
    """

    n: int
    mean: float
    sd: float
    cv_pct: float


def distribution(values: np.ndarray) -> Distribution:
    """Summarise ``values`` (any unit; the result has the same unit, CV is in %).

    >>> d = distribution(np.array([1.0, 1.1, 0.9, np.nan]))
    >>> d.n, round(d.mean, 3), round(d.sd, 3), round(d.cv_pct, 1)
    (3, 1.0, 0.1, 10.0)
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Distribution(0, NAN, NAN, NAN)
    mean = float(v.mean())
    if v.size < 2:
        return Distribution(int(v.size), mean, NAN, NAN)
    sd = float(v.std(ddof=1))
    cv = 100.0 * sd / mean if mean != 0 else NAN
    return Distribution(int(v.size), mean, sd, cv)


def symmetry_index_pct(left: float, right: float) -> float:
    """Symmetry index SI = 100 * (L - R) / (0.5 * (L + R)) in % (Robinson et al. 1987).

    0 is perfect symmetry; positive means the left value is larger. Robinson RO, Herzog W, Nigg BM,
    J Manipulative Physiol Ther 1987;10(4):172-176. NaN if either value is NaN or both are 0.

    >>> round(symmetry_index_pct(0.6, 0.4), 1)
    40.0
    """
    if not (np.isfinite(left) and np.isfinite(right)) or left + right == 0:
        return NAN
    return float(100.0 * (left - right) / (0.5 * (left + right)))


def symmetry_ratio(left: float, right: float) -> float:
    """Symmetry ratio = larger / smaller of the two sides (>= 1; 1 is perfect symmetry).

    Patterson KK, Gage WH, Brooks D, Black SE, McIlroy WE, Gait Posture 2010;31(2):241-246
    recommend the ratio with the larger value as numerator so that it does not depend on which side
    is affected. NaN if either value is NaN or not positive.

    >>> round(symmetry_ratio(0.4, 0.6), 3)
    1.5
    """
    if not (np.isfinite(left) and np.isfinite(right)) or left <= 0 or right <= 0:
        return NAN
    return float(max(left, right) / min(left, right))


def cadence_steps_per_min(ic_times_s: np.ndarray, max_step_time_s: float = 2.0) -> float:
    """Cadence in steps/min from all initial contacts of both legs (seconds, any order).

    Steps are the intervals between consecutive ICs of either leg; intervals longer than
    ``max_step_time_s`` are pauses and are excluded from the walking time, so standing still
    between bouts does not lower the cadence. Cadence = 60 / mean step time.

    >>> cadence_steps_per_min(np.arange(0, 10, 0.5))
    120.0
    """
    ic = np.sort(np.asarray(ic_times_s, dtype=np.float64))
    steps = np.diff(ic)
    steps = steps[(steps > 0) & (steps <= max_step_time_s)]
    if steps.size == 0:
        return NAN
    return float(60.0 / steps.mean())
