"""The consent decisions table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.db import Base, IdMixin, utcnow


class Consent(IdMixin, Base):
    """One decision of a patient on one purpose (a FHIR Consent). Rows are never changed but
    for their withdrawal; the newest row of a (patient, purpose, partner) is the one in force."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_purpose", "patient_id", "purpose"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    purpose: Mapped[ConsentPurpose] = mapped_column(
        Enum(ConsentPurpose, native_enum=False, length=20)
    )
    decision: Mapped[ConsentDecision] = mapped_column(
        Enum(ConsentDecision, native_enum=False, length=10)
    )
    partner_clinic_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"), default=None)
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), default=None)
    text_version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    withdrawn_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def in_force(self) -> bool:
        return self.decision is ConsentDecision.permit and self.withdrawn_at is None
