"""The fleet at a glance: every unit a caller may see, where it is, its lease and work today."""

from __future__ import annotations

from collections.abc import Collection
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


def spare_units_at(
    session: Session,
    org_unit_ids: Collection[str],
    model_ids: Collection[str],
    now: datetime | None = None,
) -> dict[str, int]:
    """Org unit id -> how many units of these models it holds now that could go elsewhere:
    functioning, not in maintenance and on no lease today (counts only, for matchmaking)."""
    now = now or utcnow()
    wanted = set(org_unit_ids)
    units = [u for u in devices_service.functioning_units(session) if u.model_id in model_ids]
    holders = current_holders(session, [u.id for u in units], now)
    held = [u.id for u in units if holders.get(u.id) in wanted]
    if not held:
        return {}
    today = now.date()
    busy = set(
        session.scalars(
            select(Lease.unit_id).where(
                Lease.unit_id.in_(held),
                Lease.starts_on <= today,
                func.coalesce(Lease.returned_on, Lease.ends_on) >= today,
            )
        )
    ) | set(
        session.scalars(
            select(MaintenanceRecord.unit_id).where(
                MaintenanceRecord.unit_id.in_(held),
                MaintenanceRecord.starts_at <= now,
                MaintenanceRecord.ends_at > now,
            )
        )
    )
    counts: dict[str, int] = {}
    for unit_id in held:
        if unit_id not in busy:
            counts[holders[unit_id]] = counts.get(holders[unit_id], 0) + 1
    return counts
