"""A CSV recording is parsed row by row: its peak memory is a small multiple of its size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from exoshare.telemetry.files import read_recording

ROWS = 100_000


def test_parsing_a_csv_needs_a_few_times_its_size_not_twenty() -> None:
    t = np.arange(ROWS) / 100.0
    waves = [30 + 30 * np.sin(2 * np.pi * t + k) for k in range(4)]
    lines = [
        f"{t[i]:.2f},{waves[0][i]:.3f},{waves[1][i]:.3f},{waves[2][i]:.3f},{waves[3][i]:.3f}"
        for i in range(ROWS)
    ]
    data = ("time,Knee L,Knee R,Hip L,Hip R\n" + "\n".join(lines) + "\n").encode()
    del lines
    mapping = {
        "Knee L": "knee_angle_left_deg",
        "Knee R": "knee_angle_right_deg",
        "Hip L": "hip_angle_left_deg",
        "Hip R": "hip_angle_right_deg",
    }
    tracemalloc.start()
    try:
        recording = read_recording(Path("walk.csv"), mapping, data=data).recording
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert recording.n_samples == ROWS
    np.testing.assert_allclose(recording.channels["knee_angle_left_deg"], waves[0], atol=5e-4)
    # Measured: 3.5 times the file (a list of cell strings took 20 times). The table of doubles
    # alone is 1.2 times a file of this shape, its channel copies another.
    assert peak < 6 * len(data), f"peak {peak / 1e6:.1f} MB for a {len(data) / 1e6:.1f} MB file"
