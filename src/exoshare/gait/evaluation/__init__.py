"""Evaluation of the gait engine against reference data: matching, scores, reference readers."""

from exoshare.gait.evaluation.matching import (
    DetectionScores,
    TimingErrors,
    event_timing_errors,
    match_events,
    match_strides,
    precision_recall_f1,
    stride_time_errors,
    timing_errors,
)

__all__ = [
    "DetectionScores",
    "TimingErrors",
    "event_timing_errors",
    "match_events",
    "match_strides",
    "precision_recall_f1",
    "stride_time_errors",
    "timing_errors",
]
