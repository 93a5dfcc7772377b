"""Request and response shapes of regulatory approvals and the eligibility query, and the
approval enums other capabilities use."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from exoshare.bounds import CalendarDate


class ApprovalStatus(enum.StrEnum):
    approved = "approved"
    pending = "pending"
    refused = "refused"
    withdrawn = "withdrawn"


class RecognitionKind(enum.StrEnum):
    approval = "approval"
    """Members accept each other's approvals: approved in one member means usable in all."""
    trial_data = "trial_data"
    """Members accept each other's clinical data: an approval elsewhere shortens the route."""


class ApprovalIn(BaseModel):
    jurisdiction: str = Field(min_length=2, max_length=20, examples=["FDA", "CE", "CDSCO"])
    status: ApprovalStatus
    status_date: CalendarDate
    indications: str = Field(min_length=1, max_length=4000)
    reference: str | None = Field(default=None, max_length=80)


class ApprovalOut(ApprovalIn):
    model_config = ConfigDict(from_attributes=True)

    id: str
    model_id: str


class AgreementIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: RecognitionKind
    members: list[str] = Field(min_length=2)
    description: str | None = Field(default=None, max_length=4000)


class AgreementOut(AgreementIn):
    model_config = ConfigDict(from_attributes=True)

    id: str


class JurisdictionOut(BaseModel):
    code: str
    name: str
    countries: list[str]


class RouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    jurisdiction: str
    kind: str
    via_jurisdiction: str | None
    via_agreement: str | None
    explanation: str


class EligibilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model_id: str
    country: str
    eligible: bool
    basis: str | None
    jurisdictions: list[str]
    approvals: list[ApprovalOut]
    via_agreement: str | None
    routes: list[RouteOut]
    explanation: str
