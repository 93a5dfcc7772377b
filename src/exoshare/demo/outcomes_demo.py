"""Outcome measures and goals for the demo's patients, recovering as published cohorts do.

Stroke patients follow one synthetic patient each from `outcomes.cohort` (Copenhagen, TWIST and
LEAPS parameters), drawn for their own age and stroke type and laid on their own onset date: a
recent stroke shows the steep first weeks (and so a live prediction), an old one its plateau.
Spinal cord injury (Carlos, two years after an incomplete injury) and the other conditions are
chronic: small gains with training over the last three months (ASSUMPTION: about 0.1 m/s in
gait speed and two WISCI II levels, the order of change reported after robotic gait training).

Everything is written through the outcomes services as the demo's system principal, so every
record is scored from its items and audited like a therapist's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.network import service as network_service
from exoshare.outcomes import goals, measures
from exoshare.outcomes.cohort import VISIT_DAYS, CohortParameters, generate_cohort
from exoshare.outcomes.instruments import (
    MOTRICITY_GRADES,
    TCT_GRADES,
    InstrumentCode,
    Measure,
)
from exoshare.outcomes.schemas import WalkingAid
from exoshare.patients import service as patients_service

if TYPE_CHECKING:
    from exoshare.patients.models import Patient

Visit = tuple[date, InstrumentCode, dict[str, Any]]
"""(day, instrument, items as a therapist would enter them)."""

CLINICS = ("ES-MAD-01",)
"""Every patient of these clinics (Maria López's) gets measures and a goal."""
STORY_PATIENTS = (
    "carlos.ruiz@demo.exoshare.org",
    "ravi.gowda@demo.exoshare.org",
    "amara.okafor@demo.exoshare.org",
)
CHRONIC_VISITS_WEEKS_AGO = (12, 8, 4, 0)
# Berg items from the easiest to the hardest (sitting unsupported first, one-leg stance last),
# so a total is spread over the items the way patients usually score them.
BERG_EASIEST_FIRST = (3, 1, 4, 5, 2, 6, 7, 8, 9, 10, 11, 13, 12, 14)


def berg_items(total: int) -> dict[str, int]:
    """Fourteen 0-4 item scores summing to ``total``, the easier items fuller."""
    total = int(min(max(total, 0), 56))
    items = {f"item_{n:02d}": 0 for n in range(1, 15)}
    for n in BERG_EASIEST_FIRST:
        give = min(4, total)
        items[f"item_{n:02d}"] = give
        total -= give
    return items


def _closest(grades: tuple[int, ...], count: int, target: float, plus: int = 0) -> dict[str, int]:
    best = min(product(grades, repeat=count), key=lambda c: abs(sum(c) + plus - target))
    return {f"item_{n}": g for n, g in enumerate(sorted(best, reverse=True), start=1)}


def _ten_metre(speed_mps: float) -> dict[str, float] | None:
    if speed_mps < 0.05:
        return None  # cannot walk 10 m: the FAC says so instead
    fast = speed_mps * 1.3  # ASSUMPTION: fast speed about 30 % above comfortable
    return {
        "distance_m": 10.0,
        "comfortable_time_s": round(10.0 / speed_mps, 1),
        "fast_time_s": round(10.0 / fast, 1),
    }


def stroke_visits(
    patient: Patient,
    today: date,
    seed: int,
    severity_mix: tuple[float, float, float] | None = None,
    acute_history: bool = False,
) -> list[Visit]:
    """A stroke patient's assessments drawn from the synthetic cohort (``severity_mix`` as the
    cohort's, by default). Long after the stroke they are the plateau re-measured while
    training, unless ``acute_history`` asks for the first 26 weeks as they were assessed."""
    assert patient.onset_date is not None
    age = (patient.onset_date - patient.birth_date).days / 365.25
    detail = (patient.diagnosis_detail or "").lower()
    params = CohortParameters(
        age_mean=age, age_sd=0.0, haemorrhagic_share=1.0 if "haemorrhag" in detail else 0.0
    )
    if severity_mix is not None:
        params = replace(params, severity_mix=severity_mix)
    rows = generate_cohort(1, seed, params)
    since_onset = (today - patient.onset_date).days
    by_day: dict[float, dict[str, float]] = {}
    for row in rows:
        day, value = row["days_since_onset"], row["value"]
        assert isinstance(day, int | float) and isinstance(value, int | float)
        by_day.setdefault(float(day), {})[str(row["measure"])] = float(value)
    plateau_day = float(VISIT_DAYS[-1])
    if not acute_history and since_onset > plateau_day + 90 and plateau_day in by_day:
        # Long after the stroke: the plateau, re-measured every four weeks while training.
        last = by_day[plateau_day]
        by_day = {
            float(since_onset - 7 * w): {
                **last,
                "gait_speed_mps": last["gait_speed_mps"] + 0.025 * (3 - w // 4),
            }
            for w in CHRONIC_VISITS_WEEKS_AGO
        }
    visits: list[Visit] = []
    for day, values in sorted(by_day.items()):
        when = patient.onset_date + timedelta(days=int(day))
        if when > today:
            continue
        walk = _ten_metre(values["gait_speed_mps"])
        if walk is not None:
            visits.append((when, InstrumentCode.ten_mwt, walk))
        visits.append((when, InstrumentCode.fac, {"category": values["fac"]}))
        visits.append((when, InstrumentCode.berg, berg_items(int(values["berg"]))))
        if day <= 14:  # TWIST's predictors, measured in the first weeks
            visits.append((when, InstrumentCode.tct, _closest(TCT_GRADES, 4, values["tct"])))
            visits.append(
                (
                    when,
                    InstrumentCode.motricity_leg,
                    _closest(MOTRICITY_GRADES, 3, values["motricity_leg"], plus=1),
                )
            )
    return visits


def _chronic_visits(patient: Patient, today: date, rng: np.random.Generator) -> list[Visit]:
    """Three months of training in a chronic condition: slow, real gains."""
    complete = (
        "complete sci" in (patient.diagnosis_detail or "").lower()
        and "incomplete" not in (patient.diagnosis_detail or "").lower()
    )
    start_speed = float(rng.uniform(0.15, 0.35)) if complete else float(rng.uniform(0.25, 0.6))
    start_wisci = int(rng.integers(6, 10)) if complete else int(rng.integers(9, 14))
    visits: list[Visit] = []
    for step, weeks_ago in enumerate(CHRONIC_VISITS_WEEKS_AGO):
        when = today - timedelta(weeks=weeks_ago)
        speed = start_speed + 0.035 * step + float(rng.normal(0, 0.015))
        walk = _ten_metre(speed)
        if walk is not None:
            visits.append((when, InstrumentCode.ten_mwt, walk))
        visits.append((when, InstrumentCode.six_mwt, {"distance_m": round(speed * 300 * 0.85)}))
        if patient.diagnosis.value == "spinal_cord_injury":
            visits.append(
                (when, InstrumentCode.wisci_ii, {"level": min(20, start_wisci + step * 2 // 3)})
            )
    return visits


def _patients(session: Session) -> list[Patient]:
    found: list[Patient] = []
    for code in CLINICS:
        clinic = network_service.find_org_unit_by_code(session, code)
        if clinic is not None:
            found += patients_service.clinic_patients(session, SYSTEM_DEMO, clinic.id)
    for email in STORY_PATIENTS:
        user = auth_service.user_by_email(session, SYSTEM_DEMO, email)
        record = patients_service.patient_of_user(session, user.id if user else None)
        if record is not None and all(record.id != p.id for p in found):
            found.append(record)
    return found


def seed_outcomes(session: Session, today: date, seed: int = 12) -> tuple[int, int]:
    """Write the measures and one goal per patient; returns (measurements, goals)."""
    rng = np.random.default_rng(seed)
    written = goals_set = 0
    for index, patient in enumerate(_patients(session)):
        if patient.onset_date is None:
            continue
        stroke = patient.diagnosis.value == "stroke"
        visits = (
            stroke_visits(patient, today, seed * 1000 + index)
            if stroke
            else _chronic_visits(patient, today, rng)
        )
        if not visits:
            continue
        # The goal is set after the first half of the visits, as a therapist would after the
        # first assessments; the rest of the visits then show whether it is on track.
        days = sorted({when for when, _, _ in visits})
        goal_day = days[len(days) // 2] if len(days) > 1 else days[0]
        on_exoskeleton = patient.diagnosis.value == "spinal_cord_injury"
        aid = WalkingAid.crutches if on_exoskeleton else WalkingAid.none
        goal_written = False
        for when, code, items in visits:
            if when > goal_day and not goal_written:
                goal_written = _goal(session, patient, goal_day, stroke)
                goals_set += goal_written
            measures.record_measurement(
                session, SYSTEM_DEMO, patient.id, code, items, when,
                with_exoskeleton=on_exoskeleton and code is not InstrumentCode.wisci_ii,
                walking_aid=aid,
            )  # fmt: skip
            written += 1
        if not goal_written:
            goals_set += _goal(session, patient, goal_day, stroke)
    return written, goals_set


def _goal(session: Session, patient: Patient, start: date, stroke: bool) -> bool:
    """10MWT comfortable >= a step up from now, eight weeks on ("0.8 m/s by week 8")."""
    found = [
        o
        for o in measures.observations(
            measures.measurements_of(session, SYSTEM_DEMO, patient.id)[1]
        )
        if o.measure is Measure.ten_mwt_comfortable_mps
    ]
    latest = found[-1].value if found else 0.0
    target = round(min(1.2, max(0.4, latest + (0.2 if stroke else 0.1))), 1)
    note = "community walking" if target >= 0.8 else "household walking"
    goals.create_goal(
        session, SYSTEM_DEMO, patient.id, Measure.ten_mwt_comfortable_mps, target,
        start + timedelta(weeks=8), note=note, start_date=start,
    )  # fmt: skip
    return True
