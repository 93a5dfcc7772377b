"""HTTP routes of the fleet: custody, leases, maintenance, usage metering and invoices."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.fleet import access, metering, overview, transfers
from exoshare.fleet import custody as custody_ledger
from exoshare.fleet import invoices as invoicing
from exoshare.fleet import leases as leasing
from exoshare.fleet import maintenance as upkeep
from exoshare.fleet.schemas import (
    CreditNoteCreate,
    CustodyMovementOut,
    FleetUnitOut,
    InvoiceCreate,
    InvoiceOut,
    InvoiceUpdate,
    LeaseCreate,
    LeaseOut,
    LeaseRenew,
    LeaseReturn,
    MaintenanceCreate,
    MaintenanceOut,
    PlanCreate,
    PlanOut,
    TransferIn,
    UsageCreate,
    UsageOut,
)

router = APIRouter(prefix="/api/v1", tags=["fleet"])


@router.get("/fleet", response_model=list[FleetUnitOut])
def fleet(session: DbSession, principal: CurrentPrincipal) -> list[FleetUnitOut]:
    return [
        FleetUnitOut(
            unit_id=row.unit.id,
            serial_number=row.unit.serial_number,
            model_id=row.unit.model_id,
            model_name=row.unit.model.name,
            owner_id=row.unit.org_unit_id,
            holder_id=row.holder.id,
            holder_code=row.holder.code,
            status=row.unit.status.value,
            lease_id=row.lease.id if row.lease else None,
            lease_clinic_id=row.lease.clinic_id if row.lease else None,
            in_maintenance=row.maintenance is not None,
            available=row.available,
        )
        for row in overview.fleet_overview(session, principal)
    ]


@router.get("/device-units/{unit_id}/custody", response_model=list[CustodyMovementOut])
def custody(unit_id: str, session: DbSession, principal: CurrentPrincipal) -> list:
    return custody_ledger.custody_history(session, principal, unit_id)


@router.post(
    "/device-units/{unit_id}/transfers",
    response_model=list[CustodyMovementOut],
    status_code=status.HTTP_201_CREATED,
)
def transfer(
    unit_id: str, body: TransferIn, session: DbSession, principal: CurrentPrincipal
) -> list:
    return transfers.transfer_unit(
        session, principal, unit_id, body.to_org_unit_id, body.reason, body.at
    )


@router.get("/leases", response_model=list[LeaseOut])
def leases(session: DbSession, principal: CurrentPrincipal, unit_id: str | None = None) -> list:
    return leasing.list_leases(session, principal, unit_id)


@router.post("/leases", response_model=LeaseOut, status_code=status.HTTP_201_CREATED)
def create_lease(body: LeaseCreate, session: DbSession, principal: CurrentPrincipal) -> object:
    return leasing.create_lease(session, principal, **body.model_dump())


@router.get("/leases/{lease_id}", response_model=LeaseOut)
def get_lease(lease_id: str, session: DbSession, principal: CurrentPrincipal) -> object:
    return leasing.get_lease(session, principal, lease_id)


@router.post(
    "/leases/{lease_id}/renewals", response_model=LeaseOut, status_code=status.HTTP_201_CREATED
)
def renew(
    lease_id: str, body: LeaseRenew, session: DbSession, principal: CurrentPrincipal
) -> object:
    leasing.get_lease(session, principal, lease_id)
    return leasing.renew_lease(session, principal, lease_id, body.ends_on, body.monthly_fee)


@router.post("/leases/{lease_id}/return", response_model=LeaseOut)
def return_early(
    lease_id: str, body: LeaseReturn, session: DbSession, principal: CurrentPrincipal
) -> object:
    leasing.get_lease(session, principal, lease_id)
    return leasing.return_lease(session, principal, lease_id, body.returned_on)


@router.get("/device-units/{unit_id}/maintenance", response_model=list[MaintenanceOut])
def maintenance(unit_id: str, session: DbSession, principal: CurrentPrincipal) -> list:
    return upkeep.list_maintenance(session, principal, unit_id)


@router.post(
    "/device-units/{unit_id}/maintenance",
    response_model=MaintenanceOut,
    status_code=status.HTTP_201_CREATED,
)
def add_maintenance(
    unit_id: str, body: MaintenanceCreate, session: DbSession, principal: CurrentPrincipal
) -> object:
    access.get_fleet_unit(session, principal, unit_id)
    return upkeep.record_maintenance(session, principal, unit_id, **body.model_dump())


@router.post("/usage-events", response_model=UsageOut, status_code=status.HTTP_201_CREATED)
def report_usage(
    body: UsageCreate, response: Response, session: DbSession, principal: CurrentPrincipal
) -> object:
    """Idempotent: a replay of the same session answers 200 with the event already stored."""
    record = metering.record_usage_for(session, principal, **body.model_dump())
    if not record.created:
        response.status_code = status.HTTP_200_OK
    return record.event


@router.post("/price-plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED)
def create_plan(body: PlanCreate, session: DbSession, principal: CurrentPrincipal) -> object:
    return invoicing.create_plan(session, principal, **body.model_dump())


@router.get("/invoices", response_model=list[InvoiceOut])
def invoices(session: DbSession, principal: CurrentPrincipal, clinic_id: str | None = None) -> list:
    listed = invoicing.list_invoices(session, principal, clinic_id)
    return [invoicing.get_invoice(session, principal, i.id) for i in listed]


@router.post("/invoices", response_model=InvoiceOut, status_code=status.HTTP_201_CREATED)
def draft(body: InvoiceCreate, session: DbSession, principal: CurrentPrincipal) -> object:
    return invoicing.draft_invoice(session, principal, body.clinic_id, body.month)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, session: DbSession, principal: CurrentPrincipal) -> object:
    return invoicing.get_invoice(session, principal, invoice_id)


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut)
def update_invoice(
    invoice_id: str, body: InvoiceUpdate, session: DbSession, principal: CurrentPrincipal
) -> object:
    # A note left out stays as it is; null clears it.
    if "note" in body.model_fields_set:
        note = body.note
    else:
        note = invoicing.get_invoice(session, principal, invoice_id).note
    return invoicing.update_invoice(session, principal, invoice_id, note)


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceOut)
def issue(invoice_id: str, session: DbSession, principal: CurrentPrincipal) -> object:
    return invoicing.issue_invoice(session, principal, invoice_id)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response_model=InvoiceOut,
    status_code=status.HTTP_201_CREATED,
)
def credit_note(
    invoice_id: str, body: CreditNoteCreate, session: DbSession, principal: CurrentPrincipal
) -> object:
    return invoicing.create_credit_note(session, principal, invoice_id, body.amount, body.reason)
