"""Validate exoshare's gait events against the device simulator's ground truth, per impairment.

Run: ``uv run python benchmarks/validate_gait_simulated.py [--duration 180] [--seeds 3]``

For each diagnosis and severity the simulator walks a patient (turns and pauses included, no
faults) and records every heel strike and toe-off it produced. The engine analyses the
recording; detections are matched to the truth with a 100 ms window. Gait initiation and
termination strides, which the simulator labels as intervals rather than events, are left out of
scoring on both sides. Reported: initial- and final-contact timing error (bias and p95 of the
absolute error), stride-time error (mean and p95 of the absolute error), stride precision /
recall / F1.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from exoshare.demo.gait_profiles import profile_for
from exoshare.demo.gait_simulator import simulate
from exoshare.demo.gait_truth import GroundTruth
from exoshare.gait.analysis import analyse
from exoshare.gait.evaluation.matching import (
    event_timing_errors,
    match_strides,
    precision_recall_f1,
    stride_time_errors,
    timing_errors,
)

TOLERANCE_S = 0.1
MAX_STRIDE_S = 4.0
CASES = [
    ("healthy", "mild"),
    ("stroke", "mild"),
    ("stroke", "severe"),
    ("spinal_cord_injury", "moderate"),
    ("cerebral_palsy", "moderate"),
    ("multiple_sclerosis", "moderate"),
]


def _excluded(truth: GroundTruth) -> list[tuple[float, float]]:
    return [
        (i.start_s, i.end_s)
        for kind in ("gait_initiation", "gait_termination")
        for i in truth.intervals_of(kind)
    ]


def _outside(times: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    keep = np.ones(times.size, dtype=bool)
    for start, end in spans:
        keep &= ~((times >= start) & (times < end))
    return keep


def _truth_strides(ic: np.ndarray, pauses: list[tuple[float, float]]) -> tuple[np.ndarray, ...]:
    start, end = ic[:-1], ic[1:]
    keep = (end - start) < MAX_STRIDE_S
    for p_start, p_end in pauses:
        keep &= ~((start < p_end) & (end > p_start))
    return start[keep], end[keep]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds per session")
    parser.add_argument("--seeds", type=int, default=3, help="sessions per case")
    args = parser.parse_args()

    table = Table(
        title=f"Gait events vs simulator ground truth ({args.seeds} × "
        f"{args.duration:.0f} s per case, 100 Hz, shank gyro)"
    )
    for col in (
        "case",
        "strides ref",
        "IC bias ms",
        "IC p95 |err| ms",
        "FC bias ms",
        "FC p95 |err| ms",
        "stride-time mean |err| ms",
        "stride-time p95 |err| ms",
        "precision",
        "recall",
        "F1",
    ):
        table.add_column(col, justify="right" if col != "case" else "left")
    for diagnosis, severity in CASES:
        ic_err, fc_err, st_err = [], [], []
        matched = detected = reference = 0
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            profile = profile_for(diagnosis, severity, 1.72, 72.0, rng)
            recording, truth = simulate(profile, args.duration, seed=seed)
            summary = analyse(recording)
            skip = _excluded(truth)
            pauses = [(i.start_s, i.end_s) for i in truth.intervals_of("pause")]
            for side in ("left", "right"):
                events = summary.events.get(side)
                if events is None:
                    continue
                ref_ic, ref_fc = truth.ic_times_s(side), truth.fc_times_s(side)
                det_ic = events.ic_s[_outside(events.ic_s, skip)]
                det_fc = events.fc_s[_outside(events.fc_s, skip)]
                ic_err.append(event_timing_errors(det_ic, ref_ic, TOLERANCE_S).errors_s)
                fc_err.append(event_timing_errors(det_fc, ref_fc, TOLERANCE_S).errors_s)
                strides = summary.strides.for_side(side)
                keep = _outside(strides.start_s, skip) & _outside(strides.end_s, skip)
                d_start, d_end = strides.start_s[keep], strides.end_s[keep]
                r_start, r_end = _truth_strides(ref_ic, pauses)
                r_keep = _outside(r_start, skip) & _outside(r_end, skip)
                r_start, r_end = r_start[r_keep], r_end[r_keep]
                st_err.append(
                    stride_time_errors(d_start, d_end, r_start, r_end, TOLERANCE_S).errors_s
                )
                det_idx, _ = match_strides(d_start, d_end, r_start, r_end, TOLERANCE_S)
                matched += det_idx.size
                detected += d_start.size
                reference += r_start.size
        ic = timing_errors(np.concatenate(ic_err))
        fc = timing_errors(np.concatenate(fc_err))
        st = timing_errors(np.concatenate(st_err))
        scores = precision_recall_f1(matched, detected, reference)
        table.add_row(
            f"{diagnosis} ({severity})",
            str(reference),
            f"{ic.bias_s * 1000:.1f}",
            f"{ic.p95_abs_s * 1000:.1f}",
            f"{fc.bias_s * 1000:.1f}",
            f"{fc.p95_abs_s * 1000:.1f}",
            f"{st.mean_abs_s * 1000:.1f}",
            f"{st.p95_abs_s * 1000:.1f}",
            f"{scores.precision:.3f}",
            f"{scores.recall:.3f}",
            f"{scores.f1:.3f}",
        )
    Console(width=200).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
