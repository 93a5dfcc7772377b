"""Tables of device models, their safety envelopes, and the physical units in the fleet."""

from __future__ import annotations

from sqlalchemy import Enum, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.devices.schemas import DeviceType, UnitStatus
from exoshare.network.models import OrgUnit, Partner


class DeviceModel(IdMixin, TimestampMixin, Base):
    __tablename__ = "device_models"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    maker_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    device_type: Mapped[DeviceType] = mapped_column(Enum(DeviceType, native_enum=False, length=30))
    min_patient_height_m: Mapped[float] = mapped_column(Float)
    max_patient_height_m: Mapped[float] = mapped_column(Float)
    max_patient_weight_kg: Mapped[float] = mapped_column(Float)
    power_requirements: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)

    maker: Mapped[Partner] = relationship()
    envelope: Mapped[list[SafetyEnvelopeSetting]] = relationship(
        back_populates="model",
        cascade="all, delete-orphan",
        order_by="SafetyEnvelopeSetting.setting",
    )


class SafetyEnvelopeSetting(IdMixin, Base):
    """One adjustable setting of a model and the range a change must stay within."""

    __tablename__ = "safety_envelope_settings"
    __table_args__ = (UniqueConstraint("model_id", "setting"),)

    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"))
    setting: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(20))
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    max_step: Mapped[float] = mapped_column(Float)
    default_value: Mapped[float] = mapped_column(Float)

    model: Mapped[DeviceModel] = relationship(back_populates="envelope")


class DeviceUnit(IdMixin, TimestampMixin, Base):
    """A physical device. ``org_unit_id`` is the owner; custody history belongs to the fleet."""

    __tablename__ = "device_units"

    serial_number: Mapped[str] = mapped_column(String(60), unique=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"), index=True)
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[UnitStatus] = mapped_column(
        Enum(UnitStatus, native_enum=False, length=20), default=UnitStatus.functioning
    )
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)

    model: Mapped[DeviceModel] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()
