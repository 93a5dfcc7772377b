"""Virtual exoskeleton behaviour: gait timing, kinematics, ranges, faults, streaming, settings."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from exoshare.demo.faults import Fall, Overheating, SensorDropout
from exoshare.demo.gait_profiles import DIAGNOSES, GaitProfile, healthy_profile, profile_for
from exoshare.demo.gait_simulator import VirtualExoskeleton, simulate
from exoshare.demo.gait_templates import normative_angles_deg, stance_swing_warp
from exoshare.demo.gait_truth import GroundTruth, read_ground_truth, write_ground_truth
from exoshare.gait.channels import CHANNELS

FS = 100.0


def straight_walking(profile: GaitProfile) -> GaitProfile:
    """The same patient without turns, pauses or fatigue, so timing is the profile's alone."""
    return dataclasses.replace(
        profile, strides_between_turns_mean=1e9, strides_between_pauses_mean=1e9, fatigue_per_h=0.0
    )


def stroke_profile(side: str = "left") -> GaitProfile:
    rng = np.random.default_rng(7)
    while True:
        p = profile_for("stroke", "moderate", height_m=1.72, mass_kg=80.0, rng=rng)
        if p.affected_side == side:
            return p


def stance_fractions(truth: GroundTruth, leg: str) -> np.ndarray:
    ic, fc = truth.ic_times_s(leg), truth.fc_times_s(leg)
    out = []
    for start, end in itertools.pairwise(ic):
        toe_off = fc[(fc > start) & (fc < end)]
        if len(toe_off) == 1 and end - start < 3.0:  # skip strides spanning a pause
            out.append((toe_off[0] - start) / (end - start))
    return np.array(out)


# ---------------------------------------------------------------- templates


def test_normative_template_hits_textbook_landmarks() -> None:
    phase = np.linspace(0, 1, 1001)
    hip = normative_angles_deg("hip", phase)
    knee = normative_angles_deg("knee", phase)
    ankle = normative_angles_deg("ankle", phase)
    assert hip[0] == pytest.approx(30.0, abs=1.5)
    assert hip.min() == pytest.approx(-10.0, abs=1.5) and 0.48 < phase[hip.argmin()] < 0.58
    assert knee[0] == pytest.approx(5.0, abs=1.5)
    loading = knee[(phase > 0.05) & (phase < 0.25)].max()
    assert 15.0 <= loading <= 20.0
    assert knee.max() == pytest.approx(62.0, abs=2.0) and 0.68 < phase[knee.argmax()] < 0.76
    assert ankle.max() == pytest.approx(10.0, abs=1.5)
    assert ankle.min() == pytest.approx(-15.5, abs=1.5) and 0.58 < phase[ankle.argmin()] < 0.68


@pytest.mark.parametrize("stance", [0.52, 0.6, 0.7, 0.8])
def test_warp_puts_toe_off_at_the_stance_fraction_and_is_smooth(stance: float) -> None:
    y = np.linspace(0, 1, 10001)
    w = stance_swing_warp(y, np.full_like(y, stance))
    assert w[0] == 0.0 and w[-1] == pytest.approx(1.0)
    assert stance_swing_warp(np.array([stance]), np.array([stance]))[0] == pytest.approx(0.6)
    slope = np.diff(w) * 10000
    assert slope.min() > 0
    assert np.abs(np.diff(slope)).max() < 0.01  # no kink: the pace changes smoothly


# ---------------------------------------------------------------- profiles


@pytest.mark.parametrize("diagnosis", DIAGNOSES)
def test_profile_for_every_diagnosis_is_plausible(diagnosis: str) -> None:
    p = profile_for(diagnosis, "severe", 1.80, 85.0, np.random.default_rng(3))  # type: ignore[arg-type]
    assert 0.1 <= p.walking_speed_mps <= 1.6
    assert p.leg_length_m == pytest.approx(0.53 * 1.80, abs=0.01)
    if diagnosis == "healthy":
        assert p.affected_side == "none" and p.walking_speed_mps > 1.0
    if diagnosis == "stroke":
        assert p.affected_side in ("left", "right")
        assert p.affected_stance_fraction < p.stance_fraction
        assert p.step_time_ratio > 1.1
    if diagnosis == "spinal_cord_injury":
        assert p.affected_side == "both" and p.walking_speed_mps < 0.5
        assert p.cadence_steps_per_min < 70


def test_profile_rejects_impossible_values_naming_them() -> None:
    with pytest.raises(ValueError, match="cadence_steps_per_min"):
        dataclasses.replace(healthy_profile(), cadence_steps_per_min=500.0)
    with pytest.raises(ValueError, match="double support"):
        dataclasses.replace(healthy_profile(), stance_fraction=0.5, affected_stance_fraction=0.5)
    with pytest.raises(ValueError, match="severity"):
        profile_for("stroke", "catastrophic", 1.7, 70.0, np.random.default_rng(0))


# ---------------------------------------------------------------- gait timing and kinematics


def test_cadence_of_the_output_matches_the_profile() -> None:
    profile = straight_walking(healthy_profile())
    rec, truth = simulate(profile, 120.0, seed=11)
    ic = np.sort(np.concatenate([truth.ic_times_s("left"), truth.ic_times_s("right")]))
    walking = ic[ic > 5.0]  # after gait initiation
    cadence = 60.0 * (len(walking) - 1) / (walking[-1] - walking[0])
    assert cadence == pytest.approx(110.0, rel=0.02)
    # Every IC is a sample index of the recording and agrees with its time.
    left = truth.ic_samples("left")
    assert np.all(np.abs(left / FS - truth.ic_times_s("left")) <= 0.5 / FS)
    assert left.max() < rec.n_samples


def test_stance_fraction_is_sixty_percent_when_healthy_and_asymmetric_after_stroke() -> None:
    _, healthy = simulate(straight_walking(healthy_profile()), 90.0, seed=2)
    for leg in ("left", "right"):
        assert np.median(stance_fractions(healthy, leg)) == pytest.approx(0.61, abs=0.02)

    stroke = straight_walking(stroke_profile("left"))
    _, truth = simulate(stroke, 120.0, seed=2)
    paretic, sound = stance_fractions(truth, "left"), stance_fractions(truth, "right")
    assert np.median(paretic) == pytest.approx(stroke.affected_stance_fraction, abs=0.02)
    assert np.median(sound) == pytest.approx(stroke.stance_fraction, abs=0.02)
    assert np.median(sound) - np.median(paretic) > 0.05

    # Paretic step (sound IC -> paretic IC) longer than the sound step, as the profile says.
    left_ic, right_ic = truth.ic_times_s("left"), truth.ic_times_s("right")
    paretic_steps = [left_ic[left_ic > t][0] - t for t in right_ic[:-1] if np.any(left_ic > t)]
    sound_steps = [right_ic[right_ic > t][0] - t for t in left_ic[:-1] if np.any(right_ic > t)]
    ratio = np.median(paretic_steps) / np.median(sound_steps)
    assert ratio == pytest.approx(stroke.step_time_ratio, rel=0.05)


def test_knee_range_of_motion_is_reduced_on_the_affected_side() -> None:
    profile = straight_walking(stroke_profile("right"))
    rec, _ = simulate(profile, 60.0, seed=4, initial_settings={"assistance_pct": 0.0})
    rom = {
        leg: np.percentile(rec.channels[f"knee_angle_{leg}_deg"][1000:], [1, 99])
        for leg in ("left", "right")
    }
    sound = rom["left"][1] - rom["left"][0]
    paretic = rom["right"][1] - rom["right"][0]
    # Without guidance force the paretic knee keeps only its own share of the excursion.
    assert paretic / sound == pytest.approx(profile.affected_knee_rom_factor, abs=0.06)
    assert profile.affected_knee_rom_factor < 0.85
    assert 45.0 < sound < 62.0


def test_guidance_force_restores_part_of_the_range_of_motion() -> None:
    profile = straight_walking(stroke_profile("right"))

    def knee_rom(assistance: float) -> float:
        rec, _ = simulate(profile, 40.0, seed=4, initial_settings={"assistance_pct": assistance})
        knee = rec.channels["knee_angle_right_deg"][1500:]
        return float(np.percentile(knee, 99) - np.percentile(knee, 1))

    assert knee_rom(100.0) > knee_rom(0.0) + 5.0


def test_shank_gyro_has_swing_peak_and_troughs_at_contact() -> None:
    rec, truth = simulate(straight_walking(healthy_profile()), 60.0, seed=5)
    for leg in ("left", "right"):
        gyr = rec.channels[f"shank_gyr_z_{leg}_dps"]
        ic, fc = truth.ic_samples(leg), truth.fc_samples(leg)
        ic, fc = ic[(ic > 10) & (ic < len(gyr) - 10)], fc[(fc > 10) & (fc < len(gyr) - 10)]
        assert np.median(gyr[ic]) < -50 and np.median(gyr[fc]) < -100
        # The trough is within 60 ms of the true event.
        trough_ic = [np.argmin(gyr[i - 6 : i + 7]) - 6 for i in ic]
        trough_fc = [np.argmin(gyr[i - 6 : i + 7]) - 6 for i in fc]
        assert abs(np.median(trough_ic)) <= 6 and abs(np.median(trough_fc)) <= 6
        peaks = [gyr[f:i].max() for f, i in zip(fc, ic[ic > fc[0]], strict=False)]
        assert 250 < np.median(peaks) < 500


def test_gyro_is_the_derivative_of_the_shank_angle() -> None:
    rec, _ = simulate(straight_walking(healthy_profile()), 20.0, seed=6)
    shank = rec.channels["hip_angle_left_deg"] - rec.channels["knee_angle_left_deg"]
    derivative = np.gradient(shank, 1 / FS)
    gyro = rec.channels["shank_gyr_z_left_dps"]
    walking = slice(500, 2000)
    assert np.corrcoef(derivative[walking], gyro[walking])[0, 1] > 0.97


def test_signals_are_continuous_and_inside_physical_ranges() -> None:
    profile = profile_for("cerebral_palsy", "moderate", 1.5, 45.0, np.random.default_rng(8))
    rec, truth = simulate(profile, 300.0, seed=8, setting_changes=[(60.0, "assistance_pct", 70)])
    assert truth.intervals_of("pause") and truth.intervals_of("turn")
    for name, values in rec.channels.items():
        spec = CHANNELS[name]
        assert not np.isnan(values).any(), name
        assert values.min() >= spec.physical_min and values.max() <= spec.physical_max, name
    # No joint moves faster than ~600 °/s between two samples.
    for name in [n for n in rec.channels if n.endswith("_angle_left_deg") or "angle_right" in n]:
        assert np.abs(np.diff(rec.channels[name])).max() < 6.0, name
    # Skin warms slowly (minutes): one-second means never change by more than 0.05 °C.
    per_second = rec.channels["skin_temp_left_c"].reshape(-1, 100).mean(axis=1)
    assert np.abs(np.diff(per_second)).max() < 0.05
    assert per_second[-1] - per_second[0] > 0.5
    battery = rec.channels["battery_pct"]
    assert np.all(np.diff(battery) <= 0) and battery[-1] < battery[0]


def test_pauses_are_standing_still_without_events() -> None:
    profile = dataclasses.replace(healthy_profile(), strides_between_pauses_mean=8.0)
    rec, truth = simulate(profile, 200.0, seed=9)
    pauses = truth.intervals_of("pause")
    assert len(pauses) >= 3
    times = np.array([e.time_s for e in truth.events])
    for pause in pauses:
        inside = (times >= pause.start_s) & (times < pause.end_s)
        assert not inside.any()
        knee = rec.channels["knee_angle_left_deg"][pause.start_sample + 10 : pause.end_sample]
        assert np.ptp(knee) < 1.5 and abs(np.mean(knee) - 4.0) < 1.5
        gyro = rec.channels["shank_gyr_z_left_dps"][pause.start_sample + 10 : pause.end_sample]
        assert np.abs(gyro).max() < 10.0


def test_turns_are_slower_with_shorter_steps_and_show_yaw() -> None:
    profile = dataclasses.replace(healthy_profile(), strides_between_pauses_mean=1e9)
    rec, truth = simulate(profile, 200.0, seed=10)
    turns = truth.intervals_of("turn")
    assert len(turns) >= 3
    ic = truth.ic_times_s("left")
    in_turn = np.zeros(len(ic) - 1, dtype=bool)
    for turn in turns:
        in_turn |= (ic[:-1] >= turn.start_s) & (ic[1:] <= turn.end_s)
    stride = np.diff(ic)
    assert np.median(stride[in_turn]) > 1.2 * np.median(stride[~in_turn])
    yaw = rec.channels["shank_gyr_x_left_dps"]
    inside = np.concatenate([yaw[t.start_sample : t.end_sample] for t in turns])
    assert np.mean(inside) > 20.0


def test_fatigue_slows_the_patient_down_over_the_session() -> None:
    profile = dataclasses.replace(straight_walking(healthy_profile()), fatigue_per_h=0.8)
    _, truth = simulate(profile, 1200.0, seed=12)
    stride = np.diff(truth.ic_times_s("left"))
    assert np.median(stride[-100:]) > 1.1 * np.median(stride[:100])


# ---------------------------------------------------------------- faults


def test_a_fall_spikes_acceleration_then_the_patient_lies_still() -> None:
    rec, truth = simulate(healthy_profile(), 60.0, seed=13, faults=[Fall(30.0)])
    (fall,) = truth.intervals_of("fall")
    impact = round(fall.detail["impact_s"] * FS)
    acc = np.hypot(rec.channels["shank_acc_x_left_mps2"], rec.channels["shank_acc_y_left_mps2"])
    assert acc[impact - 5 : impact + 20].max() > 6 * 9.81
    lying = slice(impact + 100, rec.n_samples)
    assert np.ptp(rec.channels["hip_angle_left_deg"][lying]) < 1.0
    assert np.abs(rec.channels["shank_gyr_z_left_dps"][lying]).max() < 10.0
    # Lying down: gravity now along the shank's anterior axis, not its long axis.
    assert abs(np.mean(rec.channels["shank_acc_y_left_mps2"][lying])) > 8.0
    assert all(e.time_s < 30.0 for e in truth.events)
    assert np.all(rec.channels["assistance_pct"][lying] == 0.0)
    for name, values in rec.channels.items():
        spec = CHANNELS[name]
        assert spec.physical_min <= values.min() and values.max() <= spec.physical_max, name


def test_sensor_dropout_is_nan_exactly_in_its_interval() -> None:
    dropout = SensorDropout(10.0, 2.5, ("knee_angle_left_deg",))
    rec, truth = simulate(healthy_profile(), 20.0, seed=14, faults=[dropout])
    knee = rec.channels["knee_angle_left_deg"]
    (interval,) = truth.intervals_of("sensor_dropout")
    assert (interval.start_sample, interval.end_sample) == (1000, 1250)
    assert np.isnan(knee[1000:1250]).all()
    assert not np.isnan(np.delete(knee, np.s_[1000:1250])).any()
    assert not np.isnan(rec.channels["knee_angle_right_deg"]).any()
    mask = truth.fault_mask(rec.n_samples, "knee_angle_left_deg")
    assert mask.sum() == 250 and not truth.fault_mask(rec.n_samples, "hip_angle_left_deg").any()


def test_overheating_ramps_skin_temperature_above_the_limit() -> None:
    heat = Overheating(60.0, "right")
    rec, truth = simulate(healthy_profile(), 600.0, seed=15, faults=[heat])
    right, left = rec.channels["skin_temp_right_c"], rec.channels["skin_temp_left_c"]
    (interval,) = truth.intervals_of("overheating")
    assert right.max() > 41.0 and left.max() < 37.0
    above = np.flatnonzero(right > 41.0)
    assert interval.start_sample <= above[0] and above[-1] < interval.end_sample
    assert right[:6000].max() < 37.0
    assert right.max() <= 42.5 + 0.1


def test_random_fault_rates_inject_labelled_faults() -> None:
    from exoshare.demo.faults import FaultRates

    rates = FaultRates(fall_per_h=0.0, sensor_dropout_per_h=60.0, overheating_per_h=0.0)
    rec, truth = simulate(healthy_profile(), 300.0, seed=16, fault_rates=rates)
    dropouts = truth.intervals_of("sensor_dropout")
    assert len(dropouts) >= 1
    for interval in dropouts:
        name = interval.channels[0]
        assert np.isnan(rec.channels[name][interval.start_sample : interval.end_sample]).all()
    for name, values in rec.channels.items():
        ok = ~truth.fault_mask(rec.n_samples, name)
        assert not np.isnan(values[ok]).any(), name


# ---------------------------------------------------------------- determinism and streaming


def test_same_seed_same_recording_other_seed_other_recording() -> None:
    profile = profile_for("multiple_sclerosis", 0.6, 1.68, 64.0, np.random.default_rng(1))
    a, ta = simulate(profile, 60.0, seed=21)
    b, tb = simulate(profile, 60.0, seed=21)
    c, _ = simulate(profile, 60.0, seed=22)
    for name in a.channels:
        np.testing.assert_array_equal(a.channels[name], b.channels[name])
    assert ta.events == tb.events
    assert not np.array_equal(a.channels["knee_angle_left_deg"], c.channels["knee_angle_left_deg"])


def test_streaming_batches_concatenate_to_the_whole_recording() -> None:
    profile = stroke_profile("right")
    changes = [(25.0, "assistance_pct", 65.0), (41.0, "cadence_steps_per_min", 80.0)]
    faults = [SensorDropout(12.0, 1.0, ("hip_angle_left_deg",)), Overheating(5.0, "left")]
    whole, truth = simulate(profile, 60.0, seed=31, setting_changes=changes, faults=faults)

    exo = VirtualExoskeleton(profile, seed=31, faults=faults)
    batches = []
    for i in range(600):
        for time_s, name, value in changes:
            if i * 10 == round(time_s * FS):
                assert exo.apply_setting(name, value) == (True, None)
        batches.append(exo.next_batch(10))
    for name, values in whole.channels.items():
        streamed = np.concatenate([b[name] for b in batches])
        np.testing.assert_array_equal(streamed, values, err_msg=name)
    assert exo.ground_truth().events == truth.events
    assert exo.ground_truth().intervals == truth.intervals


def test_new_events_reports_each_event_once_as_it_happens() -> None:
    exo = VirtualExoskeleton(healthy_profile(), seed=3)
    seen = []
    for _ in range(300):
        exo.next_batch(10)
        fresh = exo.new_events()
        assert all(e.time_s < exo.time_s for e in fresh)
        seen += fresh
    assert seen == exo.ground_truth().events and len(seen) > 60


# ---------------------------------------------------------------- settings


def test_apply_setting_rejects_unsafe_changes_with_a_reason() -> None:
    exo = VirtualExoskeleton(healthy_profile(), seed=0)
    assert exo.settings["assistance_pct"] == 50.0
    assert exo.apply_setting("assistance_pct", 65.0) == (True, None)
    ok, reason = exo.apply_setting("assistance_pct", 120.0)
    assert not ok and reason is not None and "outside the device limits [0, 100]" in reason
    ok, reason = exo.apply_setting("assistance_pct", 10.0)
    assert not ok and reason is not None and "largest step of 20" in reason
    ok, reason = exo.apply_setting("assistance_pct", math.nan)
    assert not ok and reason is not None and "finite" in reason
    ok, reason = exo.apply_setting("ankle_stiffness", 3.0)
    assert not ok and reason is not None and "unknown setting 'ankle_stiffness'" in reason
    assert exo.settings["assistance_pct"] == 65.0


def test_assistance_change_ramps_the_channel_and_raises_torque_and_drain() -> None:
    profile = straight_walking(stroke_profile("left"))
    low, _ = simulate(profile, 120.0, seed=5, initial_settings={"assistance_pct": 20.0})
    steps = [(30.0 + 5 * i, "assistance_pct", 40.0 + 20 * i) for i in range(4)]
    high, truth = simulate(
        profile, 120.0, seed=5, initial_settings={"assistance_pct": 20.0}, setting_changes=steps
    )
    assist = high.channels["assistance_pct"]
    assert assist[0] == 20.0 and assist[-1] == 100.0
    assert np.abs(np.diff(assist)).max() <= 0.2 + 1e-9  # 20 %/s slew at 100 Hz
    torque = "hip_torque_left_nm"
    assert (
        np.abs(high.channels[torque][-3000:]).mean()
        > 2 * np.abs(low.channels[torque][-3000:]).mean()
    )
    assert high.channels["battery_pct"][-1] < low.channels["battery_pct"][-1]
    assert [c["accepted"] for c in truth.meta["setting_changes"]] == [True] * 4


def test_settings_are_locked_after_a_fall() -> None:
    exo = VirtualExoskeleton(healthy_profile(), seed=0, faults=[Fall(1.0)])
    exo.next_batch(300)
    ok, reason = exo.apply_setting("assistance_pct", 55.0)
    assert not ok and reason is not None and "fall" in reason


# ---------------------------------------------------------------- ground truth on disk


def test_ground_truth_round_trips_through_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, truth = simulate(
        healthy_profile(), 30.0, seed=1, faults=[SensorDropout(5.0, 1.0, ("hip_angle_left_deg",))]
    )
    path = write_ground_truth(truth, tmp_path / "session.truth.json")
    back = read_ground_truth(path)
    assert back.events == truth.events
    assert back.intervals == truth.intervals
    assert back.meta["profile"]["cadence_steps_per_min"] == 110.0
    assert GaitProfile.from_dict(back.meta["profile"]) == healthy_profile()
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not an exoshare ground-truth file"):
        read_ground_truth(tmp_path / "other.json")


def test_device_speaks_its_models_envelope_and_guidance_force_drives_assistance() -> None:
    from exoshare.demo.gait_profiles import healthy_profile
    from exoshare.demo.gait_simulator import DeviceLimits, VirtualExoskeleton
    from exoshare.devices.envelope import SettingLimit

    limits = DeviceLimits(
        settings={
            "guidance_force_pct": SettingLimit("guidance_force_pct", "%", 0.0, 100.0, 10.0, 60.0),
            "step_length_m": SettingLimit("step_length_m", "m", 0.1, 0.4, 0.05, 0.3),
        }
    )
    exo = VirtualExoskeleton(healthy_profile(), model_limits=limits, seed=1)
    assert exo.settings["guidance_force_pct"] == 60.0
    assert exo.settings["step_length_m"] == 0.3
    assert exo.settings["assistance_pct"] == 60.0  # the physics follows the guidance force
    assert exo.apply_setting("guidance_force_pct", 50.0) == (True, None)
    assert exo.settings["assistance_pct"] == 50.0
    accepted, reason = exo.apply_setting("guidance_force_pct", 20.0)
    assert not accepted and reason is not None and "largest step of 10 %" in reason
    assert exo.apply_setting("step_length_m", 0.35) == (True, None)
    unknown, why = exo.apply_setting("torque_limit_nm", 50.0)
    assert not unknown and why is not None
    exo.next_batch(500)
    assert abs(float(exo.next_batch(100)["assistance_pct"].mean()) - 50.0) < 1.0
