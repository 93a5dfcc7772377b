"""Tables of telemetry: device credentials, the session index, the batch index, device events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.patients.models import Patient


class DeviceCredential(IdMixin, Base):
    """A secret a device authenticates with. Only its SHA-256 is stored; revoked ones stay."""

    __tablename__ = "telemetry_device_credentials"

    device_unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    broker_password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    """The secret's Mosquitto password-file hash (``$7$``, PBKDF2-SHA512), made at issue time
    (the only moment the secret is known) so the broker's files can be rewritten at any time.
    None for credentials issued before brokers authenticated devices: issue a new one."""
    label: Mapped[str | None] = mapped_column(String(100), default=None)
    issued_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    device_unit: Mapped[DeviceUnit] = relationship()


class SessionStatus(enum.StrEnum):
    recording = "recording"
    ending = "ending"
    """The end message arrived before every batch; it ends when the missing ones do."""
    ended = "ended"


class TelemetrySession(IdMixin, Base):
    """One recorded session of one device on one patient; its samples live in the raw store."""

    __tablename__ = "telemetry_sessions"
    __table_args__ = (UniqueConstraint("device_unit_id", "device_session_id"),)

    device_unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"), index=True)
    device_session_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    source_file: Mapped[str | None] = mapped_column(String(300), default=None)
    started_at: Mapped[datetime]
    start_time_s: Mapped[float] = mapped_column(Float)
    sampling_rate_hz: Mapped[float] = mapped_column(Float)
    channels: Mapped[dict[str, str]] = mapped_column(JSON)
    settings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[SessionStatus] = mapped_column(
        Enum(SessionStatus, native_enum=False, length=20), default=SessionStatus.recording
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    expected_batches: Mapped[int | None] = mapped_column(Integer, default=None)
    n_batches: Mapped[int] = mapped_column(Integer, default=0)
    n_samples: Mapped[int] = mapped_column(BigInteger, default=0)
    # The summary of the gait engine (exoshare.gait.analysis.analyse), plus its key numbers as
    # columns for lists and charts.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    analysis_error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    step_count: Mapped[int | None] = mapped_column(Integer, default=None)
    cadence_steps_per_min: Mapped[float | None] = mapped_column(Float, default=None)
    stride_time_s: Mapped[float | None] = mapped_column(Float, default=None)
    step_time_symmetry_index_pct: Mapped[float | None] = mapped_column(Float, default=None)
    distance_m: Mapped[float | None] = mapped_column(Float, default=None)

    device_unit: Mapped[DeviceUnit] = relationship()
    patient: Mapped[Patient] = relationship()


class TelemetryBatch(IdMixin, Base):
    """One stored sample batch: exactly one row per (session, seq), so a retry stores nothing."""

    __tablename__ = "telemetry_batches"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    session_id: Mapped[str] = mapped_column(ForeignKey("telemetry_sessions.id"), index=True)
    device_unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    seq: Mapped[int] = mapped_column(Integer)
    n_samples: Mapped[int] = mapped_column(Integer)
    first_sample_time_s: Mapped[float] = mapped_column(Float)
    last_sample_time_s: Mapped[float] = mapped_column(Float)
    file: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelemetryEvent(IdMixin, Base):
    """A device event (fall, fault, setting applied, command ack); one row per (session, id)."""

    __tablename__ = "telemetry_events"
    __table_args__ = (UniqueConstraint("session_id", "event_id"),)

    session_id: Mapped[str] = mapped_column(ForeignKey("telemetry_sessions.id"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    time_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
