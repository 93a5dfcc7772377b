"""A patient's recovery prediction: gait speed and P(FAC >= 4) at 6, 12 and 26 weeks after onset.

The bridge from the record to the numeric core (`prediction.RecoveryPredictor`): the patient's
measurements done without the exoskeleton become the predictor's observations, in days since the
onset date of the diagnosis. The model is fitted once per process on the fixed-seed synthetic
stroke cohort of `validation` and kept; the prediction is recomputed from the measurements at
every read, so it follows them as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.outcomes.cohort import generate_cohort
from exoshare.outcomes.instruments import Measure
from exoshare.outcomes.measures import days_since_onset, measurements_of, observations
from exoshare.outcomes.prediction import Patient as CohortPatient
from exoshare.outcomes.prediction import Prediction, RecoveryPredictor, patients_from_rows
from exoshare.outcomes.schemas import ForecastState
from exoshare.outcomes.validation import TRAINING_SEED

if TYPE_CHECKING:
    from exoshare.outcomes.models import OutcomeMeasurement
    from exoshare.patients.models import Patient

HORIZON_WEEKS = (6, 12, 26)
LAST_DAY = 7 * HORIZON_WEEKS[-1]
FAN_POINTS = 24
# Measures the predictor was trained on, under the cohort's names.
PREDICTOR_MEASURES = {
    Measure.ten_mwt_comfortable_mps: "gait_speed_mps",
    Measure.fac: "fac",
    Measure.berg: "berg",
    Measure.tct: "tct",
    Measure.motricity_leg: "motricity_leg",
}


@lru_cache(maxsize=2)
def fitted_predictor(training_patients: int) -> RecoveryPredictor:
    """The model fitted on ``training_patients`` synthetic patients (seed ``TRAINING_SEED``)."""
    cohort = patients_from_rows(generate_cohort(training_patients, TRAINING_SEED))
    return RecoveryPredictor().fit(cohort)


@dataclass(frozen=True)
class Horizon:
    weeks_after_onset: int
    prediction: Prediction | None
    """None when the horizon lies before the latest measurement."""


@dataclass(frozen=True)
class Forecast:
    state: ForecastState
    observations_used: int = 0
    latest_day: float | None = None
    horizons: list[Horizon] = field(default_factory=list)
    fan: list[Prediction] = field(default_factory=list)
    """Predictions from the day after the latest measurement to week 26, for the fan chart."""
    observed: list[tuple[float, str, float]] = field(default_factory=list)
    """(days since onset, cohort measure, value): what the prediction was made from."""
    independent_walking_week: int | None = None

    @property
    def already_independent(self) -> bool:
        return any(m == "fac" and v >= 4 for _, m, v in self.observed)


def cohort_patient(patient: Patient, found: list[tuple[float, str, float]]) -> CohortPatient:
    detail = (patient.diagnosis_detail or "").lower()
    condition = (
        "haemorrhagic_stroke"
        if "haemorrhag" in detail or "hemorrhag" in detail
        else "ischaemic_stroke"
    )
    assert patient.onset_date is not None
    age_years = (patient.onset_date - patient.birth_date).days / 365.25
    return CohortPatient(patient.id, condition, age_years, tuple(sorted(found)))


def forecast_for(
    patient: Patient, found: list[tuple[float, str, float]], training_patients: int
) -> Forecast:
    """The prediction from these observations (days since onset, cohort measure, value)."""
    if patient.diagnosis.value != "stroke":
        return Forecast(ForecastState.not_stroke)
    if patient.onset_date is None:
        return Forecast(ForecastState.no_onset_date)
    if not found:
        return Forecast(ForecastState.no_measurement)
    latest = max(day for day, _, _ in found)
    if latest >= LAST_DAY:
        return Forecast(ForecastState.beyond_horizon, len(found), latest, observed=sorted(found))
    future_days = [7.0 * w for w in HORIZON_WEEKS if 7.0 * w > latest]
    start = max(latest + 1.0, 1.0)
    fan_days = (
        [start + (LAST_DAY - start) * i / (FAN_POINTS - 1) for i in range(FAN_POINTS)]
        if start < LAST_DAY
        else []
    )
    week_days = [7.0 * w for w in range(1, HORIZON_WEEKS[-1] + 1) if 7.0 * w > latest]
    asked = sorted(set(future_days + fan_days + week_days))
    model = fitted_predictor(training_patients)
    by_day = (
        {p.days_since_onset: p for p in model.predict(cohort_patient(patient, found), asked)}
        if asked
        else {}
    )
    horizons = [Horizon(w, by_day.get(7.0 * w)) for w in HORIZON_WEEKS]
    walking_week = next(
        (int(d // 7) for d in week_days if by_day[d].p_fac4 >= 0.5),
        None,
    )
    return Forecast(
        ForecastState.ready,
        observations_used=len(found),
        latest_day=latest,
        horizons=horizons,
        fan=[by_day[d] for d in fan_days],
        observed=sorted(found),
        independent_walking_week=walking_week,
    )


def patient_forecast(
    session: Session, principal: Principal, patient_id: str, training_patients: int
) -> tuple[Patient, Forecast]:
    """The patient's prediction from their measurements without the exoskeleton (scoped)."""
    patient, rows = measurements_of(session, principal, patient_id)
    return patient, forecast_for(patient, predictor_observations(patient, rows), training_patients)


def predictor_observations(
    patient: Patient, rows: list[OutcomeMeasurement]
) -> list[tuple[float, str, float]]:
    """(days since onset, cohort measure, value) of the measurements done without the
    exoskeleton, for the measures the predictor knows."""
    found: list[tuple[float, str, float]] = []
    for obs in observations([r for r in rows if not r.with_exoskeleton]):
        name = PREDICTOR_MEASURES.get(obs.measure)
        day = days_since_onset(patient, obs.measured_on)
        if name is not None and day is not None and day >= 0:
            found.append((day, name, obs.value))
    return found
