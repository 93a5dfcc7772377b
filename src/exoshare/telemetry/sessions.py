"""The life of a recorded session: announce, device events and command acks, end.

Every telemetry write hangs off a session a device announced, and each message is idempotent:
a repeat of a stored announce, event or end is answered ``duplicate`` and changes nothing.
The samples themselves go through :mod:`exoshare.telemetry.batches`; the summary is made by
:mod:`exoshare.telemetry.summaries` once every announced batch is stored.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, false, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exoshare.errors import TelemetryRejected
from exoshare.fleet.custody import current_holder
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.telemetry.credentials import Device
from exoshare.telemetry.models import (
    SessionStatus,
    TelemetryBatch,
    TelemetryEvent,
    TelemetrySession,
)
from exoshare.telemetry.protocol import CommandAck, DeviceEvent, SessionAnnounce, SessionEnd
from exoshare.telemetry.store import BatchStore
from exoshare.telemetry.summaries import finish_session
from exoshare.telemetry.validation import check_channels, check_sampling_rate


def lock_for_group(session: Session, keys: Collection[tuple[str, str]]) -> None:
    """Lock the session rows a group will write, (device unit id, device session id) each, in
    one order for every writer, before it writes any (PostgreSQL; SQLite has one writer).

    A group writes its sessions' rows in several steps: each run of batches updates its
    sessions' counts, an end its session's status. Sorted within a step but not across them,
    two processes storing the same sessions (a shared subscription hands a session's messages
    to them in turn) took each other's rows in opposite orders, and PostgreSQL aborted one
    group, a few times a minute at 100 live sessions and on groups of up to 1,000 messages
    under load, each stored again from the start."""
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(TelemetrySession.id)
        .where(session_keys_in(session, keys))
        .order_by(TelemetrySession.id)
        .with_for_update(key_share=True)
    )


def session_keys_in(session: Session, keys: Collection[tuple[str, str]]) -> ColumnElement[bool]:
    """Session rows whose (device unit id, device session id) is one of ``keys``.

    On PostgreSQL the keys travel as two arrays: one statement text for any number of sessions.
    A list of pairs made a new statement for each group, which psycopg parsed again (too long
    for its statement cache): ~4 ms for each such statement at 300 live sessions."""
    if not keys:
        return false()
    pair = tuple_(TelemetrySession.device_unit_id, TelemetrySession.device_session_id)
    if session.get_bind().dialect.name != "postgresql":
        return pair.in_(sorted(keys))
    units, device_sessions = zip(*sorted(keys), strict=True)
    given = (
        func.unnest(
            literal(list(units), ARRAY(String)), literal(list(device_sessions), ARRAY(String))
        )
        .table_valued("unit", "device_session")
        .render_derived()
    )
    return pair.in_(select(given.c.unit, given.c.device_session))


@dataclass(frozen=True)
class Outcome:
    """What ingestion did with one message: ``stored`` or ``duplicate``."""

    status: str
    session: TelemetrySession | None = None
    """The session's row, when the rules loaded it (the batch path does not)."""
    session_id: str | None = None
    """The session's id (the row's, when only the row is given)."""

    def __post_init__(self) -> None:
        if self.session_id is None and self.session is not None:
            object.__setattr__(self, "session_id", self.session.id)


def unix(moment_s: float) -> datetime:
    return datetime.fromtimestamp(moment_s, tz=UTC)


def unknown_session(device: Device, device_session_id: str) -> TelemetryRejected:
    """The refusal of a message for a session its device never announced."""
    return TelemetryRejected(
        "unknown-session",
        f"session {device_session_id!r} of {device.serial_number} was never announced; "
        "send the session announce, then resend",
        field="session_id",
    )


def session_of(session: Session, device: Device, device_session_id: str) -> TelemetrySession:
    found = session.scalar(
        select(TelemetrySession).where(
            TelemetrySession.device_unit_id == device.id,
            TelemetrySession.device_session_id == device_session_id,
        )
    )
    if found is None:
        raise unknown_session(device, device_session_id)
    return found


def _device_serves(
    session: Session, device: Device, clinic_id: str, announce: SessionAnnounce
) -> bool:
    """Whether the device may record a patient of ``clinic_id``: a patient of the clinic holding
    the device when the session starts (or of a clinic under a non-clinic holder's subtree).

    Every telemetry write hangs off a session, so this one check keeps a device to its own
    clinic's patients on every path (MQTT, WebSocket, file upload, import); another clinic's
    patient is refused exactly like an unknown one. The start time is the device's word; a
    forged one can only name a clinic that really held this device then, never the future.
    """
    at = min(unix(announce.start_time_s), datetime.now(UTC))
    holder_id = current_holder(session, device.id, at)
    units = network_service.find_org_units(session, {holder_id, clinic_id})
    holder, clinic = units.get(holder_id), units.get(clinic_id)
    return holder is not None and clinic is not None and clinic.path.startswith(holder.path)


def announce_session(
    session: Session,
    device: Device,
    announce: SessionAnnounce,
    source: str = "mqtt",
    source_file: str | None = None,
) -> Outcome:
    if announce.device_serial != device.serial_number:
        raise TelemetryRejected(
            "unknown-device",
            f"the announce names device {announce.device_serial!r} but the credential "
            f"belongs to {device.serial_number}",
            field="device",
        )
    channels = check_channels(announce.channels)
    # Decoding checked it already; a recording built in code (import, demo) is checked here.
    check_sampling_rate(announce.sampling_rate_hz)
    existing = session.scalar(
        select(TelemetrySession).where(
            TelemetrySession.device_unit_id == device.id,
            TelemetrySession.device_session_id == announce.session_id,
        )
    )
    if existing is not None:
        same = (
            existing.patient_id == announce.patient_id
            and math.isclose(existing.start_time_s, announce.start_time_s, abs_tol=1e-6)
            and math.isclose(existing.sampling_rate_hz, announce.sampling_rate_hz)
            and existing.channels == channels
        )
        if not same:
            raise TelemetryRejected(
                "session-conflict",
                f"session {announce.session_id!r} was already announced with a different "
                "patient, start time, rate or channel list",
                field="session_id",
            )
        return Outcome("duplicate", existing)
    patient = patients_service.find_patient(session, announce.patient_id)
    if (
        patient is None
        or patient.voided
        or not _device_serves(session, device, patient.clinic_id, announce)
    ):
        raise TelemetryRejected(
            "unknown-patient", f"no patient with id {announce.patient_id!r}", field="patient_id"
        )
    record = TelemetrySession(
        device_unit_id=device.id,
        device_session_id=announce.session_id,
        patient_id=announce.patient_id,
        source=source,
        source_file=source_file,
        started_at=unix(announce.start_time_s),
        start_time_s=announce.start_time_s,
        sampling_rate_hz=announce.sampling_rate_hz,
        channels=channels,
        settings=announce.settings,
        meta=announce.meta,
    )
    session.add(record)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another worker announced the same session a moment ago.
        return Outcome("duplicate", session_of(session, device, announce.session_id))
    return Outcome("stored", record)


def end_session(session: Session, store: BatchStore, device: Device, end: SessionEnd) -> Outcome:
    """Mark the end; the summary is computed once every announced batch is stored."""
    record = session_of(session, device, end.session_id)
    if record.status is not SessionStatus.recording:
        return Outcome("duplicate", record)
    stored_max = session.scalar(
        select(func.max(TelemetryBatch.seq)).where(TelemetryBatch.session_id == record.id)
    )
    if stored_max is not None and stored_max >= end.n_batches:
        raise TelemetryRejected(
            "session-conflict",
            f"the end says {end.n_batches} batches but batch {stored_max} is stored",
            field="n_batches",
        )
    record.expected_batches = end.n_batches
    record.ended_at = unix(end.end_time_s)
    record.status = SessionStatus.ending
    if record.n_batches >= end.n_batches:
        finish_session(session, store, record)
    return Outcome("stored", record)


# ---------------------------------------------------------------------------- events


def _stable_id(text: str) -> int:
    # Acks are keyed by their command id; a negative id keeps them apart from device event ids.
    return -int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "big") - 1


def record_event(session: Session, device: Device, event: DeviceEvent) -> Outcome:
    record = session_of(session, device, event.session_id)
    return _store_event(session, record, event.event_id, event.time_s, event.kind, event.detail)


def record_ack(session: Session, device: Device, ack: CommandAck) -> Outcome:
    """Keep a device's answer to a command with its session (telerehab reads it from there)."""
    if ack.session_id is None:
        return Outcome("stored")
    record = session_of(session, device, ack.session_id)
    kind = "command_applied" if ack.status == "applied" else "command_rejected"
    detail = {"command_id": ack.command_id, "reason": ack.reason}
    return _store_event(session, record, _stable_id(ack.command_id), ack.time_s, kind, detail)


def _store_event(
    session: Session,
    record: TelemetrySession,
    event_id: int,
    time_s: float,
    kind: str,
    detail: dict[str, Any],
) -> Outcome:
    exists = session.scalar(
        select(TelemetryEvent.id).where(
            TelemetryEvent.session_id == record.id, TelemetryEvent.event_id == event_id
        )
    )
    if exists is not None:
        return Outcome("duplicate", record)
    try:
        with session.begin_nested():
            session.add(
                TelemetryEvent(
                    session_id=record.id,
                    event_id=event_id,
                    time_s=time_s,
                    kind=kind,
                    detail=detail,
                )
            )
            session.flush()
    except IntegrityError:
        return Outcome("duplicate", record)
    return Outcome("stored", record)
