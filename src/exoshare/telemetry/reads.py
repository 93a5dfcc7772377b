"""What the API and the pages read of telemetry: scoped, audited sessions, samples, events."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import Principal
from exoshare.errors import NotFound
from exoshare.gait.recording import Recording
from exoshare.patients import service as patients_service
from exoshare.telemetry.models import TelemetryEvent, TelemetrySession
from exoshare.telemetry.store import RawStore
from exoshare.telemetry.summaries import read_recording


def get_session(session: Session, principal: Principal, session_id: str) -> TelemetrySession:
    """A session the caller may see (one who may read its patient), audited as a patient read."""
    record = session.scalar(
        select(TelemetrySession)
        .where(TelemetrySession.id == session_id)
        .options(selectinload(TelemetrySession.patient), selectinload(TelemetrySession.device_unit))
    )
    if record is None or not patients_service.may_read_patient(
        session, principal, record.patient_id
    ):
        raise NotFound(f"session {session_id} not found")
    audit.record(
        session,
        principal,
        "read",
        "telemetry_session",
        record.id,
        patient_id=record.patient_id,
    )
    return record


def session_samples(
    session: Session, principal: Principal, store: RawStore, session_id: str
) -> tuple[TelemetrySession, Recording]:
    record = get_session(session, principal, session_id)
    audit.record(
        session,
        principal,
        "read",
        "telemetry_samples",
        record.id,
        patient_id=record.patient_id,
        detail={"n_samples": record.n_samples},
    )
    return record, read_recording(session, store, record)


def sessions_of_patient(
    session: Session, principal: Principal, patient_id: str, limit: int = 100
) -> list[TelemetrySession]:
    patients_service.get_patient(session, principal, patient_id)  # scoped and audited
    rows = session.scalars(
        select(TelemetrySession)
        .where(TelemetrySession.patient_id == patient_id)
        .options(selectinload(TelemetrySession.device_unit))
        .order_by(TelemetrySession.started_at.desc())
        .limit(limit)
    ).all()
    return list(rows)


def events_of(session: Session, record: TelemetrySession) -> list[TelemetryEvent]:
    return list(
        session.scalars(
            select(TelemetryEvent)
            .where(and_(TelemetryEvent.session_id == record.id, TelemetryEvent.event_id >= 0))
            .order_by(TelemetryEvent.time_s)
        )
    )


# ------------------------------------------------------ for telerehab's therapy sessions


def find_recording(session: Session, telemetry_session_id: str) -> TelemetrySession | None:
    """Unscoped read of a recording, for the server's own use (linking it to a therapy session)."""
    return session.get(TelemetrySession, telemetry_session_id)


def analysed_recordings(session: Session, patient_id: str) -> list[TelemetrySession]:
    """A patient's recordings that have a summary, oldest first (unscoped: the caller has
    checked that it may see the patient)."""
    rows = session.scalars(
        select(TelemetrySession)
        .where(TelemetrySession.patient_id == patient_id, TelemetrySession.summary.is_not(None))
        .order_by(TelemetrySession.started_at)
    ).all()
    return list(rows)
