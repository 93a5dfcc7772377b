"""Pay-per-use metering and monthly invoices: idempotent usage events, plans, credit notes.

Money is ``Decimal`` throughout. A line's amount is ``quantity × unit price`` rounded once,
half-up, to the currency's minor unit (2 digits for EUR, 0 for JPY, 3 for KWD); an invoice's total
is the sum of its rounded lines, so the printed lines always add up to the printed total.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.db import utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.errors import Conflict, InvalidInput, InvoiceIssued, NotFound, PermissionDenied
from exoshare.fleet.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Lease,
    LineKind,
    PlanKind,
    PricePlan,
    UsageEvent,
)
from exoshare.fleet.service import current_holder, current_holders
from exoshare.network.models import OrgUnit, OrgUnitKind
from exoshare.patients.models import Patient


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: ``round_money(Decimal("100.005"), "EUR")`` is
    ``Decimal("100.01")``."""
    digits = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------- metering


def transaction_id_for(unit_id: str, patient_id: str, session_start: datetime) -> str:
    """The deterministic id of a session's usage: SHA-256 of unit, patient and UTC start."""
    if session_start.tzinfo is None:
        raise InvalidInput("session_start must carry a time zone", field="session_start")
    start = session_start.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(f"{unit_id}|{patient_id}|{start}".encode()).hexdigest()


@dataclass(frozen=True)
class UsageRecord:
    event: UsageEvent
    created: bool
    """False when the session had been reported before (a replay): nothing new was stored."""


def record_usage(
    session: Session,
    *,
    unit_id: str,
    patient_id: str,
    session_start: datetime,
    session_end: datetime | None = None,
    source: str = "telemetry",
) -> UsageRecord:
    """Meter one completed therapy session; idempotent on (unit, patient, session start).

    Telemetry calls this when a session completes. A retried or duplicated report returns the
    event already stored (``created=False``) and never bills twice, also when two reports race.

    >>> record_usage(s, unit_id=u, patient_id=p, session_start=t).created    # doctest: +SKIP
    True
    >>> record_usage(s, unit_id=u, patient_id=p, session_start=t).created    # doctest: +SKIP
    False
    """
    transaction_id = transaction_id_for(unit_id, patient_id, session_start)
    existing = session.scalar(select(UsageEvent).where(UsageEvent.transaction_id == transaction_id))
    if existing is not None:
        return UsageRecord(existing, False)
    unit = session.get(DeviceUnit, unit_id)
    if unit is None:
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    patient = session.get(Patient, patient_id)
    if patient is None or patient.voided:
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if session_end is not None and session_end <= session_start:
        raise InvalidInput("session_end must be after session_start", field="session_end")
    start = session_start.astimezone(UTC)
    # The clinic that held the unit ran the session and pays; a unit at home or at a non-clinic
    # holder bills the patient's own clinic.
    holder = session.get(OrgUnit, current_holder(session, unit.id, start))
    clinic_id = (
        holder.id if holder is not None and holder.kind is OrgUnitKind.clinic else patient.clinic_id
    )
    event = UsageEvent(
        transaction_id=transaction_id,
        unit_id=unit.id,
        patient_id=patient.id,
        clinic_id=clinic_id,
        session_start=start,
        session_end=session_end.astimezone(UTC) if session_end else None,
        source=source,
    )
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        again = session.scalar(
            select(UsageEvent).where(UsageEvent.transaction_id == transaction_id)
        )
        if again is None:
            raise
        return UsageRecord(again, False)
    return UsageRecord(event, True)


def record_usage_for(
    session: Session,
    principal: Principal,
    *,
    unit_id: str,
    patient_id: str,
    session_start: datetime,
    session_end: datetime | None = None,
) -> UsageRecord:
    """The API's path: the caller reports use by their own clinics, of patients they may read.

    The patient must be one whose record the caller may read, of a clinic in their
    ``usage:write`` scope, and the unit held at ``session_start`` by such a clinic (the holder
    is who is billed). Any other unit or patient is refused exactly like one that does not
    exist, so a caller can neither bill another clinic nor learn which ids exist there. The
    operator reads no clinical records, so it cannot confirm patient ids here either: clinics
    report their sessions, and telemetry meters completed ones itself.
    """
    patient = session.get(Patient, patient_id)
    clinic = session.get(OrgUnit, patient.clinic_id) if patient and not patient.voided else None
    if (
        clinic is None
        or not principal.covers(Permission.patients_read, clinic.path)
        or not principal.covers(Permission.usage_write, clinic.path)
    ):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if session_start.tzinfo is None:
        raise InvalidInput("session_start must carry a time zone", field="session_start")
    unit = session.get(DeviceUnit, unit_id)
    holder_id = (
        current_holders(session, [unit.id], session_start.astimezone(UTC)).get(unit.id)
        if unit
        else None
    )
    holder = session.get(OrgUnit, holder_id) if holder_id else None
    if holder is None or not principal.covers(Permission.usage_write, holder.path):
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    return record_usage(
        session,
        unit_id=unit_id,
        patient_id=patient_id,
        session_start=session_start,
        session_end=session_end,
        source="api",
    )


# ---------------------------------------------------------------------------------- plans


def create_plan(
    session: Session,
    principal: Principal,
    clinic_id: str,
    kind: PlanKind,
    amount: Decimal,
    valid_from: date,
    valid_until: date | None = None,
) -> PricePlan:
    clinic = session.get(OrgUnit, clinic_id)
    # A clinic whose bills the caller cannot see answers like a missing one (it said 403 and
    # named the clinic's code, where a missing id got 422).
    if (
        clinic is None
        or clinic.kind is not OrgUnitKind.clinic
        or not principal.covers(Permission.billing_read, clinic.path)
    ):
        raise InvalidInput(f"clinic {clinic_id} does not exist", field="clinic_id")
    if not principal.covers(Permission.billing_manage, clinic.path):
        raise PermissionDenied(f"you may not set prices for {clinic.code}")
    if not clinic.currency:
        raise InvalidInput(f"{clinic.code} has no currency", field="clinic_id")
    if amount < 0:
        raise InvalidInput("amount must not be negative", field="amount")
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from", field="valid_until")
    plan = PricePlan(
        clinic_id=clinic.id,
        kind=kind,
        amount=amount,
        currency=clinic.currency,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    session.add(plan)
    session.flush()
    return plan


# ---------------------------------------------------------------------------------- invoices


def month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _previous_month(first: date) -> date:
    return month_start(first - timedelta(days=1))


def _plans(session: Session, clinic_id: str, kind: PlanKind, first: date) -> list[PricePlan]:
    last = _month_end(first)
    return list(
        session.scalars(
            select(PricePlan)
            .where(
                PricePlan.clinic_id == clinic_id,
                PricePlan.kind == kind,
                PricePlan.valid_from <= last,
                (PricePlan.valid_until.is_(None)) | (PricePlan.valid_until >= first),
            )
            .order_by(PricePlan.valid_from)
        )
    )


def unique_patients_treated(session: Session, clinic: OrgUnit, first: date) -> int:
    """Distinct patients with at least one session at the clinic in the month (clinic time)."""
    zone = ZoneInfo(clinic.timezone) if clinic.timezone else UTC
    lo = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(_month_end(first) + timedelta(days=1), time(), tzinfo=zone).astimezone(
        UTC
    )
    return (
        session.scalar(
            select(func.count(func.distinct(UsageEvent.patient_id))).where(
                UsageEvent.clinic_id == clinic.id,
                UsageEvent.session_start >= lo,
                UsageEvent.session_start < hi,
            )
        )
        or 0
    )


def compute_lines(session: Session, clinic: OrgUnit, first: date) -> list[InvoiceLine]:
    """The lines of a clinic's invoice for the month starting ``first``.

    Leases and fixed plans are billed in advance for this month (a part month pro rata by days);
    patients treated are billed in arrears, for the month before.
    """
    currency = clinic.currency or ""
    last = _month_end(first)
    days_in_month = Decimal(last.day)
    lines: list[InvoiceLine] = []
    leases = session.scalars(
        select(Lease)
        .where(Lease.clinic_id == clinic.id, Lease.starts_on <= last, Lease.ends_on >= first)
        .options(selectinload(Lease.unit).selectinload(DeviceUnit.model))
        .order_by(Lease.starts_on, Lease.id)
    )
    for lease in leases:
        # Billed in advance: a return before the month starts cancels it; one during the month
        # does not refund it.
        if lease.returned_on is not None and lease.returned_on < first:
            continue
        lo, hi = max(first, lease.starts_on), min(last, lease.ends_on)
        days = Decimal((hi - lo).days + 1)
        quantity = Decimal(1) if days == days_in_month else days / days_in_month
        lines.append(
            InvoiceLine(
                kind=LineKind.lease,
                description=(
                    f"Lease of {lease.unit.serial_number} ({lease.unit.model.name}), "
                    f"{lo.isoformat()} – {hi.isoformat()}"
                ),
                quantity=quantity.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
                unit_price=lease.monthly_fee,
                amount=round_money(lease.monthly_fee * quantity, currency),
                period_start=lo,
                period_end=hi,
                lease_id=lease.id,
            )
        )
    for plan in _plans(session, clinic.id, PlanKind.monthly_fixed, first):
        lines.append(
            InvoiceLine(
                kind=LineKind.monthly_fixed,
                description=f"Monthly service fee, {first.isoformat()} – {last.isoformat()}",
                quantity=Decimal(1),
                unit_price=plan.amount,
                amount=round_money(plan.amount, currency),
                period_start=first,
                period_end=last,
            )
        )
    before = _previous_month(first)
    plans = _plans(session, clinic.id, PlanKind.per_patient_treated, before)
    if plans:
        patients = unique_patients_treated(session, clinic, before)
        price = plans[-1].amount  # the plan in force at the end of the month
        if patients:
            lines.append(
                InvoiceLine(
                    kind=LineKind.per_patient,
                    description=(
                        f"Patients treated, {before.isoformat()} – {_month_end(before).isoformat()}"
                    ),
                    quantity=Decimal(patients),
                    unit_price=price,
                    amount=round_money(price * patients, currency),
                    period_start=before,
                    period_end=_month_end(before),
                )
            )
    for position, line in enumerate(lines, start=1):
        line.position = position
    return lines


def _invoice_scope(session: Session, principal: Principal, clinic_id: str) -> OrgUnit:
    clinic = session.get(OrgUnit, clinic_id)
    if clinic is None or clinic.kind is not OrgUnitKind.clinic:
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    if not principal.covers(Permission.billing_read, clinic.path):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    if not principal.covers(Permission.billing_manage, clinic.path):
        raise PermissionDenied(f"you may not prepare invoices for {clinic.code}")
    return clinic


def draft_invoice(session: Session, principal: Principal, clinic_id: str, month: date) -> Invoice:
    """Create, or recompute, the draft invoice of a clinic for a month. Issued ones never change."""
    clinic = _invoice_scope(session, principal, clinic_id)
    if not clinic.currency:
        raise InvalidInput(f"{clinic.code} has no currency", field="clinic_id")
    first = month_start(month)
    number = f"{clinic.code}-{first:%Y-%m}"
    invoice = session.scalar(select(Invoice).where(Invoice.number == number))
    if invoice is not None and invoice.status is InvoiceStatus.issued:
        raise InvoiceIssued(
            f"invoice {number} was issued on {invoice.issued_at:%Y-%m-%d}; "
            "issue a credit note to correct it",
            invoice_id=invoice.id,
        )
    lines = compute_lines(session, clinic, first)
    if invoice is None:
        invoice = Invoice(
            number=number,
            kind=InvoiceKind.invoice,
            status=InvoiceStatus.draft,
            clinic_id=clinic.id,
            period_start=first,
            currency=clinic.currency,
            total=Decimal(0),
        )
        session.add(invoice)
    else:
        invoice.lines.clear()
        session.flush()
    invoice.lines.extend(lines)
    invoice.total = sum((line.amount for line in lines), Decimal(0))
    session.flush()
    return invoice


def _for_write(session: Session, principal: Principal, invoice_id: str) -> Invoice:
    invoice = get_invoice(session, principal, invoice_id)
    if not principal.covers(Permission.billing_manage, invoice.clinic.path):
        raise PermissionDenied(f"you may not change invoice {invoice.number}")
    return invoice


def _refuse_if_issued(invoice: Invoice) -> None:
    if invoice.status is InvoiceStatus.issued:
        issued = invoice.issued_at.date().isoformat() if invoice.issued_at else "?"
        raise InvoiceIssued(
            f"invoice {invoice.number} was issued on {issued} and cannot change; "
            "issue a credit note to correct it",
            invoice_id=invoice.id,
        )


def issue_invoice(session: Session, principal: Principal, invoice_id: str) -> Invoice:
    invoice = _for_write(session, principal, invoice_id)
    _refuse_if_issued(invoice)
    invoice.status = InvoiceStatus.issued
    invoice.issued_at = utcnow()
    invoice.issued_by_id = principal.user_ref
    session.flush()
    return invoice


def update_invoice(
    session: Session, principal: Principal, invoice_id: str, note: str | None
) -> Invoice:
    """Drafts take a note; issued invoices refuse every change."""
    invoice = _for_write(session, principal, invoice_id)
    _refuse_if_issued(invoice)
    invoice.note = note
    session.flush()
    return invoice


def credited_so_far(session: Session, invoice_id: str) -> Decimal:
    totals = session.scalars(
        select(Invoice.total).where(
            Invoice.credited_invoice_id == invoice_id, Invoice.kind == InvoiceKind.credit_note
        )
    )
    return -sum(totals, Decimal(0))


def create_credit_note(
    session: Session,
    principal: Principal,
    invoice_id: str,
    amount: Decimal,
    reason: str,
) -> Invoice:
    """Correct an issued invoice: a new, issued document with a negative total."""
    invoice = _for_write(session, principal, invoice_id)
    if invoice.kind is not InvoiceKind.invoice or invoice.status is not InvoiceStatus.issued:
        raise Conflict(f"{invoice.number} is not an issued invoice; edit the draft instead")
    amount = round_money(Decimal(amount), invoice.currency)
    if amount <= 0:
        raise InvalidInput("amount must be positive", field="amount")
    if not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    left = invoice.total - credited_so_far(session, invoice.id)
    if amount > left:
        raise InvalidInput(
            f"amount {amount} exceeds what is left to credit on {invoice.number} ({left})",
            field="amount",
        )
    count = (
        session.scalar(select(func.count()).where(Invoice.credited_invoice_id == invoice.id)) or 0
    )
    note = Invoice(
        number=f"CN-{invoice.number}-{count + 1}",
        kind=InvoiceKind.credit_note,
        status=InvoiceStatus.draft,
        clinic_id=invoice.clinic_id,
        period_start=invoice.period_start,
        currency=invoice.currency,
        total=-amount,
        note=reason.strip(),
        credited_invoice_id=invoice.id,
        lines=[
            InvoiceLine(
                position=1,
                kind=LineKind.credit,
                description=f"Credit against {invoice.number}: {reason.strip()}"[:300],
                quantity=Decimal(1),
                unit_price=-amount,
                amount=-amount,
            )
        ],
    )
    session.add(note)
    session.flush()
    # Lines go in while it is a draft; the database refuses lines of an issued document.
    note.status = InvoiceStatus.issued
    note.issued_at = utcnow()
    note.issued_by_id = principal.user_ref
    session.flush()
    return note


def get_invoice(session: Session, principal: Principal, invoice_id: str) -> Invoice:
    invoice = session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(selectinload(Invoice.lines), selectinload(Invoice.clinic))
    )
    if invoice is None or (not principal.covers(Permission.billing_read, invoice.clinic.path)):
        raise NotFound(f"invoice {invoice_id} not found")
    return invoice


def list_invoices(
    session: Session, principal: Principal, clinic_id: str | None = None
) -> list[Invoice]:
    stmt = (
        select(Invoice)
        .join(OrgUnit, OrgUnit.id == Invoice.clinic_id)
        .where(principal.org_filter(Permission.billing_read, OrgUnit.path))
        .options(selectinload(Invoice.clinic))
        .order_by(Invoice.period_start.desc(), OrgUnit.code, Invoice.number)
    )
    if clinic_id:
        stmt = stmt.where(Invoice.clinic_id == clinic_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ModelFieldUsage:
    """Anonymous use of one device model in the field: counts only, no patient or clinic."""

    model_id: str
    units: int
    countries: int
    sessions: int
    patients: int


def field_usage_by_model(
    session: Session, model_ids: list[str], since: datetime
) -> dict[str, ModelFieldUsage]:
    """What a manufacturer may see of its models: units, countries, sessions and distinct
    patients since ``since`` — aggregates, never who or where exactly."""
    from sqlalchemy import distinct

    units = dict(
        session.execute(
            select(DeviceUnit.model_id, func.count())
            .where(DeviceUnit.model_id.in_(model_ids))
            .group_by(DeviceUnit.model_id)
        ).all()
    )
    countries = dict(
        session.execute(
            select(DeviceUnit.model_id, func.count(distinct(OrgUnit.country_code)))
            .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
            .where(DeviceUnit.model_id.in_(model_ids))
            .group_by(DeviceUnit.model_id)
        ).all()
    )
    used = {
        model_id: (n_sessions, n_patients)
        for model_id, n_sessions, n_patients in session.execute(
            select(
                DeviceUnit.model_id,
                func.count(UsageEvent.id),
                func.count(distinct(UsageEvent.patient_id)),
            )
            .join(DeviceUnit, DeviceUnit.id == UsageEvent.unit_id)
            .where(DeviceUnit.model_id.in_(model_ids), UsageEvent.session_start >= since)
            .group_by(DeviceUnit.model_id)
        ).all()
    }
    return {
        model_id: ModelFieldUsage(
            model_id,
            units.get(model_id, 0),
            countries.get(model_id, 0),
            used.get(model_id, (0, 0))[0],
            used.get(model_id, (0, 0))[1],
        )
        for model_id in model_ids
    }
