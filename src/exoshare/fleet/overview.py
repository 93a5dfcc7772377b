"""The fleet at a glance: every unit a caller may see, where it is, its lease and work today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Principal
from exoshare.db import utcnow
from exoshare.devices import service as devices_service
from exoshare.devices.schemas import UnitStatus
from exoshare.fleet.access import visible_unit_ids
from exoshare.fleet.custody import current_holders
from exoshare.fleet.models import Lease, MaintenanceRecord
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit


@dataclass
class FleetRow:
    unit: DeviceUnit
    holder: OrgUnit
    lease: Lease | None
    maintenance: MaintenanceRecord | None
    """Work in progress now, if any."""

    @property
    def available(self) -> bool:
        return self.unit.status is UnitStatus.functioning and self.maintenance is None


def fleet_overview(
    session: Session, principal: Principal, now: datetime | None = None
) -> list[FleetRow]:
    """Every unit the caller may see, where it is now, its lease today and work in progress."""
    now = now or utcnow()
    units = devices_service.units_by_ids(session, visible_unit_ids(principal))
    ids = [u.id for u in units]
    holders = current_holders(session, ids, now)
    org_units = network_service.find_org_units(session, holders.values())
    today = now.date()
    leases = {
        lease.unit_id: lease
        for lease in session.scalars(
            select(Lease)
            .where(
                Lease.unit_id.in_(ids),
                Lease.starts_on <= today,
                func.coalesce(Lease.returned_on, Lease.ends_on) >= today,
            )
            .options(selectinload(Lease.clinic))
        )
    }
    works = {
        m.unit_id: m
        for m in session.scalars(
            select(MaintenanceRecord).where(
                MaintenanceRecord.unit_id.in_(ids),
                MaintenanceRecord.starts_at <= now,
                MaintenanceRecord.ends_at > now,
            )
        )
    }
    return [FleetRow(u, org_units[holders[u.id]], leases.get(u.id), works.get(u.id)) for u in units]
