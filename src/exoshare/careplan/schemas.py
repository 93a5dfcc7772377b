"""Request and response shapes of the care plan API, and its enums others use."""

from __future__ import annotations

import enum
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDate


class NoteStatus(enum.StrEnum):
    draft = "draft"
    signed = "signed"


class NoteSection(enum.StrEnum):
    subjective = "subjective"
    objective = "objective"
    assessment = "assessment"
    plan = "plan"


class ExerciseCategory(enum.StrEnum):
    gait = "gait"
    balance = "balance"
    strength = "strength"
    mobility = "mobility"


class AdherenceStatus(enum.StrEnum):
    done = "done"
    partly = "partly"
    not_done = "not_done"


class Difficulty(enum.StrEnum):
    easy = "easy"
    right = "right"
    hard = "hard"


# ---------------------------------------------------------------------------- plans

Goal = str


class ProgressionWeek(BaseModel):
    """The planned device settings of one week of the course (week 1 is the first)."""

    week: int = Field(ge=1, le=104)
    settings: dict[str, FiniteFloat] = Field(
        description="Setting name -> value, e.g. {'guidance_force_pct': 60, 'assistance_mode': 1}"
    )


class PlanContent(BaseModel):
    """Everything a plan version holds; a new version repeats it whole."""

    sessions_per_week: int = Field(ge=1, le=14)
    minutes_per_session: int = Field(ge=5, le=240)
    device_model_id: str = Field(min_length=1, max_length=32)
    device_unit_id: str | None = Field(default=None, max_length=32)
    starts_on: CalendarDate
    ends_on: CalendarDate
    goals: list[Goal] = Field(default_factory=list, max_length=20)
    progression: list[ProgressionWeek] = Field(default_factory=list, max_length=104)


class PlanCreate(PlanContent):
    patient_id: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=120)


class PlanRevision(PlanContent):
    based_on_version: int = Field(
        ge=1, description="The version this change starts from; a newer one answers 409"
    )
    reason: str = Field(min_length=1, max_length=1000, description="Why the plan changes")


class PlanVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    plan_id: str
    version: int
    sessions_per_week: int
    minutes_per_session: int
    device_model_id: str
    device_unit_id: str | None
    starts_on: date
    ends_on: date
    goals: list[str]
    progression: list[ProgressionWeek]
    reason: str | None
    author_id: str | None
    created_at: datetime


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    clinic_id: str
    title: str
    current_version: int
    current: PlanVersionOut
    versions: list[PlanVersionOut]


class FieldChange(BaseModel):
    field: str
    before: str | None
    after: str | None


class PlanDiffOut(BaseModel):
    plan_id: str
    from_version: int
    to_version: int
    changes: list[FieldChange]


# ---------------------------------------------------------------------------- notes


class NoteCreate(BaseModel):
    therapy_session_id: str = Field(min_length=1, max_length=32)


class NoteUpdate(BaseModel):
    subjective: str | None = Field(default=None, max_length=10_000)
    objective: str | None = Field(default=None, max_length=10_000)
    assessment: str | None = Field(default=None, max_length=10_000)
    plan: str | None = Field(default=None, max_length=10_000)


class AmendmentIn(BaseModel):
    section: NoteSection
    text: str = Field(min_length=1, max_length=10_000)
    reason: str = Field(min_length=1, max_length=1000)


class AmendmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    section: NoteSection
    text: str
    reason: str
    author_id: str | None
    created_at: datetime


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    therapy_session_id: str
    patient_id: str
    author_id: str | None
    status: NoteStatus
    subjective: str
    objective: str
    assessment: str
    plan: str
    signed_at: datetime | None
    signed_by_id: str | None
    created_at: datetime
    amendments: list[AmendmentOut]


# ---------------------------------------------------------------------------- exercises


LANGUAGE_TAG = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$"
"""A language, optionally with its region or script: ``es``, ``pt_BR``, ``zh-Hant``."""


class ExerciseTextIn(BaseModel):
    language: str = Field(min_length=2, max_length=12, pattern=LANGUAGE_TAG)
    title: str = Field(min_length=1, max_length=120)
    instructions: str = Field(min_length=1, max_length=5000)


class ExerciseCreate(BaseModel):
    code: str = Field(min_length=2, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: ExerciseCategory
    default_language: str = Field(min_length=2, max_length=12, pattern=LANGUAGE_TAG)
    texts: list[ExerciseTextIn] = Field(min_length=1, max_length=30)


class MediaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    exercise_id: str
    content_type: str
    size_bytes: int
    caption: str | None
    url: str = ""


class ExerciseOut(BaseModel):
    """An exercise in the reader's language (its default language when it has none)."""

    id: str
    code: str
    category: ExerciseCategory
    language: str
    title: str
    instructions: str
    languages: list[str]
    media: list[MediaOut]


# ---------------------------------------------------------------------------- programmes


class ProgrammeItemIn(BaseModel):
    exercise_id: str = Field(min_length=1, max_length=32)
    sets: int = Field(ge=1, le=20)
    reps: int = Field(ge=1, le=200)
    days_per_week: int = Field(ge=1, le=7)


class ProgrammeCreate(BaseModel):
    patient_id: str = Field(min_length=1, max_length=32)
    starts_on: CalendarDate
    ends_on: CalendarDate
    items: list[ProgrammeItemIn] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class ProgrammeItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    exercise_id: str
    sets: int
    reps: int
    days_per_week: int


class ProgrammeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    starts_on: date
    ends_on: date
    note: str | None
    assigned_by_id: str | None
    created_at: datetime
    items: list[ProgrammeItemOut]


class AdherenceIn(BaseModel):
    item_id: str = Field(min_length=1, max_length=32)
    performed_on: CalendarDate
    status: AdherenceStatus
    pain_0_10: int = Field(ge=0, le=10)
    difficulty: Difficulty
    note: str | None = Field(default=None, max_length=1000)


class AdherenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    item_id: str
    performed_on: date
    status: AdherenceStatus
    pain_0_10: int
    difficulty: Difficulty
    note: str | None
    logged_at: datetime


class AdherenceWeekOut(BaseModel):
    week_starts_on: date
    expected_sessions: float
    credited_sessions: float
    adherence_pct: float
    mean_pain_0_10: float | None


class TodayItemOut(BaseModel):
    programme_id: str
    item_id: str
    exercise: ExerciseOut
    sets: int
    reps: int
    days_per_week: int
    logged_today: AdherenceStatus | None
