"""Tables of patient records: identity, body measures, diagnosis; voided, never deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Enum, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.network.models import OrgUnit
from exoshare.patients.schemas import Diagnosis, Sex


class Patient(IdMixin, TimestampMixin, Base):
    __tablename__ = "patients"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    medical_record_number: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=10))
    birth_date: Mapped[date]
    height_m: Mapped[float] = mapped_column(Float)
    weight_kg: Mapped[float] = mapped_column(Float)
    diagnosis: Mapped[Diagnosis] = mapped_column(Enum(Diagnosis, native_enum=False, length=30))
    diagnosis_detail: Mapped[str | None] = mapped_column(String(200), default=None)
    onset_date: Mapped[date | None] = mapped_column(default=None)
    preferred_language: Mapped[str] = mapped_column(String(12), default="en")
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None, unique=True)
    voided: Mapped[bool] = mapped_column(default=False, index=True)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)

    clinic: Mapped[OrgUnit] = relationship()

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"
