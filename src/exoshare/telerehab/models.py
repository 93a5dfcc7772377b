"""Tables of tele-rehabilitation: therapy sessions, their setting changes and safety alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.auth.models import User
from exoshare.db import Base, IdMixin, TimestampMixin, utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.telemetry.models import TelemetrySession
from exoshare.telerehab.schemas import (
    AdviceDecision,
    ChangeStatus,
    TherapyLocation,
    TherapyStatus,
)


class TherapySession(IdMixin, TimestampMixin, Base):
    """One therapy session of a patient on a device unit, run (possibly remotely) by a therapist."""

    __tablename__ = "therapy_sessions"
    __table_args__ = (Index("ix_therapy_sessions_unit_status", "device_unit_id", "status"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    device_unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    """The patient's clinic: whose staff may see and run the session."""
    location: Mapped[TherapyLocation] = mapped_column(
        Enum(TherapyLocation, native_enum=False, length=10)
    )
    status: Mapped[TherapyStatus] = mapped_column(
        Enum(TherapyStatus, native_enum=False, length=12), default=TherapyStatus.planned
    )
    planned_for: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    live_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(Text, default=None)
    telemetry_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("telemetry_sessions.id"), unique=True, default=None
    )
    planned_settings: Mapped[dict[str, float] | None] = mapped_column(JSON, default=None)
    """Starting settings the therapist planned (an accepted assist-as-needed advice, say)."""
    settings_at_start: Mapped[dict[str, float] | None] = mapped_column(JSON, default=None)
    current_settings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """The values the device last confirmed (announce at start, then applied acks)."""
    alert_rules: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """Per-patient overrides of the default alert limits (e.g. a lower skin-temperature limit)."""

    patient: Mapped[Patient] = relationship()
    device_unit: Mapped[DeviceUnit] = relationship()
    therapist: Mapped[User] = relationship()
    clinic: Mapped[OrgUnit] = relationship()
    telemetry_session: Mapped[TelemetrySession | None] = relationship()


class SettingChange(IdMixin, Base):
    """One proposed setting change: the check, the command and what the device answered."""

    __tablename__ = "therapy_setting_changes"

    therapy_session_id: Mapped[str] = mapped_column(ForeignKey("therapy_sessions.id"), index=True)
    setting: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(20), default="")
    previous_value: Mapped[float | None] = mapped_column(Float, default=None)
    proposed_value: Mapped[float] = mapped_column(Float)
    proposed_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    check_result: Mapped[str] = mapped_column(String(40))
    """``passed``, or the slug of the refusal (``setting-outside-envelope``, ``not-certified``)."""
    check_detail: Mapped[str | None] = mapped_column(Text, default=None)
    command_id: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    status: Mapped[ChangeStatus] = mapped_column(Enum(ChangeStatus, native_enum=False, length=12))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    late_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    """The device answered after the timeout (the answer is kept; settings follow the device)."""

    proposed_by: Mapped[User] = relationship()


class SessionAlert(IdMixin, Base):
    """A safety alert of a session: raised, possibly cleared, acknowledged by a therapist."""

    __tablename__ = "therapy_alerts"

    therapy_session_id: Mapped[str] = mapped_column(ForeignKey("therapy_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    limit: Mapped[float] = mapped_column(Float)
    at_s: Mapped[float] = mapped_column(Float)
    """Unix time of the sample that raised it (device clock)."""
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    acknowledged_by: Mapped[User | None] = relationship()


class AssistanceAdvice(IdMixin, Base):
    """A therapist's decision on the assist-as-needed advice given after a session.

    The advice itself is recomputed from the session whenever it is read (the rule is pure and
    the session is complete); this row keeps what was advised when the therapist decided, the
    decision, and the planned session that took the settings.
    """

    __tablename__ = "assistance_advice"

    therapy_session_id: Mapped[str] = mapped_column(ForeignKey("therapy_sessions.id"), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    device_model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"))
    recommended: Mapped[dict[str, float]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[float | None] = mapped_column(Float, default=None)
    decision: Mapped[AdviceDecision] = mapped_column(
        Enum(AdviceDecision, native_enum=False, length=10)
    )
    decided_values: Mapped[dict[str, float] | None] = mapped_column(JSON, default=None)
    """The settings the next session starts with (None: declined)."""
    note: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_to_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("therapy_sessions.id"), default=None
    )
