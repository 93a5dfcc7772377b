"""HTML pages of the fleet: where every unit is, a unit's custody history, invoices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated

from babel.numbers import format_currency
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.errors import Conflict, InvalidInput
from exoshare.fleet import access, custody, invoices, leases, maintenance, overview, transfers
from exoshare.fleet.schemas import MaintenanceKind
from exoshare.web.labels import N_
from exoshare.web.problem_words import problem_from_query, problem_query
from exoshare.web.render import render, request_gettext, request_locale

router = APIRouter(include_in_schema=False)

MAINTENANCE_LABEL = {
    MaintenanceKind.preventive_maintenance: N_("Preventive maintenance"),
    MaintenanceKind.repair: N_("Repair"),
    MaintenanceKind.calibration: N_("Calibration"),
    MaintenanceKind.safety_inspection: N_("Safety inspection"),
    MaintenanceKind.software_update: N_("Software update"),
}


def money_formatter(request: Request, principal: Principal) -> Callable[[Decimal, str], str]:
    """``money(amount, currency)`` in the reader's locale, with the currency's own decimals."""
    locale = request_locale(request, principal)

    def money(amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=locale.replace("-", "_"))

    return money


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(page_requires(Permission.fleet_read))],
) -> HTMLResponse:
    rows = overview.fleet_overview(session, principal)
    return render(
        request,
        "fleet/fleet.html",
        principal,
        rows=rows,
        available=sum(r.available for r in rows),
        leased=sum(r.lease is not None for r in rows),
    )


def _movement_reason(
    request: Request, principal: Principal, reason: str, lease_id: str | None
) -> str:
    """A custody reason in the reader's language when exoshare wrote it (a lease's start or
    return); a person's own reason as they wrote it."""
    words = leases.movement_words(reason, lease_id)
    return request_gettext(request, principal)(words) if words else reason


@router.get("/fleet/units/{unit_id}", response_class=HTMLResponse)
def custody_page(
    unit_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    unit = access.get_fleet_unit(session, principal, unit_id)
    may_manage = principal.covers(Permission.fleet_manage, unit.org_unit.path)
    # A unit out on lease cannot be moved (the service refuses it): say so instead of a form.
    on_lease = leases.lease_covering(session, unit.id, date.today()) if may_manage else None
    may_move = may_manage and on_lease is None
    return render(
        request,
        "fleet/custody.html",
        principal,
        unit=unit,
        may_move=may_move,
        on_lease=on_lease,
        clinics=transfers.clinics_for_transfer(session, principal) if may_move else [],
        error=problem_from_query(request.query_params),
        movements=custody.custody_history(session, principal, unit_id),
        movement_reason=lambda m: _movement_reason(request, principal, m.reason, m.lease_id),
        leases=leases.list_leases(session, principal, unit_id),
        maintenance=maintenance.list_maintenance(session, principal, unit_id),
        maintenance_label=lambda kind: request_gettext(request, principal)(MAINTENANCE_LABEL[kind]),
        money=money_formatter(request, principal),
    )


@router.post("/fleet/units/{unit_id}/move")
def move_unit(
    unit_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    to_org_unit_id: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Journey 4: the operator moves a unit to a busier clinic; the history shows the move."""
    try:
        transfers.transfer_unit(session, principal, unit_id, to_org_unit_id, reason)
    except (Conflict, InvalidInput) as refused:
        session.rollback()
        return RedirectResponse(f"/fleet/units/{unit_id}?{problem_query(refused)}", status_code=303)
    return RedirectResponse(f"/fleet/units/{unit_id}", status_code=303)


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(page_requires(Permission.billing_read))],
) -> HTMLResponse:
    return render(
        request,
        "fleet/invoices.html",
        principal,
        invoices=invoices.list_invoices(session, principal),
        money=money_formatter(request, principal),
    )


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(
    invoice_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    invoice = invoices.get_invoice(session, principal, invoice_id)
    return render(
        request,
        "fleet/invoice.html",
        principal,
        invoice=invoice,
        credited=invoices.credited_so_far(session, invoice.id),
        money=money_formatter(request, principal),
    )
