"""Patient-specific gait profiles for the device simulator, and plausible profiles per diagnosis.

A :class:`GaitProfile` says how one patient walks in the exoskeleton: pace, timing asymmetry,
range-of-motion deficits, variability, fatigue, body size and the habits of a session (how often
they turn or stop). :func:`profile_for` draws one for a diagnosis and severity.

>>> import numpy as np
>>> p = profile_for("stroke", "moderate", height_m=1.72, mass_kg=78, rng=np.random.default_rng(1))
>>> p.affected_side in ("left", "right"), p.affected_stance_fraction < p.stance_fraction
(True, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import numpy as np

Diagnosis = Literal[
    "healthy", "stroke", "spinal_cord_injury", "cerebral_palsy", "multiple_sclerosis"
]
DIAGNOSES: tuple[Diagnosis, ...] = (
    "healthy",
    "stroke",
    "spinal_cord_injury",
    "cerebral_palsy",
    "multiple_sclerosis",
)
AffectedSide = Literal["left", "right", "both", "none"]

SEVERITY_LEVELS: dict[str, float] = {"mild": 0.25, "moderate": 0.5, "severe": 0.8}

# Winter's anthropometric segment lengths as fractions of body height.
THIGH_LENGTH_PER_HEIGHT = 0.245
SHANK_LENGTH_PER_HEIGHT = 0.246
LEG_LENGTH_PER_HEIGHT = 0.530


@dataclass(frozen=True)
class GaitProfile:
    """How one patient walks. Times are fractions of the gait cycle unless named otherwise.

    ``stance_fraction`` belongs to the unaffected leg (both legs when ``affected_side`` is
    ``"none"`` or ``"both"``), ``affected_stance_fraction`` to the affected one.
    ``step_time_ratio`` is the affected step time (from the other leg's IC to the affected leg's
    IC) over the unaffected step time. ``*_rom_factor`` scale the normative joint excursion:
    ``rom_factor`` on both legs, ``affected_*_rom_factor`` additionally on the affected leg(s).
    ``assistance_correction`` is how much of a ROM deficit full guidance force removes.
    ``fatigue_per_h`` is the fractional slow-down per hour of walking; shorter, more variable
    steps come with it.
    """

    diagnosis: Diagnosis
    severity: float
    walking_speed_mps: float
    cadence_steps_per_min: float
    affected_side: AffectedSide
    stance_fraction: float
    affected_stance_fraction: float
    step_time_ratio: float
    rom_factor: float
    affected_hip_rom_factor: float
    affected_knee_rom_factor: float
    affected_ankle_rom_factor: float
    crouch_deg: float
    stride_time_cv: float
    fatigue_per_h: float
    assistance_correction: float
    height_m: float
    mass_kg: float
    leg_length_m: float
    thigh_length_m: float
    shank_length_m: float
    strides_between_turns_mean: float = 10.0
    strides_between_pauses_mean: float = 40.0
    pause_duration_s: tuple[float, float] = (3.0, 15.0)

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool]] = [
            ("severity", 0.0 <= self.severity <= 1.0),
            ("walking_speed_mps", 0.05 <= self.walking_speed_mps <= 3.0),
            ("cadence_steps_per_min", 20.0 <= self.cadence_steps_per_min <= 200.0),
            ("stance_fraction", 0.5 <= self.stance_fraction <= 0.85),
            ("affected_stance_fraction", 0.45 <= self.affected_stance_fraction <= 0.85),
            ("step_time_ratio", 0.5 <= self.step_time_ratio <= 2.0),
            ("rom_factor", 0.2 <= self.rom_factor <= 1.2),
            ("affected_hip_rom_factor", 0.1 <= self.affected_hip_rom_factor <= 1.2),
            ("affected_knee_rom_factor", 0.1 <= self.affected_knee_rom_factor <= 1.2),
            ("affected_ankle_rom_factor", 0.1 <= self.affected_ankle_rom_factor <= 1.2),
            ("crouch_deg", 0.0 <= self.crouch_deg <= 40.0),
            ("stride_time_cv", 0.0 <= self.stride_time_cv <= 0.3),
            ("fatigue_per_h", 0.0 <= self.fatigue_per_h <= 2.0),
            ("assistance_correction", 0.0 <= self.assistance_correction <= 1.0),
            ("height_m", 0.8 <= self.height_m <= 2.3),
            ("mass_kg", 15.0 <= self.mass_kg <= 250.0),
            ("strides_between_turns_mean", self.strides_between_turns_mean >= 2.0),
            ("strides_between_pauses_mean", self.strides_between_pauses_mean >= 2.0),
            ("pause_duration_s", 0.5 <= self.pause_duration_s[0] <= self.pause_duration_s[1]),
        ]
        bad = [name for name, ok in checks if not ok]
        if bad:
            raise ValueError(f"implausible gait profile values: {', '.join(bad)}")
        # Each foot must still be on the ground when the other one lands (double support), or the
        # timing describes running, not walking.
        offset = self.right_ic_offset
        left_s, right_s = self.stance_fraction_of("left"), self.stance_fraction_of("right")
        if not (left_s > offset + 0.03 and right_s > 1.0 - offset + 0.03):
            raise ValueError(
                "stance fractions and step_time_ratio leave no double support: "
                f"left stance {left_s:.2f}, right stance {right_s:.2f}, "
                f"right IC at {offset:.2f} of the left cycle"
            )

    @property
    def stride_time_s(self) -> float:
        return 120.0 / self.cadence_steps_per_min

    @property
    def step_length_m(self) -> float:
        return self.walking_speed_mps * 60.0 / self.cadence_steps_per_min

    @property
    def stride_length_m(self) -> float:
        return 2.0 * self.step_length_m

    def is_affected(self, side: str) -> bool:
        return self.affected_side in (side, "both")

    def stance_fraction_of(self, side: str) -> float:
        return self.affected_stance_fraction if self.is_affected(side) else self.stance_fraction

    @property
    def right_ic_offset(self) -> float:
        """Where the right IC falls within the left gait cycle (0.5 when steps are symmetric)."""
        r = self.step_time_ratio
        if self.affected_side == "right":
            return r / (1.0 + r)
        if self.affected_side == "left":
            return 1.0 / (1.0 + r)
        return 0.5

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pause_duration_s"] = list(self.pause_duration_s)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GaitProfile:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "pause_duration_s" in kwargs:
            kwargs["pause_duration_s"] = tuple(kwargs["pause_duration_s"])
        return cls(**kwargs)


def _severity_value(severity: float | str) -> float:
    if isinstance(severity, str):
        try:
            return SEVERITY_LEVELS[severity]
        except KeyError:
            raise ValueError(
                f"unknown severity {severity!r}; use one of {sorted(SEVERITY_LEVELS)} or 0..1"
            ) from None
    value = float(severity)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    return value


def profile_for(
    diagnosis: Diagnosis,
    severity: float | str,
    height_m: float,
    mass_kg: float,
    rng: np.random.Generator,
) -> GaitProfile:
    """Draw a plausible profile for a patient with ``diagnosis`` at ``severity``.

    ``severity`` is 0 (minimal impairment) to 1 (most severe who still walks in a device), or one
    of ``"mild"``, ``"moderate"``, ``"severe"``. Ranges follow the clinical gait literature:
    hemiparetic stroke walks at 0.3-0.9 m/s with a shorter paretic stance and a longer paretic
    step; people with motor-complete SCI walk at 0.2-0.5 m/s at the pace the exoskeleton sets;
    CP shows crouch and stiff knees on both sides; MS shows foot drop, variability and fatigue.
    """
    if diagnosis not in DIAGNOSES:
        raise ValueError(f"unknown diagnosis {diagnosis!r}; known: {', '.join(DIAGNOSES)}")
    sev = 0.0 if diagnosis == "healthy" else _severity_value(severity)

    def jitter(value: float, rel: float) -> float:
        return value * (1.0 + rel * float(rng.standard_normal()))

    # Taller people take longer steps at the same cadence; scale speed with height.
    height_scale = height_m / 1.72
    side: AffectedSide
    base: dict[str, float]
    if diagnosis == "healthy":
        side = "none"
        base = dict(
            speed=1.30 * height_scale,
            cadence=110.0,
            stance=0.61,
            aff_stance=0.61,
            ratio=1.0,
            rom=1.0,
            hip=1.0,
            knee=1.0,
            ankle=1.0,
            crouch=0.0,
            cv=0.02,
            fatigue=0.02,
            correction=0.3,
            turns=8.0,
            pauses=60.0,
        )
    elif diagnosis == "stroke":
        side = "left" if rng.random() < 0.5 else "right"
        base = dict(
            speed=(1.05 - 0.75 * sev) * height_scale,
            cadence=100.0 - 40.0 * sev,
            stance=0.64 + 0.10 * sev,
            aff_stance=0.60 - 0.07 * sev,
            ratio=1.0 + 0.35 * sev,
            rom=1.0 - 0.2 * sev,
            hip=1.0 - 0.35 * sev,
            knee=1.0 - 0.55 * sev,
            ankle=1.0 - 0.5 * sev,
            crouch=0.0,
            cv=0.03 + 0.05 * sev,
            fatigue=0.10 + 0.25 * sev,
            correction=0.5,
            turns=8.0,
            pauses=25.0,
        )
    elif diagnosis == "spinal_cord_injury":
        side = "both"
        base = dict(
            speed=(0.50 - 0.30 * sev) * height_scale,
            cadence=62.0 - 22.0 * sev,
            stance=0.68 + 0.08 * sev,
            aff_stance=0.68 + 0.08 * sev,
            ratio=1.0,
            rom=1.0,
            hip=0.80 - 0.25 * sev,
            knee=0.75 - 0.25 * sev,
            ankle=0.6 - 0.2 * sev,
            crouch=0.0,
            cv=0.015 + 0.01 * sev,
            fatigue=0.15 + 0.15 * sev,
            correction=0.9,
            turns=6.0,
            pauses=15.0,
        )
    elif diagnosis == "cerebral_palsy":
        side = "both"
        base = dict(
            speed=(1.0 - 0.5 * sev) * height_scale,
            cadence=118.0 - 25.0 * sev,
            stance=0.62 + 0.06 * sev,
            aff_stance=0.62 + 0.06 * sev,
            ratio=1.0,
            rom=1.0,
            hip=1.0 - 0.2 * sev,
            knee=1.0 - 0.4 * sev,
            ankle=1.0 - 0.35 * sev,
            crouch=5.0 + 25.0 * sev,
            cv=0.03 + 0.04 * sev,
            fatigue=0.08 + 0.15 * sev,
            correction=0.6,
            turns=7.0,
            pauses=30.0,
        )
    else:  # multiple_sclerosis
        side = "left" if rng.random() < 0.5 else "right"
        base = dict(
            speed=(1.1 - 0.55 * sev) * height_scale,
            cadence=106.0 - 22.0 * sev,
            stance=0.62 + 0.06 * sev,
            aff_stance=0.61 + 0.02 * sev,
            ratio=1.0 + 0.12 * sev,
            rom=1.0 - 0.1 * sev,
            hip=1.0 - 0.15 * sev,
            knee=1.0 - 0.3 * sev,
            ankle=1.0 - 0.5 * sev,
            crouch=0.0,
            cv=0.035 + 0.05 * sev,
            fatigue=0.3 + 0.5 * sev,
            correction=0.5,
            turns=8.0,
            pauses=25.0,
        )

    cadence = float(np.clip(jitter(base["cadence"], 0.05), 30.0, 140.0))
    speed = float(np.clip(jitter(base["speed"], 0.08), 0.1, 2.0))
    stance = float(np.clip(base["stance"] + 0.01 * rng.standard_normal(), 0.55, 0.82))
    aff_stance = float(np.clip(base["aff_stance"] + 0.01 * rng.standard_normal(), 0.50, 0.82))
    if side in ("none", "both"):
        aff_stance = stance if side == "none" else aff_stance
    ratio = (
        float(np.clip(jitter(base["ratio"], 0.03), 0.8, 1.6)) if side in ("left", "right") else 1.0
    )

    def factor(key: str) -> float:
        return float(np.clip(jitter(base[key], 0.05), 0.2, 1.1))

    return GaitProfile(
        diagnosis=diagnosis,
        severity=sev,
        walking_speed_mps=round(speed, 3),
        cadence_steps_per_min=round(cadence, 1),
        affected_side=side,
        stance_fraction=round(stance, 3),
        affected_stance_fraction=round(aff_stance, 3),
        step_time_ratio=round(ratio, 3),
        rom_factor=factor("rom") if diagnosis != "healthy" else 1.0,
        affected_hip_rom_factor=factor("hip") if side != "none" else 1.0,
        affected_knee_rom_factor=factor("knee") if side != "none" else 1.0,
        affected_ankle_rom_factor=factor("ankle") if side != "none" else 1.0,
        crouch_deg=float(max(0.0, jitter(base["crouch"], 0.1))),
        stride_time_cv=float(max(0.005, jitter(base["cv"], 0.1))),
        fatigue_per_h=float(max(0.0, jitter(base["fatigue"], 0.1))),
        assistance_correction=base["correction"],
        height_m=height_m,
        mass_kg=mass_kg,
        leg_length_m=round(LEG_LENGTH_PER_HEIGHT * height_m, 3),
        thigh_length_m=round(THIGH_LENGTH_PER_HEIGHT * height_m, 3),
        shank_length_m=round(SHANK_LENGTH_PER_HEIGHT * height_m, 3),
        strides_between_turns_mean=base["turns"],
        strides_between_pauses_mean=base["pauses"],
        pause_duration_s=(3.0, 15.0) if diagnosis == "healthy" else (5.0, 30.0),
    )


def healthy_profile(height_m: float = 1.75, mass_kg: float = 72.0) -> GaitProfile:
    """A deterministic textbook healthy adult (no randomness), handy in tests and docs."""
    return GaitProfile(
        diagnosis="healthy",
        severity=0.0,
        walking_speed_mps=1.3,
        cadence_steps_per_min=110.0,
        affected_side="none",
        stance_fraction=0.61,
        affected_stance_fraction=0.61,
        step_time_ratio=1.0,
        rom_factor=1.0,
        affected_hip_rom_factor=1.0,
        affected_knee_rom_factor=1.0,
        affected_ankle_rom_factor=1.0,
        crouch_deg=0.0,
        stride_time_cv=0.02,
        fatigue_per_h=0.02,
        assistance_correction=0.3,
        height_m=height_m,
        mass_kg=mass_kg,
        leg_length_m=round(LEG_LENGTH_PER_HEIGHT * height_m, 3),
        thigh_length_m=round(THIGH_LENGTH_PER_HEIGHT * height_m, 3),
        shank_length_m=round(SHANK_LENGTH_PER_HEIGHT * height_m, 3),
    )
