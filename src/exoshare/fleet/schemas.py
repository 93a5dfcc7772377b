"""Request and response shapes of the fleet and billing API, and the fleet enums other
capabilities use."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict, Field, model_validator

from exoshare.bounds import CalendarDate, CalendarDateTime
from exoshare.patch import PatchBody


class CustodyDirection(enum.StrEnum):
    out = "out"
    in_ = "in"


class MaintenanceKind(enum.StrEnum):
    preventive_maintenance = "preventive_maintenance"
    repair = "repair"
    calibration = "calibration"
    safety_inspection = "safety_inspection"
    software_update = "software_update"


class PlanKind(enum.StrEnum):
    per_patient_treated = "per_patient_treated"
    """``amount`` per unique patient treated in the month."""
    monthly_fixed = "monthly_fixed"
    """``amount`` per month, billed in advance (e.g. a service subscription)."""


class InvoiceKind(enum.StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class InvoiceStatus(enum.StrEnum):
    draft = "draft"
    issued = "issued"


class LineKind(enum.StrEnum):
    lease = "lease"
    per_patient = "per_patient"
    monthly_fixed = "monthly_fixed"
    credit = "credit"


class TransferIn(BaseModel):
    to_org_unit_id: str
    reason: str = Field(min_length=1, max_length=300)
    at: CalendarDateTime | None = None


class CustodyMovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_id: str
    direction: CustodyDirection
    org_unit_id: str
    at: datetime
    transfer_id: str
    reason: str
    lease_id: str | None


class LeaseCreate(BaseModel):
    unit_id: str
    clinic_id: str
    monthly_fee: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    starts_on: CalendarDate
    ends_on: CalendarDate
    notes: str | None = Field(default=None, max_length=2000)


class LeaseRenew(BaseModel):
    ends_on: CalendarDate
    monthly_fee: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)


class LeaseReturn(BaseModel):
    returned_on: CalendarDate


class LeaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    unit_id: str
    clinic_id: str
    monthly_fee: Decimal
    currency: str
    starts_on: date
    ends_on: date
    returned_on: date | None
    renewed_from_id: str | None


class MaintenanceCreate(BaseModel):
    kind: MaintenanceKind
    starts_at: CalendarDateTime
    ends_at: CalendarDateTime
    performed_by: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)


class MaintenanceOut(MaintenanceCreate):
    model_config = ConfigDict(from_attributes=True)

    id: str
    unit_id: str


class FleetUnitOut(BaseModel):
    unit_id: str
    serial_number: str
    model_id: str
    model_name: str
    owner_id: str
    holder_id: str
    holder_code: str
    status: str
    lease_id: str | None
    lease_clinic_id: str | None
    in_maintenance: bool
    available: bool


class UsageCreate(BaseModel):
    unit_id: str
    patient_id: str
    session_start: CalendarDateTime
    session_end: CalendarDateTime | None = None


class UsageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    transaction_id: str
    unit_id: str
    patient_id: str
    clinic_id: str
    session_start: datetime
    session_end: datetime | None
    recorded_at: datetime


class PlanCreate(BaseModel):
    clinic_id: str
    kind: PlanKind
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    valid_from: CalendarDate
    valid_until: CalendarDate | None = None


class PlanOut(PlanCreate):
    model_config = ConfigDict(from_attributes=True)

    id: str
    currency: str


class InvoiceCreate(BaseModel):
    clinic_id: str
    month: CalendarDate = Field(description="Any day of the month billed; the month is what counts")


class InvoiceUpdate(PatchBody):
    clearable = frozenset({"note"})

    note: str | None = Field(default=None, max_length=2000)


class CreditNoteCreate(BaseModel):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=4)
    reason: str = Field(min_length=1, max_length=300)


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    period_start: date | None
    period_end: date | None
    lease_id: str | None


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: str
    kind: InvoiceKind
    status: InvoiceStatus
    clinic_id: str
    period_start: date
    currency: str
    total: Decimal
    note: str | None
    credited_invoice_id: str | None
    issued_at: datetime | None
    lines: list[InvoiceLineOut]

    @model_validator(mode="after")
    def _in_minor_units(self) -> InvoiceOut:
        # Amounts are stored with 4 decimals; documents show the currency's own (EUR 2, JPY 0).
        step = Decimal(1).scaleb(-get_currency_precision(self.currency))
        self.total = self.total.quantize(step)
        for line in self.lines:
            line.amount = line.amount.quantize(step)
        return self
