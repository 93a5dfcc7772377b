"""Live simulated sessions for the demo: virtual exoskeletons that stream while the demo runs.

Each round plans a therapy session per device (as the clinic's therapist would), then the
devices announce, stream at 100 Hz in real time over MQTT and end; the next round starts a new
session. Madrid is Maria's clinic (journey 1; her patient's cuff overheats after a while so a
skin-temperature alert appears); Lagos is a home session on a poor link (journey 3). Each
patient walks as their recovery course says for today (:mod:`exoshare.demo.recovery`), and the
device powers on with the session's planned settings (the accepted advice).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.db import session_scope
from exoshare.demo import recovery
from exoshare.demo.device_client import SimulatedDevice, limits_of_model
from exoshare.demo.faults import Overheating
from exoshare.demo.flaky_link import FlakyConfig
from exoshare.demo.gait_simulator import DeviceLimits
from exoshare.demo.network import MARIA_EMAIL, REMOTE_THERAPIST_EMAIL
from exoshare.devices.schemas import UnitStatus
from exoshare.health import wait_until_healthy
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.scheduling import eligibility
from exoshare.telemetry import credentials
from exoshare.telemetry import reads as telemetry_reads
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.schemas import TherapyLocation

if TYPE_CHECKING:
    from exoshare.auth.models import User
    from exoshare.devices.models import DeviceModel, DeviceUnit
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient

log = logging.getLogger(__name__)

SESSION_S = 600.0
"""Length of one demo session: long enough to watch, short enough to see sessions complete."""


@dataclass(frozen=True)
class LiveSpot:
    clinic_code: str
    therapist_email: str | None
    location: TherapyLocation
    flaky: bool = False
    overheat_after_s: float | None = None


SPOTS = (
    LiveSpot("ES-MAD-01", MARIA_EMAIL, TherapyLocation.clinic, overheat_after_s=60.0),
    # A colleague's session on the Corvane AX2, which Maria is not certified for (she may watch
    # it; a setting change is refused).
    LiveSpot("ES-MAD-01", None, TherapyLocation.clinic),
    # Journey 3: a home session in Lagos on a poor link, followed from Toronto.
    LiveSpot("NG-LOS-01", REMOTE_THERAPIST_EMAIL, TherapyLocation.home, flaky=True),
    LiveSpot("IN-BLR-01", None, TherapyLocation.clinic),
)


@dataclass(frozen=True)
class LiveDevice:
    spot: LiveSpot
    serial: str
    org_unit_code: str
    credential: str
    patient_id: str
    diagnosis: str
    height_m: float
    mass_kg: float
    limits: DeviceLimits
    planned_settings: dict[str, float] | None = None
    """The session's planned starting settings (the patient's accepted advice), which the
    device powers on with, as a session plan sent to it would."""
    diagnosis_detail: str | None = None
    course_weeks: float = 0.0
    """Weeks since the patient's first recorded session: where they are on their course."""
    patient_key: str = ""
    """What the patient's baseline gait is drawn from (their record number, stable across
    demo runs, unlike the random id)."""


def _therapist(session: Session, clinic: OrgUnit, email: str | None, model_id: str) -> User | None:
    """The spot's therapist, or the clinic's first therapist certified for the model (a
    certificate is what lets a therapist run a model)."""
    if email:
        return auth_service.user_by_email(session, SYSTEM_DEMO, email)
    therapists = auth_service.users_with_role_at(
        session, SYSTEM_DEMO, Role.therapist, clinic.id, include_revoked=True
    )
    return next(
        (t for t in therapists if telerehab_sessions.is_certified(session, t.id, model_id)), None
    )


def _pick(
    session: Session,
    clinic: OrgUnit,
    spot: LiveSpot,
    used_units: set[str],
    used_patients: set[str],
) -> tuple[DeviceUnit, DeviceModel, User, Patient] | None:
    """The first unit the clinic may use now, its therapist, and a patient the session would be
    safe for: the same rule a therapist's start meets (:mod:`exoshare.scheduling.eligibility`)."""
    now = datetime.now(UTC)
    for unit in eligibility.candidate_units(session, clinic.id):
        if unit.id in used_units or unit.status is not UnitStatus.functioning:
            continue
        model = unit.model
        therapist = _therapist(session, clinic, spot.therapist_email, model.id)
        if therapist is None:
            continue
        for patient in patients_service.clinic_patients(
            session,
            SYSTEM_DEMO,
            clinic.id,
            min_height_m=model.min_patient_height_m,
            max_height_m=model.max_patient_height_m,
            max_weight_kg=model.max_patient_weight_kg,
            exclude_ids=used_patients,
        ):
            found = eligibility.refusals(
                session,
                therapist_id=therapist.id,
                patient=patient,
                unit=unit,
                clinic=clinic,
                at=now,
                duration=timedelta(seconds=SESSION_S),
            )
            if not found:
                return unit, model, therapist, patient
            if any(not r.field.startswith("patient.") for r in found):
                break  # the unit or the therapist is the obstacle: try the next unit
    return None


def prepare_round(factory: sessionmaker[Session]) -> list[LiveDevice]:
    """Plan one therapy session per spot and issue its device a credential."""
    devices: list[LiveDevice] = []
    used_units: set[str] = set()
    used_patients: set[str] = set()
    with session_scope(factory) as session:
        for spot in SPOTS:
            clinic = network_service.find_org_unit_by_code(session, spot.clinic_code)
            if clinic is None:
                continue
            picked = _pick(session, clinic, spot, used_units, used_patients)
            if picked is None:
                continue
            unit, model, therapist, patient = picked
            principal = auth_service.principal_for(session, therapist)
            # A home on a known-poor link gets a longer grace before "link lost", as its
            # therapist would set it; short drops are expected there and recovered by resends.
            rules = {"link_lost_after_s": 20.0} if spot.flaky else None
            record = telerehab_sessions.plan_session(
                session, principal, patient.id, unit.id, spot.location, alert_rules=rules
            )
            secret, _ = credentials.issue_device_credential(
                session, SYSTEM_DEMO, unit.id, "demo live session"
            )
            used_units.add(unit.id)
            used_patients.add(patient.id)
            devices.append(
                LiveDevice(
                    spot,
                    unit.serial_number,
                    clinic.code,
                    secret,
                    patient.id,
                    patient.diagnosis.value,
                    patient.height_m,
                    patient.weight_kg,
                    limits_of_model(model),
                    record.planned_settings,
                    patient.diagnosis_detail,
                    _course_weeks(session, patient.id),
                    patient.medical_record_number,
                )
            )
    return devices


def _course_weeks(session: Session, patient_id: str) -> float:
    recorded = telemetry_reads.analysed_recordings(session, patient_id)
    if not recorded:
        return 0.0
    return max(0.0, (datetime.now(UTC) - recorded[0].started_at) / timedelta(weeks=1))


async def _run_round(devices: list[LiveDevice], broker_url: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    runners = []
    for i, device in enumerate(devices):
        # Today's session continues the patient's course (the weeks of history, if any).
        baseline = recovery.baseline_profile(
            device.patient_key,
            device.diagnosis,
            device.diagnosis_detail,
            device.height_m,
            device.mass_kg,
        )
        complete = recovery.motor_complete(device.diagnosis, device.diagnosis_detail)
        profile = recovery.course_profile(baseline, device.course_weeks, rng, complete=complete)
        faults = (
            [Overheating(device.spot.overheat_after_s, "left", rate_c_per_min=4.0)]
            if device.spot.overheat_after_s is not None
            else []
        )
        runners.append(
            SimulatedDevice(
                broker_url,
                device.serial,
                device.org_unit_code,
                device.credential,
                device.patient_id,
                profile,
                seed + i,
                duration_s=SESSION_S,
                speed=1.0,
                faults=faults,
                flaky=FlakyConfig(drop=0.2, seed=seed + i) if device.spot.flaky else None,
                keep_recording=False,
                model_limits=device.limits,
                initial_settings=device.planned_settings,
            ).run()
        )
    await asyncio.gather(*runners)


def _abort_orphans(factory: sessionmaker[Session]) -> None:
    """Sessions a previous demo run left live have no device any more: end them honestly."""
    with session_scope(factory) as session:
        telerehab_sessions.abort_active_sessions(
            session, SYSTEM_DEMO, "the demo was restarted; its virtual device stopped"
        )


def run_live_demo(
    factory: sessionmaker[Session], broker_url: str, server_url: str, stop: threading.Event
) -> None:
    """Rounds of live sessions until ``stop`` is set (runs in a daemon thread of the demo)."""
    # A device keeps unconfirmed messages in flight by design; the MQTT client's warning about
    # pending publishes is noise in the demo's terminal.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    _abort_orphans(factory)
    if not wait_until_healthy(server_url, timeout_s=120.0, stop=stop):
        log.warning("live demo devices not started: %s never became healthy", server_url)
        return
    seed = 0
    while not stop.is_set():
        try:
            devices = prepare_round(factory)
            asyncio.run(_run_round(devices, broker_url, seed))
        except Exception:  # the demo server must keep serving whatever a device does
            log.exception("a round of live demo sessions failed; starting the next one")
            stop.wait(10.0)
        seed += len(SPOTS)


def start_live_demo(
    factory: sessionmaker[Session], broker_url: str, server_url: str
) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=run_live_demo,
        args=(factory, broker_url, server_url, stop),
        name="demo-live",
        daemon=True,
    ).start()
    return stop
