"""Weeks of past gait sessions for a few demo patients, so progress pages have a story to tell.

Each chosen patient walked once a week for six weeks on a unit of their clinic that fits them,
with a therapist certified for it (every session passes the clinical-safety rule). Their
impairment eases week by week along a recovery curve, as it does for patients who respond to
robotic gait training (:mod:`exoshare.demo.recovery`), and the guidance force follows the
assist-as-needed advice after each session. Sessions go through the same import path as a
recording file, so each is stored, analysed and summarised like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_DEMO, Principal
from exoshare.demo import recovery
from exoshare.demo.device_client import limits_of_model
from exoshare.demo.gait_simulator import simulate
from exoshare.devices.schemas import UnitStatus
from exoshare.errors import NotCertified
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.scheduling import eligibility
from exoshare.telemetry import imports
from exoshare.telemetry.store import RawStore
from exoshare.telerehab import advice
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.schemas import AdviceDecision

if TYPE_CHECKING:
    from exoshare.auth.models import User
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient

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


def _therapists(session: Session, clinic: OrgUnit) -> list[User]:
    return auth_service.users_with_role_at(session, SYSTEM_DEMO, Role.therapist, clinic.id)


def _session_starts(today: date, turn: int) -> list[datetime]:
    """The weekly starts of a spot's ``turn``-th patient: one hour after the one before, so no
    two of a clinic's patients share a unit, a therapist or a time."""
    return [
        datetime.combine(today - timedelta(weeks=WEEKS - week), time(10 + turn, 0), tzinfo=UTC)
        for week in range(WEEKS)
    ]


def _fit(
    session: Session,
    patient: Patient,
    clinic: OrgUnit,
    units: list[DeviceUnit],
    therapists: list[User],
    starts: list[datetime],
) -> tuple[DeviceUnit, User] | None:
    """The first unit and therapist with which every weekly session passes the safety rule."""
    for unit in units:
        if eligibility.patient_refusals(patient, unit.model):
            continue  # cheap, and the usual reason: the patient does not fit the model
        for therapist in therapists:
            if all(
                not eligibility.refusals(
                    session,
                    therapist_id=therapist.id,
                    patient=patient,
                    unit=unit,
                    clinic=clinic,
                    at=at,
                    duration=timedelta(seconds=SESSION_S),
                )
                for at in starts
            ):
                return unit, therapist
    return None


def _chosen(
    session: Session, clinic: OrgUnit, spot: HistorySpot, today: date
) -> list[tuple[Patient, DeviceUnit, User, list[datetime]]]:
    """The spot's patients, each with a unit that fits them and a therapist certified for it.

    The story patient comes first when a unit of the clinic fits them; nobody is put on a
    device the rules forbid (a 1.78 m man on a paediatric trainer, say).
    """
    units = [
        u
        for u in eligibility.candidate_units(session, clinic.id)
        if u.status is UnitStatus.functioning
    ]
    therapists = _therapists(session, clinic)
    candidates: list[Patient] = []
    user = (
        auth_service.user_by_email(session, SYSTEM_DEMO, spot.include_email)
        if spot.include_email
        else None
    )
    if user is not None:
        candidates.extend(
            patients_service.clinic_patients(
                session, SYSTEM_DEMO, clinic.id, include_voided=True, user_id=user.id, limit=1
            )
        )
    candidates.extend(patients_service.clinic_patients(session, SYSTEM_DEMO, clinic.id))
    chosen: list[tuple[Patient, DeviceUnit, User, list[datetime]]] = []
    for patient in candidates:
        if len(chosen) >= spot.patients:
            break
        if any(patient is c[0] for c in chosen):
            continue
        starts = _session_starts(today, turn=len(chosen))
        fit = _fit(session, patient, clinic, units, therapists, starts)
        if fit is not None:
            chosen.append((patient, *fit, starts))
    return chosen


def seed_session_history(session: Session, store: RawStore, today: date, seed: int = 11) -> int:
    """Write the weekly sessions; returns how many were stored.

    Each patient recovers along their course (:mod:`exoshare.demo.recovery`) and their therapist
    follows the assist-as-needed advice after every session but the last, whose advice waits
    for a decision on the progress page (a motor-complete injury keeps full guidance: its
    therapist declines the advice).
    """
    rng = np.random.default_rng(seed)
    stored = 0
    for spot in SPOTS:
        clinic = network_service.find_org_unit_by_code(session, spot.clinic_code)
        if clinic is None:
            continue
        for patient, unit, therapist, starts in _chosen(session, clinic, spot, today):
            stored += _course(session, store, patient, unit, therapist, starts, rng)
    return stored


def _course(
    session: Session,
    store: RawStore,
    patient: Patient,
    unit: DeviceUnit,
    therapist: User,
    starts: list[datetime],
    rng: np.random.Generator,
) -> int:
    diagnosis = patient.diagnosis.value
    complete = recovery.motor_complete(diagnosis, patient.diagnosis_detail)
    baseline = recovery.baseline_profile(
        patient.medical_record_number,
        diagnosis,
        patient.diagnosis_detail,
        patient.height_m,
        patient.weight_kg,
    )
    limits = limits_of_model(unit.model)
    power_on = {
        name: limit.default_value
        for name, limit in limits.settings.items()
        if limit.default_value is not None
    }
    principal = auth_service.principal_for(session, therapist)
    planned: dict[str, float] | None = None
    for week, started in enumerate(starts):
        weeks = (started - starts[0]) / timedelta(weeks=1)  # of training, by the session dates
        profile = recovery.course_profile(baseline, weeks, rng, complete=complete)
        settings = {**power_on, **(planned or {})}
        recording, _ = simulate(
            profile,
            SESSION_S,
            seed=int(rng.integers(1 << 31)),
            start_time_s=started.timestamp(),
            model_limits=limits,
            initial_settings=settings,
        )
        stored_recording = imports.import_recording(
            session,
            store,
            unit,
            patient.id,
            recording,
            source="demo",
            session_key=f"demo-history-{patient.id[:8]}-{week}",
            settings=settings,
        )
        record = telerehab_sessions.record_completed_session(
            session,
            SYSTEM_DEMO,
            patient,
            unit,
            therapist.id,
            started_at=started,
            ended_at=started + timedelta(seconds=SESSION_S),
            telemetry_session_id=stored_recording.id,
            settings=settings,
            planned_settings=planned,
        )
        session.flush()
        if week < len(starts) - 1:
            planned = _follow_advice(session, principal, record.id, complete)
    return len(starts)


def _follow_advice(
    session: Session, principal: Principal, therapy_session_id: str, complete: bool
) -> dict[str, float] | None:
    """The therapist's decision on a past session's advice; the next session's settings."""
    try:
        if complete:
            # A motor-complete injury walks only as the device moves it: the therapist keeps
            # full guidance, whatever the gait error says.
            advice.decide(
                session,
                principal,
                therapy_session_id,
                AdviceDecision.declined,
                note="motor-complete injury: the exoskeleton walks for the patient",
            )
            return None
        view = advice.decide(session, principal, therapy_session_id, AdviceDecision.accepted)
    except NotCertified:
        return None  # certified on the session's day, not today: the advice waits undecided
    return view.decision.decided_values if view.decision else None
