"""The demo's past sessions: stored, analysed, and showing the recovery they were built with."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import User
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.careplan.models import AdherenceLog, CarePlanVersion, SoapNote
from exoshare.careplan.schemas import NoteStatus
from exoshare.db import session_scope
from exoshare.demo.care_records import seed_care_records
from exoshare.demo.history import WEEKS, seed_session_history
from exoshare.demo.network import CARLOS_EMAIL, ensure_demo_network
from exoshare.patients.models import Patient
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.store import RawStore
from exoshare.telerehab import progress
from exoshare.telerehab.models import AssistanceAdvice, TherapySession
from exoshare.telerehab.schemas import AdviceDecision


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_weekly_sessions_are_stored_summarised_and_improve(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = RawStore(str(tmp_path / "telemetry"))
    with session_scope(session_factory) as s:
        ensure_demo_network(s)
        stored = seed_session_history(s, store, date(2026, 11, 27))
    assert stored % WEEKS == 0 and stored >= 4 * WEEKS  # a session a week per chosen patient
    with session_scope(session_factory) as s:
        rows = s.scalars(
            select(TelemetrySession).order_by(
                TelemetrySession.patient_id, TelemetrySession.started_at
            )
        ).all()
        assert len(rows) == stored
        assert all(r.summary is not None and r.step_count for r in rows)
        by_patient: dict[str, list[float]] = {}
        for r in rows:
            by_patient.setdefault(r.patient_id, []).append(float(r.cadence_steps_per_min or 0))
    with session_scope(session_factory) as s:
        held = s.scalars(select(TherapySession)).all()
        # No unit and no therapist holds two of the demo's past sessions at once (the calendar
        # and the scheduler would otherwise see double bookings).
        assert len({(t.device_unit_id, t.started_at) for t in held}) == len(held) == stored
        assert len({(t.therapist_id, t.started_at) for t in held}) == len(held)
    for cadences in by_patient.values():
        # Built to recover: the last session is faster than the first for every patient.
        assert cadences[-1] > cadences[0]
    with session_scope(session_factory) as s:
        carlos = s.scalar(
            select(Patient).join(User, User.id == Patient.user_id).where(User.email == CARLOS_EMAIL)
        )
        assert carlos is not None
        points = progress.patient_progress(s, SYSTEM_DEMO, carlos.id)[1]
        decided = s.scalars(
            select(AssistanceAdvice).where(AssistanceAdvice.patient_id == carlos.id)
        ).all()
    weeks = np.arange(len(points))
    knee = [p.knee_rom_deg for p in points]
    asymmetry = [abs(p.step_time_symmetry_pct or 0.0) for p in points]
    guidance = [p.assistance_pct for p in points]
    # Carlos (motor-incomplete SCI, one leg weaker) recovers: his steps become more even and
    # his knees move further while the guidance force comes down as the advice says.
    assert len(points) == WEEKS
    assert np.polyfit(weeks, asymmetry, 1)[0] < -1.0  # % per week
    assert np.polyfit(weeks, knee, 1)[0] > 0.3  # degrees per week
    assert asymmetry[-1] < asymmetry[0] and knee[-1] > knee[0]
    assert guidance[0] == 100.0 and all(b < a for a, b in itertools.pairwise(guidance))
    # The therapist accepted the advice after every session but the last (it awaits Maria).
    assert len(decided) == WEEKS - 1
    assert {d.decision for d in decided} == {AdviceDecision.accepted}
    # A motor-complete injury keeps full guidance: its therapist declines every advice.
    with session_scope(session_factory) as s:
        declined = set(
            s.scalars(
                select(AssistanceAdvice.patient_id).where(
                    AssistanceAdvice.decision == AdviceDecision.declined
                )
            )
        )
        kept = [
            [p.assistance_pct for p in progress.patient_progress(s, SYSTEM_DEMO, pid)[1]]
            for pid in declined
        ]
    assert kept and all(levels == [100.0] * WEEKS for levels in kept)
    _care_records_follow_the_sessions(session_factory, tmp_path)


def _care_records_follow_the_sessions(factory: sessionmaker[Session], data_dir: Path) -> None:
    """Maria's clinic's patients with past sessions get a plan (two versions), a note per
    session whose objective is that session's own gait summary (all signed but the newest, one
    amended) and a home programme with adherence logs before today."""
    today = date(2026, 11, 27)
    with session_scope(factory) as s:
        care = seed_care_records(s, data_dir, today)
    assert (care.exercises, care.plans, care.notes) == (10, 3, 3 * WEEKS)
    assert care.adherence_logs > 3 * 3 * (WEEKS - 2)  # three exercises, most planned days
    with session_scope(factory) as s:
        notes = s.scalars(select(SoapNote)).all()
        assert len(notes) == 3 * WEEKS
        assert sum(n.status is NoteStatus.signed for n in notes) == 3 * (WEEKS - 1)
        assert sum(len(n.amendments) for n in notes) == 1
        for note in notes:
            recording = note.therapy_session.telemetry_session
            assert f"cadence {recording.cadence_steps_per_min:.1f} steps/min" in note.objective
        versions = s.scalars(select(CarePlanVersion.version)).all()
        assert sorted(versions) == [1, 1, 1, 2, 2, 2]
        assert max(s.scalars(select(AdherenceLog.performed_on))) < today
