"""Request and response shapes of the scheduling API, and its enums other capabilities use.

(:class:`~exoshare.scheduling.priority.Priority` lives with its weights in ``priority.py``.)
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDate, CalendarDateTime
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.problem import PLAN_WEEKS


class WaitlistStatus(enum.StrEnum):
    waiting = "waiting"
    scheduled = "scheduled"
    withdrawn = "withdrawn"
    completed = "completed"


class BookingStatus(enum.StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    rescheduled = "rescheduled"
    """Moved to another time, unit or therapist: ``rescheduled_to_id`` is the new booking."""


class WaitlistCreate(BaseModel):
    patient_id: str
    referral_date: CalendarDate
    priority: Priority = Priority.routine
    priority_reason: str = Field(min_length=1, max_length=300)
    sessions_per_week: int = Field(ge=1, le=7)
    course_sessions: int = Field(ge=1, le=200)
    home_latitude: FiniteFloat | None = Field(default=None, ge=-90, le=90)
    home_longitude: FiniteFloat | None = Field(default=None, ge=-180, le=180)
    available_hours: dict[int, tuple[time, time]] | None = Field(
        default=None,
        description="When the patient can come: weekday (0 = Monday) -> [from, until], "
        "clinic-local; left out, any time the clinic is open",
    )
    session_slots: int = Field(
        default=1,
        ge=1,
        le=4,
        description="One-hour slots one session takes in a row (2: a 105-min session with the "
        "15-min changeover after it)",
    )
    preferred_clinic_id: str | None = Field(
        default=None,
        max_length=32,
        description="A clinic within reach the patient would rather go to (honoured when it "
        "costs no session and no wait)",
    )
    preferred_therapist_id: str | None = Field(
        default=None,
        max_length=32,
        description="A therapist of the preferred clinic, or of a clinic within reach, the "
        "patient would rather see (honoured when free)",
    )


class WaitlistWishes(BaseModel):
    """What a referral asks of its sessions beyond the dose: their length and who, where."""

    session_slots: int = Field(default=1, ge=1, le=4)
    preferred_clinic_id: str | None = Field(default=None, max_length=32)
    preferred_therapist_id: str | None = Field(default=None, max_length=32)


class WaitlistEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    clinic_id: str
    referral_date: date
    priority: Priority
    priority_reason: str
    sessions_per_week: int
    course_sessions: int
    session_slots: int
    preferred_clinic_id: str | None
    preferred_therapist_id: str | None
    status: WaitlistStatus
    unscheduled_reasons: list[str] | None
    first_session_at: datetime | None


class WaitlistRowOut(BaseModel):
    entry: WaitlistEntryOut
    position: int | None
    waited_days: int
    first_session_local: datetime | None = Field(
        default=None,
        description="The first session's start with the UTC offset of the clinic where it is held",
    )
    first_session_clinic: str | None = None


class ScheduleRunCreate(BaseModel):
    start: CalendarDate
    weeks: int = Field(default=PLAN_WEEKS, ge=1, le=12)
    travel_limit_km: FiniteFloat = Field(default=50.0, gt=0, le=2000)
    time_limit_s: FiniteFloat = Field(default=30.0, gt=0, le=600)
    changeover_min: int = Field(
        default=15,
        ge=0,
        le=45,
        description="Minutes kept free after each one-hour slot's session to change patients",
    )


class ScheduleRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    horizon_start: date
    weeks: int
    travel_limit_km: float
    patients_waiting: int
    patients_scheduled: int
    sessions_booked: int
    status: str
    gap_pct: float | None
    wall_time_s: float | None


class BookingCreate(BaseModel):
    patient_id: str
    unit_id: str
    therapist_id: str
    starts_at: CalendarDateTime
    duration_min: int = Field(default=45, ge=15, le=240)
    clinic_id: str | None = Field(
        default=None,
        description="Where the session is held; left out: the clinic holding the unit then "
        "(else its owner)",
    )


class BookedSessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    unit_id: str
    therapist_id: str
    clinic_id: str
    starts_at: datetime
    ends_at: datetime
    waitlist_entry_id: str | None
    status: BookingStatus
    held_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    rescheduled_to_id: str | None
    therapy_session_id: str | None = Field(
        default=None, description="The tele-rehabilitation session started on this booking"
    )


class BookingCancel(BaseModel):
    reason: str = Field(min_length=1, max_length=300, description="Why the session is cancelled")


class BookingReschedule(BaseModel):
    starts_at: CalendarDateTime
    unit_id: str | None = Field(default=None, description="Left out: the same unit")
    therapist_id: str | None = Field(default=None, description="Left out: the same therapist")
    reason: str = Field(default="", max_length=300)


class TherapistLeaveCreate(BaseModel):
    therapist_id: str
    first_day: CalendarDate
    last_day: CalendarDate
    reason: str = Field(min_length=1, max_length=300)


class TherapistLeaveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    therapist_id: str
    first_day: date
    last_day: date
    reason: str


class CapacityRunCreate(BaseModel):
    start: CalendarDate = Field(description="First simulated day (usually next Monday)")
    weeks: int = Field(default=8, ge=2, le=26, description="Weeks simulated per what-if run")
    seeds: int = Field(
        default=3, ge=1, le=10, description="Referral seeds; each change is run on every one"
    )
    travel_limit_km: FiniteFloat = Field(default=50.0, gt=0, le=2000)


class CapacityAdviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rank: int
    kind: str = Field(description="unit or therapist_day")
    clinic_id: str
    model_id: str | None
    therapist_id: str | None
    weekday: int | None = Field(description="The extra working day, 0 = Monday")
    wait_cut_days: float = Field(description="Cut in the mean priority-weighted wait, days")
    wait_cut_sd: float = Field(description="Standard deviation of that cut over the seeds")
    p90_cut_days: float
    extra_patients: float = Field(description="More patients started, mean over the seeds")


class CapacityRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str = Field(description="queued, running, done or failed")
    requested_at: datetime
    horizon_start: date
    weeks: int
    seeds: int
    travel_limit_km: float
    runs_done: int
    runs_total: int
    patients_waiting: int
    referrals_per_week: float
    baseline_wait_days: float | None
    baseline_wait_sd: float | None
    finished_at: datetime | None
    error: str | None
    advice: list[CapacityAdviceOut]
