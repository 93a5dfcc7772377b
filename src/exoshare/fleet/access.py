"""Who may see or change a unit of the fleet, and where a unit may go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import InvalidInput, NotFound, PermissionDenied
from exoshare.fleet.models import Lease
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit


def visible_unit_ids(principal: Principal) -> CompoundSelect:
    """A subquery: the units a caller may see in the fleet, owned by an org unit in their scope
    or leased to a clinic in it."""
    return union(
        devices_service.unit_ids_owned_in(principal, Permission.fleet_read),
        select(Lease.unit_id).where(
            network_service.in_scope(principal, Permission.fleet_read, Lease.clinic_id)
        ),
    )


def _leased_in_scope(session: Session, principal: Principal, unit_id: str) -> bool:
    return (
        session.scalar(
            select(Lease.id)
            .where(
                Lease.unit_id == unit_id,
                network_service.in_scope(principal, Permission.fleet_read, Lease.clinic_id),
            )
            .limit(1)
        )
        is not None
    )


def get_fleet_unit(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = devices_service.find_unit(session, unit_id)
    if unit is None or not (
        principal.covers(Permission.fleet_read, unit.org_unit.path)
        or _leased_in_scope(session, principal, unit.id)
    ):
        raise NotFound(f"device unit {unit_id} not found")
    return unit


def unit_for_write(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = devices_service.find_unit(session, unit_id)
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
    clinic = network_service.find_org_unit(session, clinic_id)
    if clinic is None or not principal.covers(Permission.fleet_manage, clinic.path):
        raise InvalidInput(f"org unit {clinic_id} does not exist", field=field_name)
    return clinic
