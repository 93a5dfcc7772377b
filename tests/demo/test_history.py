"""The demo's past sessions: stored, analysed, and showing the recovery they were built with."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.demo.history import WEEKS, seed_session_history
from exoshare.demo.network import ensure_demo_network
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.store import RawStore


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
    for cadences in by_patient.values():
        # Built to recover: the last session is faster than the first for every patient.
        assert cadences[-1] > cadences[0]
