"""Request and response shapes of the telemetry API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CredentialCreate(BaseModel):
    device_unit_id: str
    label: str | None = Field(default=None, max_length=100)


class CredentialIssued(BaseModel):
    id: str
    device_unit_id: str
    device_serial: str
    secret: str = Field(description="Shown once; only its hash is stored.")


class CredentialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    device_unit_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    device_unit_id: str
    device_session_id: str
    patient_id: str
    source: str
    source_file: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    sampling_rate_hz: float
    channels: dict[str, str]
    n_batches: int
    n_samples: int
    duration_s: float | None
    step_count: int | None
    cadence_steps_per_min: float | None
    stride_time_s: float | None
    step_time_symmetry_index_pct: float | None
    distance_m: float | None
    analysis_error: str | None


class SessionDetail(SessionOut):
    settings: dict[str, float]
    summary: dict[str, Any] | None


class SamplesOut(BaseModel):
    session_id: str
    sampling_rate_hz: float
    start_time_s: float
    channels: dict[str, list[float | None]]
