"""The demo network keeps the clinical-safety rule: no stored session, booking or metered use
breaks it (the demo once ran a 1.78 m patient six times on a trainer for 0.95–1.50 m)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.demo.history import WEEKS, seed_session_history
from exoshare.demo.live import prepare_round
from exoshare.demo.network import REFERENCE_DATE, ensure_demo_network
from exoshare.devices.models import DeviceUnit
from exoshare.fleet.models import UsageEvent
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.scheduling import eligibility
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.runs import run_schedule
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.store import RawStore
from exoshare.telerehab.models import TherapySession


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_demo_session_booking_and_metered_use_passes_the_safety_rule(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    today = REFERENCE_DATE + timedelta(days=26)
    monday = today + timedelta(days=7 - today.weekday())
    with session_scope(session_factory) as s:
        ensure_demo_network(s, seed=7)
        stored = seed_session_history(s, RawStore(str(tmp_path / "telemetry")), today)
        run = run_schedule(s, SYSTEM_SEEDING, monday, weeks=1, time_limit_s=10.0, num_workers=1)
    devices = prepare_round(session_factory)
    # Something of each kind exists, or the checks below would pass on nothing.
    assert stored >= 4 * WEEKS and run.sessions_booked > 0 and len(devices) == 4

    broken: list[tuple[str, str, list[str]]] = []
    with session_factory() as s:
        therapy = list(s.scalars(select(TherapySession)))
        assert len(therapy) == stored + len(devices)
        for t in therapy:
            at = t.started_at or t.planned_for or t.created_at
            found = eligibility.refusals(
                s,
                therapist_id=t.therapist_id,
                patient=t.patient,
                unit=t.device_unit,
                clinic=t.clinic,
                at=at,
                duration=(t.ended_at - at) if t.ended_at else timedelta(0),
            )
            broken += [("therapy session", t.id, [r.reason for r in found])] if found else []
        # Sessions held without a booking are on the calendar too (scheduling.bookings.
        # record_session_held); the run's own bookings are those it made.
        bookings = list(s.scalars(select(BookedSession)))
        assert sum(1 for b in bookings if b.schedule_run_id == run.id) == run.sessions_booked
        for b in bookings:
            found = eligibility.refusals(
                s,
                therapist_id=b.therapist_id,
                patient=b.patient,
                unit=b.unit,
                clinic=b.clinic,
                at=b.starts_at,
                duration=b.ends_at - b.starts_at,
            )
            broken += [("booking", b.id, [r.reason for r in found])] if found else []
        usage = list(s.scalars(select(UsageEvent)))
        assert usage
        for u in usage:
            unit = s.get(DeviceUnit, u.unit_id)
            patient = s.get(Patient, u.patient_id)
            assert unit is not None and patient is not None
            clinic = s.get(OrgUnit, u.clinic_id)
            assert clinic is not None
            found = eligibility.patient_refusals(patient, unit.model) + eligibility.unit_refusals(
                s,
                unit,
                clinic,
                u.session_start,
                (u.session_end or u.session_start) - u.session_start,
            )
            broken += [("metered use", u.id, [r.reason for r in found])] if found else []
        # Every recording of the history belongs to a therapy session that was checked above.
        recordings = set(s.scalars(select(TelemetrySession.id)))
        linked = {t.telemetry_session_id for t in therapy if t.telemetry_session_id}
        assert recordings == linked
    assert broken == []
