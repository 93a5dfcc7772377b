"""The variables a research data set may hold, their generalisation hierarchies, and the rows
of a cohort as they leave the clinics: pseudonymised, dates shifted, no direct identifiers and
no free text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from exoshare.errors import N_
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.sharing.deid import Hierarchy, date_shift_days, interval, pseudonym
from exoshare.telemetry import reads as telemetry_reads


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    unit: str | None
    role: str
    """``quasi-identifier`` (generalised), ``sensitive`` (l-diverse), ``measure`` or ``date``
    (shifted per patient)."""
    hierarchy: Hierarchy | None = None


def _diagnosis_group(value: Any) -> str:
    return "other" if value == "other" else "neurological"


def _city_country(value: Any) -> str:
    return str(value).rsplit(", ", 1)[-1]


def _speed_band(speed_mps: float | None) -> str | None:
    # Perry's walking-ability classes after stroke (Stroke 1995): household, limited and full
    # community ambulation.
    if speed_mps is None:
        return None
    if speed_mps < 0.4:
        return "household (<0.4 m/s)"
    if speed_mps < 0.8:
        return "limited community (0.4-0.8 m/s)"
    return "community (>=0.8 m/s)"


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable(
            "age_years",
            N_("Age on the day of export"),
            "a",
            "quasi-identifier",
            Hierarchy.of(interval(5), interval(10), interval(20)),
        ),
        Variable("sex", "Sex recorded at the clinic", None, "quasi-identifier", Hierarchy.of()),
        Variable(
            "country",
            N_("Country of the treating clinic (ISO 3166)"),
            None,
            "quasi-identifier",
            Hierarchy.of(),
        ),
        Variable(
            "city",
            N_("City of the treating clinic, with its country"),
            None,
            "quasi-identifier",
            Hierarchy.of(_city_country),
        ),
        Variable(
            "diagnosis",
            N_("Condition treated (stroke, spinal cord injury, cerebral palsy, MS, other)"),
            None,
            "quasi-identifier",
            Hierarchy.of(_diagnosis_group),
        ),
        Variable(
            "height_m",
            N_("Standing height"),
            "m",
            "quasi-identifier",
            Hierarchy.of(interval(0.05, "m"), interval(0.1, "m"), interval(0.2, "m")),
        ),
        Variable(
            "gait_speed_band",
            N_("Walking-ability class from the mean gait speed of the analysed sessions (Perry)"),
            None,
            "sensitive",
        ),
        Variable("sessions", "Analysed therapy sessions", "1", "measure"),
        Variable("mean_gait_speed_mps", "Mean gait speed over the sessions", "m/s", "measure"),
        Variable("mean_cadence_steps_per_min", "Mean cadence", "/min", "measure"),
        Variable("total_distance_m", "Distance walked over the sessions", "m", "measure"),
        Variable(
            "onset_date_shifted", N_("Date of onset, shifted by the patient's offset"), None, "date"
        ),
        Variable(
            "first_session_date_shifted",
            N_("Date of the first analysed session, shifted by the same offset"),
            None,
            "date",
        ),
        Variable(
            "days_onset_to_first_session",
            N_("Days from onset to the first analysed session (kept exactly by the shift)"),
            "d",
            "measure",
        ),
    )
}
"""Everything a data set may hold. Names, record numbers, birth dates, weights and the free-text
diagnosis detail are never offered."""


def check_variables(names: list[str]) -> list[str]:
    """The unknown names among ``names`` (empty when all are offered)."""
    return [n for n in names if n not in VARIABLES]


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def cohort_rows(
    session: Session, patient_ids: list[str], secret: bytes, today: date
) -> pd.DataFrame:
    """One de-identified row per patient (pseudonym first), every variable computed.

    Reads the records unscoped and unaudited: the caller (an approved export) has checked the
    stewards' approvals and the patients' consents, and audits the release itself.
    """
    rows: list[dict[str, Any]] = []
    for patient_id in patient_ids:
        patient = patients_service.find_patient(session, patient_id)
        if patient is None:
            continue
        clinic = network_service.find_org_unit(session, patient.clinic_id)
        recordings = telemetry_reads.analysed_recordings(session, patient.id)
        speeds = [_finite((r.summary or {}).get("speed_mps")) for r in recordings]
        shift = timedelta(days=date_shift_days(secret, patient.id))
        first = recordings[0].started_at.date() if recordings else None
        mean_speed = _mean(speeds)
        age = (
            today.year
            - patient.birth_date.year
            - ((today.month, today.day) < (patient.birth_date.month, patient.birth_date.day))
        )
        country = (clinic.country_code if clinic else None) or "?"
        rows.append(
            {
                "pseudonym": pseudonym(secret, patient.id),
                "age_years": age,
                "sex": patient.sex.value,
                "country": country,
                "city": f"{(clinic.city if clinic else None) or '?'}, {country}",
                "diagnosis": patient.diagnosis.value,
                "height_m": round(patient.height_m, 2),
                "gait_speed_band": _speed_band(mean_speed) or "not measured",
                "sessions": len(recordings),
                "mean_gait_speed_mps": _round(mean_speed, 3),
                "mean_cadence_steps_per_min": _round(
                    _mean([r.cadence_steps_per_min for r in recordings]), 1
                ),
                "total_distance_m": _round(sum(r.distance_m or 0.0 for r in recordings), 1),
                "onset_date_shifted": (patient.onset_date + shift).isoformat()
                if patient.onset_date
                else None,
                "first_session_date_shifted": (first + shift).isoformat() if first else None,
                "days_onset_to_first_session": (first - patient.onset_date).days
                if first and patient.onset_date
                else None,
                "_patient_id": patient.id,
            }
        )
    return pd.DataFrame(rows)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
