"""Tables of outcome measures and goals: item-level records, voided with a reason, never deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.outcomes.instruments import InstrumentCode, Measure
from exoshare.outcomes.schemas import WalkingAid


class OutcomeMeasurement(IdMixin, TimestampMixin, Base):
    """One administration of an instrument: the items as entered and the scores computed."""

    __tablename__ = "outcome_measurements"
    __table_args__ = (Index("ix_outcome_measurements_patient_day", "patient_id", "measured_on"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    """The patient's clinic when it was recorded."""
    instrument: Mapped[InstrumentCode] = mapped_column(
        Enum(InstrumentCode, native_enum=False, length=20)
    )
    items: Mapped[dict[str, float]] = mapped_column(JSON)
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    """Computed from ``items`` by the instrument's scoring, keyed by measure."""
    measured_on: Mapped[date]
    with_exoskeleton: Mapped[bool] = mapped_column(default=False)
    walking_aid: Mapped[WalkingAid] = mapped_column(
        Enum(WalkingAid, native_enum=False, length=24), default=WalkingAid.none
    )
    note: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    voided: Mapped[bool] = mapped_column(default=False)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)


class OutcomeGoal(IdMixin, TimestampMixin, Base):
    """A target for one measure by a date ("10MWT comfortable >= 0.8 m/s by week 8")."""

    __tablename__ = "outcome_goals"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    measure: Mapped[Measure] = mapped_column(Enum(Measure, native_enum=False, length=40))
    target_value: Mapped[float] = mapped_column(Float)
    target_date: Mapped[date]
    start_date: Mapped[date]
    baseline_value: Mapped[float | None] = mapped_column(Float, default=None)
    """The latest value of the measure when the goal was set: where the straight path starts."""
    note: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    voided: Mapped[bool] = mapped_column(default=False)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)
