"""Request and response shapes of the devices API, and the device enums other capabilities use."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat


class DeviceType(enum.StrEnum):
    overground_exoskeleton = "overground_exoskeleton"
    treadmill_gait_trainer = "treadmill_gait_trainer"
    end_effector_trainer = "end_effector_trainer"


class UnitStatus(enum.StrEnum):
    functioning = "functioning"
    awaiting_repair = "awaiting_repair"
    unserviceable = "unserviceable"


class EnvelopeSettingIn(BaseModel):
    setting: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    unit: str = Field(min_length=1, max_length=20)
    min_value: FiniteFloat
    max_value: FiniteFloat
    max_step: FiniteFloat = Field(gt=0)
    default_value: FiniteFloat


class EnvelopeSettingOut(EnvelopeSettingIn):
    model_config = ConfigDict(from_attributes=True)


class DeviceModelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    maker_id: str
    device_type: DeviceType
    min_patient_height_m: FiniteFloat = Field(gt=0)
    max_patient_height_m: FiniteFloat = Field(gt=0)
    max_patient_weight_kg: FiniteFloat = Field(gt=0)
    power_requirements: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    envelope: list[EnvelopeSettingIn] = Field(min_length=1)


class DeviceModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    maker_id: str
    device_type: DeviceType
    min_patient_height_m: float
    max_patient_height_m: float
    max_patient_weight_kg: float
    power_requirements: str
    description: str | None
    envelope: list[EnvelopeSettingOut]


class DeviceUnitCreate(BaseModel):
    serial_number: str = Field(min_length=3, max_length=60)
    model_id: str
    org_unit_id: str


class DeviceUnitStatusUpdate(BaseModel):
    status: UnitStatus
    reason: str | None = Field(default=None, max_length=1000)


class DeviceUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    serial_number: str
    model_id: str
    org_unit_id: str
    status: UnitStatus
    status_reason: str | None
