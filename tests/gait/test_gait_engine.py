"""Behaviour of the gait engine on known signals, bad input and real reference data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exoshare.gait.analysis import analyse
from exoshare.gait.errors import GaitDataError, NoGaitChannels
from exoshare.gait.evaluation import (
    match_events,
    match_strides,
    precision_recall_f1,
    stride_time_errors,
    timing_errors,
)
from exoshare.gait.evaluation.reference_data import (
    foot_imu_dir,
    load_reference_strides,
    load_two_foot_recording,
)
from exoshare.gait.evaluation.validation import score_foot
from exoshare.gait.events import GyroEventDetection, JointAngleEventDetection
from exoshare.gait.kinematics import normalise_cycles, stride_rom_deg
from exoshare.gait.metrics import symmetry_index_pct, symmetry_ratio
from exoshare.gait.recording import Recording
from exoshare.gait.report import summary_json, summary_table

FS = 100.0


def shank_rate(t: np.ndarray, stride_s: float, offset_s: float) -> np.ndarray:
    """Swing-positive shank rate: 300 deg/s swing bump, IC at the falling zero."""
    phase = ((t - offset_s) / stride_s) % 1.0
    # Swing occupies phase 0.6..1.0: positive half-sine, zero crossing (IC) at phase 1.0.
    swing = np.where(phase >= 0.6, 300 * np.sin(np.pi * (phase - 0.6) / 0.4), 0.0)
    stance = np.where(phase < 0.6, -60 * np.sin(np.pi * phase / 0.6), 0.0)
    return swing + stance


def test_gyro_events_at_known_times() -> None:
    t = np.arange(0, 20, 1 / FS)
    det = GyroEventDetection().detect(shank_rate(t, 1.2, 0.3), sampling_rate_hz=FS)
    expected_ic = 0.3 + 1.2 * np.arange(1, 17)
    got = det.ic_s_
    assert got.size == expected_ic.size
    np.testing.assert_allclose(got, expected_ic, atol=0.015)


def test_cadence_and_stride_time_of_periodic_two_leg_signal() -> None:
    t = np.arange(0, 60, 1 / FS)
    rec = Recording(
        FS,
        {
            "shank_gyr_z_left_dps": shank_rate(t, 1.2, 0.0),
            "shank_gyr_z_right_dps": shank_rate(t, 1.2, 0.6),
        },
    )
    s = analyse(rec)
    assert s.cadence_steps_per_min == pytest.approx(100.0, abs=0.5)  # 2 steps per 1.2 s
    assert s.parameters["stride_time_s"]["both"].mean == pytest.approx(1.2, abs=0.005)
    assert s.parameters["step_time_s"]["left"].mean == pytest.approx(0.6, abs=0.01)
    assert s.symmetry["step_time_s"]["si_pct"] == pytest.approx(0.0, abs=1.0)


def test_symmetry_of_known_asymmetry() -> None:
    t = np.arange(0, 60, 1 / FS)
    # Right IC 0.45 s after left IC in a 1.2 s stride: left steps 0.75 s, right steps 0.45 s.
    rec = Recording(
        FS,
        {
            "shank_gyr_z_left_dps": shank_rate(t, 1.2, 0.0),
            "shank_gyr_z_right_dps": shank_rate(t, 1.2, 0.45),
        },
    )
    s = analyse(rec)
    assert s.parameters["step_time_s"]["left"].mean == pytest.approx(0.75, abs=0.01)
    assert s.parameters["step_time_s"]["right"].mean == pytest.approx(0.45, abs=0.01)
    assert s.symmetry["step_time_s"]["si_pct"] == pytest.approx(100 * 0.3 / 0.6, abs=2.0)
    assert s.symmetry["step_time_s"]["ratio"] == pytest.approx(0.75 / 0.45, abs=0.03)
    assert symmetry_index_pct(0.6, 0.4) == pytest.approx(40.0)
    assert symmetry_ratio(0.4, 0.6) == pytest.approx(1.5)


def test_rom_and_cycle_curve_of_known_sine() -> None:
    t = np.arange(0, 10, 1 / FS)
    angle = 10 + 25 * np.sin(2 * np.pi * t)
    starts, ends = np.arange(0.0, 9.0), np.arange(1.0, 10.0)
    np.testing.assert_allclose(stride_rom_deg(angle, starts, ends, FS), 50.0, atol=0.1)
    cc = normalise_cycles(angle, starts, ends, FS)
    assert cc.curves_deg.shape == (9, 101)
    assert cc.mean_deg[25] == pytest.approx(35.0, abs=0.05)
    assert cc.mean_deg[75] == pytest.approx(-15.0, abs=0.05)
    assert np.nanmax(cc.sd_deg) < 1e-6


def test_knee_angle_events_and_leg_model_distance() -> None:
    t = np.arange(0, 30, 1 / FS)
    stride = 1.0

    def knee(offset: float) -> np.ndarray:
        ph = ((t - offset) / stride) % 1.0
        # Flexion peak 60 deg at 72 % of the cycle, near-full extension at IC (0 %/100 %).
        swing = 55 * np.exp(-(((ph - 0.72) / 0.12) ** 2))
        loading = 5 * np.exp(-(((ph - 0.15) / 0.07) ** 2))
        return 5 + swing + loading

    def hip(offset: float) -> np.ndarray:
        ph = ((t - offset) / stride) % 1.0
        return 10 + 20 * np.cos(2 * np.pi * (ph - 0.0))

    det = JointAngleEventDetection().detect(knee(0.0), sampling_rate_hz=FS)
    ic_phase = (det.ic_s_ % stride) / stride
    assert np.all((ic_phase > 0.93) | (ic_phase < 0.07))
    rec = Recording(
        FS,
        {
            "knee_angle_left_deg": knee(0.0),
            "knee_angle_right_deg": knee(0.5),
            "hip_angle_left_deg": hip(0.0),
            "hip_angle_right_deg": hip(0.5),
        },
        meta={"leg_length_m": 0.9},
    )
    s = analyse(rec)
    assert s.spatial_model == "two_segment_leg"
    assert s.cadence_steps_per_min == pytest.approx(120.0, abs=1.0)
    # At IC: hips +30 / -10 deg, knees 5 / 6.9 deg; thigh 0.416 m, shank 0.484 m (Winter split of
    # 0.9 m): step = (0.208 + 0.2045) - (-0.0722 - 0.1407) = 0.625 m, stride 1.25 m.
    assert s.parameters["stride_length_m"]["both"].mean == pytest.approx(1.25, abs=0.03)
    assert s.speed_mps == pytest.approx(1.25, abs=0.03)
    assert s.rom_deg["knee"]["left"] == pytest.approx(55.0, abs=2.0)


def test_treadmill_speed_gives_stride_length_and_distance() -> None:
    t = np.arange(0, 60, 1 / FS)
    rec = Recording(
        FS,
        {
            "shank_gyr_z_left_dps": shank_rate(t, 1.2, 0.0),
            "shank_gyr_z_right_dps": shank_rate(t, 1.2, 0.6),
            "treadmill_speed_mps": np.full(t.size, 0.5),
        },
    )
    s = analyse(rec)
    assert s.spatial_model == "treadmill_belt_speed"
    assert s.parameters["stride_length_m"]["both"].mean == pytest.approx(0.6, abs=0.01)
    assert s.distance_m == pytest.approx(30.0, abs=0.01)
    assert s.speed_mps == pytest.approx(0.5, abs=0.01)


def test_assistance_and_safety_flags() -> None:
    t = np.arange(0, 60, 1 / FS)
    temp = np.full(t.size, 36.0)
    temp[2000:2500] = 42.0  # 5 s above a 41 degC limit
    force = np.zeros(t.size)
    force[3000:3100] = -250.0
    rec = Recording(
        FS,
        {
            "shank_gyr_z_left_dps": shank_rate(t, 1.2, 0.0),
            "assistance_pct": np.where(t < 20, 80.0, 30.0),
            "skin_temp_left_c": temp,
            "interaction_force_left_n": force,
        },
        meta={"skin_temp_limit_c": 41.0, "interaction_force_limit_n": 200.0},
    )
    s = analyse(rec)
    assert s.assistance_time_s == {"0-25": 0.0, "25-50": 40.0, "50-75": 0.0, "75-100": 20.0}
    kinds = {(f.kind, round(f.start_s, 2), round(f.end_s, 2)) for f in s.safety_flags}
    assert kinds == {("skin_temperature", 20.0, 25.0), ("interaction_force", 30.0, 31.0)}


def test_fall_detected_from_impact_stillness_and_posture() -> None:
    n = int(20 * FS)
    acc = np.tile([9.81, 0.0, 0.0], (n, 1))  # shank upright: x along the shank sees gravity
    acc[:1000] += np.random.default_rng(0).normal(0, 2.0, (1000, 3))  # walking
    acc[1000] = [20.0, 25.0, 15.0]  # impact ~3.6 g
    acc[1001:] = [0.0, 9.81, 0.0]  # lying still with the shank horizontal
    rec = Recording(
        FS,
        {f"shank_acc_{a}_left_mps2": acc[:, k] for k, a in enumerate("xyz")}
        | {"shank_gyr_z_left_dps": shank_rate(np.arange(n) / FS, 1.2, 0.0)},
    )
    falls = [f for f in analyse(rec).safety_flags if f.kind == "fall"]
    assert len(falls) == 1
    assert falls[0].start_s == pytest.approx(10.0)


def test_summary_is_json_serialisable_without_nan() -> None:
    t = np.arange(0, 30, 1 / FS)
    rec = Recording(FS, {"shank_gyr_z_left_dps": shank_rate(t, 1.2, 0.0)})
    s = analyse(rec)
    d = json.loads(summary_json(s))
    assert d["parameters"]["step_time_s"]["left"]["mean"] is None  # one leg: no step time
    assert d["strides"][0]["side"] == "left"
    assert summary_table(s).row_count > 10


def test_evaluation_helpers_on_hand_made_lists() -> None:
    det = np.array([1.00, 2.03, 2.06, 3.50, 5.0])
    ref = np.array([1.02, 2.00, 3.00, 4.0])
    d, r = match_events(det, ref, 0.05)
    assert d.tolist() == [0, 1] and r.tolist() == [0, 1]
    scores = precision_recall_f1(len(d), det.size, ref.size)
    assert (scores.precision, scores.recall) == (0.4, 0.5)
    assert scores.f1 == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    ds, de = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.2])
    rs, re = np.array([0.01, 1.0, 2.0]), np.array([1.0, 2.02, 3.0])
    d, r = match_strides(ds, de, rs, re, 0.05)
    assert d.tolist() == [0, 1]
    err = stride_time_errors(ds, de, rs, re, 0.05)
    np.testing.assert_allclose(err.errors_s, [0.01, -0.02], atol=1e-12)
    e = timing_errors(np.array([0.01, 0.03, -0.01, 0.05]))
    assert e.bias_s == pytest.approx(0.02)
    assert e.p95_abs_s == pytest.approx(np.percentile([0.01, 0.03, 0.01, 0.05], 95))


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({}, "empty"),
        ({"shank_gyr_z_left_dps": np.zeros(0)}, "empty"),
        ({"shank_gyr_z_left_dps": np.zeros(20)}, "too short"),
        (
            {"shank_gyr_z_left_dps": np.r_[np.zeros(500), np.nan, np.zeros(499)]},
            "shank_gyr_z_left_dps: 1 of 1000 samples are NaN",
        ),
    ],
)
def test_bad_input_raises_clear_value_error(channels: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyse(Recording(FS, channels))


def test_recording_without_gait_channels() -> None:
    with pytest.raises(NoGaitChannels, match="no channel to detect gait events"):
        analyse(Recording(FS, {"battery_pct": np.full(1000, 80.0)}))
    assert issubclass(NoGaitChannels, GaitDataError) and issubclass(GaitDataError, ValueError)


@pytest.mark.skipif(
    not foot_imu_dir().is_dir(),
    reason=f"shared reference data not found at {foot_imu_dir()} (set EXOSHARE_SHARED_DIR)",
)
def test_regression_on_foot_imu_reference() -> None:
    rec = load_two_foot_recording()
    ref = load_reference_strides()
    s = analyse(rec)
    for side, min_f1 in (("left", 0.94), ("right", 0.98)):
        v = score_foot(s.events[side].ic_s, s.events[side].fc_s, ref[side])
        assert v.strides.f1 >= min_f1, side
        assert v.stride_time.mean_abs_s < 0.010, side
        assert v.stride_time.p95_abs_s < 0.020, side
        assert abs(v.ic.bias_s) < 0.010, side
