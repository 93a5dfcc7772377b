"""A whole recording stored as a session: file uploads, ``exoshare telemetry import``, the demo.

The recording (read from a file by :mod:`exoshare.telemetry.files`, or built in code) goes
through the same rules as a device's messages: an announce, its samples as batches, an end,
then the summary.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from exoshare.errors import TelemetryRejected
from exoshare.gait.channels import channel
from exoshare.gait.recording import Recording
from exoshare.telemetry.batches import ingest_batches
from exoshare.telemetry.credentials import Device
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, SessionEnd
from exoshare.telemetry.sessions import announce_session, end_session
from exoshare.telemetry.store import RawStore

IMPORT_BATCH_SAMPLES = 6000


def import_recording(
    session: Session,
    store: RawStore,
    device: Device,
    patient_id: str,
    recording: Recording,
    source: str,
    source_file: str | None = None,
    session_key: str | None = None,
    max_nan_run_s: float = 0.5,
    settings: dict[str, float] | None = None,
) -> TelemetrySession:
    """Store a whole recording as a session (announce, batches, end) and summarise it.

    ``settings`` are the device's settings at the start, as a device announces them.
    The caller's transaction makes it all or nothing in SQL; files written before a failure
    stay unreferenced and are never read. A refused batch raises its rejection.
    """
    start = recording.start_time_s or datetime.now(UTC).timestamp()
    key = session_key or f"{source}-{secrets.token_hex(8)}"
    announce = SessionAnnounce(
        session_id=key,
        device_serial=device.serial_number,
        patient_id=patient_id,
        start_time_s=start,
        sampling_rate_hz=recording.sampling_rate_hz,
        channels={name: channel(name).unit for name in recording.channels},
        meta={k: v for k, v in recording.meta.items() if _jsonable(v)},
        settings=dict(settings or {}),
    )
    outcome = announce_session(session, device, announce, source=source, source_file=source_file)
    record = outcome.session
    assert record is not None
    if outcome.status == "duplicate":
        return record
    n = recording.n_samples
    batches = [
        SampleBatch(
            key,
            seq,
            start + first / recording.sampling_rate_hz,
            min(n, first + IMPORT_BATCH_SAMPLES) - first,
            {
                name: values[first : first + IMPORT_BATCH_SAMPLES]
                for name, values in recording.channels.items()
            },
        )
        for seq, first in enumerate(range(0, n, IMPORT_BATCH_SAMPLES))
    ]
    results = ingest_batches(session, store, [(device, b) for b in batches], max_nan_run_s)
    for result in results:
        if isinstance(result, TelemetryRejected):
            raise result
    end_time = start + n / recording.sampling_rate_hz
    end_session(session, store, device, SessionEnd(key, end_time, len(batches), n))
    return record


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
