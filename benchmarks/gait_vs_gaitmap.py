"""exoshare vs gaitmap (BarthDtw + RamppEventDetection) on the same recordings: speed, accuracy.

Run: ``uv run --all-groups python benchmarks/gait_vs_gaitmap.py`` (needs the ``bench`` group:
gaitmap and gaitmap-mad). Prints strides per second of both, the ratio, both accuracies against the
motion-capture reference, and exoshare's run time from 1 min to 2 h of 100 Hz data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from gaitmap.event_detection import RamppEventDetection
from gaitmap.stride_segmentation import BarthDtw
from gaitmap.utils.coordinate_conversion import convert_to_fbf
from rich.console import Console
from rich.table import Table
from scipy import signal

from exoshare.gait.analysis import analyse
from exoshare.gait.evaluation.reference_data import load_reference_strides, load_two_foot_recording
from exoshare.gait.evaluation.validation import score_foot
from exoshare.gait.recording import Recording

SIDES = ("left", "right")


def to_gaitmap(rec: Recording) -> pd.DataFrame:
    """Registry foot channels -> gaitmap sensor frame -> gaitmap foot body frame."""
    frames = {}
    for side in SIDES:
        cols = {}
        for kind, unit in (("acc", "mps2"), ("gyr", "dps")):
            for ax in "xyz":
                cols[f"{kind}_{ax}"] = rec.channels[f"foot_{kind}_{ax}_{side}_{unit}"]
        frames[f"{side}_sensor"] = pd.DataFrame(cols)
    data = pd.concat(frames, axis=1)
    return convert_to_fbf(data, left_like="left_", right_like="right_")


def run_gaitmap(data: pd.DataFrame, fs: float) -> dict[str, np.ndarray]:
    dtw = BarthDtw().segment(data=data, sampling_rate_hz=fs)
    ed = RamppEventDetection().detect(data=data, stride_list=dtw.stride_list_, sampling_rate_hz=fs)
    return {
        side: np.sort(ed.min_vel_event_list_[f"{side}_sensor"]["ic"].to_numpy(float))
        for side in SIDES
    }


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def tiled(rec: Recording, minutes: float, fs_out: float = 100.0) -> Recording:
    """The recording resampled to ``fs_out`` (polyphase, scipy) and tiled to ``minutes``."""
    up, down = 125, 256  # 204.8 Hz * 125 / 256 = 100 Hz
    assert abs(rec.sampling_rate_hz * up / down - fs_out) < 1e-9
    n = int(minutes * 60 * fs_out)
    out = {}
    for name, x in rec.channels.items():
        y = signal.resample_poly(x, up, down)
        out[name] = np.tile(y, n // y.size + 1)[:n]
    return Recording(fs_out, out)


def main() -> int:
    console = Console()
    rec = load_two_foot_recording()
    fs = rec.sampling_rate_hz
    ref = load_reference_strides()
    gm_data = to_gaitmap(rec)
    run_gaitmap(gm_data, fs)  # warm-up: numba JIT compilation is not part of the comparison
    analyse(rec)

    gm_ic = run_gaitmap(gm_data, fs)
    ex = analyse(rec)
    t_gm = best_time(lambda: run_gaitmap(gm_data, fs), 5)
    t_ex = best_time(lambda: analyse(rec), 20)
    n_gm = sum(max(v.size - 1, 0) for v in gm_ic.values())
    n_ex = ex.strides.n_strides

    speed = Table(title="Speed on imu_sample.csv (38.7 s, 2 feet, 204.8 Hz; best of repeats)")
    for col in ("pipeline", "time (ms)", "strides", "strides/s"):
        speed.add_column(col, justify="right")
    speed.add_row(
        "gaitmap BarthDtw + RamppEventDetection",
        f"{t_gm * 1000:.1f}",
        str(n_gm),
        f"{n_gm / t_gm:,.0f}",
    )
    speed.add_row(
        "exoshare analyse() (events, strides, all metrics)",
        f"{t_ex * 1000:.1f}",
        str(n_ex),
        f"{n_ex / t_ex:,.0f}",
    )
    ratio = (n_ex / t_ex) / (n_gm / t_gm)
    speed.add_row("ratio exoshare / gaitmap (strides/s)", "", "", f"{ratio:.1f}x")
    console.print(speed)

    long_rec = tiled(rec, 10)
    long_gm = to_gaitmap(long_rec)
    t_gm10 = best_time(lambda: run_gaitmap(long_gm, 100.0), 1)
    t_ex10 = best_time(lambda: analyse(long_rec), 3)
    n_gm10 = sum(max(v.size - 1, 0) for v in run_gaitmap(long_gm, 100.0).values())
    n_ex10 = analyse(long_rec).strides.n_strides
    console.print(
        f"10 min at 100 Hz (tiled): gaitmap {t_gm10:.2f} s ({n_gm10 / t_gm10:,.0f} strides/s), "
        f"exoshare {t_ex10:.3f} s ({n_ex10 / t_ex10:,.0f} strides/s), "
        f"ratio {(n_ex10 / t_ex10) / (n_gm10 / t_gm10):.1f}x"
    )

    acc = Table(title="Accuracy vs motion capture (annotated span, 100 ms tolerance)")
    for col in (
        "pipeline",
        "foot",
        "IC bias (ms)",
        "IC SD (ms)",
        "stride-time mean |err| (ms)",
        "p95 (ms)",
        "F1",
    ):
        acc.add_column(col, justify="right")
    for label, ics in (
        ("gaitmap", {s: gm_ic[s] / fs for s in SIDES}),
        ("exoshare", {s: ex.events[s].ic_s for s in SIDES}),
    ):
        for side in SIDES:
            v = score_foot(ics[side], np.empty(0), ref[side])
            acc.add_row(
                label,
                side,
                f"{v.ic.bias_s * 1000:.1f}",
                f"{v.ic.sd_s * 1000:.1f}",
                f"{v.stride_time.mean_abs_s * 1000:.1f}",
                f"{v.stride_time.p95_abs_s * 1000:.1f}",
                f"{v.strides.f1:.3f}",
            )
    console.print(acc)

    lin = Table(title="exoshare analyse() time vs length (100 Hz, 2 feet, tiled)")
    for col in ("length", "samples/channel", "strides", "time (s)", "µs per sample"):
        lin.add_column(col, justify="right")
    for minutes in (1, 10, 30, 60, 120):
        r = tiled(rec, minutes)
        t = best_time(lambda r=r: analyse(r), 3 if minutes <= 30 else 1)
        n = analyse(r).strides.n_strides if minutes <= 10 else round(n_ex10 * minutes / 10)
        lin.add_row(
            f"{minutes} min",
            f"{r.n_samples:,}",
            f"{n:,}",
            f"{t:.3f}",
            f"{t / r.n_samples * 1e6:.3f}",
        )
    console.print(lin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
