"""Validate exoshare's gait events against the public foot-IMU motion-capture reference.

Run: ``uv run python benchmarks/validate_gait.py``
(reads ``$EXOSHARE_SHARED_DIR`` or ``../shared``).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from exoshare.gait.analysis import analyse
from exoshare.gait.evaluation.reference_data import (
    foot_imu_dir,
    load_reference_strides,
    load_single_foot_recording,
    load_two_foot_recording,
)
from exoshare.gait.evaluation.validation import DEFAULT_TOLERANCE_S, score_foot
from exoshare.gait.events import GyroEventDetection


def main() -> int:
    console = Console()
    if not foot_imu_dir().is_dir():
        console.print(f"[red]reference data not found at {foot_imu_dir()}; set EXOSHARE_SHARED_DIR")
        return 1
    rec = load_two_foot_recording()
    reference = load_reference_strides()
    summary = analyse(rec)
    table = Table(
        title=f"Foot IMU vs motion capture (imu_sample.csv, tolerance "
        f"{DEFAULT_TOLERANCE_S * 1000:.0f} ms)"
    )
    for col in (
        "method",
        "foot",
        "scored span",
        "IC bias (ms)",
        "IC SD (ms)",
        "FC bias (ms)",
        "FC SD (ms)",
        "stride-time err mean (ms)",
        "mean |err| (ms)",
        "p95 |err| (ms)",
        "strides det/ref",
        "precision",
        "recall",
        "F1",
    ):
        table.add_column(col, justify="right")
    variants = {"exoshare (zero crossing IC)": None, "exoshare ic_rule=minimum": "minimum"}
    for label, rule in variants.items():
        for side in ("left", "right"):
            if rule is None:
                ic, fc = summary.events[side].ic_s, summary.events[side].fc_s
            else:
                det = GyroEventDetection(ic_rule="minimum").detect(
                    -rec.channels[f"foot_gyr_y_{side}_dps"], sampling_rate_hz=rec.sampling_rate_hz
                )
                ic, fc = det.ic_s_, det.fc_s_
            for restrict in (True, False):
                v = score_foot(ic, fc, reference[side], restrict_to_reference_span=restrict)
                table.add_row(
                    label,
                    side,
                    "annotated" if restrict else "whole file",
                    f"{v.ic.bias_s * 1000:.1f}",
                    f"{v.ic.sd_s * 1000:.1f}",
                    f"{v.fc.bias_s * 1000:.1f}",
                    f"{v.fc.sd_s * 1000:.1f}",
                    f"{v.stride_time.bias_s * 1000:.1f}",
                    f"{v.stride_time.mean_abs_s * 1000:.1f}",
                    f"{v.stride_time.p95_abs_s * 1000:.1f}",
                    f"{v.strides.n_detected}/{v.strides.n_reference}",
                    f"{v.strides.precision:.3f}",
                    f"{v.strides.recall:.3f}",
                    f"{v.strides.f1:.3f}",
                )
    console.print(table)

    robust = Table(title="Robustness (no reference): strides found")
    for col in ("recording", "left", "right", "cadence (steps/min)", "stride time (s)"):
        robust.add_column(col, justify="right")
    for name in ("imu_sample_healthy_stair_up.csv", "imu_sample_healthy_stair_down.csv"):
        s = analyse(load_two_foot_recording(name))
        robust.add_row(
            name,
            str(s.stride_count["left"]),
            str(s.stride_count["right"]),
            f"{s.cadence_steps_per_min:.1f}",
            f"{s.parameters['stride_time_s']['both'].mean:.3f}",
        )
    for side in ("left", "right"):
        s = analyse(load_single_foot_recording(side))
        robust.add_row(
            f"imu_sample_ms_{side}.csv (MS)",
            str(s.stride_count.get("left", "–")),
            str(s.stride_count.get("right", "–")),
            f"{s.cadence_steps_per_min:.1f}",
            f"{s.parameters['stride_time_s']['both'].mean:.3f}",
        )
    console.print(robust)
    return 0


if __name__ == "__main__":
    sys.exit(main())
