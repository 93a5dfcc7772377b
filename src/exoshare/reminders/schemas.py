"""Request and response shapes of reminders, and the enums of its tables."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_LEAD_HOURS = 168
"""The longest a patient may ask to be reminded ahead of an appointment: one week."""


class ReminderChannel(enum.StrEnum):
    email = "email"
    sms = "sms"
    none = "none"


class ReminderKind(enum.StrEnum):
    appointment = "appointment"
    home_programme = "home_programme"


class DeliveryStatus(enum.StrEnum):
    """``claimed``: one dispatcher owns it and is sending; ``retry``: a send failed and another
    attempt is due; ``sent`` and ``failed`` are final."""

    claimed = "claimed"
    retry = "retry"
    sent = "sent"
    failed = "failed"


class PreferenceIn(BaseModel):
    """What a patient (or their clinic admin) chooses; the phone in any common notation."""

    model_config = ConfigDict(extra="forbid")

    channel: ReminderChannel
    language: str = Field(min_length=2, max_length=12)
    lead_hours: int = Field(default=24, ge=1, le=MAX_LEAD_HOURS)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)


class PreferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    patient_id: str
    channel: ReminderChannel
    language: str
    lead_hours: int
    phone_e164: str | None
    email: str | None
    updated_at: datetime | None
