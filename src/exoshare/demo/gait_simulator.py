"""The virtual exoskeleton: a stateful, seeded generator of session signals with ground truth.

The walk is planned one stride at a time on a *stride clock* (one unit per left stride) that is
a C1 piecewise-cubic function of time, so pace changes (variability, turns, fatigue, starting
and stopping) never make joint angles or angular rates jump. Each leg maps the clock to template
phase through a smooth stance/swing warp, which places its toe-off where its stance fraction says;
IC and FC times are solved exactly from the same functions, so the ground truth and the signals
cannot disagree. Segment IMU signals are differentiated from the same kinematics (shank angle =
hip flexion - knee flexion) in a 2-D sagittal model with gravity.

Batches are rendered from the plan, never from the batch size, so streaming in batches of 10
gives bit-for-bit the same output as one long batch.

>>> from exoshare.demo.gait_profiles import healthy_profile
>>> exo = VirtualExoskeleton(healthy_profile(), seed=1)
>>> batch = exo.next_batch(10)
>>> len(batch["knee_angle_left_deg"])
10
>>> exo.apply_setting("assistance_pct", 150.0)
(False, 'assistance_pct=150 is outside the device limits [0, 100] %')
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.signal import lfilter

from exoshare.demo.faults import Fall, Fault, FaultRates, Overheating, SensorDropout, random_faults
from exoshare.demo.gait_profiles import GaitProfile
from exoshare.demo.gait_templates import (
    EMG_TONIC_PCT,
    JOINTS,
    normative_angles_deg,
    normative_emg_pct,
    stance_swing_warp,
)
from exoshare.demo.gait_truth import GaitEvent, GroundTruth, LabelledInterval
from exoshare.devices.envelope import Breach, SettingLimit, breach
from exoshare.gait.channels import channel
from exoshare.gait.recording import Recording

SIDES = ("left", "right")
GRAVITY_MPS2 = 9.81

# Standing posture and the pivot about which a reduced range of motion shrinks each joint's
# excursion: the hip about its mean, the knee about its extended position (stiff-knee gait loses
# swing flexion, not extension), the ankle about neutral.
_NEUTRAL_DEG = np.array([4.0, 4.0, 2.0])
_ROM_PIVOT_DEG = np.array([10.0, 4.0, 0.0])
# Crouch (CP) adds flexion at all three joints, most at the knee.
_CROUCH_SHARE = np.array([0.6, 1.0, 0.5])
_LYING_DEG = np.array([5.0, 25.0, -20.0])
_FALL_PITCH_DEG = 85.0

# Step lengths shrink in turns and in the first/last stride of a bout; pace slows.
_TURN_AMPLITUDE = 0.8
_TURN_STRIDE_TIME_FACTOR = 1.3
_TRANSITION_STRIDE_TIME_FACTOR = 1.15
_TURN_YAW_DEG = 180.0
_EVENT_MIN_AMPLITUDE = 0.5
"""Events are labelled only when gait amplitude is at least this (not while feet are placed to
stand still); the transition strides are labelled as gait initiation/termination instead."""

_DIFF_STEP_S = 2e-3
"""Step of the central differences that turn kinematics into IMU rates and accelerations."""

_SHANK_IMU_POSITION = 0.5  # fraction of shank length below the knee
_SKIN_TEMP_TAU_S = 420.0
_ASSISTANCE_RAMP_PCT_PER_S = 20.0


GUIDANCE_FORCE = "guidance_force_pct"
"""The envelope name of the assistance a device model exposes to therapists; the simulator's
physics follows it as ``assistance_pct``."""


def _default_setting_limits() -> dict[str, SettingLimit]:
    return {
        "assistance_pct": SettingLimit("assistance_pct", "%", 0.0, 100.0, 20.0),
        "cadence_steps_per_min": SettingLimit(
            "cadence_steps_per_min", "steps/min", 20.0, 130.0, 10.0
        ),
        "torque_limit_nm": SettingLimit("torque_limit_nm", "N*m", 5.0, 150.0, 30.0),
    }


@dataclass(frozen=True)
class DeviceLimits:
    """The model's own safety envelope, enforced on the device as the last line of safety: what
    the firmware accepts whatever the server sends, by the same rule the server checks
    (:func:`exoshare.devices.envelope.breach`)."""

    settings: dict[str, SettingLimit] = field(default_factory=_default_setting_limits)
    skin_temp_limit_c: float = 41.0
    battery_capacity_wh: float = 150.0
    device_type: str = "overground_exoskeleton"


@dataclass
class _Segment:
    kind: str  # "pause" | "start" | "walk" | "turn" | "stop"
    t0: float
    t1: float
    c0: float
    c1: float
    m0: float
    m1: float
    amp0: float
    amp1: float
    rom0: np.ndarray  # (leg, joint) effective ROM factor at t0
    rom1: np.ndarray
    x0: float  # forward position of the hip at t0 (m)
    stride_length_m: float
    yaw_deg: float = 0.0


@dataclass
class _Pose:
    angles: np.ndarray  # (leg, joint, n) deg
    ref: np.ndarray  # (leg, joint, n) device reference, deg
    leg_phase: np.ndarray  # (leg, n) template phase
    amp: np.ndarray
    pitch_deg: np.ndarray
    hip_xy: np.ndarray  # (2, n) m
    yaw_rate_dps: np.ndarray
    time_s: np.ndarray


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _hip_progress_m(
    x0: np.ndarray, stride_length_m: float, amp0: np.ndarray, amp1: np.ndarray, dc: np.ndarray
) -> np.ndarray:
    """Forward hip position within a segment, ``dc`` strides after its start.

    Stride length follows gait amplitude linearly over the segment, so forward speed is
    continuous across segments (a speed step would be an infinite acceleration in the IMU).
    """
    l0, l1 = stride_length_m * amp0, stride_length_m * amp1
    return x0 + l0 * dc + 0.5 * (l1 - l0) * dc * dc


def _first_sample_at(time_s: float, sampling_rate_hz: float) -> int:
    """Index of the first sample at or after ``time_s`` (rounding guards 0.1 * 100 = 10.000001)."""
    return math.ceil(round(time_s * sampling_rate_hz, 9))


def _fmt(value: float) -> str:
    return f"{value:g}"


class VirtualExoskeleton:
    """A simulated exoskeleton worn by a patient walking as ``profile`` says.

    ``next_batch(n)`` returns the next ``n`` samples of every channel; ``apply_setting`` changes
    a device setting from the next sample on (or refuses it); ``ground_truth()`` labels all
    samples produced so far. Same ``seed``, same calls: same output.

    Faults are either given explicitly (``faults``, times relative to the first sample) or drawn
    at random from ``fault_rates``; by default there are none.
    """

    def __init__(
        self,
        profile: GaitProfile,
        model_limits: DeviceLimits | None = None,
        sampling_rate_hz: float = 100.0,
        seed: int = 0,
        *,
        faults: Iterable[Fault] = (),
        fault_rates: FaultRates | None = None,
        initial_settings: dict[str, float] | None = None,
        battery_start_pct: float = 100.0,
    ) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be positive, got {sampling_rate_hz}")
        self.profile = profile
        self.limits = model_limits or DeviceLimits()
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.seed = seed
        plan_ss, noise_ss, fault_ss, misc_ss = np.random.SeedSequence(seed).spawn(4)
        self._plan_rng = np.random.default_rng(plan_ss)
        self._noise_rng = np.random.default_rng(noise_ss)
        self._fault_rng = np.random.default_rng(fault_ss)
        misc_rng = np.random.default_rng(misc_ss)

        self._settings: dict[str, float] = {
            "assistance_pct": 50.0,
            "cadence_steps_per_min": profile.cadence_steps_per_min,
            "torque_limit_nm": 80.0,
        }
        for name, value in self._settings.items():
            lim = self.limits.settings.get(name)
            if lim is not None:
                self._settings[name] = float(np.clip(value, lim.min_value, lim.max_value))
        # Settings of the model's envelope that the physics does not model still exist on the
        # device: it reports them and a therapist may change them within the limits.
        for name, lim in self.limits.settings.items():
            if lim.default_value is not None:
                self._settings[name] = float(lim.default_value)
            else:
                self._settings.setdefault(name, (lim.min_value + lim.max_value) / 2.0)
        for name, value in (initial_settings or {}).items():
            reason = self._refusal(name, value, None)
            if reason:
                raise ValueError(reason)
            self._settings[name] = float(value)
        # The physics follows the guidance force the model exposes, at power-on as after a change.
        if GUIDANCE_FORCE in self._settings:
            self._settings["assistance_pct"] = self._settings[GUIDANCE_FORCE]
        self._setting_log: list[dict[str, Any]] = []

        self._faults: list[Fault] = sorted(faults, key=lambda f: f.time_s)
        self._fault_rates = fault_rates
        self._faults_drawn_until_s = 0.0

        self._n_emitted = 0
        self._events: list[GaitEvent] = []
        self._n_events_reported = 0

        # Stride plan.
        self._segments: list[_Segment] = []
        self._segment_t0: list[float] = []
        self._stance: dict[str, list[float]] = {"left": [], "right": []}
        self._right_offset = profile.right_ic_offset
        self._strides_to_turn = self._draw_strides(profile.strides_between_turns_mean)
        self._strides_to_pause = self._draw_strides(profile.strides_between_pauses_mean)
        self._turn_strides_left = 0

        # Filter and integrator states carried between batches.
        self._assist_applied_pct = self._settings["assistance_pct"]
        self._temp_state_c = 31.0 + misc_rng.uniform(0.0, 1.0, size=2)
        self._emg_noise_state = np.zeros(2)
        self._gyro_bias_state = np.zeros(6)
        self._energy_used_wh = 0.0
        self._battery_start_pct = float(battery_start_pct)
        self._support_need = [
            1.0 - min(profile.affected_hip_rom_factor, profile.affected_knee_rom_factor)
            if profile.is_affected(side)
            else 0.0
            for side in SIDES
        ]

    # ------------------------------------------------------------------ public API

    @property
    def time_s(self) -> float:
        """Time of the next sample to be produced, relative to the first sample."""
        return self._n_emitted / self.sampling_rate_hz

    @property
    def n_samples(self) -> int:
        return self._n_emitted

    @property
    def settings(self) -> dict[str, float]:
        return dict(self._settings)

    @property
    def has_fallen(self) -> bool:
        fall = self._fall()
        return fall is not None and fall.time_s < self.time_s

    def apply_setting(self, name: str, value: float) -> tuple[bool, str | None]:
        """Change a setting from the next sample on, or refuse it with the reason.

        Refused: unknown settings, non-numbers, values outside the device's own limits, changes
        bigger than the device's largest allowed step, and any change after a fall.
        """
        reason = self._refusal(name, value, self._settings.get(name))
        if reason is None and self.has_fallen:
            reason = "device is in safe stop after a fall; settings are locked"
        accepted = reason is None
        if accepted:
            self._settings[name] = float(value)
            if name == GUIDANCE_FORCE:
                self._settings["assistance_pct"] = float(value)
        self._setting_log.append(
            {
                "time_s": self.time_s,
                "name": name,
                "value": value,
                "accepted": accepted,
                "reason": reason,
            }
        )
        return accepted, reason

    def next_batch(self, n_samples: int) -> dict[str, np.ndarray]:
        """Produce the next ``n_samples`` samples of every channel (float64, NaN in dropouts)."""
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        fs = self.sampling_rate_hz
        idx = self._n_emitted + np.arange(n_samples)
        t = idx / fs
        t_end = (self._n_emitted + n_samples) / fs
        self._draw_random_faults(t_end)
        self._extend_plan(t_end + 1.0)
        out = self._render(t)
        self._n_emitted += n_samples
        return out

    def new_events(self) -> list[GaitEvent]:
        """Ground-truth events that happened since the previous call (in time order)."""
        events = self.ground_truth().events
        fresh = events[self._n_events_reported :]
        self._n_events_reported = len(events)
        return fresh

    def ground_truth(self) -> GroundTruth:
        """Events and labelled intervals of all samples produced so far."""
        fs = self.sampling_rate_hz
        end_s = self.time_s
        fall = self._fall()
        stop_s = min(end_s, fall.time_s) if fall else end_s
        events = sorted(
            (e for e in self._events if e.time_s < stop_s), key=lambda e: (e.time_s, e.leg)
        )
        intervals: list[LabelledInterval] = []

        def add(kind: Any, start: float, end: float, **kw: Any) -> None:
            end = min(end, end_s)
            if start < end:
                intervals.append(
                    LabelledInterval(
                        kind,
                        start,
                        end,
                        _first_sample_at(start, fs),
                        _first_sample_at(end, fs),
                        **kw,
                    )
                )

        labels = {"pause": "pause", "start": "gait_initiation", "stop": "gait_termination"}
        turn_start: float | None = None
        for seg in self._segments:
            if seg.t0 >= stop_s:
                break
            if seg.kind == "turn":
                turn_start = seg.t0 if turn_start is None else turn_start
            elif turn_start is not None:
                add("turn", turn_start, min(seg.t0, stop_s))
                turn_start = None
            if seg.kind in labels:
                add(labels[seg.kind], seg.t0, min(seg.t1, stop_s))
        if turn_start is not None:
            add("turn", turn_start, stop_s)
        for fault in self._faults:
            if isinstance(fault, Fall):
                add(
                    "fall",
                    fault.time_s,
                    end_s,
                    detail={
                        "impact_s": fault.time_s + fault.duration_s,
                        "impact_g": fault.impact_g,
                    },
                )
            elif isinstance(fault, SensorDropout):
                add(
                    "sensor_dropout",
                    fault.time_s,
                    fault.time_s + fault.duration_s,
                    channels=fault.channels,
                )
            elif isinstance(fault, Overheating):
                add(
                    "overheating",
                    fault.time_s,
                    self._overheating_end_s(fault),
                    side=fault.side,
                    detail={"peak_c": fault.peak_c},
                )
        intervals.sort(key=lambda iv: (iv.start_s, iv.kind))
        return GroundTruth(
            fs,
            events,
            intervals,
            meta={
                "profile": self.profile.to_dict(),
                "seed": self.seed,
                "duration_s": end_s,
                "distance_m": self._distance_m(stop_s),
                "setting_changes": list(self._setting_log),
            },
        )

    def recording_meta(self) -> dict[str, Any]:
        p = self.profile
        return {
            "simulated": True,
            "seed": self.seed,
            "device_type": self.limits.device_type,
            "skin_temp_limit_c": self.limits.skin_temp_limit_c,
            "leg_length_m": p.leg_length_m,
            "thigh_length_m": p.thigh_length_m,
            "shank_length_m": p.shank_length_m,
            "shank_imu_position_m": _SHANK_IMU_POSITION * p.shank_length_m,
            "height_m": p.height_m,
            "body_mass_kg": p.mass_kg,
            "diagnosis": p.diagnosis,
            "affected_side": p.affected_side,
        }

    # ------------------------------------------------------------------ settings

    def _refusal(self, name: str, value: float, current: float | None) -> str | None:
        """Why the firmware refuses ``name`` = ``value`` (from ``current``; None: at power-on),
        in its own words; the rule is the model's envelope rule, the server's too."""
        envelope = self.limits.settings
        lim = envelope.get(name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        found = breach(envelope, name, current, number) if number is not None else None
        if lim is None or found is Breach.unknown_setting:
            known = ", ".join(sorted(envelope))
            return f"unknown setting {name!r}; this device accepts {known}"
        if number is None:
            return f"{name} must be a number, got {value!r}"
        if found is Breach.not_finite:
            return f"{name} must be finite, got {value!r}"
        if found is Breach.out_of_range:
            return (
                f"{name}={_fmt(number)} is outside the device limits "
                f"[{_fmt(lim.min_value)}, {_fmt(lim.max_value)}] {lim.unit}"
            )
        if found is Breach.step_too_big:
            assert current is not None
            step = abs(number - current)
            return (
                f"{name} change of {_fmt(step)} {lim.unit} exceeds the device's largest step "
                f"of {_fmt(lim.max_step)} {lim.unit}"
            )
        return None

    # ------------------------------------------------------------------ faults

    def _fall(self) -> Fall | None:
        return next((f for f in self._faults if isinstance(f, Fall)), None)

    def _draw_random_faults(self, until_s: float) -> None:
        # Drawn per hour of session from their own generator, so batch sizes do not matter.
        if self._fault_rates is None:
            return
        while self._faults_drawn_until_s < until_s + 1.0:
            start = self._faults_drawn_until_s
            drawn = random_faults(
                start + 3600.0, self._fault_rates, self._fault_rng, earliest_s=max(start, 20.0)
            )
            for fault in drawn:
                if isinstance(fault, Fall) and self._fall() is not None:
                    continue
                if isinstance(fault, Overheating) and any(
                    isinstance(f, Overheating) for f in self._faults
                ):
                    continue
                self._faults.append(fault)
            self._faults.sort(key=lambda f: f.time_s)
            self._faults_drawn_until_s = start + 3600.0

    def _overheating_end_s(self, fault: Overheating) -> float:
        return self._overheating_cool_start_s(fault) + 3.0 * fault.cooling_tau_s

    @staticmethod
    def _overheating_cool_start_s(fault: Overheating) -> float:
        # Long enough to climb from the coolest plausible skin (33 °C) to the peak, plus the hold.
        return fault.time_s + (fault.peak_c - 33.0) / fault.rate_c_per_min * 60.0 + fault.hold_s

    # ------------------------------------------------------------------ stride plan

    def _draw_strides(self, mean: float) -> int:
        # At least a few strides between turns or stops, geometric beyond that.
        floor = 3
        return floor + int(self._plan_rng.geometric(1.0 / max(mean - floor, 1.0)))

    def _rom_factors(self, fatigue: float) -> np.ndarray:
        p = self.profile
        assist = self._settings["assistance_pct"] / 100.0
        out = np.empty((2, 3))
        for i, side in enumerate(SIDES):
            own = np.full(3, p.rom_factor)
            if p.is_affected(side):
                own = own * np.array(
                    [
                        p.affected_hip_rom_factor,
                        p.affected_knee_rom_factor,
                        p.affected_ankle_rom_factor,
                    ]
                )
            # Guidance force pulls the joints towards the normative excursion.
            corrected = own + (1.0 - own) * p.assistance_correction * assist
            out[i] = corrected * (1.0 - 0.25 * fatigue)
        return out

    def _extend_plan(self, until_s: float) -> None:
        while not self._segments or self._segments[-1].t1 < until_s:
            self._append_segment()

    def _append_segment(self) -> None:
        p = self.profile
        rng = self._plan_rng
        last = self._segments[-1] if self._segments else None
        t0 = last.t1 if last else 0.0
        c0 = last.c1 if last else 0.0
        m0 = last.m1 if last else 0.0
        amp0 = last.amp1 if last else 0.0
        x0 = (
            float(
                _hip_progress_m(
                    np.array(last.x0),
                    p.stride_length_m,
                    np.array(last.amp0),
                    np.array(last.amp1),
                    np.array(last.c1 - last.c0),
                )
            )
            if last
            else 0.0
        )
        fatigue = min(0.6, p.fatigue_per_h * t0 / 3600.0)
        rom1 = self._rom_factors(fatigue)
        rom0 = last.rom1 if last else rom1

        if last is None or last.kind == "stop":
            kind = "pause"
        elif last.kind == "pause":
            kind = "start"
        elif self._turn_strides_left > 0:
            kind = "turn"
        elif self._strides_to_pause <= 0:
            kind = "stop"
            self._strides_to_pause = self._draw_strides(p.strides_between_pauses_mean)
        elif self._strides_to_turn <= 0:
            kind = "turn"
            self._turn_strides_left = int(rng.integers(2, 5))
            self._strides_to_turn = self._draw_strides(p.strides_between_turns_mean)
        else:
            kind = "walk"

        if kind == "pause":
            duration = 2.0 if last is None else float(rng.uniform(*p.pause_duration_s))
            seg = _Segment(
                kind, t0, t0 + duration, c0, c0, 0.0, 0.0, amp0, 0.0, rom0, rom1, x0, 0.0
            )
            self._push(seg)
            return

        cv = p.stride_time_cv * (1.0 + 2.0 * fatigue)
        base_stride_s = 120.0 / self._settings["cadence_steps_per_min"] * (1.0 + fatigue)
        stride_s = base_stride_s * float(np.clip(1.0 + cv * rng.standard_normal(), 0.6, 1.5))
        walk_amp = (1.0 - 0.3 * fatigue) * float(
            np.clip(1.0 + 0.5 * cv * rng.standard_normal(), 0.8, 1.2)
        )
        yaw = 0.0
        if kind == "turn":
            stride_s *= _TURN_STRIDE_TIME_FACTOR
            amp1 = _TURN_AMPLITUDE * walk_amp
            self._turn_strides_left -= 1
            yaw = _TURN_YAW_DEG / 3.0
        elif kind in ("start", "stop"):
            stride_s *= _TRANSITION_STRIDE_TIME_FACTOR
            amp1 = walk_amp if kind == "start" else 0.0
        else:
            amp1 = walk_amp
        m1 = 0.0 if kind == "stop" else 1.0 / stride_s
        if kind == "turn" and self._turn_strides_left == 0:
            # The last turning stride ends at normal amplitude so the turn unwinds within it.
            amp1 = walk_amp
        if kind not in ("start", "stop", "turn"):
            self._strides_to_pause -= 1
            self._strides_to_turn -= 1

        k = round(c0)
        offset = self._right_offset
        for side in SIDES:
            s = p.stance_fraction_of(side) + 0.01 * (1 + 2 * fatigue) * rng.standard_normal()
            self._stance[side].append(float(np.clip(s, 0.5, 0.85)))
        # Keep double support whatever the jitter drew.
        sl, sr = self._stance["left"][k], self._stance["right"][k]
        self._stance["left"][k] = max(sl, offset + 0.04)
        self._stance["right"][k] = max(sr, 1.0 - offset + 0.04)

        # Step length is the patient's own; a device-set cadence changes speed, not step length.
        stride_length = p.stride_length_m * (amp0 + amp1) / 2.0
        seg = _Segment(
            kind,
            t0,
            t0 + stride_s,
            c0,
            c0 + 1.0,
            m0,
            m1,
            amp0,
            amp1,
            rom0,
            rom1,
            x0,
            stride_length,
            yaw,
        )
        self._push(seg)
        self._emit_events(seg, k)

    def _push(self, seg: _Segment) -> None:
        self._segments.append(seg)
        self._segment_t0.append(seg.t0)

    def _emit_events(self, seg: _Segment, k: int) -> None:
        fs = self.sampling_rate_hz
        offsets = {"left": 0.0, "right": self._right_offset}
        found: list[tuple[str, str, float]] = []
        for side in SIDES:
            for j in (k - 1, k):
                stance = self._stance_at(side, j)
                for kind, x in (("IC", j + offsets[side]), ("FC", j + offsets[side] + stance)):
                    if seg.c0 <= x < seg.c1:
                        found.append((side, kind, x))
        for side, kind, x in found:
            time_s = self._invert_clock(seg, x)
            u = (time_s - seg.t0) / (seg.t1 - seg.t0)
            amp = seg.amp0 + (seg.amp1 - seg.amp0) * (0.5 - 0.5 * math.cos(math.pi * u))
            if amp >= _EVENT_MIN_AMPLITUDE:
                self._events.append(GaitEvent(side, kind, time_s, round(time_s * fs)))  # type: ignore[arg-type]

    def _stance_at(self, side: str, j: int) -> float:
        values = self._stance[side]
        return values[min(max(j, 0), len(values) - 1)]

    @staticmethod
    def _hermite(
        seg_t0: np.ndarray,
        seg_t1: np.ndarray,
        c0: np.ndarray,
        c1: np.ndarray,
        m0: np.ndarray,
        m1: np.ndarray,
        t: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        dt = seg_t1 - seg_t0
        u = np.clip((t - seg_t0) / dt, 0.0, 1.0)
        u2, u3 = u * u, u * u * u
        c = (
            (2 * u3 - 3 * u2 + 1) * c0
            + (u3 - 2 * u2 + u) * dt * m0
            + (-2 * u3 + 3 * u2) * c1
            + (u3 - u2) * dt * m1
        )
        return c, u

    def _invert_clock(self, seg: _Segment, x: float) -> float:
        lo, hi = seg.t0, seg.t1
        args = (
            np.array(seg.t0),
            np.array(seg.t1),
            np.array(seg.c0),
            np.array(seg.c1),
            np.array(seg.m0),
            np.array(seg.m1),
        )
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            c, _u = self._hermite(*args, np.array(mid))
            if float(c) < x:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def _distance_m(self, until_s: float) -> float:
        if not self._segments:
            return 0.0
        i = max(0, bisect.bisect_right(self._segment_t0, until_s) - 1)
        seg = self._segments[i]
        c, _u = self._hermite(
            np.array(seg.t0),
            np.array(seg.t1),
            np.array(seg.c0),
            np.array(seg.c1),
            np.array(seg.m0),
            np.array(seg.m1),
            np.array(until_s),
        )
        return float(
            _hip_progress_m(
                np.array(seg.x0),
                self.profile.stride_length_m,
                np.array(seg.amp0),
                np.array(seg.amp1),
                np.array(float(c) - seg.c0),
            )
        )

    # ------------------------------------------------------------------ kinematics

    def _pose(self, t: np.ndarray) -> _Pose:
        p = self.profile
        i_lo = max(0, bisect.bisect_right(self._segment_t0, float(t.min())) - 1)
        i_hi = max(i_lo + 1, bisect.bisect_right(self._segment_t0, float(t.max())))
        segs = self._segments[i_lo:i_hi]
        where = np.clip(np.searchsorted([s.t0 for s in segs], t, side="right") - 1, 0, None)

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) for s in segs])[where]

        t0, t1 = col("t0"), col("t1")
        c0, c1 = col("c0"), col("c1")
        clock, u = self._hermite(t0, t1, c0, c1, col("m0"), col("m1"), t)
        w = 0.5 - 0.5 * np.cos(np.pi * u)
        amp = col("amp0") + (col("amp1") - col("amp0")) * w
        rom0 = np.stack([s.rom0 for s in segs])[where]
        rom1 = np.stack([s.rom1 for s in segs])[where]
        rom = rom0 + (rom1 - rom0) * w[:, None, None]  # (n, leg, joint)
        dur = t1 - t0
        yaw_rate = col("yaw_deg") / dur * 2.0 * np.sin(np.pi * u) ** 2
        hip_x = _hip_progress_m(col("x0"), p.stride_length_m, col("amp0"), col("amp1"), clock - c0)

        n = len(t)
        angles = np.empty((2, 3, n))
        ref = np.empty((2, 3, n))
        leg_phase = np.empty((2, n))
        crouch = p.crouch_deg * _CROUCH_SHARE
        for li, side in enumerate(SIDES):
            x = clock - (self._right_offset if side == "right" else 0.0)
            j = np.floor(x)
            y = x - j
            # Before the first stride is planned (standing at the start) any valid value will do.
            values = self._stance[side] or [p.stance_fraction_of(side)]
            j_int = np.clip(j.astype(np.int64), 0, len(values) - 1)
            j_lo = int(j_int.min())
            stance = np.asarray(values[j_lo : int(j_int.max()) + 1])[j_int - j_lo]
            phase = stance_swing_warp(y, stance)
            leg_phase[li] = phase
            for ji, joint in enumerate(JOINTS):
                template = normative_angles_deg(joint, phase)
                pivot, neutral = _ROM_PIVOT_DEG[ji], _NEUTRAL_DEG[ji]
                own = pivot + rom[:, li, ji] * (template - pivot)
                angles[li, ji] = neutral + amp * (own - neutral) + crouch[ji]
                ref[li, ji] = neutral + amp * (template - neutral)

        pitch = np.zeros(n)
        hip_y = p.leg_length_m * (0.975 + 0.012 * amp * np.cos(4 * np.pi * clock - np.pi))
        fall = self._fall()
        if fall is not None:
            wf = _smoothstep((t - fall.time_s) / fall.duration_s)
            if np.any(wf > 0):
                lying = _LYING_DEG[None, :, None]
                angles = (1 - wf) * angles + wf * lying
                ref = (1 - wf) * ref + wf * lying
                pitch = _FALL_PITCH_DEG * wf
                hip_y = (1 - wf) * hip_y + wf * 0.12
                # Forward progress brakes smoothly from walking speed to rest by the impact
                # (a velocity step would be an infinite acceleration in the IMU).
                falling = t >= fall.time_s
                if np.any(falling):
                    eps = 1e-3
                    x_fall = self._distance_m(fall.time_s)
                    v_fall = (
                        self._distance_m(fall.time_s + eps) - self._distance_m(fall.time_s - eps)
                    ) / (2 * eps)
                    s_fall = np.clip((t - fall.time_s) / fall.duration_s, 0.0, 1.0)
                    braking = v_fall * fall.duration_s * (s_fall - 0.5 * s_fall**2)
                    hip_x = np.where(falling, x_fall + braking + 0.4 * wf, hip_x)
                yaw_rate = yaw_rate * (1 - wf)
        return _Pose(angles, ref, leg_phase, amp, pitch, np.stack([hip_x, hip_y]), yaw_rate, t)

    # ------------------------------------------------------------------ signals

    def _render(self, t: np.ndarray) -> dict[str, np.ndarray]:
        p = self.profile
        n = len(t)
        fs = self.sampling_rate_hz
        h = _DIFF_STEP_S
        if n == 0:
            return {name: np.empty(0) for name in self.channel_names()}
        mid, before, after = self._pose(t), self._pose(t - h), self._pose(t + h)
        rate = (after.angles - before.angles) / (2 * h)  # (leg, joint, n) deg/s
        ref_rate = (after.ref - before.ref) / (2 * h)

        noise = self._noise_rng.standard_normal((n, len(_NOISE_COLUMNS)))
        z = {name: noise[:, i] for i, name in enumerate(_NOISE_COLUMNS)}
        out: dict[str, np.ndarray] = {}

        fall = self._fall()
        impact_s = fall.time_s + fall.duration_s if fall else math.inf
        # The device detects the impact and goes to safe stop: no more guidance force.
        safe_stop = t >= impact_s

        assist_pct = self._assistance_ramp(n)
        assist_pct = np.where(safe_stop, 0.0, assist_pct)
        assist = assist_pct / 100.0
        out["assistance_pct"] = assist_pct

        events_ic = {
            side: np.array(
                [
                    e.time_s
                    for e in self._events
                    if e.leg == side
                    and e.kind == "IC"
                    and t[0] - 0.2 <= e.time_s <= t[-1]
                    and e.time_s < (fall.time_s if fall else math.inf)
                ]
            )
            for side in SIDES
        }

        bias = self._gyro_bias(np.stack([z[f"bias{i}"] for i in range(6)], axis=1))
        mass_scale = p.mass_kg / 75.0
        torque_limit = self._settings["torque_limit_nm"]
        power_w = np.full(n, 18.0)  # electronics, sensors, radio
        for li, side in enumerate(SIDES):
            for ji, joint in enumerate(JOINTS):
                out[f"{joint}_angle_{side}_deg"] = mid.angles[li, ji] + 0.1 * z[f"{joint}_{side}"]

            shank_deg = mid.angles[li, 0] - mid.angles[li, 1] - mid.pitch_deg
            shank_rad = np.radians(shank_deg)
            shank_rate = (
                (after.angles[li, 0] - after.angles[li, 1] - after.pitch_deg)
                - (before.angles[li, 0] - before.angles[li, 1] - before.pitch_deg)
            ) / (2 * h)
            sensor = [self._shank_sensor_xy(pose, li) for pose in (before, mid, after)]
            acc_world = (sensor[2] - 2 * sensor[1] + sensor[0]) / (h * h)
            fx, fy = acc_world[0], acc_world[1] + GRAVITY_MPS2
            acc_x = -np.sin(shank_rad) * fx + np.cos(shank_rad) * fy
            acc_y = np.cos(shank_rad) * fx + np.sin(shank_rad) * fy
            acc_z = 0.4 * mid.amp * np.sin(2 * np.pi * mid.leg_phase[li])
            # Heel-strike transient: a damped ~30 Hz ring travelling up the shank.
            ic_ring = self._ring(t, events_ic[side], 0.012, 30.0)
            heel_g = (1.5 + 2.0 * min(p.walking_speed_mps, 1.5)) * GRAVITY_MPS2
            acc_x = acc_x + heel_g * ic_ring
            acc_y = acc_y - 0.4 * heel_g * ic_ring
            gyr_z = shank_rate + 25.0 * ic_ring
            if fall is not None:
                impact = self._ring(t, np.array([impact_s]), 0.03, 15.0)
                acc_y = acc_y + fall.impact_g * GRAVITY_MPS2 * impact
                acc_x = acc_x + 0.3 * fall.impact_g * GRAVITY_MPS2 * impact
                gyr_z = gyr_z + 150.0 * impact
            out[f"shank_acc_x_{side}_mps2"] = acc_x + 0.08 * z[f"ax_{side}"]
            out[f"shank_acc_y_{side}_mps2"] = acc_y + 0.08 * z[f"ay_{side}"]
            out[f"shank_acc_z_{side}_mps2"] = acc_z + 0.08 * z[f"az_{side}"]
            yaw = mid.yaw_rate_dps
            out[f"shank_gyr_x_{side}_dps"] = (
                yaw * np.cos(shank_rad) + bias[:, 3 * li] + 1.0 * z[f"gx_{side}"]
            )
            out[f"shank_gyr_y_{side}_dps"] = (
                yaw * np.sin(shank_rad) + bias[:, 3 * li + 1] + 1.0 * z[f"gy_{side}"]
            )
            out[f"shank_gyr_z_{side}_dps"] = gyr_z + bias[:, 3 * li + 2] + 1.0 * z[f"gz_{side}"]

            # Motor torque: feed-forward share of the swing dynamics plus impedance to the
            # reference, both scaled by the guidance force.
            error = mid.ref[li] - mid.angles[li]  # (joint, n)
            error_rate = ref_rate[li] - rate[li]
            ref_thigh = np.radians(mid.ref[li, 0] - mid.pitch_deg)
            ref_shank = np.radians(mid.ref[li, 0] - mid.ref[li, 1] - mid.pitch_deg)
            thigh_acc = np.radians(after.ref[li, 0] - 2 * mid.ref[li, 0] + before.ref[li, 0]) / h**2
            shank_acc = (
                np.radians(
                    (after.ref[li, 0] - after.ref[li, 1])
                    - 2 * (mid.ref[li, 0] - mid.ref[li, 1])
                    + (before.ref[li, 0] - before.ref[li, 1])
                )
                / h**2
            )
            leg_mass = 0.161 * p.mass_kg
            lower_mass = 0.061 * p.mass_kg
            ff_hip = leg_mass * (
                0.3 * p.leg_length_m
            ) ** 2 * thigh_acc + leg_mass * GRAVITY_MPS2 * 0.38 * p.leg_length_m * np.sin(ref_thigh)
            ff_knee = lower_mass * (
                0.45 * p.shank_length_m
            ) ** 2 * shank_acc + lower_mass * GRAVITY_MPS2 * 0.6 * p.shank_length_m * np.sin(
                ref_shank
            )
            corrective_hip = 2.5 * mass_scale * error[0] + 0.04 * mass_scale * error_rate[0]
            corrective_knee = 2.0 * mass_scale * error[1] + 0.03 * mass_scale * error_rate[1]
            # Body-weight support in stance, in proportion to what the patient cannot do alone.
            support = self._support_need[li] * p.mass_kg * mid.amp
            hip_support = support * _stance_moment_nm_per_kg("hip", mid.leg_phase[li])
            knee_support = support * _stance_moment_nm_per_kg("knee", mid.leg_phase[li])
            hip_t = np.clip(
                assist * (0.8 * ff_hip + corrective_hip + hip_support), -torque_limit, torque_limit
            )
            knee_t = np.clip(
                assist * (-0.8 * ff_knee + corrective_knee + knee_support),
                -torque_limit,
                torque_limit,
            )
            out[f"hip_torque_{side}_nm"] = hip_t + 0.3 * z[f"th_{side}"]
            out[f"knee_torque_{side}_nm"] = knee_t + 0.3 * z[f"tk_{side}"]
            cuff_lever_m = 0.6 * p.thigh_length_m
            shank_lever_m = 0.5 * p.shank_length_m
            force = assist * (corrective_hip / cuff_lever_m + corrective_knee / shank_lever_m) / 2
            if fall is not None:
                force = force + 250.0 * self._ring(t, np.array([impact_s]), 0.04, 10.0)
            out[f"interaction_force_{side}_n"] = (
                np.clip(force, -990.0, 990.0) + 2.0 * z[f"f_{side}"]
            )
            joint_power = np.abs(hip_t * np.radians(rate[li, 0])) + np.abs(
                knee_t * np.radians(rate[li, 1])
            )
            power_w = power_w + joint_power / 0.55 + 0.01 * (hip_t**2 + knee_t**2)

            out[f"emg_envelope_{side}_pct"] = self._emg(li, side, mid, assist, z[f"emg_{side}"])
            out[f"skin_temp_{side}_c"] = (
                self._skin_temp(li, side, t, mid.amp, np.abs(hip_t) + np.abs(knee_t))
                + 0.02 * z[f"temp_{side}"]
            )

        energy = self._energy_used_wh + np.cumsum(power_w) / fs / 3600.0
        self._energy_used_wh = float(energy[-1])
        battery = self._battery_start_pct - 100.0 * energy / self.limits.battery_capacity_wh
        out["battery_pct"] = np.clip(np.round(battery, 1), 0.0, 100.0)

        for fault in self._faults:
            if isinstance(fault, SensorDropout):
                gone = (t >= fault.time_s) & (t < fault.time_s + fault.duration_s)
                if np.any(gone):
                    for name in fault.channels:
                        if name in out:
                            out[name] = np.where(gone, np.nan, out[name])
        for name in ("emg_envelope_left_pct", "emg_envelope_right_pct"):
            out[name] = np.where(np.isnan(out[name]), np.nan, np.clip(out[name], 0.0, None))
        return {name: out[name] for name in self.channel_names()}

    @staticmethod
    def channel_names() -> list[str]:
        """The registry channels this device sends, in a stable order."""
        names = []
        for side in SIDES:
            names += [f"{j}_angle_{side}_deg" for j in JOINTS]
            names += [f"shank_acc_{a}_{side}_mps2" for a in "xyz"]
            names += [f"shank_gyr_{a}_{side}_dps" for a in "xyz"]
            names += [
                f"hip_torque_{side}_nm",
                f"knee_torque_{side}_nm",
                f"interaction_force_{side}_n",
                f"emg_envelope_{side}_pct",
                f"skin_temp_{side}_c",
            ]
        names += ["battery_pct", "assistance_pct"]
        for name in names:
            channel(name)  # fails loudly if the registry changes under us
        return names

    def _shank_sensor_xy(self, pose: _Pose, li: int) -> np.ndarray:
        p = self.profile
        thigh = np.radians(pose.angles[li, 0] - pose.pitch_deg)
        shank = np.radians(pose.angles[li, 0] - pose.angles[li, 1] - pose.pitch_deg)
        r = _SHANK_IMU_POSITION * p.shank_length_m
        x = pose.hip_xy[0] + p.thigh_length_m * np.sin(thigh) + r * np.sin(shank)
        y = pose.hip_xy[1] - p.thigh_length_m * np.cos(thigh) - r * np.cos(shank)
        return np.stack([x, y])

    @staticmethod
    def _ring(t: np.ndarray, onsets: np.ndarray, decay_s: float, freq_hz: float) -> np.ndarray:
        out = np.zeros(len(t))
        for onset in onsets:
            dt = t - onset
            live = (dt >= 0) & (dt < 10 * decay_s)
            if np.any(live):
                d = dt[live]
                out[live] += np.exp(-d / decay_s) * np.cos(2 * np.pi * freq_hz * d)
        return out

    def _assistance_ramp(self, n: int) -> np.ndarray:
        # The motor controller slews to a new guidance force instead of stepping.
        target = self._settings["assistance_pct"]
        start = self._assist_applied_pct
        step = _ASSISTANCE_RAMP_PCT_PER_S / self.sampling_rate_hz * np.arange(1, n + 1)
        ramp = start + np.sign(target - start) * np.minimum(step, abs(target - start))
        self._assist_applied_pct = float(ramp[-1])
        return ramp

    def _gyro_bias(self, white: np.ndarray) -> np.ndarray:
        # Ornstein-Uhlenbeck drift, 0.5 deg/s stationary, one-minute correlation time.
        rho = math.exp(-1.0 / (60.0 * self.sampling_rate_hz))
        gain = 0.5 * math.sqrt(1 - rho * rho)
        out = np.empty_like(white)
        for k in range(white.shape[1]):
            out[:, k], _zf = lfilter(
                [gain], [1.0, -rho], white[:, k], zi=[rho * self._gyro_bias_state[k]]
            )
            self._gyro_bias_state[k] = out[-1, k]
        return out

    def _emg(
        self, li: int, side: str, pose: _Pose, assist: np.ndarray, white: np.ndarray
    ) -> np.ndarray:
        p = self.profile
        fatigue = np.minimum(0.6, p.fatigue_per_h * pose.time_s / 3600.0)
        paretic = p.is_affected(side)
        effort = (1.0 - 0.6 * assist) * (0.5 if paretic else 1.0) * (1.0 + 0.3 * fatigue)
        bursts = (normative_emg_pct(pose.leg_phase[li]) - EMG_TONIC_PCT) * effort * pose.amp
        tonic = EMG_TONIC_PCT + (3.0 if paretic else 0.0)  # co-contraction on the paretic side
        # Envelope noise is smoothed like the envelope itself (~5 Hz).
        rho = math.exp(-2 * math.pi * 5.0 / self.sampling_rate_hz)
        smooth, _zf = lfilter(
            [math.sqrt(1 - rho * rho)], [1.0, -rho], white, zi=[rho * self._emg_noise_state[li]]
        )
        self._emg_noise_state[li] = smooth[-1]
        return (tonic + bursts) * np.exp(0.25 * smooth)

    def _skin_temp(
        self, li: int, side: str, t: np.ndarray, amp: np.ndarray, torque_abs: np.ndarray
    ) -> np.ndarray:
        # First-order approach to a steady state set by walking and motor heat (minutes).
        steady = 32.8 + 2.2 * amp + 0.015 * torque_abs
        a = 1.0 / (_SKIN_TEMP_TAU_S * self.sampling_rate_hz)
        temp, _zf = lfilter([a], [1.0, -(1.0 - a)], steady, zi=[(1.0 - a) * self._temp_state_c[li]])
        self._temp_state_c[li] = temp[-1]
        for fault in self._faults:
            if isinstance(fault, Overheating) and fault.side == side:
                cool = self._overheating_cool_start_s(fault)
                heat = np.minimum(
                    temp + fault.rate_c_per_min / 60.0 * (t - fault.time_s), fault.peak_c
                )
                cooling = temp + (fault.peak_c - temp) * np.exp(-(t - cool) / fault.cooling_tau_s)
                temp = np.where((t >= fault.time_s) & (t < cool), np.maximum(temp, heat), temp)
                temp = np.where(t >= cool, np.maximum(temp, cooling), temp)
        return temp


def _stance_moment_nm_per_kg(joint: str, phase: np.ndarray) -> np.ndarray:
    """Shape of the normative stance moment (Winter): extensor after IC, flexor before toe-off."""
    bumps = {
        "hip": ((0.08, 0.05, -0.8), (0.52, 0.07, 0.7)),
        "knee": ((0.14, 0.05, -0.7), (0.45, 0.06, 0.3)),
    }[joint]
    out = np.zeros_like(phase)
    for centre, width, peak in bumps:
        out += peak * np.exp(-0.5 * ((phase - centre) / width) ** 2)
    return out


_NOISE_COLUMNS: tuple[str, ...] = tuple(
    [f"{j}_{s}" for s in SIDES for j in JOINTS]
    + [f"{k}_{s}" for s in SIDES for k in ("ax", "ay", "az", "gx", "gy", "gz")]
    + [f"{k}_{s}" for s in SIDES for k in ("th", "tk", "f", "emg", "temp")]
    + [f"bias{i}" for i in range(6)]
)


def simulate(
    profile: GaitProfile,
    duration_s: float,
    *,
    sampling_rate_hz: float = 100.0,
    seed: int = 0,
    model_limits: DeviceLimits | None = None,
    faults: Iterable[Fault] = (),
    fault_rates: FaultRates | None = None,
    setting_changes: Sequence[tuple[float, str, float]] = (),
    initial_settings: dict[str, float] | None = None,
    start_time_s: float = 0.0,
    batch_size: int = 6000,
) -> tuple[Recording, GroundTruth]:
    """Simulate a whole session with the same generator the live device uses.

    ``setting_changes`` are ``(time_s, name, value)`` commands sent to the device; each is
    applied at the first sample at or after its time (refused ones are listed, with the reason,
    in ``ground_truth.meta["setting_changes"]``).

    >>> from exoshare.demo.gait_profiles import healthy_profile
    >>> rec, truth = simulate(healthy_profile(), 30.0, seed=3)
    >>> rec.n_samples, len(truth.ic_times_s("left")) > 10
    (3000, True)
    """
    exo = VirtualExoskeleton(
        profile,
        model_limits,
        sampling_rate_hz,
        seed,
        faults=faults,
        fault_rates=fault_rates,
        initial_settings=initial_settings,
    )
    total = round(duration_s * sampling_rate_hz)
    change_at = sorted(
        (math.ceil(round(time_s * sampling_rate_hz, 9)), name, value)
        for time_s, name, value in setting_changes
    )
    parts: list[dict[str, np.ndarray]] = []
    pending = list(change_at)
    while exo.n_samples < total:
        while pending and pending[0][0] <= exo.n_samples:
            _, name, value = pending.pop(0)
            exo.apply_setting(name, value)
        stop = min(total, exo.n_samples + batch_size)
        if pending:
            stop = min(stop, max(pending[0][0], exo.n_samples + 1))
        parts.append(exo.next_batch(stop - exo.n_samples))
    names = exo.channel_names()
    channels = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0)
        for name in names
    }
    recording = Recording(sampling_rate_hz, channels, start_time_s, exo.recording_meta())
    return recording, exo.ground_truth()
