"""A session's recording read back from the raw store, and its gait summary once it is complete.

When the last announced batch of an ended session is stored, :func:`finish_session` runs the
gait engine (:func:`exoshare.gait.analysis.analyse`) on the whole recording and keeps its summary,
with its key numbers as columns for lists and charts and the engine version that made it; an
analysis failure is kept too. Re-analysis on a cluster (:mod:`exoshare.telemetry.reanalysis`)
assembles recordings and keeps summaries with the same functions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare import __version__ as ENGINE_VERSION
from exoshare.devices import service as devices_service
from exoshare.gait.errors import GaitDataError
from exoshare.gait.recording import Recording
from exoshare.patients import service as patients_service
from exoshare.telemetry.models import SessionStatus, TelemetryBatch, TelemetrySession
from exoshare.telemetry.store import BatchStore, StoredBatch

if TYPE_CHECKING:
    from exoshare.gait.analysis import SessionSummary

LEG_TO_HEIGHT_RATIO = 0.53
"""Leg length (greater trochanter to floor) as a share of body height, Winter 2009, for the
spatial model when the device does not report the leg length."""


def finish_session(session: Session, store: BatchStore, record: TelemetrySession) -> None:
    """Analyse the complete session and keep its summary (an analysis failure is kept too)."""
    # The engine (SciPy) loads at the first session a process finishes, not when it starts:
    # the storage process imports this module, and a replaced one must answer devices at once.
    from exoshare.gait.analysis import analyse

    record.status = SessionStatus.ended
    record.ended_at = record.ended_at or datetime.now(UTC)
    try:
        summary = analyse(read_recording(session, store, record))
    except GaitDataError as exc:
        record.analysis_error = str(exc)
        return
    store_summary(record, summary)


def summary_data(summary: SessionSummary) -> dict[str, Any]:
    """What is kept of a summary (JSON-ready), with the version of the engine that made it."""
    data = summary.to_dict(include_strides=False)
    data["events"] = {
        side: {"ic_s": e.ic_s.round(3).tolist(), "fc_s": e.fc_s.round(3).tolist()}
        for side, e in summary.events.items()
    }
    data["engine_version"] = ENGINE_VERSION
    return data


def summary_columns(summary: SessionSummary) -> dict[str, float | int | None]:
    """The summary's key numbers, unrounded, as the session's columns for lists and charts."""

    def finite(value: float) -> float | None:
        return float(value) if value is not None and math.isfinite(value) else None

    return {
        "duration_s": finite(summary.duration_s),
        "step_count": int(summary.step_count),
        "cadence_steps_per_min": finite(summary.cadence_steps_per_min),
        "stride_time_s": finite(summary.parameters["stride_time_s"]["both"].mean),
        "step_time_symmetry_index_pct": finite(summary.symmetry["step_time_s"]["si_pct"]),
        "distance_m": finite(summary.distance_m),
    }


def store_summary(record: TelemetrySession, summary: SessionSummary) -> None:
    keep_summary(record, summary_data(summary), summary_columns(summary))


def keep_summary(
    record: TelemetrySession, data: dict[str, Any], columns: dict[str, float | int | None]
) -> None:
    """A summary in its kept form (:func:`summary_data`, :func:`summary_columns`) on its session."""
    record.summary = data
    record.analysis_error = None
    for name, value in columns.items():
        setattr(record, name, value)


def recording_meta(session: Session, record: TelemetrySession) -> dict[str, Any]:
    """What the gait engine needs to know: the device's meta, filled from the device and patient."""
    meta = dict(record.meta or {})
    unit = devices_service.find_unit(session, record.device_unit_id)
    if unit is not None:
        meta.setdefault("device_type", unit.model.device_type.value)
    patient = patients_service.find_patient(session, record.patient_id)
    if patient is not None:
        meta.setdefault("height_m", patient.height_m)
        meta.setdefault("leg_length_m", round(LEG_TO_HEIGHT_RATIO * patient.height_m, 3))
    return meta


def read_recording(session: Session, store: BatchStore, record: TelemetrySession) -> Recording:
    """The session's samples: its batches in sequence order, each placed at its sample times.

    Gaps between batches (a batch not yet arrived) read as NaN, so a sample is never shifted.
    """
    loaded = [store.read_batch(name) for name in batch_files(session, record.id)]
    return assemble(
        record.sampling_rate_hz,
        record.start_time_s,
        list(record.channels),
        loaded,
        recording_meta(session, record),
    )


def batch_files(session: Session, telemetry_session_id: str) -> list[str]:
    """The session's stored batch files, in sequence order."""
    return list(
        session.scalars(
            select(TelemetryBatch.file)
            .where(TelemetryBatch.session_id == telemetry_session_id)
            .order_by(TelemetryBatch.seq)
        )
    )


def assemble(
    fs: float,
    start_time_s: float,
    channels: list[str],
    loaded: list[StoredBatch],
    meta: dict[str, Any],
) -> Recording:
    """One recording of batches read back: each at its sample times, gaps as NaN."""
    if not loaded:
        empty: dict[str, np.ndarray] = {name: np.zeros(0) for name in channels}
        return Recording(fs, empty, start_time_s, meta)
    indices = [np.rint((b.time_s - start_time_s) * fs).astype(np.int64) for b in loaded]
    length = int(max(int(i[-1]) for i in indices)) + 1
    out = {name: np.full(length, np.nan) for name in channels}
    for batch, index in zip(loaded, indices, strict=True):
        for name in out:
            out[name][index] = batch.values[name]
    return Recording(fs, out, start_time_s, meta)
