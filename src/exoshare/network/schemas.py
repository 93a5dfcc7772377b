"""Request and response shapes of the network API."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDate
from exoshare.patch import PatchBody


class OrgUnitKind(enum.StrEnum):
    consortium = "consortium"
    region = "region"
    country = "country"
    clinic = "clinic"


class PartnerKind(enum.StrEnum):
    clinic_operator = "clinic_operator"
    manufacturer = "manufacturer"
    university = "university"
    ngo = "ngo"
    regulator = "regulator"
    patient_group = "patient_group"


class OrgUnitCreate(BaseModel):
    parent_id: str
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9\-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: OrgUnitKind
    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    city: str | None = Field(default=None, max_length=120)
    latitude: FiniteFloat | None = Field(default=None, ge=-90, le=90)
    longitude: FiniteFloat | None = Field(default=None, ge=-180, le=180)
    timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    opened_on: CalendarDate | None = None


class OrgUnitUpdate(PatchBody):
    clearable = frozenset({"closed_on"})  # null reopens a closed unit

    name: str | None = Field(default=None, min_length=1, max_length=200)
    closed_on: CalendarDate | None = None


class OrgUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    kind: OrgUnitKind
    level: int
    parent_id: str | None
    path: str
    country_code: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    timezone: str | None
    currency: str | None
    opened_on: date | None
    closed_on: date | None


class TreeNodeOut(BaseModel):
    id: str
    code: str
    name: str
    kind: OrgUnitKind
    clinics: int
    patients: int
    device_units: int
    children: list[TreeNodeOut]


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: PartnerKind
    country_code: str
    website: str | None
