"""A patient's progress over their analysed sessions: the numbers the progress pages plot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.patients import service as patients_service
from exoshare.telemetry import reads as telemetry_reads

if TYPE_CHECKING:
    from exoshare.patients.models import Patient
    from exoshare.telemetry.models import TelemetrySession


@dataclass(frozen=True)
class ProgressPoint:
    """One recorded session's numbers for the progress page."""

    telemetry_session_id: str
    started_at: datetime
    duration_s: float | None
    cadence_steps_per_min: float | None
    stride_time_symmetry_pct: float | None
    step_time_symmetry_pct: float | None
    knee_rom_deg: float | None
    speed_mps: float | None
    distance_m: float | None
    assistance_pct: float | None
    step_count: int | None


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def progress_point(record: TelemetrySession) -> ProgressPoint:
    summary = record.summary or {}
    symmetry = summary.get("symmetry", {})
    knee = summary.get("rom_deg", {}).get("knee", {})
    knees = [v for v in (_finite(knee.get("left")), _finite(knee.get("right"))) if v is not None]
    return ProgressPoint(
        telemetry_session_id=record.id,
        started_at=record.started_at,
        duration_s=record.duration_s,
        cadence_steps_per_min=record.cadence_steps_per_min,
        stride_time_symmetry_pct=_finite(symmetry.get("stride_time_s", {}).get("si_pct")),
        step_time_symmetry_pct=record.step_time_symmetry_index_pct,
        knee_rom_deg=sum(knees) / len(knees) if knees else None,
        speed_mps=_finite(summary.get("speed_mps")),
        distance_m=record.distance_m,
        # Models name the assistance their therapists set guidance force; simpler devices
        # report it as assistance_pct.
        assistance_pct=_finite(
            (record.settings or {}).get(
                "guidance_force_pct", (record.settings or {}).get("assistance_pct")
            )
        ),
        step_count=record.step_count,
    )


def patient_progress(
    session: Session, principal: Principal, patient_id: str
) -> tuple[Patient, list[ProgressPoint], list[TelemetrySession]]:
    """The patient's analysed sessions, oldest first, with the numbers that show progress."""
    patient = patients_service.get_patient(session, principal, patient_id)  # scoped, audited
    rows = telemetry_reads.analysed_recordings(session, patient.id)
    return patient, [progress_point(r) for r in rows], rows
