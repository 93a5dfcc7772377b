"""Readers of whole recordings (CSV, Parquet, C3D, OpenSim .mot/.sto) into a :class:`Recording`.

Every reader ends in the same checks as live ingestion (registry channels, uniform time, physical
ranges, NaN bursts), and every error names the file and, where it has one, the line, column and
channel, e.g. ``walk.csv line 12, column "Knee L": 'x' is not a number``.

A column mapping (``{"Knee L": "knee_angle_left_deg"}``) renames source columns to registry
channels; a target with a leading ``-`` negates the values (OpenSim gait2392 counts knee
flexion negative), and the target ``-`` alone ignores the column.
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path

import numpy as np

from exoshare.bounds import LATEST_DATE
from exoshare.errors import FileImportError, TelemetryRejected
from exoshare.gait.channels import CHANNELS
from exoshare.gait.recording import Recording
from exoshare.telemetry.c3d import C3DRefused, read_c3d
from exoshare.telemetry.validation import (
    RATE_TOLERANCE,
    check_sampling_rate,
    check_values,
)

TIME_COLUMNS = ("time_s", "time", "t", "timestamp_s")
FORMATS = ("csv", "parquet", "c3d", "mot")

# Plug-in Gait model outputs (x component = sagittal plane, flexion/dorsiflexion positive).
C3D_POINTS = {
    f"{prefix}{joint.title()}Angles": f"{joint}_angle_{side}_deg"
    for prefix, side in (("L", "left"), ("R", "right"))
    for joint in ("hip", "knee", "ankle")
}
# OpenSim coordinates (Rajagopal 2015 and gait2392 names; flexion positive in Rajagopal 2015).
OPENSIM_COORDINATES = {
    f"{coordinate}_{s}": f"{joint}_angle_{side}_deg"
    for s, side in (("l", "left"), ("r", "right"))
    for coordinate, joint in (
        ("hip_flexion", "hip"),
        ("knee_angle", "knee"),
        ("ankle_angle", "ankle"),
    )
}


LATEST_START_TIME_S = datetime.combine(LATEST_DATE, time(), tzinfo=UTC).timestamp()
"""A time column starting at 1e8 s or later holds Unix times, which must lie in the calendar."""


def checked_rate(value: object, label: str, source: str) -> float:
    """A sampling rate taken from ``source`` (the --rate option, file metadata, a time column)
    as a float within [1, 10000] Hz; anything else (text, NaN, infinite, zero, negative) is a
    :class:`FileImportError` naming the source.

    >>> checked_rate(b"100", "walk.parquet", "metadata sampling_rate_hz")
    100.0
    >>> checked_rate(float("nan"), "walk.csv", "--rate")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    exoshare.errors.FileImportError: walk.csv: --rate is nan Hz; a sampling rate lies ...
    """
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise FileImportError(
            "wrong-sampling-rate", f"{label}: {source} ({value!r}) is not a number"
        ) from None
    return check_sampling_rate(rate, f"{label}: {source}", field=None, error=FileImportError)


@dataclass
class ImportedFile:
    recording: Recording
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    channel: str | None
    sign: float = 1.0


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Knee L=knee_angle_left_deg", ...]`` (or lines of a mapping file) as a dict."""
    mapping: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        source, sep, target = item.rpartition("=")
        if not sep or not source.strip():
            raise ValueError(f"mapping {item!r} must look like 'Source column=channel_name'")
        mapping[source.strip()] = target.strip()
    return mapping


def _target(name: str, target: str, where: str) -> Target:
    if target == "-":
        return Target(None)
    sign = -1.0 if target.startswith("-") else 1.0
    channel = target.lstrip("-")
    if channel not in CHANNELS:
        raise FileImportError(
            "unknown-channel",
            f"{where}: column {name!r} is mapped to {channel!r}, which is not a known channel",
            field=name,
        )
    return Target(channel, sign)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"mot", "sto"}:
        return "mot"
    if suffix in FORMATS:
        return suffix
    raise FileImportError(
        "bad-file", f"{path.name}: cannot tell the format from {path.suffix!r}; use --format"
    )


def read_recording(
    path: Path,
    mapping: dict[str, str] | None = None,
    file_format: str | None = None,
    sampling_rate_hz: float | None = None,
    max_nan_run_s: float = 0.5,
    data: bytes | None = None,
    name: str | None = None,
) -> ImportedFile:
    """Read one file (from ``path``, or from ``data`` when given) into a checked Recording."""
    label = name or path.name
    kind = file_format or detect_format(Path(label))
    raw = data if data is not None else path.read_bytes()
    mapping = mapping or {}
    if sampling_rate_hz is not None:
        sampling_rate_hz = checked_rate(sampling_rate_hz, label, "the given sampling rate")
    if kind == "csv":
        return _read_table_text(raw, label, mapping, sampling_rate_hz, max_nan_run_s, ",")
    if kind == "mot":
        return _read_mot(raw, label, mapping, max_nan_run_s)
    if kind == "parquet":
        return _read_parquet(raw, label, mapping, sampling_rate_hz, max_nan_run_s)
    if kind == "c3d":
        return _read_c3d(raw, label, mapping, max_nan_run_s)
    raise FileImportError("bad-file", f"{label}: unknown format {kind!r}; one of {FORMATS}")


def _rate_from_time(time_s: np.ndarray, label: str, first_line: int | None) -> float:
    if len(time_s) < 2:
        raise FileImportError("bad-file", f"{label}: needs at least two samples")
    infinite = np.flatnonzero(~np.isfinite(time_s))
    if infinite.size:
        k = int(infinite[0])
        where = f"line {first_line + k}" if first_line is not None else f"sample {k}"
        raise FileImportError("bad-file", f"{label} {where}: the time {time_s[k]:g} is not finite")
    diffs = np.diff(time_s)
    bad = np.flatnonzero(diffs <= 0)
    if bad.size:
        k = int(bad[0]) + 1
        where = f"line {first_line + k}" if first_line is not None else f"sample {k}"
        code = "duplicate-timestamps" if diffs[bad[0]] == 0 else "non-monotonic-timestamps"
        raise FileImportError(
            code, f"{label} {where}: time {time_s[k]:g} s does not come after {time_s[k - 1]:g} s"
        )
    interval = float(np.median(diffs))
    uneven = np.flatnonzero(np.abs(diffs - interval) > RATE_TOLERANCE * interval)
    if uneven.size:
        k = int(uneven[0]) + 1
        where = f"line {first_line + k}" if first_line is not None else f"sample {k}"
        raise FileImportError(
            "wrong-sampling-rate",
            f"{label} {where}: samples are not evenly spaced ({diffs[k - 1]:g} s after the "
            f"previous sample, {interval:g} s elsewhere)",
        )
    with np.errstate(over="ignore", divide="ignore"):
        rate = 1.0 / interval
    return checked_rate(rate, label, "the time column's rate")


def _finish(
    label: str,
    columns: dict[str, np.ndarray],
    fs: float,
    start_time_s: float,
    first_line: int | None,
    max_nan_run_s: float,
    ignored: list[str],
    meta: dict[str, object] | None = None,
) -> ImportedFile:
    if not columns:
        raise FileImportError(
            "unknown-channel",
            f"{label}: no column maps to a known channel (columns ignored: "
            f"{', '.join(ignored) or 'none'}); map them with --map 'Column=channel_name'",
        )
    n = len(next(iter(columns.values())))
    if n < 2:
        raise FileImportError("bad-file", f"{label}: needs at least two samples, has {n}")
    time_s = start_time_s + np.arange(n) / fs
    try:
        check_values(columns, dict.fromkeys(columns, ""), fs, time_s, max_nan_run_s)
    except TelemetryRejected as exc:
        sample = exc.extra.get("sample")
        where = ""
        if isinstance(sample, int):
            where = f" line {first_line + sample}" if first_line is not None else ""
        raise FileImportError(exc.code, f"{label}{where}: {exc.detail}", field=exc.field) from None
    return ImportedFile(Recording(fs, columns, start_time_s, dict(meta or {})), ignored)


def _map_columns(
    header: list[str], mapping: dict[str, str], label: str, lenient: dict[str, str] | None
) -> tuple[dict[int, Target], int | None, list[str]]:
    """Column index → target, the time column index, and ignored column names."""
    targets: dict[int, Target] = {}
    time_index: int | None = None
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for index, column in enumerate(header):
        name = column.strip()
        if name in mapping:
            target = _target(name, mapping[name], label)
        elif name.lower() in TIME_COLUMNS:
            time_index = index
            continue
        elif name in CHANNELS:
            target = Target(name)
        elif lenient is not None and name in lenient:
            target = Target(lenient[name])
        elif lenient is not None:
            ignored.append(name)
            continue
        else:
            raise FileImportError(
                "unknown-channel",
                f'{label} line 1, column {index + 1} "{name}": not a known channel; map it with '
                f"--map '{name}=channel_name' (or '{name}=-' to ignore it)",
                field=name,
            )
        if target.channel is None:
            ignored.append(name)
            continue
        if target.channel in seen:
            raise FileImportError(
                "bad-file",
                f'{label}: columns "{seen[target.channel]}" and "{name}" both map to '
                f"{target.channel}",
            )
        seen[target.channel] = name
        targets[index] = target
    return targets, time_index, ignored


def _numbers(
    rows: Iterable[list[str]], header: list[str], label: str, first_line: int
) -> np.ndarray:
    """The cells of ``rows`` as a float table (empty and ``nan``/``na`` cells as NaN).

    Rows are consumed one at a time into a flat buffer of doubles, so a large file costs 8 bytes
    per cell rather than a Python string and list entry per cell (about 20 times its size).
    """
    width = len(header)
    cells = array("d")
    nan = math.nan
    for r, row in enumerate(rows):
        if len(row) != width:
            raise FileImportError(
                "bad-file",
                f"{label} line {first_line + r}: {len(row)} fields, the header has {width}",
            )
        for c, cell in enumerate(row):
            cell = cell.strip()
            if cell == "" or cell.lower() in {"nan", "na"}:
                cells.append(nan)
                continue
            try:
                cells.append(float(cell))
            except ValueError:
                raise FileImportError(
                    "bad-file",
                    f'{label} line {first_line + r}, column {c + 1} "{header[c].strip()}": '
                    f"{cell!r} is not a number",
                    field=header[c].strip(),
                ) from None
    return np.frombuffer(cells, dtype=np.float64).reshape(-1, width)


def _read_table_text(
    raw: bytes,
    label: str,
    mapping: dict[str, str],
    sampling_rate_hz: float | None,
    max_nan_run_s: float,
    delimiter: str,
) -> ImportedFile:
    # Decoded and split as it is read: neither the whole text nor a list of its rows is held.
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    rows = (row for row in reader if any(cell.strip() for cell in row))
    try:
        header = next(rows, None)
        if header is None:
            raise FileImportError("bad-file", f"{label}: needs a header line and at least two rows")
        targets, time_index, ignored = _map_columns(header, mapping, label, None)
        table = _numbers(rows, header, label, first_line=2)
    except UnicodeDecodeError as exc:
        raise FileImportError("bad-file", f"{label}: not UTF-8 text ({exc})") from None
    except csv.Error as exc:  # a stray carriage return or NUL, an unclosed quote
        raise FileImportError("bad-file", f"{label} line {reader.line_num}: {exc}") from None
    if len(table) < 2:
        raise FileImportError("bad-file", f"{label}: needs a header line and at least two rows")
    return _columns_to_recording(
        label, table, targets, time_index, sampling_rate_hz, 2, max_nan_run_s, ignored
    )


def _columns_to_recording(
    label: str,
    table: np.ndarray,
    targets: dict[int, Target],
    time_index: int | None,
    sampling_rate_hz: float | None,
    first_line: int | None,
    max_nan_run_s: float,
    ignored: list[str],
    scale: float = 1.0,
) -> ImportedFile:
    if time_index is not None:
        time_s = table[:, time_index]
        if np.isnan(time_s).any():
            k = int(np.flatnonzero(np.isnan(time_s))[0])
            where = f" line {first_line + k}" if first_line is not None else ""
            raise FileImportError("bad-file", f"{label}{where}: the time is missing")
        fs = _rate_from_time(time_s, label, first_line)
        if (
            sampling_rate_hz is not None
            and abs(fs - sampling_rate_hz) > RATE_TOLERANCE * sampling_rate_hz
        ):
            raise FileImportError(
                "wrong-sampling-rate",
                f"{label}: the time column says {fs:.4g} Hz, --rate says {sampling_rate_hz:g} Hz",
            )
        start = float(time_s[0])
        if start > LATEST_START_TIME_S:
            raise FileImportError(
                "bad-file",
                f"{label}: the time column starts at {start:g} s, neither seconds from the start "
                f"(below 1e8) nor a Unix time before {LATEST_DATE.year + 1}",
            )
    elif sampling_rate_hz is not None:
        fs, start = sampling_rate_hz, 0.0
    else:
        raise FileImportError(
            "wrong-sampling-rate",
            f"{label}: no time column ({', '.join(TIME_COLUMNS)}); give the rate with --rate",
        )
    columns = {
        t.channel: table[:, index] * t.sign * (scale if CHANNELS[t.channel].unit == "deg" else 1.0)
        for index, t in targets.items()
        if t.channel is not None
    }
    # A file's time column is relative (0 s = first sample); the session start is import time.
    return _finish(
        label, columns, fs, 0.0 if start < 1e8 else start, first_line, max_nan_run_s, ignored
    )


def _read_mot(
    raw: bytes, label: str, mapping: dict[str, str], max_nan_run_s: float
) -> ImportedFile:
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise FileImportError("bad-file", f"{label}: not UTF-8 text ({exc})") from None
    end = next((i for i, line in enumerate(lines) if line.strip().lower() == "endheader"), None)
    if end is None:
        raise FileImportError("bad-file", f"{label}: no 'endheader' line; not an OpenSim file")
    in_degrees = True
    declared_rows: int | None = None
    for line in lines[:end]:
        key, _, value = line.partition("=")
        if key.strip().lower() == "indegrees":
            in_degrees = value.strip().lower() != "no"
        elif key.strip().lower() in {"nrows", "datarows"} and value.strip().isdigit():
            declared_rows = int(value.strip())
    if end + 1 >= len(lines):
        raise FileImportError("bad-file", f"{label}: no column header after 'endheader'")
    header = lines[end + 1].split("\t") if "\t" in lines[end + 1] else lines[end + 1].split()
    header = [h.strip() for h in header]
    targets, time_index, ignored = _map_columns(header, mapping, label, OPENSIM_COORDINATES)
    first_line = end + 3  # 1-based line of the first data row
    rows = [
        (line.split("\t") if "\t" in line else line.split())
        for line in lines[end + 2 :]
        if line.strip()
    ]
    if declared_rows is not None and len(rows) < declared_rows:
        raise FileImportError(
            "bad-file",
            f"{label}: truncated: the header declares {declared_rows} rows, the file holds "
            f"{len(rows)}",
        )
    table = _numbers(rows, header, label, first_line)
    scale = 1.0 if in_degrees else 180.0 / math.pi
    return _columns_to_recording(
        label, table, targets, time_index, None, first_line, max_nan_run_s, ignored, scale
    )


def _read_parquet(
    raw: bytes,
    label: str,
    mapping: dict[str, str],
    sampling_rate_hz: float | None,
    max_nan_run_s: float,
) -> ImportedFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileImportError("bad-file", f"{label}: not a readable Parquet file ({exc})") from None
    header = list(table.column_names)
    targets, time_index, ignored = _map_columns(header, mapping, label, None)
    try:
        matrix = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in header]
        )
    except (ValueError, TypeError, pa.ArrowException) as exc:
        raise FileImportError(
            "bad-file", f"{label}: every column must be numeric ({exc})"
        ) from None
    metadata = table.schema.metadata or {}
    rate = sampling_rate_hz
    if rate is None and b"sampling_rate_hz" in metadata:
        rate = checked_rate(metadata[b"sampling_rate_hz"], label, "metadata sampling_rate_hz")
    return _columns_to_recording(
        label, matrix, targets, time_index, rate, None, max_nan_run_s, ignored
    )


def _read_c3d(
    raw: bytes, label: str, mapping: dict[str, str], max_nan_run_s: float
) -> ImportedFile:
    try:
        content = read_c3d(raw)
    except C3DRefused as exc:
        raise FileImportError("bad-file", f"{label}: not a readable C3D file ({exc})") from None
    point_rate = checked_rate(content.point_rate_hz, label, "the POINT:RATE parameter")
    n_frames = content.points_x.shape[1] if content.points_x.ndim == 2 else 0
    if content.declared_frames is not None and n_frames < content.declared_frames:
        raise FileImportError(
            "bad-file",
            f"{label}: truncated: the header declares {content.declared_frames} frames, the "
            f"file holds {n_frames}",
        )
    columns: dict[str, np.ndarray] = {}
    ignored: list[str] = []
    for index, name in enumerate(content.point_labels):
        target = (
            _target(name, mapping[name], label) if name in mapping else Target(C3D_POINTS.get(name))
        )
        if target.channel is None or index >= content.points_x.shape[0]:
            ignored.append(name)
            continue
        columns[target.channel] = content.points_x[index, :] * target.sign
    for index, name in enumerate(content.analog_labels):
        if name not in mapping and name not in CHANNELS:
            ignored.append(name)
            continue
        target = _target(name, mapping.get(name, name), label)
        if target.channel is None or index >= content.analogs.shape[0]:
            ignored.append(name)
            continue
        if not math.isclose(content.analog_rate_hz, point_rate):
            raise FileImportError(
                "wrong-sampling-rate",
                f'{label}: analog channel "{name}" runs at {content.analog_rate_hz:g} Hz, the '
                f"joint angles at {point_rate:g} Hz; resample it first",
                field=name,
            )
        if content.analogs.shape[1] < n_frames:
            raise FileImportError(
                "bad-file",
                f'{label}: analog channel "{name}" has {content.analogs.shape[1]} samples, the '
                f"joint angles {n_frames}",
                field=name,
            )
        columns[target.channel] = content.analogs[index, :n_frames] * target.sign
    return _finish(label, columns, point_rate, 0.0, None, max_nan_run_s, ignored)
