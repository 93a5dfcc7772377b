"""How a demo patient's walking changes over weeks of robotic gait training: their course.

A patient keeps who they are (their baseline :class:`GaitProfile`); training takes back a share
of each deficit along an exponential recovery curve, ``share(w) = R · (1 − exp(−w / τ))`` after
``w`` weeks, the shape cohorts recover with (Jørgensen et al. 1995, Copenhagen Stroke Study,
used by :mod:`exoshare.outcomes.cohort` too): faster and symmetric steps, a larger knee and hip
excursion, more even stance. Every session also varies a little from day to day.

Sources for the direction and rough size of the gains: robot-assisted gait training improves
walking speed and endurance in chronic motor-incomplete spinal cord injury (Wirz et al., Arch
Phys Med Rehabil 2005;86:672-680) and after stroke (Mehrholz et al., Cochrane Database Syst Rev
2020, electromechanical-assisted gait training); motor-complete injuries (AIS A, B) regain
little voluntary walking. ASSUMPTION: the share recovered at the plateau (:data:`PLATEAU_SHARE`)
and the time constant (:data:`TAU_WEEKS`) are shaped after these trials, not fitted to them.

Motor-incomplete spinal cord injuries (AIS C, D) are rarely symmetric: one leg is weaker and the
steps limp (ASSUMPTION: how much, :func:`with_weaker_leg`), so their course can show symmetry
improving; the gait profiles draw every spinal cord injury as two equally affected legs.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import replace

import numpy as np

from exoshare.demo.gait_profiles import DIAGNOSES, Diagnosis, GaitProfile, profile_for

TAU_WEEKS = 3.0
PLATEAU_SHARE = {"incomplete": 0.7, "complete": 0.1}
"""Share of a deficit training takes back at the plateau, for motor-incomplete injuries (and
every other diagnosis) and for motor-complete spinal cord injuries."""
SPEED_GAIN_AT_PLATEAU = 0.45
"""Relative walking-speed gain at the plateau of a motor-incomplete course (ASSUMPTION: Wirz et
al. 2005 report gains of this order over eight weeks in chronic incomplete injury)."""
DAY_TO_DAY_CV = 0.03
"""Session-to-session variation of speed and joint excursion (ASSUMPTION: about the
test-retest variation of gait speed in neurological patients)."""


def baseline_profile(
    patient_key: str,
    diagnosis: str,
    detail: str | None,
    height_m: float,
    mass_kg: float,
    seed: int = 11,
) -> GaitProfile:
    """How a patient walked at their first session: the same profile wherever it is asked for
    (the weeks of history, a live session today), drawn from a stable key of the patient (their
    record number) and ``seed``.

    >>> a = baseline_profile("p-1", "stroke", None, 1.7, 70.0)
    >>> a == baseline_profile("p-1", "stroke", None, 1.7, 70.0), a.severity >= 0.55
    (True, True)
    """
    rng = np.random.default_rng([seed, zlib.crc32(patient_key.encode())])
    kind: Diagnosis = diagnosis if diagnosis in DIAGNOSES else "stroke"
    profile = profile_for(kind, float(rng.uniform(0.55, 0.8)), height_m, mass_kg, rng)
    if diagnosis == "spinal_cord_injury" and not motor_complete(diagnosis, detail):
        profile = with_weaker_leg(profile, rng)
    return profile


def motor_complete(diagnosis: str, detail: str | None) -> bool:
    """Whether a spinal cord injury is motor-complete (AIS A or B) by its recorded detail."""
    text = (detail or "").upper()
    return diagnosis == "spinal_cord_injury" and ("AIS A" in text or "AIS B" in text)


MOTOR_INCOMPLETE_ASSISTANCE_CORRECTION = 0.6
"""Share of a range-of-motion deficit full guidance removes in a motor-incomplete injury: its
voluntary activity and spasticity resist part of the guidance that moves paralysed legs almost
fully (0.9 in the gait profiles). ASSUMPTION: the value."""


def with_weaker_leg(profile: GaitProfile, rng: np.random.Generator) -> GaitProfile:
    """A bilateral profile with one leg weaker: the stronger leg keeps half its deficits, the
    weaker one all of them, and its steps take longer (ratio 1.15–1.25) with a shorter stance;
    guidance corrects less (:data:`MOTOR_INCOMPLETE_ASSISTANCE_CORRECTION`).

    >>> from exoshare.demo.gait_profiles import profile_for
    >>> sci = profile_for("spinal_cord_injury", 0.6, 1.78, 76.0, np.random.default_rng(3))
    >>> one = with_weaker_leg(sci, np.random.default_rng(3))
    >>> one.affected_side in ("left", "right"), one.step_time_ratio > 1.1
    (True, True)
    """
    if profile.affected_side != "both":
        return profile
    factors = (
        profile.affected_hip_rom_factor,
        profile.affected_knee_rom_factor,
        profile.affected_ankle_rom_factor,
    )
    stronger = 0.5 * (1.0 + float(np.mean(factors)))
    return replace(
        profile,
        affected_side="left" if rng.random() < 0.5 else "right",
        rom_factor=round(profile.rom_factor * stronger, 3),
        affected_hip_rom_factor=round(factors[0] / stronger, 3),
        affected_knee_rom_factor=round(factors[1] / stronger, 3),
        affected_ankle_rom_factor=round(factors[2] / stronger, 3),
        step_time_ratio=round(float(rng.uniform(1.15, 1.25)), 3),
        affected_stance_fraction=round(profile.stance_fraction - 0.05, 3),
        assistance_correction=MOTOR_INCOMPLETE_ASSISTANCE_CORRECTION,
    )


def recovered_share(weeks: float, complete: bool = False) -> float:
    """Share of each deficit taken back after ``weeks`` of training.

    >>> round(recovered_share(4.0), 3), recovered_share(0.0)
    (0.515, 0.0)
    """
    plateau = PLATEAU_SHARE["complete" if complete else "incomplete"]
    return plateau * (1.0 - math.exp(-max(weeks, 0.0) / TAU_WEEKS))


def course_profile(
    baseline: GaitProfile, weeks: float, rng: np.random.Generator, *, complete: bool = False
) -> GaitProfile:
    """How the patient of ``baseline`` walks after ``weeks`` of training, on one day."""
    share = recovered_share(weeks, complete)

    def toward(value: float, normal: float) -> float:
        return value + (normal - value) * share

    def day(value: float) -> float:
        return value * (1.0 + DAY_TO_DAY_CV * float(rng.standard_normal()))

    speed_gain = 1.0 + SPEED_GAIN_AT_PLATEAU * share / PLATEAU_SHARE["incomplete"]
    return replace(
        baseline,
        walking_speed_mps=round(
            float(np.clip(day(baseline.walking_speed_mps * speed_gain), 0.05, 3.0)), 3
        ),
        cadence_steps_per_min=round(
            float(np.clip(baseline.cadence_steps_per_min * math.sqrt(speed_gain), 20.0, 200.0)), 1
        ),
        step_time_ratio=round(toward(baseline.step_time_ratio, 1.0), 3),
        affected_stance_fraction=round(
            toward(baseline.affected_stance_fraction, baseline.stance_fraction), 3
        ),
        rom_factor=round(float(np.clip(day(toward(baseline.rom_factor, 1.0)), 0.2, 1.2)), 3),
        affected_hip_rom_factor=round(
            float(np.clip(day(toward(baseline.affected_hip_rom_factor, 1.0)), 0.1, 1.2)), 3
        ),
        affected_knee_rom_factor=round(
            float(np.clip(day(toward(baseline.affected_knee_rom_factor, 1.0)), 0.1, 1.2)), 3
        ),
        affected_ankle_rom_factor=round(
            float(np.clip(day(toward(baseline.affected_ankle_rom_factor, 1.0)), 0.1, 1.2)), 3
        ),
        severity=round(baseline.severity * (1.0 - share), 3),
    )
