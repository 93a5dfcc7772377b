"""Comparison of detected gait events and strides with a reference: matching, scores, timing errors.

Kept apart from the algorithms (as gaitmap keeps ``evaluation_utils`` apart) so that no detector can
depend on how it is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sorted_1d(values: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if np.any(~np.isfinite(arr)):
        raise ValueError(f"{name}: event times must be finite")
    if np.any(np.diff(arr) < 0):
        raise ValueError(f"{name}: event times must be sorted ascending")
    return arr


def _nearest(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index into ``sorted_values`` of the element nearest each query (ties: the earlier one)."""
    right = np.clip(np.searchsorted(sorted_values, queries), 0, len(sorted_values) - 1)
    left = np.clip(right - 1, 0, len(sorted_values) - 1)
    pick_left = np.abs(queries - sorted_values[left]) <= np.abs(sorted_values[right] - queries)
    return np.where(pick_left, left, right)


def match_events(
    detected_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one match of two sorted event lists: mutual nearest pairs within tolerance.

    Returns ``(detected_idx, reference_idx)``, index arrays of equal length. Mutual nearest
    neighbours can never pair one event twice, which a plain "nearest within tolerance" rule
    would do when two detections fall near one reference event.

    >>> match_events(np.array([1.0, 2.02, 2.05, 5.0]), np.array([1.01, 2.0, 3.0]), 0.05)
    (array([0, 1]), array([0, 1]))
    """
    det = _sorted_1d(detected_s, "detected_s")
    ref = _sorted_1d(reference_s, "reference_s")
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    if det.size == 0 or ref.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    ref_for_det = _nearest(ref, det)
    det_for_ref = _nearest(det, ref)
    det_idx = np.arange(det.size)
    mutual = det_for_ref[ref_for_det] == det_idx
    close = np.abs(det - ref[ref_for_det]) <= tolerance_s + 1e-12
    keep = mutual & close
    return det_idx[keep], ref_for_det[keep]


def match_strides(
    detected_start_s: np.ndarray,
    detected_end_s: np.ndarray,
    reference_start_s: np.ndarray,
    reference_end_s: np.ndarray,
    tolerance_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one match of two stride lists of one foot: start and end both within tolerance.

    Strides are matched on their start (mutual nearest, see :func:`match_events`), then a pair is
    kept only if the ends agree too, so a detected stride that merges two reference strides
    (a missed event) counts as a miss, as in gaitmap's ``match_stride_lists``.

    >>> match_strides(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([0.02, 1.0]),
    ...               np.array([1.0, 2.5]), 0.05)
    (array([0]), array([0]))
    """
    det_end = np.asarray(detected_end_s, dtype=np.float64)
    ref_end = np.asarray(reference_end_s, dtype=np.float64)
    det_idx, ref_idx = match_events(detected_start_s, reference_start_s, tolerance_s)
    keep = np.abs(det_end[det_idx] - ref_end[ref_idx]) <= tolerance_s + 1e-12
    return det_idx[keep], ref_idx[keep]


@dataclass(frozen=True)
class DetectionScores:
    """Counts and scores of a matching: precision = TP/detected, recall = TP/reference, F1."""

    n_detected: int
    n_reference: int
    n_matched: int
    precision: float
    recall: float
    f1: float


def precision_recall_f1(n_matched: int, n_detected: int, n_reference: int) -> DetectionScores:
    """Precision, recall and F1 from match counts; a score with a zero denominator is NaN.

    >>> precision_recall_f1(9, 10, 12).f1
    0.8181818181818182
    """
    if not 0 <= n_matched <= min(n_detected, n_reference):
        raise ValueError(
            f"n_matched={n_matched} must lie in [0, min(n_detected={n_detected}, "
            f"n_reference={n_reference})]"
        )
    precision = n_matched / n_detected if n_detected else float("nan")
    recall = n_matched / n_reference if n_reference else float("nan")
    f1 = (
        2 * precision * recall / (precision + recall)
        if n_detected and n_reference and (precision + recall) > 0
        else (0.0 if n_detected and n_reference else float("nan"))
    )
    return DetectionScores(n_detected, n_reference, n_matched, precision, recall, f1)


@dataclass(frozen=True)
class TimingErrors:
    """Signed errors (detected minus reference) in seconds with their summary.

    ``bias_s`` is the mean (a systematic offset between event definitions), ``sd_s`` the sample
    standard deviation (ddof=1), ``mean_abs_s`` and ``p95_abs_s`` describe absolute errors.
    """

    errors_s: np.ndarray
    bias_s: float
    sd_s: float
    mean_abs_s: float
    p95_abs_s: float

    @property
    def n(self) -> int:
        return int(self.errors_s.size)


def timing_errors(errors_s: np.ndarray) -> TimingErrors:
    """Summarise signed timing errors (seconds); an empty input gives NaN summaries."""
    err = np.asarray(errors_s, dtype=np.float64).ravel()
    if err.size == 0:
        nan = float("nan")
        return TimingErrors(err, nan, nan, nan, nan)
    sd = float(np.std(err, ddof=1)) if err.size > 1 else float("nan")
    abs_err = np.abs(err)
    return TimingErrors(
        err, float(err.mean()), sd, float(abs_err.mean()), float(np.percentile(abs_err, 95))
    )


def event_timing_errors(
    detected_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float
) -> TimingErrors:
    """Match two event lists (:func:`match_events`) and summarise detected minus reference time.

    >>> round(event_timing_errors(np.array([1.03, 2.05]), np.array([1.0, 2.0]), 0.1).bias_s, 3)
    0.04
    """
    det = np.asarray(detected_s, dtype=np.float64)
    ref = np.asarray(reference_s, dtype=np.float64)
    det_idx, ref_idx = match_events(det, ref, tolerance_s)
    return timing_errors(det[det_idx] - ref[ref_idx])


def stride_time_errors(
    detected_start_s: np.ndarray,
    detected_end_s: np.ndarray,
    reference_start_s: np.ndarray,
    reference_end_s: np.ndarray,
    tolerance_s: float,
) -> TimingErrors:
    """Stride-time error of matched strides: (end - start) detected minus (end - start) reference.

    A constant offset between event definitions cancels here, which is why this is the error a
    stride-time metric inherits (see the data README and Rampp et al. 2015, IEEE TBME 62(4)).
    """
    ds, de = np.asarray(detected_start_s, float), np.asarray(detected_end_s, float)
    rs, re = np.asarray(reference_start_s, float), np.asarray(reference_end_s, float)
    det_idx, ref_idx = match_strides(ds, de, rs, re, tolerance_s)
    return timing_errors((de[det_idx] - ds[det_idx]) - (re[ref_idx] - rs[ref_idx]))
