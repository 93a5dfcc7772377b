"""Tables of scheduling: waitlist, opening and working hours, booked sessions."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin, utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.schemas import BookingStatus, WaitlistStatus


class WaitlistEntry(IdMixin, TimestampMixin, Base):
    """A patient referred for a course of robotic gait therapy and not yet started."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index("ix_waitlist_entries_clinic_status", "clinic_id", "status"),
        CheckConstraint("sessions_per_week BETWEEN 1 AND 7", name="sessions_per_week"),
        CheckConstraint("course_sessions >= 1", name="course_sessions"),
        CheckConstraint("session_slots BETWEEN 1 AND 4", name="session_slots"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    """The referring clinic, whose waitlist holds the patient."""
    referral_date: Mapped[date] = mapped_column(Date)
    priority: Mapped[Priority] = mapped_column(Enum(Priority, native_enum=False, length=10))
    priority_reason: Mapped[str] = mapped_column(String(300))
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    course_sessions: Mapped[int] = mapped_column(Integer)
    home_latitude: Mapped[float] = mapped_column(Float)
    home_longitude: Mapped[float] = mapped_column(Float)
    status: Mapped[WaitlistStatus] = mapped_column(
        Enum(WaitlistStatus, native_enum=False, length=12), default=WaitlistStatus.waiting
    )
    unscheduled_reasons: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """Why the latest schedule run could not book the patient, in words."""
    first_session_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    available_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, default=None)
    """When the patient can come: weekday ("0" = Monday) -> ["HH:MM", "HH:MM"] clinic-local;
    None means any time the clinic is open."""
    session_slots: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """How many of the schedule's one-hour slots one session takes, in a row (the prescription's
    session length: 1 is 45 min with the 15-min changeover, 2 is 105 min)."""
    preferred_clinic_id: Mapped[str | None] = mapped_column(
        ForeignKey("org_units.id"), default=None
    )
    """A clinic the patient would rather go to: honoured when it costs no session and no wait."""
    preferred_therapist_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    """A therapist the patient would rather see: honoured when free."""

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[OrgUnit] = relationship(foreign_keys=[clinic_id])
    preferred_clinic: Mapped[OrgUnit | None] = relationship(foreign_keys=[preferred_clinic_id])


class ClinicOpeningHours(IdMixin, Base):
    """When a clinic is open on one weekday (0 = Monday), in the clinic's local time."""

    __tablename__ = "clinic_opening_hours"
    __table_args__ = (
        UniqueConstraint("clinic_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="order"),
    )

    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class TherapistWorkingHours(IdMixin, Base):
    """When a therapist works at a clinic on one weekday; none recorded means the clinic's hours."""

    __tablename__ = "therapist_working_hours"
    __table_args__ = (
        UniqueConstraint("therapist_id", "clinic_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("starts < ends", name="order"),
    )

    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    break_starts: Mapped[time | None] = mapped_column(Time, default=None)
    break_ends: Mapped[time | None] = mapped_column(Time, default=None)
    max_sessions: Mapped[int | None] = mapped_column(Integer, default=None)
    """The most sessions the therapist runs that day (None: as many as the hours hold)."""


class TherapistLeave(IdMixin, TimestampMixin, Base):
    """Days a therapist is away (holiday, sickness, training): no session is booked for them."""

    __tablename__ = "therapist_leave"
    __table_args__ = (
        Index("ix_therapist_leave_therapist_days", "therapist_id", "first_day"),
        CheckConstraint("first_day <= last_day", name="order"),
    )

    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class ScheduleRun(IdMixin, Base):
    """One run of the network scheduler and what it achieved."""

    __tablename__ = "schedule_runs"

    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    horizon_start: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    travel_limit_km: Mapped[float] = mapped_column(Float)
    patients_waiting: Mapped[int] = mapped_column(Integer)
    patients_scheduled: Mapped[int] = mapped_column(Integer, default=0)
    sessions_booked: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(60), default="")
    gap_pct: Mapped[float | None] = mapped_column(Float, default=None)
    wall_time_s: Mapped[float | None] = mapped_column(Float, default=None)
    triggered_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)


class BookedSession(IdMixin, TimestampMixin, Base):
    """A therapy session on the calendar: a unit, a therapist and a patient in one slot.

    The unique indexes are the last word on double booking: whatever races, one unit, one
    therapist and one patient each hold at most one active session per start time. A cancelled
    or rescheduled booking stays (with who, when and why) but no longer holds its slot.
    """

    __tablename__ = "booked_sessions"
    __table_args__ = (
        *(
            Index(
                f"uq_booked_sessions_{column}_active",
                column,
                "starts_at",
                unique=True,
                sqlite_where=text("status = 'booked'"),
                postgresql_where=text("status = 'booked'"),
            )
            for column in ("unit_id", "therapist_id", "patient_id")
        ),
        Index("ix_booked_sessions_clinic_start", "clinic_id", "starts_at"),
        CheckConstraint("starts_at < ends_at", name="order"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    waitlist_entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("waitlist_entries.id"), default=None, index=True
    )
    schedule_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("schedule_runs.id"), default=None
    )
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, native_enum=False, length=12), default=BookingStatus.booked
    )
    held_at: Mapped[datetime | None] = mapped_column(default=None)
    """When a therapy session on this booking started: from then on it is history, not a plan."""
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    rescheduled_to_id: Mapped[str | None] = mapped_column(
        ForeignKey("booked_sessions.id"), default=None
    )
    """The booking that replaced this one when it was moved."""
    therapy_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("therapy_sessions.id"), default=None, unique=True
    )
    """The tele-rehabilitation session started on this booking (one each way)."""

    patient: Mapped[Patient] = relationship()
    unit: Mapped[DeviceUnit] = relationship()
    clinic: Mapped[OrgUnit] = relationship()


class CapacityRun(IdMixin, Base):
    """A what-if run of capacity advice: the network simulated as it is and with each candidate
    change (one more therapist-day or unit), its progress, and the baseline it measured."""

    __tablename__ = "capacity_runs"

    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    """queued, running, done or failed."""
    horizon_start: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    seeds: Mapped[int] = mapped_column(Integer)
    travel_limit_km: Mapped[float] = mapped_column(Float)
    runs_done: Mapped[int] = mapped_column(Integer, default=0)
    runs_total: Mapped[int] = mapped_column(Integer, default=0)
    patients_waiting: Mapped[int] = mapped_column(Integer, default=0)
    referrals_per_week: Mapped[float] = mapped_column(Float, default=0.0)
    baseline_wait_days: Mapped[float | None] = mapped_column(Float, default=None)
    """Mean priority-weighted wait of the network as it is, over the seeds."""
    baseline_wait_sd: Mapped[float | None] = mapped_column(Float, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)

    advice: Mapped[list[CapacityAdvice]] = relationship(
        back_populates="run", order_by="CapacityAdvice.rank", cascade="all, delete-orphan"
    )


class CapacityAdvice(IdMixin, Base):
    """One ranked change of a capacity run and what it did to waiting, over the seeds."""

    __tablename__ = "capacity_advice"
    __table_args__ = (UniqueConstraint("run_id", "rank"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("capacity_runs.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    """``unit`` (one more unit of ``model_id``) or ``therapist_day`` (one more day a week of
    ``therapist_id``, on ``weekday``)."""
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    model_id: Mapped[str | None] = mapped_column(ForeignKey("device_models.id"), default=None)
    therapist_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)
    wait_cut_days: Mapped[float] = mapped_column(Float)
    """Cut in the mean priority-weighted wait, mean over the seeds."""
    wait_cut_sd: Mapped[float] = mapped_column(Float)
    p90_cut_days: Mapped[float] = mapped_column(Float)
    extra_patients: Mapped[float] = mapped_column(Float)
    """Patients started in the run with the change minus without, mean over the seeds."""

    run: Mapped[CapacityRun] = relationship(back_populates="advice")
    clinic: Mapped[OrgUnit] = relationship()
