"""Tables of data sharing: consent decisions, research requests with their approvals, the
exports released (with the patients each one held and its files) and federated training runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, utcnow
from exoshare.sharing.schemas import (
    ApprovalDecision,
    FederatedStatus,
    FederatedStrategy,
    ResearchStatus,
)


class ResearchRequest(IdMixin, Base):
    """A researcher's request for a de-identified data set from one or more clinics."""

    __tablename__ = "research_requests"

    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    researcher_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    cohort: Mapped[dict[str, Any]] = mapped_column(JSON)
    variables: Mapped[list[str]] = mapped_column(JSON)
    k: Mapped[int]
    l_diversity: Mapped[int]
    suppression_limit: Mapped[float] = mapped_column(Float)
    status: Mapped[ResearchStatus] = mapped_column(
        Enum(ResearchStatus, native_enum=False, length=12), default=ResearchStatus.pending
    )
    pseudonym_secret_hex: Mapped[str] = mapped_column(String(64))
    """The project's HMAC key for pseudonyms and date shifts. Not sealed: the same database
    holds the names it would protect, so sealing it would only hide what is beside it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    approvals: Mapped[list[ResearchApproval]] = relationship(
        back_populates="request", order_by="ResearchApproval.clinic_id"
    )


class ResearchApproval(IdMixin, Base):
    """The decision of one contributing clinic's data steward on a request."""

    __tablename__ = "research_approvals"
    __table_args__ = (
        Index("uq_research_approvals_request_clinic", "request_id", "clinic_id", unique=True),
    )

    request_id: Mapped[str] = mapped_column(ForeignKey("research_requests.id"))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    decision: Mapped[ApprovalDecision] = mapped_column(
        Enum(ApprovalDecision, native_enum=False, length=12), default=ApprovalDecision.pending
    )
    steward_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    request: Mapped[ResearchRequest] = relationship(back_populates="approvals")


class ResearchExport(IdMixin, Base):
    """One release of a request's data set, with the privacy figures measured before it."""

    __tablename__ = "research_exports"

    request_id: Mapped[str] = mapped_column(ForeignKey("research_requests.id"), index=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    record_count: Mapped[int]
    suppressed_count: Mapped[int]
    k_achieved: Mapped[int]
    l_achieved: Mapped[int | None] = mapped_column(default=None)
    risk_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    risk_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    levels: Mapped[dict[str, int]] = mapped_column(JSON)

    request: Mapped[ResearchRequest] = relationship()
    files: Mapped[list[ResearchExportFile]] = relationship(order_by="ResearchExportFile.name")


class ExportedPatient(Base):
    """A patient whose de-identified record an export held (suppressed records are not)."""

    __tablename__ = "exported_patients"

    export_id: Mapped[str] = mapped_column(ForeignKey("research_exports.id"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True, index=True)


class ResearchExportFile(Base):
    """One file of an export (data, dictionary, provenance), kept as released."""

    __tablename__ = "research_export_files"

    export_id: Mapped[str] = mapped_column(ForeignKey("research_exports.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(80))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class FederatedRun(IdMixin, Base):
    """One federated training run: its settings, the clinics that took part (by partition), the
    metrics of every round and the federated-vs-central comparison. No patient is named."""

    __tablename__ = "federated_runs"

    requested_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[FederatedStatus] = mapped_column(
        Enum(FederatedStatus, native_enum=False, length=10), default=FederatedStatus.queued
    )
    strategy: Mapped[FederatedStrategy] = mapped_column(
        Enum(FederatedStrategy, native_enum=False, length=10)
    )
    rounds: Mapped[int]
    proximal_mu: Mapped[float] = mapped_column(Float)
    dp_noise_multiplier: Mapped[float] = mapped_column(Float)
    dp_clipping_norm: Mapped[float] = mapped_column(Float)
    dp_delta: Mapped[float] = mapped_column(Float)
    epsilon: Mapped[float | None] = mapped_column(Float, default=None)
    clinic_ids: Mapped[list[str]] = mapped_column(JSON)
    """As asked (empty: every clinic the requester sees)."""
    clinics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Per partition: clinic_id, patients, train_examples, test_examples."""
    round_metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
