"""Request and response shapes of the network API."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Literal

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
    # null reopens a closed unit; null (or "") clears a line of a clinic's contact
    clearable = frozenset({"closed_on", "address_line1", "address_line2", "postcode", "phone"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    closed_on: CalendarDate | None = None
    address_line1: str | None = Field(default=None, max_length=200, description="Clinics only")
    address_line2: str | None = Field(default=None, max_length=200, description="Clinics only")
    postcode: str | None = Field(default=None, max_length=20, description="Clinics only")
    phone: str | None = Field(
        default=None,
        max_length=40,
        description="Clinics only; a national number is read in the clinic's country, stored "
        "in E.164",
    )


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
    address_line1: str | None = None
    address_line2: str | None = None
    postcode: str | None = None
    phone: str | None = Field(default=None, description="E.164")


class TreeNodeOut(BaseModel):
    id: str
    code: str
    name: str
    kind: OrgUnitKind
    clinics: int
    patients: int
    device_units: int
    children: list[TreeNodeOut]


class Offering(enum.StrEnum):
    """What a partner can give another, or needs from one."""

    devices = "devices"
    training = "training"
    remote_supervision = "remote_supervision"
    data = "data"
    funding = "funding"


class AgreementKind(enum.StrEnum):
    device_lease = "device_lease"
    tele_supervision = "tele_supervision"
    training = "training"
    data_sharing = "data_sharing"


class AgreementStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    ended = "ended"
    terminated = "terminated"


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


class PartnerCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: PartnerKind
    country_code: CountryCode
    website: str | None = Field(default=None, max_length=200, pattern=r"^https?://\S+$")
    description: str | None = Field(default=None, max_length=2000)
    org_unit_id: str | None = None
    countries: list[CountryCode] = Field(default_factory=list, max_length=60)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=30)
    offers: list[Offering] = Field(default_factory=list)
    needs: list[Offering] = Field(default_factory=list)
    latitude: FiniteFloat | None = Field(default=None, ge=-90, le=90)
    longitude: FiniteFloat | None = Field(default=None, ge=-180, le=180)


class PartnerUpdate(PatchBody):
    clearable = frozenset({"website", "description", "latitude", "longitude"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=200, pattern=r"^https?://\S+$")
    description: str | None = Field(default=None, max_length=2000)
    countries: list[CountryCode] | None = Field(default=None, max_length=60)
    languages: list[LanguageCode] | None = Field(default=None, max_length=30)
    offers: list[Offering] | None = None
    needs: list[Offering] | None = None
    latitude: FiniteFloat | None = Field(default=None, ge=-90, le=90)
    longitude: FiniteFloat | None = Field(default=None, ge=-180, le=180)


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: PartnerKind
    country_code: str
    website: str | None
    description: str | None
    org_unit_id: str | None
    countries: list[str]
    languages: list[str]
    offers: list[Offering]
    needs: list[Offering]
    latitude: float | None
    longitude: float | None


class AgreementCreate(BaseModel):
    kind: AgreementKind
    title: str = Field(min_length=1, max_length=200)
    terms: str = Field(default="", max_length=10000)
    provider_id: str
    """The partner that gives (the devices, the cover, the course, the data)."""
    recipient_id: str
    starts_on: CalendarDate
    ends_on: CalendarDate | None = None
    cover_user_ids: list[str] = Field(default_factory=list, max_length=50)
    """Tele-supervision: the provider's therapists who cover the recipient's clinic."""


class AgreementEnd(BaseModel):
    status: Literal[AgreementStatus.ended, AgreementStatus.terminated] = AgreementStatus.ended
    reason: str = Field(min_length=1, max_length=500)


class AgreementCoverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    grant_id: str | None


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: AgreementKind
    title: str
    terms: str
    provider_id: str
    recipient_id: str
    starts_on: date
    ends_on: date | None
    status: AgreementStatus
    end_reason: str | None
    covers: list[AgreementCoverOut]
