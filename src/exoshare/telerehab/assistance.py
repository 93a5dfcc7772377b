"""Assist-as-needed advice: the next session's guidance force and assistance mode from this one.

The rule is the robot's side of error-based adaptation (Emken JL, Benitez R, Sideris A, Bobrow
JE, Reinkensmeyer DJ. Motor adaptation as a greedy optimization of error and effort. J
Neurophysiol 2007;97(6):3997-4006): people adapt trial by trial as ``x[i+1] = f·x[i] + g·e[i]``
and, with a helping robot, slack off; a robot that *assists only as needed* therefore updates its
own assistance the same way, with a forgetting factor ``f < 1`` that keeps taking assistance
away and a gain ``g`` that gives it back in proportion to the movement error::

    guidance[next] = f · guidance[this session] + g · error[this session]

Here a trial is a session, the guidance of this session is its time-weighted mean (the time spent
at each guidance level, from the setting changes), and the error is the larger of two gait
deviations the gait engine measures: the knee range-of-motion deficit of the worse leg against
a normal knee excursion of about 60° (Perry J, Burnfield JM. Gait Analysis, 2nd ed. 2010), and
the step-time asymmetry (|symmetry index| / 100, Robinson et al. 1987). Speed and cadence stay
out of the error: many devices set them (a treadmill's belt, an end-effector's cadence), so they
tell more about the settings than about the patient. ``f`` and ``g`` are exoshare's choice (see
:class:`AdaptationRule`): with f = 0.9 and g = 30 %, the guidance a steady error settles at is
``g·e / (1 - f)`` = 300 % × e, so full guidance for an error of a third (a knee excursion of
40°) and none for a normal gait.

The mode follows path control (Duschau-Wicke A, et al. Path control: a method for
patient-cooperative robot-aided gait rehabilitation. IEEE TNSRE 2010;18(1):38-48): a patient
whose gait is close enough to normal to walk without a fixed trajectory moves from position
control to assist-as-needed, and to transparent mode once no guidance is left; the thresholds
(:data:`AdaptationRule.aan_error_max`, ``transparent_error_max``) are exoshare's choice.

Whatever the rule says, the advice is a safe next value: inside the model's envelope and no more
than its maximum step from the value the device last confirmed (:func:`devices.envelope.breach`).
A session with a safety flag (a fall, say) or too few steps to judge never lowers assistance.
Pure: no web or database imports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from exoshare.devices.envelope import SettingLimit, breach

GUIDANCE = "guidance_force_pct"
MODE = "assistance_mode"
POSITION_CONTROL, ASSIST_AS_NEEDED, TRANSPARENT = 0.0, 1.0, 2.0
"""The demo models' assistance modes (``assistance_mode`` in their envelopes)."""
NORMAL_KNEE_ROM_DEG = 60.0
"""Knee flexion excursion over a normal gait cycle (Perry & Burnfield 2010)."""


@dataclass(frozen=True)
class AdaptationRule:
    """The rule's parameters (exoshare's choice; see the module docstring)."""

    forgetting_factor: float = 0.9
    error_gain_pct: float = 30.0
    aan_error_max: float = 0.25
    """Gait errors at or below this allow assist-as-needed instead of position control."""
    transparent_error_max: float = 0.10
    """Errors at or below this, with no guidance left, allow transparent mode."""
    min_steps: int = 20
    """Fewer steps than this are too few to judge a gait by."""


@dataclass(frozen=True)
class SessionPerformance:
    """What one session showed: the gait engine's numbers and the time at each guidance level."""

    step_count: int
    knee_rom_deg: Mapping[str, float]
    """Mean per-stride knee excursion per leg ("left", "right"); missing or NaN legs ignored."""
    step_time_si_pct: float | None
    guidance_time_s: Mapping[float, float]
    """Seconds spent at each guidance force (%) during the session."""
    safety_flags: int = 0


@dataclass(frozen=True)
class Reason:
    """One reason of the advice: a message code and its numbers (worded where it is shown)."""

    code: str
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Advice:
    """The advice for the next session: values per setting, the rule's raw answer, its reasons."""

    values: dict[str, float]
    current: dict[str, float]
    error: float | None
    guidance_used_pct: float | None
    rule_guidance_pct: float | None
    reasons: list[Reason]


def gait_error(performance: SessionPerformance) -> tuple[float | None, list[Reason]]:
    """The movement error of the rule (0 = normal gait, 1 = none of it) and what it is made of.

    >>> p = SessionPerformance(80, {"left": 45.0, "right": 51.0}, -12.0, {60.0: 120.0})
    >>> error, reasons = gait_error(p)
    >>> round(error, 3), [r.code for r in reasons]
    (0.25, ['knee_rom_deficit', 'step_asymmetry'])
    """
    parts: list[tuple[float, Reason]] = []
    knees = [v for v in performance.knee_rom_deg.values() if v is not None and math.isfinite(v)]
    if knees:
        worse = min(knees)
        deficit = min(1.0, max(0.0, 1.0 - worse / NORMAL_KNEE_ROM_DEG))
        parts.append(
            (
                deficit,
                Reason(
                    "knee_rom_deficit",
                    {"knee_rom_deg": worse, "normal_deg": NORMAL_KNEE_ROM_DEG, "error": deficit},
                ),
            )
        )
    si = performance.step_time_si_pct
    if si is not None and math.isfinite(si):
        asymmetry = min(1.0, abs(si) / 100.0)
        parts.append((asymmetry, Reason("step_asymmetry", {"si_pct": abs(si), "error": asymmetry})))
    if not parts:
        return None, []
    return max(value for value, _ in parts), [reason for _, reason in parts]


def time_weighted_guidance_pct(guidance_time_s: Mapping[float, float]) -> float | None:
    """The session's mean guidance force, each level weighted by the time spent at it.

    >>> time_weighted_guidance_pct({80.0: 60.0, 70.0: 60.0})
    75.0
    """
    total = sum(t for t in guidance_time_s.values() if t > 0)
    if total <= 0:
        return None
    return sum(level * t for level, t in guidance_time_s.items() if t > 0) / total


def recommend(
    envelope: Mapping[str, SettingLimit],
    current: Mapping[str, float],
    performance: SessionPerformance,
    rule: AdaptationRule | None = None,
) -> Advice:
    """The next session's guidance force and assistance mode, each a safe next value.

    ``current`` holds the values the device last confirmed (the step limit counts from them).

    >>> env = {GUIDANCE: SettingLimit(GUIDANCE, "%", 0, 100, 10, 100)}
    >>> p = SessionPerformance(80, {"left": 48.0, "right": 50.0}, 3.0, {80.0: 120.0})
    >>> advice = recommend(env, {GUIDANCE: 80.0}, p)
    >>> advice.values, round(advice.rule_guidance_pct, 1)
    ({'guidance_force_pct': 78.0}, 78.0)
    """
    rule = rule or AdaptationRule()
    now = {name: float(value) for name, value in current.items() if name in (GUIDANCE, MODE)}
    values: dict[str, float] = {}
    reasons: list[Reason] = []
    guidance_limit = envelope.get(GUIDANCE)
    if guidance_limit is None:
        return Advice({}, now, None, None, None, [Reason("no_guidance_setting")])
    last = now.get(GUIDANCE, _power_on(guidance_limit))
    used = time_weighted_guidance_pct(performance.guidance_time_s)
    used = last if used is None else used
    error, error_reasons = gait_error(performance)
    judged = error is not None and performance.step_count >= rule.min_steps
    if not judged:
        reasons.append(Reason("too_few_steps", {"steps": performance.step_count}))
        raw = last
    else:
        assert error is not None
        reasons.extend(error_reasons)
        raw = rule.forgetting_factor * used + rule.error_gain_pct * error
        reasons.append(
            Reason(
                "error_based_update",
                {
                    "used_pct": used,
                    "error": error,
                    "forgetting_factor": rule.forgetting_factor,
                    "gain_pct": rule.error_gain_pct,
                    "rule_pct": raw,
                },
            )
        )
    if performance.safety_flags and raw < last:
        reasons.append(Reason("safety_flags_hold", {"flags": performance.safety_flags}))
        raw = last
    guidance = _safe_next(guidance_limit, last, raw, reasons, GUIDANCE)
    values[GUIDANCE] = guidance
    mode_limit = envelope.get(MODE)
    if mode_limit is not None:
        mode_now = now.get(MODE, _power_on(mode_limit))
        target = mode_now
        if judged and not performance.safety_flags:
            assert error is not None
            if error <= rule.transparent_error_max and guidance <= guidance_limit.min_value:
                target = TRANSPARENT
            elif error <= rule.aan_error_max:
                target = ASSIST_AS_NEEDED
            else:
                target = POSITION_CONTROL
        mode = _safe_next(mode_limit, mode_now, target, reasons, MODE)
        if mode != mode_now:
            reasons.append(Reason("mode_change", {"from": mode_now, "to": mode}))
        values[MODE] = mode
    return Advice(values, now, error if judged else None, used, raw if judged else None, reasons)


def _power_on(limit: SettingLimit) -> float:
    return limit.default_value if limit.default_value is not None else limit.max_value


def _safe_next(
    limit: SettingLimit, last: float, wanted: float, reasons: list[Reason], setting: str
) -> float:
    """``wanted`` brought inside the envelope and within one step of ``last`` (saying so)."""
    value = wanted
    if value > last + limit.max_step or value < last - limit.max_step:
        value = last + math.copysign(limit.max_step, value - last)
        reasons.append(
            Reason("step_limited", {"wanted": wanted, "max_step": limit.max_step, "value": value})
        )
    bounded = min(limit.max_value, max(limit.min_value, value))
    if bounded != value:
        reasons.append(
            Reason("envelope_bound", {"wanted": value, "bound": bounded, "value": bounded})
        )
    # Tenths are what a therapist reads; rounding never makes a step bigger than allowed.
    rounded = round(bounded, 1)
    return rounded if breach({setting: limit}, setting, last, rounded) is None else bounded
