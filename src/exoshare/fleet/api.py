"""HTTP routes of the fleet: custody, leases, maintenance, usage metering and invoices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from exoshare.fleet.models import CustodyMovement

router = APIRouter(prefix="/api/v1", tags=["fleet"])


def _movements(movements: Sequence[CustodyMovement]) -> list[CustodyMovementOut]:
    return [CustodyMovementOut.model_validate(m) for m in movements]


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
def custody(
    unit_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[CustodyMovementOut]:
    return _movements(custody_ledger.custody_history(session, principal, unit_id))


@router.post(
    "/device-units/{unit_id}/transfers",
    response_model=list[CustodyMovementOut],
    status_code=status.HTTP_201_CREATED,
)
def transfer(
    unit_id: str, body: TransferIn, session: DbSession, principal: CurrentPrincipal
) -> list[CustodyMovementOut]:
    return _movements(
        transfers.transfer_unit(
            session, principal, unit_id, body.to_org_unit_id, body.reason, body.at
        )
    )


@router.get("/leases", response_model=list[LeaseOut])
def leases(
    session: DbSession, principal: CurrentPrincipal, unit_id: str | None = None
) -> list[LeaseOut]:
    return [
        LeaseOut.model_validate(lease) for lease in leasing.list_leases(session, principal, unit_id)
    ]


@router.post("/leases", response_model=LeaseOut, status_code=status.HTTP_201_CREATED)
def create_lease(body: LeaseCreate, session: DbSession, principal: CurrentPrincipal) -> LeaseOut:
    return LeaseOut.model_validate(leasing.create_lease(session, principal, **body.model_dump()))


@router.get("/leases/{lease_id}", response_model=LeaseOut)
def get_lease(lease_id: str, session: DbSession, principal: CurrentPrincipal) -> LeaseOut:
    return LeaseOut.model_validate(leasing.get_lease(session, principal, lease_id))


@router.post(
    "/leases/{lease_id}/renewals", response_model=LeaseOut, status_code=status.HTTP_201_CREATED
)
def renew(
    lease_id: str, body: LeaseRenew, session: DbSession, principal: CurrentPrincipal
) -> LeaseOut:
    leasing.get_lease(session, principal, lease_id)
    return LeaseOut.model_validate(
        leasing.renew_lease(session, principal, lease_id, body.ends_on, body.monthly_fee)
    )


@router.post("/leases/{lease_id}/return", response_model=LeaseOut)
def return_early(
    lease_id: str, body: LeaseReturn, session: DbSession, principal: CurrentPrincipal
) -> LeaseOut:
    leasing.get_lease(session, principal, lease_id)
    return LeaseOut.model_validate(
        leasing.return_lease(session, principal, lease_id, body.returned_on)
    )


@router.get("/device-units/{unit_id}/maintenance", response_model=list[MaintenanceOut])
def maintenance(
    unit_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[MaintenanceOut]:
    return [
        MaintenanceOut.model_validate(record)
        for record in upkeep.list_maintenance(session, principal, unit_id)
    ]


@router.post(
    "/device-units/{unit_id}/maintenance",
    response_model=MaintenanceOut,
    status_code=status.HTTP_201_CREATED,
)
def add_maintenance(
    unit_id: str, body: MaintenanceCreate, session: DbSession, principal: CurrentPrincipal
) -> MaintenanceOut:
    access.get_fleet_unit(session, principal, unit_id)
    return MaintenanceOut.model_validate(
        upkeep.record_maintenance(session, principal, unit_id, **body.model_dump())
    )


@router.post("/usage-events", response_model=UsageOut, status_code=status.HTTP_201_CREATED)
def report_usage(
    body: UsageCreate, response: Response, session: DbSession, principal: CurrentPrincipal
) -> UsageOut:
    """Idempotent: a replay of the same session answers 200 with the event already stored."""
    record = metering.record_usage_for(session, principal, **body.model_dump())
    if not record.created:
        response.status_code = status.HTTP_200_OK
    return UsageOut.model_validate(record.event)


@router.post("/price-plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED)
def create_plan(body: PlanCreate, session: DbSession, principal: CurrentPrincipal) -> PlanOut:
    return PlanOut.model_validate(invoicing.create_plan(session, principal, **body.model_dump()))


@router.get("/invoices", response_model=list[InvoiceOut])
def invoices(
    session: DbSession, principal: CurrentPrincipal, clinic_id: str | None = None
) -> list[InvoiceOut]:
    listed = invoicing.list_invoices(session, principal, clinic_id)
    return [
        InvoiceOut.model_validate(invoicing.get_invoice(session, principal, i.id)) for i in listed
    ]


@router.post("/invoices", response_model=InvoiceOut, status_code=status.HTTP_201_CREATED)
def draft(body: InvoiceCreate, session: DbSession, principal: CurrentPrincipal) -> InvoiceOut:
    return InvoiceOut.model_validate(
        invoicing.draft_invoice(session, principal, body.clinic_id, body.month)
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, session: DbSession, principal: CurrentPrincipal) -> InvoiceOut:
    return InvoiceOut.model_validate(invoicing.get_invoice(session, principal, invoice_id))


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut)
def update_invoice(
    invoice_id: str, body: InvoiceUpdate, session: DbSession, principal: CurrentPrincipal
) -> InvoiceOut:
    # A note left out stays as it is; null clears it.
    if "note" in body.model_fields_set:
        note = body.note
    else:
        note = invoicing.get_invoice(session, principal, invoice_id).note
    return InvoiceOut.model_validate(invoicing.update_invoice(session, principal, invoice_id, note))


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceOut)
def issue(invoice_id: str, session: DbSession, principal: CurrentPrincipal) -> InvoiceOut:
    return InvoiceOut.model_validate(invoicing.issue_invoice(session, principal, invoice_id))


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response_model=InvoiceOut,
    status_code=status.HTTP_201_CREATED,
)
def credit_note(
    invoice_id: str, body: CreditNoteCreate, session: DbSession, principal: CurrentPrincipal
) -> InvoiceOut:
    return InvoiceOut.model_validate(
        invoicing.create_credit_note(session, principal, invoice_id, body.amount, body.reason)
    )
