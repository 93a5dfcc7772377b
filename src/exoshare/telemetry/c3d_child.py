"""The child process that parses one C3D file with ezc3d (run by :mod:`exoshare.telemetry.c3d`).

Reads the file's bytes from stdin and writes an ``.npz`` archive to stdout: the point rate and
labels, the x component of every point, the analog rate, labels and samples, and the number of
frames the header declares. It limits its own memory and CPU time before it imports ezc3d,
because a malformed file can make ezc3d allocate without bound, loop, or crash; the parent
turns any of those into a refused file. Exit status 3 means ezc3d refused the file (the reason
on stderr).
"""

from __future__ import annotations

import io
import os
import resource
import struct
import sys
import tempfile
from typing import Any


def _limit(memory_bytes: int, cpu_s: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))


def declared_frames(raw: bytes) -> int | None:
    """Frames the C3D header says the file holds, or None when the header cannot say.

    The header's first and last frame are 16-bit words in the processor's byte order (MIPS is
    big-endian; Intel and DEC are little-endian); 65535 means "too many to say here".
    """
    if len(raw) < 12 or raw[0] < 1:
        return None
    processor_at = (raw[0] - 1) * 512 + 3
    if processor_at >= len(raw):
        return None
    order = ">" if raw[processor_at] == 86 else "<"
    first, last = struct.unpack_from(order + "HH", raw, 6)
    if last == 0xFFFF or last < first:
        return None
    return last - first + 1


def main() -> int:
    memory_bytes, cpu_s = int(sys.argv[1]), int(sys.argv[2])
    raw = sys.stdin.buffer.read()
    _limit(memory_bytes, cpu_s)
    import ezc3d
    import numpy as np

    with tempfile.NamedTemporaryFile(suffix=".c3d", delete=False) as handle:
        handle.write(raw)  # ezc3d reads only from a path
    try:
        c3d = ezc3d.c3d(handle.name)
        parameters = c3d["parameters"]
        point = parameters["POINT"]
        analog = parameters.get("ANALOG", {})
        points = np.asarray(c3d["data"]["points"], dtype=np.float64)
        analogs = np.asarray(c3d["data"]["analogs"], dtype=np.float64)
        archive: dict[str, Any] = {
            "point_rate": np.asarray(point["RATE"]["value"], dtype=np.float64).ravel()[:1],
            "point_labels": np.asarray([str(x) for x in point["LABELS"]["value"]], dtype=str),
            "points_x": points[0] if points.ndim == 3 else np.zeros((0, 0)),
            "analog_rate": np.asarray(
                analog.get("RATE", {}).get("value", [0.0]), dtype=np.float64
            ).ravel()[:1],
            "analog_labels": np.asarray(
                [str(x) for x in analog.get("LABELS", {}).get("value", [])], dtype=str
            ),
            "analogs": analogs[0] if analogs.ndim == 3 else np.zeros((0, 0)),
            "declared_frames": np.asarray([declared_frames(raw) or -1]),
        }
    except Exception as exc:  # ezc3d raises RuntimeError, OSError, ValueError, ... for bad files
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    finally:
        os.unlink(handle.name)
    buffer = io.BytesIO()
    np.savez(buffer, **archive)
    sys.stdout.buffer.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
