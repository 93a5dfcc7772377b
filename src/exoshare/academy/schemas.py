"""Request and response shapes of the academy, and the enums its tables use."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exoshare.bounds import CalendarDate

T = TypeVar("T")

LANGUAGE_PATTERN = r"^[a-z]{2,3}(_[A-Z]{2})?$"


class CertificateBasis(enum.StrEnum):
    """Why a certificate was issued."""

    course = "course"
    """The therapist passed the course's quiz and (where required) its practical sign-off."""
    trainer = "trainer"
    """A trainer certified the therapist directly (experience shown elsewhere)."""
    recorded = "recorded"
    """Recorded before the academy existed (carried over from the scheduling table)."""


class CertificateStatus(enum.StrEnum):
    valid = "valid"
    expired = "expired"
    revoked = "revoked"
    not_yet_valid = "not_yet_valid"


class CourseText(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(max_length=32)
    org_unit_id: str = Field(max_length=32, description="The trainers' org unit that owns it.")
    topic: str = Field(min_length=1, max_length=80)
    fallback_language: str = Field(pattern=LANGUAGE_PATTERN)
    texts: dict[str, CourseText] = Field(
        description="Title and summary per language; must include the fallback language."
    )
    pass_mark_pct: int = Field(default=80, ge=1, le=100)
    certificate_valid_days: int = Field(default=730, ge=1, le=3650)
    practical_required: bool = True

    @field_validator("texts")
    @classmethod
    def _languages(cls, value: dict[str, CourseText]) -> dict[str, CourseText]:
        return _checked_languages(value)


class ModuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    titles: dict[str, str] = Field(description="The module's title per language.")

    @field_validator("titles")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        return _checked_languages(value)


class LessonText(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000)


class LessonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module_id: str = Field(max_length=32)
    texts: dict[str, LessonText]

    @field_validator("texts")
    @classmethod
    def _languages(cls, value: dict[str, LessonText]) -> dict[str, LessonText]:
        return _checked_languages(value)


class OptionCreate(BaseModel):
    texts: dict[str, str]
    correct: bool = False

    @field_validator("texts")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        return _checked_languages(value)


class QuestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompts: dict[str, str]
    options: list[OptionCreate] = Field(min_length=2, max_length=8)

    @field_validator("prompts")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        return _checked_languages(value)

    @field_validator("options")
    @classmethod
    def _one_correct(cls, value: list[OptionCreate]) -> list[OptionCreate]:
        if not any(option.correct for option in value):
            raise ValueError("mark at least one option as correct")
        return value


def _checked_languages(value: dict[str, T]) -> dict[str, T]:
    if not value:
        raise ValueError("give the text in at least one language")
    for code in value:
        if not re.fullmatch(LANGUAGE_PATTERN, code):
            raise ValueError(f"{code!r} is not a language code (like 'en', 'sw' or 'pt_BR')")
    return value


class QuizAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, list[str]] = Field(
        description="Question id -> the ids of the options chosen (empty: left unanswered)."
    )


class SignoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: str = Field(max_length=32)
    signed_on: CalendarDate | None = None
    note: str = Field(default="", max_length=500)


class CertificateIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    therapist_id: str = Field(max_length=32)
    model_id: str = Field(max_length=32)
    issued_on: CalendarDate
    expires_on: CalendarDate


class CertificateRenewal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_on: CalendarDate


class CertificateRevocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


# ---------------------------------------------------------------------------- responses


class CourseOut(BaseModel):
    id: str
    model_id: str
    model_name: str
    topic: str
    language: str
    """The language the texts below are in (the reader's, or the course's fallback)."""
    languages: list[str]
    title: str
    summary: str
    pass_mark_pct: int
    certificate_valid_days: int
    practical_required: bool
    published: bool


class LessonOut(BaseModel):
    id: str
    module_id: str
    language: str
    title: str
    body: str
    media_ids: list[str]
    completed: bool


class ModuleOut(BaseModel):
    id: str
    title: str
    lessons: list[LessonOut]


class ProgressOut(BaseModel):
    lessons_total: int
    lessons_completed: int
    best_score_pct: float | None
    quiz_passed: bool
    practical_signed_off: bool
    certificate_id: str | None


class CourseDetailOut(CourseOut):
    modules: list[ModuleOut]
    progress: ProgressOut


class ModuleCreated(BaseModel):
    id: str
    position: int


class LessonCreated(BaseModel):
    id: str
    position: int


class MediaOut(BaseModel):
    id: str
    lesson_id: str
    content_type: str
    size_bytes: int
    sha256: str


class OptionOut(BaseModel):
    id: str
    text: str


class QuestionOut(BaseModel):
    """A question as a learner sees it: which options are right stays on the server."""

    id: str
    prompt: str
    options: list[OptionOut]


class QuizOut(BaseModel):
    course_id: str
    language: str
    pass_mark_pct: int
    questions: list[QuestionOut]


class QuizResultOut(BaseModel):
    attempt_id: str
    score_pct: float
    correct: int
    questions: int
    passed: bool
    certificate_id: str | None
    """The certificate issued or renewed by this attempt (with the practical sign-off)."""


class SignoffOut(BaseModel):
    id: str
    learner_id: str
    course_id: str
    signed_on: date
    certificate_id: str | None


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    therapist_id: str
    model_id: str
    issued_on: date
    expires_on: date
    renewed_on: date | None
    basis: CertificateBasis
    course_id: str | None
    verification_code: str
    revoked_at: datetime | None
    revocation_reason: str | None


class VerificationOut(BaseModel):
    """What anyone may learn from a verification code: minimal personal data."""

    verification_code: str
    status: CertificateStatus
    holder_name: str
    device_model: str
    issued_on: date
    expires_on: date
    revoked_on: date | None
    checked_on: date


class CredentialOut(BaseModel):
    """An Open Badges 3.0 credential secured as a VC-JWT (compact JWS, EdDSA)."""

    format: str = "vc+jwt"
    jwt: str
    credential: dict[str, object]
    public_key_url: str


class JwkSetOut(BaseModel):
    keys: list[dict[str, str]]
