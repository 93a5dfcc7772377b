"""Request and response shapes of the patients API."""

from __future__ import annotations

import enum
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDate
from exoshare.patch import PatchBody

LANGUAGE_PATTERN = r"^[a-z]{2,3}(_[A-Z]{2})?$"


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class Diagnosis(enum.StrEnum):
    stroke = "stroke"
    spinal_cord_injury = "spinal_cord_injury"
    cerebral_palsy = "cerebral_palsy"
    multiple_sclerosis = "multiple_sclerosis"
    other = "other"


class PatientCreate(BaseModel):
    clinic_id: str
    medical_record_number: str = Field(min_length=1, max_length=40)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    sex: Sex
    birth_date: CalendarDate
    height_m: FiniteFloat = Field(gt=0, description="Standing height in metres, e.g. 1.72")
    weight_kg: FiniteFloat = Field(gt=0, description="Body mass in kilograms")
    diagnosis: Diagnosis
    diagnosis_detail: str | None = Field(default=None, max_length=200)
    onset_date: CalendarDate | None = None
    preferred_language: str = Field(default="en", pattern=LANGUAGE_PATTERN)


class PatientUpdate(PatchBody):
    clearable = frozenset({"diagnosis_detail", "onset_date"})

    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    sex: Sex | None = None
    birth_date: CalendarDate | None = None
    height_m: FiniteFloat | None = Field(default=None, gt=0)
    weight_kg: FiniteFloat | None = Field(default=None, gt=0)
    diagnosis: Diagnosis | None = None
    diagnosis_detail: str | None = Field(default=None, max_length=200)
    onset_date: CalendarDate | None = None
    preferred_language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN)


class PatientVoid(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    clinic_id: str
    medical_record_number: str
    given_name: str
    family_name: str
    sex: Sex
    birth_date: date
    height_m: float
    weight_kg: float
    diagnosis: Diagnosis
    diagnosis_detail: str | None
    onset_date: date | None
    preferred_language: str
    voided: bool
    created_at: datetime
    updated_at: datetime


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: str | None
    action: str
    entity: str
    entity_id: str | None
    client_address: str | None
    request_path: str | None
