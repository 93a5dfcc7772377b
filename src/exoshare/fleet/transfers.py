"""Moving a unit to another holder by hand; refused while the unit is out on lease."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, utcnow
from exoshare.errors import N_, InvalidInput, UnitOnLease
from exoshare.fleet.access import destination_clinic, unit_for_write
from exoshare.fleet.custody import append_transfer
from exoshare.fleet.leases import lease_covering
from exoshare.fleet.models import CustodyMovement
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit


def transfer_unit(
    session: Session,
    principal: Principal,
    unit_id: str,
    to_org_unit_id: str,
    reason: str,
    at: datetime | None = None,
) -> list[CustodyMovement]:
    """Move a unit to another holder: appends an ``out`` and an ``in``. Refused while on lease."""
    unit = unit_for_write(session, principal, unit_id)
    to = destination_clinic(session, principal, to_org_unit_id, "to_org_unit_id")
    at = as_utc(at) if at else utcnow()
    lease = lease_covering(session, unit.id, at.date())
    if lease is not None:
        raise UnitOnLease.worded(
            N_(
                "unit %(serial)s is out on lease to %(clinic)s until %(until)s; return it "
                "early before moving it"
            ),
            also={"lease_id": lease.id},
            serial=unit.serial_number,
            clinic=lease.clinic.code,
            until=lease.last_day.isoformat(),
        )
    if not reason.strip():
        raise InvalidInput.worded(N_("a reason is required for a move"), also={"field": "reason"})
    return append_transfer(session, principal, unit, to, at, reason.strip())


def clinics_for_transfer(session: Session, principal: Principal) -> list[OrgUnit]:
    """Clinics the caller may move units to: those in their fleet-management scope."""
    return network_service.clinics_in_scope(session, principal, Permission.fleet_manage)
