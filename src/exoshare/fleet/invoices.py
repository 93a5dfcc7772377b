"""Price plans and monthly invoices, immutable once issued; corrections are credit notes.

Money is ``Decimal`` throughout. A line's amount is ``quantity × unit price`` rounded once,
half-up, to the currency's minor unit (2 digits for EUR, 0 for JPY, 3 for KWD); an invoice's total
is the sum of its rounded lines, so the printed lines always add up to the printed total.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.db import utcnow
from exoshare.devices import service as devices_service
from exoshare.errors import N_, Conflict, InvalidInput, InvoiceIssued, NotFound, PermissionDenied
from exoshare.fleet.models import Invoice, InvoiceLine, Lease, PricePlan, UsageEvent
from exoshare.fleet.schemas import InvoiceKind, InvoiceStatus, LineKind, PlanKind
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: ``round_money(Decimal("100.005"), "EUR")`` is
    ``Decimal("100.01")``."""
    digits = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def create_plan(
    session: Session,
    principal: Principal,
    clinic_id: str,
    kind: PlanKind,
    amount: Decimal,
    valid_from: date,
    valid_until: date | None = None,
) -> PricePlan:
    clinic = network_service.find_clinic(session, clinic_id)
    # A clinic whose bills the caller cannot see answers like a missing one (it said 403 and
    # named the clinic's code, where a missing id got 422).
    if clinic is None or not principal.covers(Permission.billing_read, clinic.path):
        raise InvalidInput(f"clinic {clinic_id} does not exist", field="clinic_id")
    if not principal.covers(Permission.billing_manage, clinic.path):
        raise PermissionDenied(f"you may not set prices for {clinic.code}")
    if not clinic.currency:
        raise InvalidInput(f"{clinic.code} has no currency", field="clinic_id")
    if amount < 0:
        raise InvalidInput.worded(N_("amount must not be negative"), also={"field": "amount"})
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput.worded(
            N_("valid_until is before valid_from"), also={"field": "valid_until"}
        )
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
        .options(devices_service.with_model(Lease.unit))
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
    clinic = network_service.find_clinic(session, clinic_id)
    if clinic is None:
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
        raise InvalidInput.worded(N_("amount must be positive"), also={"field": "amount"})
    if not reason.strip():
        raise InvalidInput.worded(N_("a reason is required"), also={"field": "reason"})
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
        .where(network_service.in_scope(principal, Permission.billing_read, Invoice.clinic_id))
        .options(selectinload(Invoice.clinic))
        .order_by(
            Invoice.period_start.desc(), network_service.code_of(Invoice.clinic_id), Invoice.number
        )
    )
    if clinic_id:
        stmt = stmt.where(Invoice.clinic_id == clinic_id)
    return list(session.scalars(stmt))
