"""A synthetic stroke cohort drawn from published recovery parameters; deterministic from a seed.

Sources (numbers used below; anything not checked against the paper is marked ASSUMPTION):

- Copenhagen Stroke Study (Jørgensen et al., Arch Phys Med Rehabil 1995;76:27-32): at admission
  about 51 % could not walk, 12 % walked with assistance and 37 % walked independently; at
  discharge 22 %, 14 % and 64 %; 95 % of patients reached their best walking function within
  11 weeks of onset (quicker for milder strokes). Used: the mix of severities and a recovery time
  constant of a few weeks (95 % of the plateau at ~11 weeks means tau ≈ 11/3 weeks ≈ 26 days for
  the severe; ASSUMPTION: the milder plateau faster, tau scaled by severity).
- TWIST (Smith et al., Stroke 2017;48:1823-1830): independent walking (FAC >= 4) at 12 weeks is
  predicted in week 1 by the Trunk Control Test (TCT >= 40 predicts walking by 6 weeks) and
  leg strength; most patients with TCT < 40 and weak legs did not walk independently by
  12 weeks. Used: TCT and motricity leg in week 1 are driven by the same latent severity as the
  gait-speed plateau.
- LEAPS (Duncan et al., N Engl J Med 2011;364:2026-2036): at 2 months after stroke, participants
  with gait speed < 0.8 m/s had mean speed about 0.37 m/s, and about half moved up a walking
  category (< 0.4, 0.4-0.8, > 0.8 m/s) by one year. Used: a chronic speed plateau spread
  around 0.2-1.2 m/s, with most of the gain by 6 months (ASSUMPTION: the exact spread).
- FAC >= 4 corresponds roughly to gait speed >= 0.4 m/s (ASSUMPTION, consistent with the
  household/community categories of Perry et al. 1995 used by LEAPS).
- Berg Balance Scale 0-56, Motricity Index leg 0-100, TCT 0-100; their mapping from severity is
  an ASSUMPTION, shaped so that the ranges are clinically plausible.

The CSV format is one observation per row:
`patient_id,condition,age_years,sex,days_since_onset,measure,value`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEASURES = ("gait_speed_mps", "fac", "berg", "tct", "motricity_leg")
CONDITIONS = ("ischaemic_stroke", "haemorrhagic_stroke")
COLUMNS = ("patient_id", "condition", "age_years", "sex", "days_since_onset", "measure", "value")
# Assessment days (ASSUMPTION: a typical rehabilitation schedule up to 26 weeks).
VISIT_DAYS = (3, 7, 10, 14, 21, 28, 42, 56, 84, 126, 182)


@dataclass(frozen=True)
class CohortParameters:
    """What can vary between cohorts; the defaults follow the sources in the module docstring."""

    # Copenhagen: 51 % non-walkers, 12 % assisted, 37 % independent at admission.
    severity_mix: tuple[float, float, float] = (0.51, 0.12, 0.37)
    age_mean: float = 74.0  # Copenhagen mean age ≈ 74 years
    age_sd: float = 11.0
    haemorrhagic_share: float = 0.12  # ASSUMPTION: ~12 % haemorrhagic
    tau_days_severe: float = 26.0  # 95 % of best function by 11 weeks (Copenhagen)
    plateau_scale: float = 1.0  # multiplies every plateau speed (for shifted cohorts)
    noise_mps: float = 0.05  # ASSUMPTION: 10MWT test-retest error ~0.05 m/s
    visit_probability: float = 0.8  # ASSUMPTION: share of scheduled visits that happen


def generate_cohort(
    n_patients: int, seed: int, params: CohortParameters | None = None
) -> list[dict[str, object]]:
    """The cohort's observation rows, deterministic from `seed`."""
    p = params or CohortParameters()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    mix = np.asarray(p.severity_mix, dtype=float)
    mix = mix / mix.sum()
    for i in range(n_patients):
        group = int(rng.choice(3, p=mix))
        # latent severity in [0, 1]: 0 mild, 1 severe; each admission group spans a band
        severity = float(np.clip(rng.uniform(*((0.6, 1.0), (0.35, 0.65), (0.0, 0.4))[group]), 0, 1))
        age = float(np.clip(rng.normal(p.age_mean, p.age_sd), 30, 99))
        sex = "F" if rng.random() < 0.5 else "M"
        condition = CONDITIONS[1] if rng.random() < p.haemorrhagic_share else CONDITIONS[0]
        # plateau speed: LEAPS-like chronic spread; older and more severe are slower
        plateau = (1.25 - 1.0 * severity - 0.006 * (age - 70)) * p.plateau_scale
        plateau = float(np.clip(plateau + rng.normal(0, 0.12), 0.0, 1.6))
        tau = p.tau_days_severe * (0.3 + 0.7 * severity) * float(np.exp(rng.normal(0, 0.3)))
        if condition == CONDITIONS[1]:
            tau *= 1.3  # ASSUMPTION: haemorrhagic strokes recover later but similarly far
        onset_lag = 10.0 * severity  # days before a severe patient can first stand
        patient_id = f"P{seed}-{i:04d}"
        for day in VISIT_DAYS:
            if day != VISIT_DAYS[0] and rng.random() > p.visit_probability:
                continue
            frac = 1.0 - np.exp(-max(day - onset_lag, 0.0) / tau)
            speed = plateau * frac + rng.normal(0, p.noise_mps)
            speed = float(np.clip(speed, 0.0, 2.0))
            if speed < 0.05:
                speed = 0.0  # cannot walk 10 m
            fac = _fac(speed, rng)
            recovered = frac * (1 - severity)
            berg = np.clip(6 + 50 * (0.25 + 0.75 * recovered) * (1 - 0.4 * severity), 0, 56)
            tct = np.clip(100 * (0.3 + 0.7 * frac) * (1 - 0.7 * severity), 0, 100)
            motricity = np.clip(100 * (0.35 + 0.65 * frac) * (1 - 0.75 * severity), 0, 100)
            values = {
                "gait_speed_mps": round(speed, 3),
                "fac": fac,
                "berg": round(float(berg + rng.normal(0, 2.5))),
                "tct": round(float(tct + rng.normal(0, 6))),
                "motricity_leg": round(float(motricity + rng.normal(0, 6))),
            }
            for measure in MEASURES:
                value = values[measure]
                if measure in ("berg", "tct", "motricity_leg"):
                    top = 56 if measure == "berg" else 100
                    value = int(np.clip(value, 0, top))
                rows.append(
                    {
                        "patient_id": patient_id,
                        "condition": condition,
                        "age_years": round(age),
                        "sex": sex,
                        "days_since_onset": day,
                        "measure": measure,
                        "value": value,
                    }
                )
    return rows


def _fac(speed: float, rng: np.random.Generator) -> int:
    """Functional Ambulation Category 0-5 from speed, with rater spread (ASSUMPTION)."""
    s = speed + rng.normal(0, 0.06)
    if s < 0.05:
        return 0 if s < 0.0 else 1
    if s < 0.2:
        return 2
    if s < 0.4:
        return 3
    if s < 0.8:
        return 4
    return 5


def write_cohort_csv(rows: list[dict[str, object]], path: Path) -> None:
    """Write rows in the cohort CSV format."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
