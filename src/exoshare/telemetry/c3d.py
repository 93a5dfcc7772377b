"""C3D files read by ezc3d in a child process with a time and memory limit.

ezc3d is a C++ library: fed a malformed file it may crash the process (SIGSEGV), loop for
minutes or try to allocate gigabytes (a fuzzed 704-byte file did each). Parsed in the server's
own process, one such upload would take the server down, so the parsing happens in
:mod:`exoshare.telemetry.c3d_child` and any of those outcomes is a :class:`C3DRefused` here.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

BASE_MEMORY_BYTES = 768 * 1024 * 1024
"""Address space of the child before the file counts (Python, NumPy and ezc3d loaded)."""
MEMORY_PER_FILE_BYTE = 16
"""Further address space per byte of the file: float32 samples become float64, twice over."""
TIMEOUT_S = 20.0
"""Wall-clock and CPU time one file may take (ezc3d reads 100 MB in a few seconds)."""


class C3DRefused(Exception):
    """The file is not a readable C3D file; the message says why."""


@dataclass(frozen=True)
class C3DContent:
    """What exoshare takes from a C3D file: rates, labels, point x components, analogs."""

    point_rate_hz: float
    point_labels: list[str]
    points_x: np.ndarray
    """(points, frames): the first (sagittal) component of every point."""
    analog_rate_hz: float
    analog_labels: list[str]
    analogs: np.ndarray
    """(analog channels, samples)."""
    declared_frames: int | None
    """Frames the header declares; more than ``points_x`` holds means a truncated file."""


def read_c3d(raw: bytes, timeout_s: float | None = None) -> C3DContent:
    """Parse ``raw`` in a child process; :class:`C3DRefused` for anything but a C3D file."""
    timeout_s = timeout_s or TIMEOUT_S
    if not raw:
        raise C3DRefused("the file is empty")
    memory = BASE_MEMORY_BYTES + MEMORY_PER_FILE_BYTE * len(raw)
    cpu_s = max(1, round(timeout_s))
    try:
        child = subprocess.run(
            [sys.executable, "-m", "exoshare.telemetry.c3d_child", str(memory), str(cpu_s)],
            input=raw,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            # One BLAS thread: each would reserve address space under the memory limit.
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired:
        raise C3DRefused(f"the C3D reader gave up after {timeout_s:g} s") from None
    if child.returncode == 3:
        reason = child.stderr.decode("utf-8", "replace").strip().splitlines()
        raise C3DRefused(reason[-1] if reason else "refused by the C3D reader")
    if child.returncode < 0:
        # SIGSEGV and the like, or SIGXCPU at the CPU limit.
        raise C3DRefused(f"the C3D reader crashed on it (signal {-child.returncode})")
    if child.returncode != 0:
        raise C3DRefused(f"the C3D reader failed on it (exit status {child.returncode})")
    with np.load(io.BytesIO(child.stdout), allow_pickle=False) as archive:
        declared = int(archive["declared_frames"][0])
        return C3DContent(
            point_rate_hz=float(archive["point_rate"][0]) if archive["point_rate"].size else 0.0,
            point_labels=[str(x).strip() for x in archive["point_labels"]],
            points_x=archive["points_x"],
            analog_rate_hz=(
                float(archive["analog_rate"][0]) if archive["analog_rate"].size else 0.0
            ),
            analog_labels=[str(x).strip() for x in archive["analog_labels"]],
            analogs=archive["analogs"],
            declared_frames=declared if declared >= 0 else None,
        )
