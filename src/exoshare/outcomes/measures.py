"""Rules of outcome measurements: scored entry, voiding with a reason, and the scoped timeline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, InvalidInput, NotFound, PermissionDenied
from exoshare.outcomes.instruments import (
    InstrumentCode,
    Judgment,
    Measure,
    Population,
    ScoreError,
    judge,
    population_for,
    score,
)
from exoshare.outcomes.models import OutcomeMeasurement
from exoshare.outcomes.schemas import WalkingAid
from exoshare.patients import service as patients_service
from exoshare.telemetry import reads as telemetry_reads

if TYPE_CHECKING:
    from exoshare.patients.models import Patient


def writable_patient(session: Session, principal: Principal, patient_id: str) -> Patient:
    """The patient, when the caller may change their care record (read is audited)."""
    patient = patients_service.get_patient(session, principal, patient_id)
    if not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied.worded(
            N_("you may read this patient's outcomes but not record them")
        )
    return patient


def record_measurement(
    session: Session,
    principal: Principal,
    patient_id: str,
    instrument: InstrumentCode,
    items: dict[str, Any],
    measured_on: date,
    with_exoskeleton: bool = False,
    walking_aid: WalkingAid = WalkingAid.none,
    note: str | None = None,
) -> OutcomeMeasurement:
    """Score one administration from its items and keep it; the total is never typed."""
    patient = writable_patient(session, principal, patient_id)
    today = datetime.now(UTC).date()
    if measured_on > today:
        raise InvalidInput(
            f"measured_on {measured_on} is in the future; give the day the test was done",
            field="measured_on",
        )
    if measured_on < patient.birth_date:
        raise InvalidInput.worded(
            N_("measured_on is before the patient's birth date"), also={"field": "measured_on"}
        )
    try:
        clean, scores = score(instrument, items)
    except ScoreError as exc:
        raise InvalidInput.worded(
            exc.message, also={"field": f"items.{exc.field}"}, **exc.params
        ) from None
    measurement = OutcomeMeasurement(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        instrument=instrument,
        items=clean,
        scores={measure.value: value for measure, value in scores.items()},
        measured_on=measured_on,
        with_exoskeleton=with_exoskeleton,
        walking_aid=walking_aid,
        note=(note or "").strip() or None,
        recorded_by_id=principal.user_ref,
    )
    session.add(measurement)
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "outcome_measurement",
        measurement.id,
        patient_id=patient.id,
        detail={"instrument": instrument.value, "scores": measurement.scores},
    )
    return measurement


def _visible_measurement(
    session: Session, principal: Principal, measurement_id: str
) -> OutcomeMeasurement:
    row = session.get(OutcomeMeasurement, measurement_id)
    if (
        row is None
        or row.voided
        or not patients_service.may_read_patient(session, principal, row.patient_id)
    ):
        raise NotFound(f"measurement {measurement_id} not found")
    return row


def void_measurement(
    session: Session, principal: Principal, measurement_id: str, reason: str
) -> OutcomeMeasurement:
    """Hide a measurement from the timeline while keeping it, with who voided it and why."""
    row = _visible_measurement(session, principal, measurement_id)
    writable_patient(session, principal, row.patient_id)
    if not reason.strip():
        raise InvalidInput.worded(
            N_("a reason is required to void a measurement"), also={"field": "reason"}
        )
    row.voided = True
    row.voided_at = datetime.now(UTC)
    row.voided_by_id = principal.user_ref
    row.void_reason = reason.strip()
    audit.record(
        session,
        principal,
        "void",
        "outcome_measurement",
        row.id,
        patient_id=row.patient_id,
        detail={"reason": row.void_reason},
    )
    return row


def measurements_of(
    session: Session, principal: Principal, patient_id: str
) -> tuple[Patient, list[OutcomeMeasurement]]:
    """The patient's measurements in force, oldest first (scoped; audited as one read)."""
    patient = patients_service.get_patient(session, principal, patient_id)
    rows = list(
        session.scalars(
            select(OutcomeMeasurement)
            .where(
                OutcomeMeasurement.patient_id == patient.id, OutcomeMeasurement.voided.is_(False)
            )
            .order_by(OutcomeMeasurement.measured_on, OutcomeMeasurement.created_at)
        )
    )
    audit.record(
        session,
        principal,
        "read",
        "outcome_measurements",
        None,
        patient_id=patient.id,
        detail={"count": len(rows)},
    )
    return patient, rows


# ----------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Observation:
    """One value of one measure on one day, entered or device-derived."""

    measure: Measure
    measured_on: date
    value: float
    source_id: str
    device_derived: bool = False
    with_exoskeleton: bool = False
    walking_aid: WalkingAid | None = None


@dataclass(frozen=True)
class TimelinePoint:
    observation: Observation
    change_from_first: float | None
    judgment_from_first: Judgment | None
    change_from_previous: float | None
    judgment_from_previous: Judgment | None


@dataclass(frozen=True)
class Series:
    measure: Measure
    population: Population
    points: list[TimelinePoint]

    @property
    def first(self) -> float:
        return self.points[0].observation.value

    @property
    def latest(self) -> TimelinePoint:
        return self.points[-1]


def observations(rows: list[OutcomeMeasurement]) -> list[Observation]:
    return [
        Observation(
            Measure(key),
            row.measured_on,
            float(value),
            row.id,
            with_exoskeleton=row.with_exoskeleton,
            walking_aid=row.walking_aid,
        )
        for row in rows
        for key, value in row.scores.items()
    ]


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def device_observations(session: Session, patient_id: str) -> list[Observation]:
    """Gait speed, distance, cadence and symmetry of the patient's analysed sessions (the
    caller has checked that it may read the patient). Recorded on the exoskeleton, always."""
    found: list[Observation] = []
    for record in telemetry_reads.analysed_recordings(session, patient_id):
        summary = record.summary or {}
        values = {
            Measure.device_gait_speed_mps: _finite(summary.get("speed_mps")),
            Measure.device_distance_m: _finite(record.distance_m),
            Measure.device_cadence_steps_per_min: _finite(record.cadence_steps_per_min),
            Measure.device_step_time_symmetry_pct: _finite(record.step_time_symmetry_index_pct),
        }
        day = record.started_at.date()
        found += [
            Observation(measure, day, value, record.id, device_derived=True, with_exoskeleton=True)
            for measure, value in values.items()
            if value is not None
        ]
    return found


def days_since_onset(patient: Patient, day: date) -> float | None:
    return None if patient.onset_date is None else float((day - patient.onset_date).days)


def build_series(patient: Patient, found: list[Observation]) -> list[Series]:
    """One series per measure, oldest first, each point judged against the first and the
    previous one with the MDC and MCID of the patient's population at the first point."""
    by_measure: dict[Measure, list[Observation]] = {}
    for obs in sorted(found, key=lambda o: o.measured_on):  # stable: same day in record order
        by_measure.setdefault(obs.measure, []).append(obs)
    series: list[Series] = []
    for measure in Measure:  # catalogue order, so pages list measures alike for every patient
        points_in = by_measure.get(measure)
        if not points_in:
            continue
        first = points_in[0]
        population = population_for(
            patient.diagnosis.value, days_since_onset(patient, first.measured_on)
        )
        points: list[TimelinePoint] = []
        for index, obs in enumerate(points_in):
            if index == 0:
                points.append(TimelinePoint(obs, None, None, None, None))
                continue
            previous = points_in[index - 1]
            points.append(
                TimelinePoint(
                    obs,
                    round(obs.value - first.value, 4),
                    judge(measure, population, first.value, obs.value),
                    round(obs.value - previous.value, 4),
                    judge(measure, population, previous.value, obs.value),
                )
            )
        series.append(Series(measure, population, points))
    return series


def timeline(
    session: Session, principal: Principal, patient_id: str
) -> tuple[Patient, list[Series]]:
    """Every measure of the patient, entered and device-derived, with its MCID judgments."""
    patient, rows = measurements_of(session, principal, patient_id)
    return patient, build_series(
        patient, observations(rows) + device_observations(session, patient.id)
    )
