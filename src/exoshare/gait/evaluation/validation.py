"""Scoring of the engine's events against the foot-IMU motion-capture reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exoshare.gait.evaluation.matching import (
    DetectionScores,
    TimingErrors,
    event_timing_errors,
    match_strides,
    precision_recall_f1,
    stride_time_errors,
)
from exoshare.gait.evaluation.reference_data import ReferenceStrides

#: Matching window for events and stride borders (s): well above the few-tens-of-ms offset between
#: IMU and motion-capture event definitions, well below half a step.
DEFAULT_TOLERANCE_S = 0.1


@dataclass(frozen=True)
class FootValidation:
    """Scores of one foot: IC and FC timing, stride-time error, stride detection."""

    side: str
    ic: TimingErrors
    fc: TimingErrors
    stride_time: TimingErrors
    strides: DetectionScores


def score_foot(
    ic_s: np.ndarray,
    fc_s: np.ndarray,
    reference: ReferenceStrides,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    max_stride_time_s: float = 4.0,
    restrict_to_reference_span: bool = True,
) -> FootValidation:
    """Score detected IC/FC times (s) of one foot against the reference (IC-to-IC strides).

    With ``restrict_to_reference_span`` only detected strides inside the annotated span
    [first reference stride start - tolerance, last reference stride end + tolerance] are scored:
    the reference does not annotate gait initiation and termination steps, so strides there are
    neither right nor wrong.
    """
    ic = np.sort(np.asarray(ic_s, dtype=np.float64))
    start, end = ic[:-1], ic[1:]
    keep = (end - start) <= max_stride_time_s
    if restrict_to_reference_span:
        lo = reference.pre_ic_s.min() - tolerance_s
        hi = reference.ic_s.max() + tolerance_s
        keep &= (start >= lo) & (end <= hi)
    start, end = start[keep], end[keep]
    det_idx, _ = match_strides(start, end, reference.pre_ic_s, reference.ic_s, tolerance_s)
    return FootValidation(
        side=reference.side,
        ic=event_timing_errors(ic, reference.ic_s, tolerance_s),
        fc=event_timing_errors(np.sort(fc_s), reference.tc_s, tolerance_s),
        stride_time=stride_time_errors(start, end, reference.pre_ic_s, reference.ic_s, tolerance_s),
        strides=precision_recall_f1(len(det_idx), int(start.size), int(reference.ic_s.size)),
    )
