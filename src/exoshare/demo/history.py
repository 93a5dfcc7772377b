"""Weeks of past gait sessions for a few demo patients, so progress pages have a story to tell.

Each chosen patient walked once a week for six weeks on a unit of their clinic; their
impairment eases week by week (severity falls, assistance is stepped down), as it does for
patients who respond to robotic gait training. Sessions go through the same import path as a
recording file, so each is stored, analysed and summarised like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.demo.gait_profiles import profile_for
from exoshare.demo.gait_simulator import simulate
from exoshare.devices.models import DeviceModel, DeviceUnit, UnitStatus
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.telemetry import service as telemetry_service
from exoshare.telemetry.store import RawStore

WEEKS = 6
SESSION_S = 120.0


@dataclass(frozen=True)
class HistorySpot:
    clinic_code: str
    patients: int
    include_email: str | None = None


SPOTS = (
    HistorySpot("ES-MAD-01", 3, include_email="carlos.ruiz@demo.exoshare.org"),
    HistorySpot("IN-BLR-01", 2),
    HistorySpot("NG-LOS-01", 1),
)

_PROFILE_OF = {
    "stroke": "stroke",
    "spinal_cord_injury": "spinal_cord_injury",
    "cerebral_palsy": "cerebral_palsy",
    "multiple_sclerosis": "multiple_sclerosis",
}


def _patients(
    session: Session, clinic: OrgUnit, spot: HistorySpot, model: DeviceModel
) -> list[Patient]:
    fits = (
        select(Patient)
        .where(
            Patient.clinic_id == clinic.id,
            Patient.voided.is_(False),
            Patient.height_m >= model.min_patient_height_m,
            Patient.height_m <= model.max_patient_height_m,
        )
        .order_by(Patient.family_name, Patient.id)
    )
    chosen: list[Patient] = []
    if spot.include_email:
        from exoshare.auth.models import User

        own = session.scalar(
            select(Patient)
            .join(User, User.id == Patient.user_id)
            .where(User.email == spot.include_email)
        )
        if own is not None:
            chosen.append(own)
    for patient in session.scalars(fits):
        if len(chosen) >= spot.patients:
            break
        if patient not in chosen:
            chosen.append(patient)
    return chosen


def seed_session_history(session: Session, store: RawStore, today: date, seed: int = 11) -> int:
    """Write the weekly sessions; returns how many were stored."""
    rng = np.random.default_rng(seed)
    stored = 0
    for spot in SPOTS:
        clinic = session.scalar(select(OrgUnit).where(OrgUnit.code == spot.clinic_code))
        if clinic is None:
            continue
        unit = session.scalar(
            select(DeviceUnit)
            .where(DeviceUnit.org_unit_id == clinic.id, DeviceUnit.status == UnitStatus.functioning)
            .order_by(DeviceUnit.serial_number)
        )
        if unit is None:
            continue
        model = session.get(DeviceModel, unit.model_id)
        assert model is not None
        for patient in _patients(session, clinic, spot, model):
            start_severity = float(rng.uniform(0.55, 0.8))
            # The same draw every week: the patient stays who they are, only the impairment eases.
            patient_seed = int(rng.integers(1 << 31))
            for week in range(WEEKS):
                day = today - timedelta(weeks=WEEKS - week)
                started = datetime.combine(day, time(10, 0), tzinfo=UTC)
                # Recovery: impairment and assistance fall a little every week.
                severity = max(0.1, start_severity - 0.06 * week)
                profile = profile_for(
                    _PROFILE_OF.get(patient.diagnosis.value, "stroke"),  # type: ignore[arg-type]
                    severity,
                    patient.height_m,
                    patient.weight_kg,
                    np.random.default_rng(patient_seed),
                )
                recording, _ = simulate(
                    profile,
                    SESSION_S,
                    seed=int(rng.integers(1 << 31)),
                    start_time_s=started.timestamp(),
                    initial_settings={"assistance_pct": max(20.0, 80.0 - 10.0 * week)},
                )
                telemetry_service.import_recording(
                    session,
                    store,
                    unit,
                    patient.id,
                    recording,
                    source="demo",
                    session_key=f"demo-history-{patient.id[:8]}-{week}",
                )
                stored += 1
    return stored
