"""Tables of regulatory approvals of device models, and of recognition agreements between
regulators."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.devices.approvals.schemas import ApprovalStatus, RecognitionKind
from exoshare.devices.models import DeviceModel


class DeviceApproval(IdMixin, TimestampMixin, Base):
    """The regulatory status of one model in one jurisdiction (its latest decision)."""

    __tablename__ = "device_approvals"
    __table_args__ = (UniqueConstraint("model_id", "jurisdiction"),)

    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(20))
    status: Mapped[ApprovalStatus] = mapped_column(
        Enum(ApprovalStatus, native_enum=False, length=20)
    )
    status_date: Mapped[date] = mapped_column(Date)
    """Date of the decision, or of the submission while pending."""
    reference: Mapped[str | None] = mapped_column(String(80), default=None)
    """The regulator's number: 510(k)/De Novo number, NB certificate, ARTG entry, ..."""
    indications: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    model: Mapped[DeviceModel] = relationship()


class RecognitionAgreement(IdMixin, TimestampMixin, Base):
    """A group of jurisdictions that accept each other's approvals or trial data."""

    __tablename__ = "recognition_agreements"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[RecognitionKind] = mapped_column(
        Enum(RecognitionKind, native_enum=False, length=20)
    )
    members: Mapped[list[str]] = mapped_column(JSON)
    """Jurisdiction codes (keys of ``jurisdictions.JURISDICTIONS``)."""
    description: Mapped[str | None] = mapped_column(Text, default=None)
