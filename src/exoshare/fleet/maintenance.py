"""Maintenance: typed work on a unit, which blocks its scheduling while it lasts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc
from exoshare.devices import service as devices_service
from exoshare.errors import N_, InvalidInput, NotFound, PermissionDenied
from exoshare.fleet.access import get_fleet_unit
from exoshare.fleet.custody import current_holder
from exoshare.fleet.models import MaintenanceRecord
from exoshare.fleet.schemas import MaintenanceKind
from exoshare.network import service as network_service


def record_maintenance(
    session: Session,
    principal: Principal,
    unit_id: str,
    kind: MaintenanceKind,
    starts_at: datetime,
    ends_at: datetime,
    performed_by: str | None = None,
    notes: str | None = None,
) -> MaintenanceRecord:
    """Typed work on a unit; it blocks scheduling of the unit from ``starts_at`` to ``ends_at``."""
    unit = devices_service.find_unit(session, unit_id)
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found", field="unit_id")
    holder = network_service.find_org_unit(session, current_holder(session, unit.id))
    owner = network_service.find_org_unit(session, unit.org_unit_id)
    paths = [o.path for o in (holder, owner) if o is not None]
    if not any(principal.covers(Permission.units_write, p) for p in paths):
        # A unit the caller cannot see at all is answered like a missing one.
        if not any(principal.covers(Permission.fleet_read, p) for p in paths):
            raise NotFound(f"device unit {unit_id} not found", field="unit_id")
        raise PermissionDenied(f"you may not record maintenance of {unit.serial_number}")
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise InvalidInput.worded(N_("ends_at must be after starts_at"), also={"field": "ends_at"})
    record = MaintenanceRecord(
        unit_id=unit.id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        performed_by=performed_by,
        notes=notes,
        recorded_by_id=principal.user_ref,
    )
    session.add(record)
    session.flush()
    return record


def list_maintenance(
    session: Session, principal: Principal, unit_id: str
) -> list[MaintenanceRecord]:
    get_fleet_unit(session, principal, unit_id)
    return list(
        session.scalars(
            select(MaintenanceRecord)
            .where(MaintenanceRecord.unit_id == unit_id)
            .order_by(MaintenanceRecord.starts_at.desc())
        )
    )


def unavailable_intervals(
    session: Session, unit_ids: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Unit id -> maintenance intervals overlapping [start, end), in UTC."""
    ids = list(unit_ids)
    out: dict[str, list[tuple[datetime, datetime]]] = {uid: [] for uid in ids}
    for m in session.scalars(
        select(MaintenanceRecord).where(
            MaintenanceRecord.unit_id.in_(ids),
            and_(MaintenanceRecord.starts_at < end, MaintenanceRecord.ends_at > start),
        )
    ):
        out[m.unit_id].append((m.starts_at, m.ends_at))
    return out
