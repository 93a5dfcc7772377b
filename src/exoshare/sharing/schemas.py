"""Request and response shapes of data sharing: consents, research requests, exports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.patients.schemas import Diagnosis, Sex


class ConsentState(enum.StrEnum):
    """Where a purpose stands for a patient now."""

    granted = "granted"
    refused = "refused"
    withdrawn = "withdrawn"
    not_asked = "not_asked"


CONSENT_TEXT_VERSION = "2026-12-v1"
"""Version of the plain-words consent texts the pages show (web/templates/sharing/)."""


class ConsentCreate(BaseModel):
    purpose: ConsentPurpose
    decision: ConsentDecision
    partner_clinic_id: str | None = Field(
        default=None, description="The partner clinic, for remote_care"
    )
    partner_id: str | None = Field(
        default=None, description="The partner organisation, for partner_sharing"
    )
    text_version: str = Field(default=CONSENT_TEXT_VERSION, min_length=1, max_length=40)
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")


class ConsentWithdraw(BaseModel):
    reason: str = Field(default="", max_length=500)


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    purpose: ConsentPurpose
    decision: ConsentDecision
    partner_clinic_id: str | None
    partner_id: str | None
    text_version: str
    language: str
    decided_at: datetime
    recorded_by_id: str | None
    withdrawn_at: datetime | None
    withdrawal_reason: str | None
    in_force: bool


class ExportInclusionOut(BaseModel):
    """An earlier export that held the patient's de-identified record."""

    export_id: str
    request_id: str
    title: str
    created_at: datetime


# ------------------------------------------------------------------------------- research


class ResearchStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class FederatedStrategy(enum.StrEnum):
    """How the clinics' parameters are combined each round."""

    fedavg = "fedavg"
    fedprox = "fedprox"


class FederatedStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"


class ApprovalDecision(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Cohort(BaseModel):
    """Which patients a data set is drawn from."""

    model_config = ConfigDict(extra="forbid")

    clinic_ids: list[str] = Field(min_length=1, max_length=200)
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    sexes: list[Sex] = Field(default_factory=list)
    min_age_years: int | None = Field(default=None, ge=0, le=120)
    max_age_years: int | None = Field(default=None, ge=0, le=120)


class ResearchRequestCreate(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    purpose: str = Field(min_length=10, max_length=2000)
    cohort: Cohort
    variables: list[str] = Field(min_length=1, max_length=40)
    k: int = Field(default=5, ge=2, le=100)
    l_diversity: int = Field(default=2, ge=1, le=10)
    suppression_limit: FiniteFloat = Field(default=0.05, ge=0.0, le=0.5)


class ResearchDecision(BaseModel):
    clinic_id: str
    decision: ApprovalDecision
    note: str = Field(default="", max_length=1000)


class ApprovalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    clinic_id: str
    decision: ApprovalDecision
    steward_id: str | None
    decided_at: datetime | None
    note: str | None


class ResearchRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    purpose: str
    researcher_id: str | None
    cohort: dict[str, Any]
    variables: list[str]
    k: int
    l_diversity: int
    suppression_limit: float
    status: ResearchStatus
    created_at: datetime
    approvals: list[ApprovalOut]


class RiskFiguresOut(BaseModel):
    highest: float
    average: float
    records_at_risk: float


class RiskOut(BaseModel):
    prosecutor: RiskFiguresOut
    journalist: RiskFiguresOut
    marketer: float
    threshold: float
    classes: int
    records: int


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    created_at: datetime
    record_count: int
    suppressed_count: int
    k_achieved: int
    l_achieved: int | None
    risk_before: RiskOut
    risk_after: RiskOut
    levels: dict[str, int]
    files: list[str]


class VariableOut(BaseModel):
    name: str
    description: str
    unit: str | None
    role: str


class FederatedRunCreate(BaseModel):
    """A federated training run: every clinic of ``clinic_ids`` (all clinics the caller sees
    when empty) trains on its patients with AI-training consent in force when the run starts."""

    strategy: FederatedStrategy = FederatedStrategy.fedavg
    rounds: int = Field(default=20, ge=1, le=100)
    proximal_mu: float = Field(default=0.0, ge=0.0, le=10.0, description="FedProx only")
    dp_noise_multiplier: float = Field(
        default=0.0, ge=0.0, le=100.0, description="0 trains without differential privacy"
    )
    dp_clipping_norm: float = Field(default=1.0, gt=0.0, le=100.0)
    dp_delta: float = Field(default=1e-5, gt=0.0, lt=1.0)
    clinic_ids: list[str] = Field(default_factory=list, max_length=200)


class FederatedClinicOut(BaseModel):
    """A participating clinic. Counts under five are withheld from researchers (``None``,
    with ``fewer_than_five``): a small cell can point at a person."""

    partition: int
    clinic_id: str
    clinic_name: str
    patients: int | None
    train_examples: int | None
    test_examples: int | None
    fewer_than_five: bool


class FederatedClinicRound(BaseModel):
    partition: int
    train_loss: float
    train_mae: float
    test_mae: float


class FederatedRoundOut(BaseModel):
    round: int
    test_mae: float
    """Mean absolute error of the round's global model on every clinic's test rows (m/s)."""
    clinics: list[FederatedClinicRound]


class FederatedRunOut(BaseModel):
    id: str
    status: FederatedStatus
    strategy: FederatedStrategy
    rounds: int
    proximal_mu: float
    dp_noise_multiplier: float
    dp_clipping_norm: float
    dp_delta: float
    epsilon: float | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    federated_mae: float | None
    central_mae: float | None
    clinics: list[FederatedClinicOut]
    round_metrics: list[FederatedRoundOut]
