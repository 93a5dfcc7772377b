"""Who may see or change a unit of the fleet, and where a unit may go."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.devices.models import DeviceUnit
from exoshare.errors import InvalidInput, NotFound, PermissionDenied
from exoshare.fleet.models import Lease
from exoshare.network.models import OrgUnit


def visible_units(principal: Principal) -> ColumnElement[bool]:
    """Units a caller may see in the fleet: owned in scope, or leased to a clinic in scope."""
    lessee = OrgUnit.__table__.alias("lessee")
    leased_here = (
        select(Lease.id)
        .join(lessee, lessee.c.id == Lease.clinic_id)
        .where(
            Lease.unit_id == DeviceUnit.id,
            principal.org_filter(Permission.fleet_read, lessee.c.path),  # type: ignore[arg-type]
        )
        .exists()
    )
    if not principal.can(Permission.fleet_read):
        return false()
    return or_(principal.org_filter(Permission.fleet_read, OrgUnit.path), leased_here)


def get_fleet_unit(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = session.scalar(
        select(DeviceUnit)
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
        .where(DeviceUnit.id == unit_id, visible_units(principal))
        .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
    )
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found")
    return unit


def unit_for_write(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = session.scalar(
        select(DeviceUnit)
        .where(DeviceUnit.id == unit_id)
        .options(selectinload(DeviceUnit.org_unit), selectinload(DeviceUnit.model))
    )
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found", field="unit_id")
    if not principal.covers(Permission.fleet_read, unit.org_unit.path) and not (
        principal.covers(Permission.fleet_manage, unit.org_unit.path)
    ):
        raise NotFound(f"device unit {unit_id} not found", field="unit_id")
    if not principal.covers(Permission.fleet_manage, unit.org_unit.path):
        raise PermissionDenied(f"you may not move or lease {unit.serial_number}")
    return unit


def destination_clinic(
    session: Session, principal: Principal, clinic_id: str, field_name: str
) -> OrgUnit:
    """Where a unit goes (a move's destination, a lessee): in the caller's fleet-management
    scope, or refused exactly like an org unit that does not exist."""
    clinic = session.get(OrgUnit, clinic_id)
    if clinic is None or not principal.covers(Permission.fleet_manage, clinic.path):
        raise InvalidInput(f"org unit {clinic_id} does not exist", field=field_name)
    return clinic
