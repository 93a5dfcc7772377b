"""The lean live-window analysis (``analyse_rolling``) reports exactly what ``analyse`` reports for
the values the live hub shows, and refuses exactly the windows ``analyse`` refuses."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from exoshare.demo.gait_profiles import healthy_profile, profile_for
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.gait.analysis import analyse, analyse_rolling
from exoshare.gait.evaluation.reference_data import foot_imu_dir, load_two_foot_recording
from exoshare.gait.recording import Recording

FS = 100.0
HUB_CHANNELS = (
    *(
        f"{joint}_angle_{side}_deg"
        for joint in ("hip", "knee", "ankle")
        for side in ("left", "right")
    ),
    "shank_gyr_z_left_dps",
    "shank_gyr_z_right_dps",
)
PROFILES = {
    "healthy": healthy_profile,
    "stroke": lambda: profile_for("stroke", "moderate", 1.72, 75.0, np.random.default_rng(1)),
    "spinal_cord_injury": lambda: profile_for(
        "spinal_cord_injury", "severe", 1.80, 82.0, np.random.default_rng(2)
    ),
}


@cache
def _session(profile: str, seed: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """40 s of simulated device output and its metadata as the hub keeps it (scalars only)."""
    device = VirtualExoskeleton(PROFILES[profile](), seed=seed)
    data = device.next_batch(int(40 * FS))
    meta = {k: v for k, v in device.recording_meta().items() if isinstance(v, str | int | float)}
    return data, meta


def _windows(profile: str, seed: int) -> list[Recording]:
    """10 s windows every 5 s with the hub's channels, plus the whole session with all channels."""
    data, meta = _session(profile, seed)
    windows = [
        Recording(FS, {c: data[c][a : a + 1000] for c in HUB_CHANNELS}, a / FS, dict(meta))
        for a in range(0, 3001, 500)
    ]
    return [*windows, Recording(FS, dict(data), 0.0, dict(meta))]


def _assert_same(rec: Recording) -> None:
    full = analyse(rec)
    lean = analyse_rolling(rec)
    assert list(lean.events) == list(full.events)
    for side, events in full.events.items():
        assert np.array_equal(lean.events[side].ic_s, events.ic_s)
    np.testing.assert_array_equal(lean.cadence_steps_per_min, full.cadence_steps_per_min)
    np.testing.assert_array_equal(lean.step_time_si_pct, full.symmetry["step_time_s"]["si_pct"])
    knee = full.rom_deg.get("knee", {})
    assert list(lean.knee_rom_deg) == list(knee)
    np.testing.assert_array_equal(list(lean.knee_rom_deg.values()), list(knee.values()))


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("seed", [0, 5])
def test_same_values_as_analyse_on_simulated_sessions(profile: str, seed: int) -> None:
    for rec in _windows(profile, seed):
        _assert_same(rec)


def test_same_values_with_fallback_event_channels() -> None:
    """Without gyros the events come from the knee, or the hip, angle; one leg only also works."""
    data, meta = _session("stroke", 0)
    knees = {c: data[c][:1000] for c in HUB_CHANNELS if "gyr" not in c}
    hips = {c: v for c, v in knees.items() if c.startswith("hip")}
    one_leg = {c: data[c][:1000] for c in HUB_CHANNELS if c.endswith(("left_deg", "left_dps"))}
    for channels in (knees, hips, one_leg):
        _assert_same(Recording(FS, channels, 0.0, dict(meta)))


@pytest.mark.skipif(
    not foot_imu_dir().is_dir(),
    reason=f"shared reference data not found at {foot_imu_dir()} (set EXOSHARE_SHARED_DIR)",
)
def test_same_values_on_the_foot_imu_reference() -> None:
    _assert_same(load_two_foot_recording())


def _outcome(fn: Callable[[Recording], object], rec: Recording) -> tuple[type, str] | None:
    try:
        fn(rec)
    except ValueError as error:
        return type(error), str(error)
    return None


def _refused_windows() -> list[Recording]:
    data, meta = _session("stroke", 0)
    hub = {c: data[c][:1000] for c in HUB_CHANNELS}
    out = []
    # A dropout in any one channel, including ones the lean path computes nothing from (hip and
    # ankle angles): analyse refuses the window, so the live view must not half-report it.
    for name in HUB_CHANNELS:
        channels = {c: v.copy() for c, v in hub.items()}
        channels[name][400] = np.nan
        out.append(Recording(FS, channels, 0.0, dict(meta)))
    # Channels and settings only the skipped parts read: safety, assistance, leg geometry.
    for name in ("skin_temp_right_c", "interaction_force_left_n", "assistance_pct"):
        channels = {c: v[:1000].copy() for c, v in data.items()}
        channels[name][10] = np.inf
        out.append(Recording(FS, channels, 0.0, dict(meta, interaction_force_limit_n=60.0)))
    for bad in ({"thigh_length_m": "?"}, {"skin_temp_limit_c": "hot"}):
        out.append(Recording(FS, dict(hub), 0.0, dict(meta, **bad)))
    forces = {c: v[:1000] for c, v in data.items()}
    out.append(Recording(FS, forces, 0.0, dict(meta, interaction_force_limit_n="high")))
    out.append(Recording(FS, {c: v[:50] for c, v in hub.items()}, 0.0, dict(meta)))  # too short
    out.append(Recording(FS, {}, 0.0))
    out.append(Recording(FS, {"battery_pct": np.full(1000, 80.0)}, 0.0))
    return out


def test_refuses_exactly_the_windows_analyse_refuses() -> None:
    for rec in _refused_windows():
        refusal = _outcome(analyse, rec)
        assert refusal is not None
        assert _outcome(analyse_rolling, rec) == refusal
