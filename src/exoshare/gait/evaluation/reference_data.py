"""Readers for the public foot-IMU reference recordings in the shared folder (evaluation only).

The files are described in ``<shared>/data/gait/README.md``; they are read in place and never copied
into the repository. ``<shared>`` is ``$EXOSHARE_SHARED_DIR`` or ``<repo>/../shared``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exoshare.gait.recording import Recording

_REPO_ROOT = Path(__file__).resolve().parents[4]
FOOT_IMU_SAMPLING_RATE_HZ = 204.8
MS_SAMPLING_RATE_HZ = 102.4
_AXES = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


def shared_dir() -> Path:
    """The shared folder: ``$EXOSHARE_SHARED_DIR`` if set, else ``<repo>/../shared``."""
    env = os.environ.get("EXOSHARE_SHARED_DIR")
    return Path(env) if env else _REPO_ROOT.parent / "shared"


def foot_imu_dir() -> Path:
    """Folder of the foot-IMU reference set (may not exist on a machine without shared data)."""
    return shared_dir() / "data" / "gait" / "foot-imu"


def _channel_name(axis: str, side: str) -> str:
    kind, ax = axis.split("_")
    unit = "mps2" if kind == "acc" else "dps"
    return f"foot_{kind}_{ax}_{side}_{unit}"


def _read_two_header_csv(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        sensors = next(reader)
        axes = next(reader)
    values = np.loadtxt(path, delimiter=",", skiprows=2, dtype=np.float64)
    return sensors, axes, values


def load_two_foot_recording(filename: str = "imu_sample.csv") -> Recording:
    """Load a synchronised two-sensor file (``imu_sample.csv``, stairs) as a Recording.

    Axes are kept in the sensor frame the README states (x to the toes, y left, z up), which is the
    frame of the registry's ``foot_*`` channels; units are m/s² and deg/s as in the file.
    """
    path = foot_imu_dir() / filename
    sensors, axes, values = _read_two_header_csv(path)
    channels: dict[str, np.ndarray] = {}
    for col, (sensor, axis) in enumerate(zip(sensors, axes, strict=True)):
        if axis in _AXES and sensor in ("left_sensor", "right_sensor"):
            channels[_channel_name(axis, sensor.removesuffix("_sensor"))] = values[:, col]
    return Recording(
        FOOT_IMU_SAMPLING_RATE_HZ,
        channels,
        meta={"source": f"gaitmap example data: {filename}", "sensor_position": "foot"},
    )


def load_single_foot_recording(side: str) -> Recording:
    """Load one of the unsynchronised MS files (``imu_sample_ms_<side>.csv``), one foot."""
    path = foot_imu_dir() / f"imu_sample_ms_{side}.csv"
    with path.open(newline="") as fh:
        header = next(csv.reader(fh))
    values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    channels = {
        _channel_name(name, side): values[:, col]
        for col, name in enumerate(header)
        if name in _AXES
    }
    return Recording(
        MS_SAMPLING_RATE_HZ,
        channels,
        meta={
            "source": f"gaitmap example data: imu_sample_ms_{side}.csv",
            "sensor_position": "foot",
        },
    )


@dataclass(frozen=True)
class ReferenceStrides:
    """Motion-capture reference of one foot, times in seconds from the first IMU sample.

    Each reference stride runs from the previous initial contact ``pre_ic_s`` to ``ic_s``
    (IC-to-IC, the definition the engine's stride table uses); ``tc_s`` is the toe-off inside the
    original min_vel-to-min_vel stride and ``min_vel_s`` its mid-stance.
    """

    side: str
    pre_ic_s: np.ndarray
    ic_s: np.ndarray
    tc_s: np.ndarray
    min_vel_s: np.ndarray


def load_reference_strides(
    filename: str = "stride_events_sample.csv",
    sampling_rate_hz: float = FOOT_IMU_SAMPLING_RATE_HZ,
) -> dict[str, ReferenceStrides]:
    """Reference events per foot from ``stride_events_sample.csv`` (sample indices -> seconds)."""
    path = foot_imu_dir() / filename
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, ReferenceStrides] = {}
    for side in ("left", "right"):
        mine = [r for r in rows if r["foot"] == side]

        def col(key: str, mine: list[dict[str, str]] = mine) -> np.ndarray:
            return np.array([float(r[key]) for r in mine]) / sampling_rate_hz

        out[side] = ReferenceStrides(side, col("pre_ic"), col("ic"), col("tc"), col("min_vel"))
    return out
