"""Request and response shapes of the tele-rehabilitation API, and its enums others use."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDateTime


class TherapyStatus(enum.StrEnum):
    planned = "planned"
    started = "started"
    """Started by the therapist (or the device announced itself); no samples yet."""
    live = "live"
    paused = "paused"
    completed = "completed"
    aborted = "aborted"


class TherapyLocation(enum.StrEnum):
    clinic = "clinic"
    home = "home"


class ChangeStatus(enum.StrEnum):
    refused = "refused"
    """Refused by the server's checks; never sent."""
    sent = "sent"
    applied = "applied"
    rejected = "rejected"
    """Refused by the device, with its reason."""
    timed_out = "timed_out"
    """No answer within the timeout: reported as not applied."""


class SessionPlan(BaseModel):
    patient_id: str
    device_unit_id: str
    location: TherapyLocation = TherapyLocation.clinic
    planned_for: CalendarDateTime | None = None
    alert_rules: dict[str, FiniteFloat] = Field(
        default_factory=dict,
        description="Per-patient alert limits, e.g. {'skin_temp_limit_c': 39.5}",
    )


class TransitionIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class TherapySessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    device_unit_id: str
    therapist_id: str
    clinic_id: str
    location: TherapyLocation
    status: TherapyStatus
    planned_for: datetime | None
    started_at: datetime | None
    live_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    telemetry_session_id: str | None
    settings_at_start: dict[str, float] | None
    current_settings: dict[str, float]
    alert_rules: dict[str, float]


class SettingChangeIn(BaseModel):
    setting: str = Field(min_length=1, max_length=60)
    value: FiniteFloat


class SettingChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    therapy_session_id: str
    setting: str
    unit: str
    previous_value: float | None
    proposed_value: float
    proposed_by_id: str
    proposed_at: datetime
    check_result: str
    check_detail: str | None
    command_id: str | None
    status: ChangeStatus
    reason: str | None
    sent_at: datetime | None
    answered_at: datetime | None
    late_ack: bool
    applied: bool = False


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    therapy_session_id: str
    kind: str
    severity: str
    message: str
    value: float
    limit: float
    at_s: float
    raised_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: str | None
    note: str | None


class AcknowledgeIn(BaseModel):
    note: str = Field(max_length=2000)


class ProgressPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    telemetry_session_id: str
    started_at: datetime
    duration_s: float | None
    cadence_steps_per_min: float | None
    stride_time_symmetry_pct: float | None
    step_time_symmetry_pct: float | None
    knee_rom_deg: float | None
    distance_m: float | None
    assistance_pct: float | None
    step_count: int | None
