"""Tables of the academy: courses, modules, lessons, media, quizzes, learning, certificates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.academy.schemas import CertificateBasis
from exoshare.db import Base, IdMixin, TimestampMixin, utcnow
from exoshare.devices.models import DeviceModel
from exoshare.network.models import OrgUnit

Translations = dict[str, dict[str, str]]
"""language code -> field -> text, e.g. ``{"en": {"title": "Fitting"}, "sw": {...}}``."""


class Course(IdMixin, TimestampMixin, Base):
    """A course on one device model and topic, owned by the org unit of its trainers."""

    __tablename__ = "academy_courses"
    __table_args__ = (
        CheckConstraint("pass_mark_pct BETWEEN 1 AND 100", name="pass_mark"),
        CheckConstraint("certificate_valid_days >= 1", name="valid_days"),
    )

    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"), index=True)
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    topic: Mapped[str] = mapped_column(String(80))
    fallback_language: Mapped[str] = mapped_column(String(12))
    translations: Mapped[Translations] = mapped_column(JSON)
    """``title`` and ``summary`` per language."""
    pass_mark_pct: Mapped[int] = mapped_column(Integer)
    certificate_valid_days: Mapped[int] = mapped_column(Integer)
    practical_required: Mapped[bool] = mapped_column(Boolean, default=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    model: Mapped[DeviceModel] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()
    modules: Mapped[list[CourseModule]] = relationship(
        back_populates="course", order_by="CourseModule.position"
    )
    questions: Mapped[list[QuizQuestion]] = relationship(
        back_populates="course", order_by="QuizQuestion.position"
    )


class CourseModule(IdMixin, Base):
    __tablename__ = "academy_modules"

    course_id: Mapped[str] = mapped_column(ForeignKey("academy_courses.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    translations: Mapped[Translations] = mapped_column(JSON)
    """``title`` per language."""

    course: Mapped[Course] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", order_by="Lesson.position"
    )


class Lesson(IdMixin, TimestampMixin, Base):
    __tablename__ = "academy_lessons"

    module_id: Mapped[str] = mapped_column(ForeignKey("academy_modules.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    translations: Mapped[Translations] = mapped_column(JSON)
    """``title`` and ``body`` (plain text, paragraphs split by blank lines) per language."""

    module: Mapped[CourseModule] = relationship(back_populates="lessons")
    media: Mapped[list[LessonMedia]] = relationship(order_by="LessonMedia.created_at")


class LessonMedia(IdMixin, Base):
    """A picture or short video of a lesson; its bytes live under the data dir, not in SQL."""

    __tablename__ = "academy_lesson_media"

    lesson_id: Mapped[str] = mapped_column(ForeignKey("academy_lessons.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[Translations] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizQuestion(IdMixin, Base):
    __tablename__ = "academy_quiz_questions"

    course_id: Mapped[str] = mapped_column(ForeignKey("academy_courses.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    translations: Mapped[Translations] = mapped_column(JSON)
    """``prompt`` per language."""

    course: Mapped[Course] = relationship(back_populates="questions")
    options: Mapped[list[QuizOption]] = relationship(order_by="QuizOption.position")


class QuizOption(IdMixin, Base):
    __tablename__ = "academy_quiz_options"

    question_id: Mapped[str] = mapped_column(ForeignKey("academy_quiz_questions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    is_correct: Mapped[bool] = mapped_column(Boolean)
    translations: Mapped[Translations] = mapped_column(JSON)
    """``text`` per language."""


class LessonCompletion(IdMixin, Base):
    __tablename__ = "academy_lesson_completions"
    __table_args__ = (UniqueConstraint("learner_id", "lesson_id"),)

    learner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    lesson_id: Mapped[str] = mapped_column(ForeignKey("academy_lessons.id"))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizAttempt(IdMixin, Base):
    __tablename__ = "academy_quiz_attempts"
    __table_args__ = (Index("ix_academy_quiz_attempts_learner_course", "learner_id", "course_id"),)

    learner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[str] = mapped_column(ForeignKey("academy_courses.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    score_pct: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    """question id -> the option ids chosen."""


class PracticalSignoff(IdMixin, Base):
    """A trainer watched the learner handle the device and signs that they can."""

    __tablename__ = "academy_practical_signoffs"
    __table_args__ = (
        Index("ix_academy_practical_signoffs_learner_course", "learner_id", "course_id"),
    )

    learner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[str] = mapped_column(ForeignKey("academy_courses.id"))
    trainer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    signed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(IdMixin, TimestampMixin, Base):
    """A therapist may run and adjust a device model from ``issued_on`` to ``expires_on``
    unless revoked. At most one unrevoked certificate per therapist and model (the service
    keeps it so): issuing again or renewing moves its dates."""

    __tablename__ = "academy_certificates"
    __table_args__ = (
        Index("ix_academy_certificates_therapist_model", "therapist_id", "model_id"),
        CheckConstraint("issued_on < expires_on", name="dates"),
    )

    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    basis: Mapped[CertificateBasis] = mapped_column(
        Enum(CertificateBasis, native_enum=False, length=12)
    )
    course_id: Mapped[str | None] = mapped_column(ForeignKey("academy_courses.id"), default=None)
    issued_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    renewed_on: Mapped[date | None] = mapped_column(Date, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    revocation_reason: Mapped[str | None] = mapped_column(Text, default=None)

    model: Mapped[DeviceModel] = relationship()
