"""Tables of the care plan: versioned treatment plans, SOAP notes and their amendments, the
exercise library with its media, home programmes and the adherence patients log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.auth.models import User
from exoshare.careplan.schemas import (
    AdherenceStatus,
    Difficulty,
    ExerciseCategory,
    NoteSection,
    NoteStatus,
)
from exoshare.db import Base, IdMixin, TimestampMixin, utcnow
from exoshare.devices.models import DeviceModel, DeviceUnit
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.telerehab.models import TherapySession


class CarePlan(IdMixin, TimestampMixin, Base):
    """One course of therapy of a patient; its content lives in numbered versions."""

    __tablename__ = "care_plans"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[OrgUnit] = relationship()
    versions: Mapped[list[CarePlanVersion]] = relationship(
        back_populates="plan", order_by="CarePlanVersion.version"
    )


class CarePlanVersion(IdMixin, Base):
    """The whole plan as one change left it: never updated, a change adds the next version."""

    __tablename__ = "care_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    plan_id: Mapped[str] = mapped_column(ForeignKey("care_plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    minutes_per_session: Mapped[int] = mapped_column(Integer)
    device_model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"))
    device_unit_id: Mapped[str | None] = mapped_column(ForeignKey("device_units.id"), default=None)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    progression: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Per week: ``{"week": 3, "settings": {"guidance_force_pct": 60.0}}``, by week."""
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[CarePlan] = relationship(back_populates="versions")
    device_model: Mapped[DeviceModel] = relationship()
    device_unit: Mapped[DeviceUnit | None] = relationship()
    author: Mapped[User | None] = relationship()


class SoapNote(IdMixin, TimestampMixin, Base):
    """The SOAP note of one therapy session: a draft until signed, then only amended."""

    __tablename__ = "soap_notes"

    therapy_session_id: Mapped[str] = mapped_column(ForeignKey("therapy_sessions.id"), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    status: Mapped[NoteStatus] = mapped_column(
        Enum(NoteStatus, native_enum=False, length=10), default=NoteStatus.draft
    )
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    therapy_session: Mapped[TherapySession] = relationship()
    patient: Mapped[Patient] = relationship()
    clinic: Mapped[OrgUnit] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    amendments: Mapped[list[SoapAmendment]] = relationship(
        back_populates="note", order_by="SoapAmendment.created_at"
    )


class SoapAmendment(IdMixin, Base):
    """A correction of one section of a signed note, with its reason; the signed text stays."""

    __tablename__ = "soap_note_amendments"

    note_id: Mapped[str] = mapped_column(ForeignKey("soap_notes.id"), index=True)
    section: Mapped[NoteSection] = mapped_column(Enum(NoteSection, native_enum=False, length=12))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[SoapNote] = relationship(back_populates="amendments")
    author: Mapped[User | None] = relationship()


class Exercise(IdMixin, TimestampMixin, Base):
    """An exercise of the shared library; its words are per language."""

    __tablename__ = "exercises"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[ExerciseCategory] = mapped_column(
        Enum(ExerciseCategory, native_enum=False, length=20)
    )
    default_language: Mapped[str] = mapped_column(String(12))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"), default=None)
    """The clinic whose staff may change it; None for the library exoshare ships."""
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    owner: Mapped[OrgUnit | None] = relationship()
    texts: Mapped[list[ExerciseText]] = relationship(
        back_populates="exercise", order_by="ExerciseText.language"
    )
    media: Mapped[list[ExerciseMedia]] = relationship(
        back_populates="exercise", order_by="ExerciseMedia.created_at"
    )


class ExerciseText(IdMixin, Base):
    __tablename__ = "exercise_texts"
    __table_args__ = (UniqueConstraint("exercise_id", "language"),)

    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id"), index=True)
    language: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text)

    exercise: Mapped[Exercise] = relationship(back_populates="texts")


class ExerciseMedia(IdMixin, Base):
    """A picture or short video of an exercise, stored under the data dir by its SHA-256."""

    __tablename__ = "exercise_media"

    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    exercise: Mapped[Exercise] = relationship(back_populates="media")


class HomeProgramme(IdMixin, TimestampMixin, Base):
    """Exercises assigned to a patient for home, from the library, for a period."""

    __tablename__ = "home_programmes"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text, default=None)
    assigned_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[OrgUnit] = relationship()
    items: Mapped[list[ProgrammeItem]] = relationship(
        back_populates="programme", order_by="ProgrammeItem.position"
    )


class ProgrammeItem(IdMixin, Base):
    __tablename__ = "home_programme_items"

    programme_id: Mapped[str] = mapped_column(ForeignKey("home_programmes.id"), index=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id"))
    position: Mapped[int] = mapped_column(Integer)
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int] = mapped_column(Integer)
    days_per_week: Mapped[int] = mapped_column(Integer)

    programme: Mapped[HomeProgramme] = relationship(back_populates="items")
    exercise: Mapped[Exercise] = relationship()


class AdherenceLog(IdMixin, Base):
    """What the patient reported for one exercise on one day. Append-only: a correction is a
    newer row for the same day, and the newest one counts."""

    __tablename__ = "adherence_logs"

    item_id: Mapped[str] = mapped_column(ForeignKey("home_programme_items.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    performed_on: Mapped[date]
    status: Mapped[AdherenceStatus] = mapped_column(
        Enum(AdherenceStatus, native_enum=False, length=10)
    )
    pain_0_10: Mapped[int] = mapped_column(Integer)
    difficulty: Mapped[Difficulty] = mapped_column(Enum(Difficulty, native_enum=False, length=10))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    logged_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)
