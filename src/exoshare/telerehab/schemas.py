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


class AdviceDecision(enum.StrEnum):
    """What the therapist did with an assist-as-needed advice."""

    accepted = "accepted"
    edited = "edited"
    declined = "declined"


class SessionPlan(BaseModel):
    patient_id: str
    device_unit_id: str
    location: TherapyLocation = TherapyLocation.clinic
    planned_for: CalendarDateTime | None = None
    alert_rules: dict[str, FiniteFloat] = Field(
        default_factory=dict,
        description="Per-patient alert limits, e.g. {'skin_temp_limit_c': 39.5}",
    )
    planned_settings: dict[str, FiniteFloat] | None = Field(
        default=None,
        description="Starting settings, each inside the model's envelope; left out: the "
        "patient's last accepted assist-as-needed advice for the model, if any",
    )
    booking_id: str | None = Field(
        default=None,
        description="The booked session this is (due now, booked with the caller): its patient "
        "and unit, at its clinic and time; the booking then links to the session",
    )


class BookedSessionStart(BaseModel):
    location: TherapyLocation = TherapyLocation.clinic


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
    planned_settings: dict[str, float] | None
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
    speed_mps: float | None
    distance_m: float | None
    assistance_pct: float | None
    step_count: int | None


class AdviceReasonOut(BaseModel):
    code: str
    params: dict[str, float]
    text: str
    """The reason in words (English; pages show it in the reader's language)."""


class AdviceOut(BaseModel):
    """The assist-as-needed advice for the session after this one, and what became of it."""

    therapy_session_id: str
    patient_id: str
    recommended: dict[str, float]
    current: dict[str, float]
    error: float | None
    guidance_used_pct: float | None
    rule_guidance_pct: float | None
    reasons: list[AdviceReasonOut]
    decision: AdviceDecision | None
    decided_values: dict[str, float] | None
    decided_by_id: str | None
    decided_at: datetime | None
    note: str | None
    applied_to_session_id: str | None


class AdviceDecisionIn(BaseModel):
    decision: AdviceDecision
    values: dict[str, FiniteFloat] | None = Field(
        default=None,
        description="Only with 'edited': the settings as the therapist wants them, e.g. "
        "{'guidance_force_pct': 70}; each is checked against the model's envelope and step",
    )
    note: str | None = Field(default=None, max_length=2000)
