"""Tables of the shared fleet: custody movements, leases, maintenance, usage, plans and invoices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from exoshare.db import Base, IdMixin, TimestampMixin, utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.fleet.schemas import (
    CustodyDirection,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    MaintenanceKind,
    PlanKind,
)
from exoshare.network.models import OrgUnit


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(18, 4) on PostgreSQL, text on SQLite.

    SQLite has no decimal type and would store a float, so 33.335 could come back as 33.33499...;
    text keeps every digit and the arithmetic happens in Python's Decimal anyway.
    """

    impl = Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class CustodyMovement(Base):
    """One leg of a move: a unit leaving a holder (``out``) or arriving at one (``in``).

    Append-only (triggers refuse UPDATE and DELETE); the current holder is the org unit of the
    latest ``in`` at or before now, never a column of its own.
    """

    __tablename__ = "custody_movements"
    __table_args__ = (Index("ix_custody_movements_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    direction: Mapped[CustodyDirection] = mapped_column(
        Enum(CustodyDirection, native_enum=False, length=5)
    )
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    at: Mapped[datetime]
    transfer_id: Mapped[str] = mapped_column(String(32), index=True)
    """Shared by the out and the in of one transfer."""
    reason: Mapped[str] = mapped_column(String(300))
    lease_id: Mapped[str | None] = mapped_column(ForeignKey("leases.id"), default=None)
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()


class Lease(IdMixin, TimestampMixin, Base):
    """A unit let to a clinic for a monthly fee billed in advance, ``starts_on`` to ``ends_on``.

    Both dates are inclusive. ``returned_on`` records an early return; the lease then occupies the
    unit only up to that day. Overlaps on one unit are refused by the service and, underneath,
    by an exclusion constraint (PostgreSQL) or a trigger (SQLite).
    """

    __tablename__ = "leases"
    __table_args__ = (
        Index("ix_leases_unit_period", "unit_id", "starts_on", "ends_on"),
        CheckConstraint("starts_on <= ends_on", name="period"),
        CheckConstraint("returned_on IS NULL OR returned_on >= starts_on", name="returned"),
    )

    unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    monthly_fee: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date, default=None)
    renewed_from_id: Mapped[str | None] = mapped_column(ForeignKey("leases.id"), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    unit: Mapped[DeviceUnit] = relationship()
    clinic: Mapped[OrgUnit] = relationship()

    @property
    def last_day(self) -> date:
        """The last day the lease occupies the unit."""
        return self.returned_on or self.ends_on


class MaintenanceRecord(IdMixin, TimestampMixin, Base):
    """Work on a unit; the unit cannot be booked from ``starts_at`` until ``ends_at``."""

    __tablename__ = "maintenance_records"
    __table_args__ = (
        Index("ix_maintenance_records_unit_period", "unit_id", "starts_at"),
        CheckConstraint("starts_at < ends_at", name="period"),
    )

    unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"))
    kind: Mapped[MaintenanceKind] = mapped_column(
        Enum(MaintenanceKind, native_enum=False, length=30)
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    performed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    unit: Mapped[DeviceUnit] = relationship()


class UsageEvent(IdMixin, Base):
    """One completed therapy session on a unit, the unit of pay-per-use billing.

    ``transaction_id`` is a hash of (unit, patient, session start), unique, so a retried or
    duplicated report of the same session is one row.
    """

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_clinic_start", "clinic_id", "session_start"),)

    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("device_units.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    """The clinic that ran the session, and pays for it."""
    session_start: Mapped[datetime]
    session_end: Mapped[datetime | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(20), default="telemetry")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PricePlan(IdMixin, TimestampMixin, Base):
    """A price a clinic pays besides its leases, valid over a span of months."""

    __tablename__ = "price_plans"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[PlanKind] = mapped_column(Enum(PlanKind, native_enum=False, length=30))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None)


class Invoice(IdMixin, TimestampMixin, Base):
    """A monthly invoice (or a credit note against one). Issued means frozen: triggers refuse
    any change to an issued invoice or its lines."""

    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_clinic_period", "clinic_id", "period_start"),)

    number: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[InvoiceKind] = mapped_column(Enum(InvoiceKind, native_enum=False, length=20))
    status: Mapped[InvoiceStatus] = mapped_column(Enum(InvoiceStatus, native_enum=False, length=10))
    clinic_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    period_start: Mapped[date] = mapped_column(Date)
    """First day of the month billed."""
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text, default=None)
    credited_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), default=None)
    issued_at: Mapped[datetime | None] = mapped_column(default=None)
    issued_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    clinic: Mapped[OrgUnit] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    kind: Mapped[LineKind] = mapped_column(Enum(LineKind, native_enum=False, length=20))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Money())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    """``quantity × unit_price`` rounded half-up to the currency's minor unit."""
    period_start: Mapped[date | None] = mapped_column(Date, default=None)
    period_end: Mapped[date | None] = mapped_column(Date, default=None)
    lease_id: Mapped[str | None] = mapped_column(ForeignKey("leases.id"), default=None)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
