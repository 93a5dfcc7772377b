"""Fuzzing the recording readers: any bytes give a checked Recording or a FileImportError.

Each reader (CSV, OpenSim .mot, Parquet, C3D) gets random bytes and mutations of a valid file
(flipped bytes, overwritten words, cut-off ends, odd tokens), and the table readers get
structured tables full of NaN, infinities, text and odd sampling rates. No other exception may
escape, and whatever is accepted must be a recording the analysis can trust. Derandomized,
so a failure repeats on every run.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from exoshare.errors import FileImportError
from exoshare.gait.analysis import analyse
from exoshare.gait.errors import GaitDataError
from exoshare.telemetry import c3d
from exoshare.telemetry.files import ImportedFile, read_recording
from exoshare.telemetry.validation import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ
from tests.telemetry.helpers import simulated_angles

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
N = 400  # samples of the valid files the mutations start from (4 s at 100 Hz: two strides)


def _valid_csv() -> bytes:
    angles = simulated_angles(N)
    names = ["knee_angle_left_deg", "knee_angle_right_deg", "hip_angle_left_deg"]
    lines = ["time_s," + ",".join(names)] + [
        f"{k / 100:.2f}," + ",".join(f"{angles[n][k]:.3f}" for n in names) for k in range(N)
    ]
    return ("\n".join(lines) + "\n").encode()


def _valid_mot() -> bytes:
    angles = simulated_angles(N)
    head = f"walk\nversion=1\nnRows={N}\nnColumns=3\ninDegrees=yes\nendheader\n"
    rows = [
        f"{k / 100:.3f}\t{angles['knee_angle_left_deg'][k]:.4f}\t"
        f"{angles['knee_angle_right_deg'][k]:.4f}"
        for k in range(N)
    ]
    return (head + "time\tknee_angle_l\tknee_angle_r\n" + "\n".join(rows) + "\n").encode()


def _parquet(columns: dict[str, object], metadata: dict[bytes, bytes] | None) -> bytes:
    table = pa.table(columns)
    if metadata is not None:
        table = table.replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _valid_parquet() -> bytes:
    angles = simulated_angles(N)
    return _parquet(
        {"knee_angle_left_deg": angles["knee_angle_left_deg"]}, {b"sampling_rate_hz": b"100"}
    )


def _valid_c3d(tmp: Path) -> bytes:
    import ezc3d

    angles = simulated_angles(N)
    file = ezc3d.c3d()
    file["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    file["parameters"]["POINT"]["LABELS"]["value"] = ("LKneeAngles", "RKneeAngles")
    points = np.zeros((4, 2, N))
    points[0, 0] = angles["knee_angle_left_deg"]
    points[0, 1] = angles["knee_angle_right_deg"]
    points[3] = 1
    file["data"]["points"] = points
    path = tmp / "valid.c3d"
    file.write(str(path))
    return path.read_bytes()


TOKENS = [
    b"nan",
    b"inf",
    b"-inf",
    b"1e999",
    b"-1e999",
    b"",
    b",",
    b"\t",
    b"\n",
    b"\x00",
    b"\xff\xfe",
    b"endheader",
    b"time",
    b"-0",
    b"1e-320",
    b"9" * 400,
    b'"',
    b"\r",
]


@st.composite
def mutated(draw: st.DrawFn, valid: bytes, region: int | None = None) -> bytes:
    """``valid`` with a few edits, each in the first ``region`` bytes when given."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        limit = min(len(data), region or len(data))
        at = draw(st.integers(0, limit - 1))
        kind = draw(st.sampled_from(["flip", "word", "cut", "insert", "delete"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "word":
            data[at : at + 2] = draw(st.sampled_from([b"\xff\xff", b"\x00\x00", b"\xff\x7f"]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


def _only_recording_or_domain_error(
    raw: bytes, name: str, rate: float | None = None, analysed: bool = False
) -> None:
    try:
        imported = read_recording(Path(name), data=raw, name=name, sampling_rate_hz=rate)
    except FileImportError as exc:
        assert exc.detail.startswith(name), exc.detail  # names the file
        assert exc.status == 422
        event(f"refused: {exc.code}")
        return
    event("accepted")
    _assert_trustworthy(imported)
    if analysed:
        # What `exoshare analyse` does next: the only error it may meet is the engine's own.
        with contextlib.suppress(GaitDataError):
            analyse(imported.recording)


def _assert_trustworthy(imported: ImportedFile) -> None:
    recording = imported.recording
    assert math.isfinite(recording.sampling_rate_hz)
    assert MIN_SAMPLING_RATE_HZ <= recording.sampling_rate_hz <= MAX_SAMPLING_RATE_HZ
    assert recording.n_samples >= 2
    for values in recording.channels.values():
        assert len(values) == recording.n_samples
        assert not np.isinf(values).any()


RATES = st.one_of(
    st.none(),
    st.just(100.0),
    st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -100.0, 1e300]),
)


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[bytes, float | None]:
    """Well-formed CSV whose numbers are anything: NaN runs, infinities, huge, uneven times."""
    n = draw(st.integers(0, 300))
    names = draw(
        st.lists(
            st.sampled_from(["knee_angle_left_deg", "knee_angle_right_deg", "hip_angle_left_deg"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    value = draw(
        st.sampled_from(
            [
                st.floats(-150, 150),  # possible angles: these tables should be accepted
                st.floats(-150, 150) | st.just(math.nan),
                st.floats(allow_nan=True, allow_infinity=True),
            ]
        )
    )
    interval = draw(st.sampled_from([0.01, 0.005]) | st.floats(allow_nan=True))
    with_time = draw(st.booleans())
    lines = [",".join((["time_s"] if with_time else []) + names)]
    for k in range(n):
        cells = [repr(draw(value)) for _ in names]
        lines.append(",".join(([repr(k * interval)] if with_time else []) + cells))
    # Mostly the rate such a file needs (none beside a time column), sometimes any rate.
    rate = draw(st.sampled_from([None if with_time else 100.0]) | RATES)
    return ("\n".join(lines) + "\n").encode(), rate


@FUZZ
@given(
    case=st.one_of(st.tuples(st.binary(max_size=2000) | mutated(_valid_csv()), RATES), csv_tables())
)
@example(case=(b"", None))
@example(case=(b"knee_angle_left_deg\n1\n2\n3\n", float("nan")))
@example(case=(b"knee_angle_left_deg\n1\n2\n3\n", -5.0))
@example(case=(b"time_s,knee_angle_left_deg\n0,1\n1e308,1\ninf,3\n", None))
@example(case=(b"time_s,knee_angle_left_deg\n0,1\n0,1\r2\n", None))
def test_csv_reader(case: tuple[bytes, float | None]) -> None:
    raw, rate = case
    _only_recording_or_domain_error(raw, "walk.csv", rate, analysed=True)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2000), mutated(_valid_mot())))
@example(raw=b"endheader\n")
@example(raw=b"endheader\ntime\tknee_angle_r\n0\t1\n")
def test_opensim_reader(raw: bytes) -> None:
    _only_recording_or_domain_error(raw, "walk.mot", analysed=True)


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
)
RATE_METADATA = st.one_of(
    st.none(),
    st.binary(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: repr(x).encode()),
    st.sampled_from([b"fast", b"nan", b"-100", b"0", b"inf", b"100", b"1e5"]),
)


@st.composite
def parquet_tables(draw: st.DrawFn) -> bytes:
    """Tables of odd shapes and values with odd rate metadata."""
    n = draw(st.integers(0, 50))
    columns: dict[str, object] = {}
    names = draw(
        st.lists(
            st.sampled_from(["knee_angle_left_deg", "hip_angle_right_deg", "time_s", "Knee L"]),
            max_size=3,
            unique=True,
        )
    )
    for name in names:
        kind = draw(st.sampled_from(["float", "int", "text", "nested"]))
        if kind == "float":
            columns[name] = draw(st.lists(st.floats(), min_size=n, max_size=n))
        elif kind == "int":
            values = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
            columns[name] = pa.array(values, pa.int64())
        elif kind == "text":
            columns[name] = draw(st.lists(st.text(max_size=4), min_size=n, max_size=n))
        else:
            columns[name] = [[1.0]] * n
    rate = draw(RATE_METADATA)
    return _parquet(columns, None if rate is None else {b"sampling_rate_hz": rate})


@FUZZ
@given(raw=st.one_of(parquet_tables(), mutated(_valid_parquet()), st.binary(max_size=600)))
def test_parquet_reader(raw: bytes) -> None:
    _only_recording_or_domain_error(raw, "walk.parquet", analysed=True)


@pytest.fixture(scope="module")
def valid_c3d(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _valid_c3d(tmp_path_factory.mktemp("c3d"))


def test_c3d_reader(valid_c3d: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # A mutated header can make ezc3d loop; two seconds are plenty for a 7 kB file.
    monkeypatch.setattr(c3d, "TIMEOUT_S", 2.0)
    unmutated = read_recording(Path("walk.c3d"), data=valid_c3d, name="walk.c3d")
    assert unmutated.recording.n_samples == N

    # Each case starts a child process (~0.3 s), so fewer of them than for the other readers;
    # the edits stay in the header and parameter blocks (the first 2 kB), where ezc3d fails.
    @settings(FUZZ, max_examples=80)
    @given(raw=st.one_of(mutated(valid_c3d, region=2048), st.binary(max_size=1024)))
    def fuzz(raw: bytes) -> None:
        _only_recording_or_domain_error(raw, "walk.c3d")

    fuzz()


def test_c3d_cut_short_is_refused_as_truncated(valid_c3d: bytes) -> None:
    with pytest.raises(FileImportError, match=r"truncated: the header declares 400 frames"):
        read_recording(Path("walk.c3d"), data=valid_c3d[: len(valid_c3d) - 1200], name="walk.c3d")


def test_opensim_file_cut_short_is_refused_as_truncated() -> None:
    valid = _valid_mot()
    cut = valid[: valid.rindex(b"\n", 0, len(valid) // 2) + 1]
    with pytest.raises(FileImportError, match=r"truncated: the header declares 400 rows, the file"):
        read_recording(Path("walk.mot"), data=cut, name="walk.mot")
