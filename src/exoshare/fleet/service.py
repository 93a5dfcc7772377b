"""Rules of the shared fleet: who holds a unit, leases without overlap, and maintenance blocking."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, new_id, utcnow
from exoshare.devices.models import DeviceUnit, UnitStatus
from exoshare.errors import (
    Conflict,
    CustodyConflict,
    InvalidInput,
    LeaseConflict,
    NotFound,
    PermissionDenied,
    UnitOnLease,
)
from exoshare.fleet.models import (
    CustodyDirection,
    CustodyMovement,
    Lease,
    MaintenanceKind,
    MaintenanceRecord,
)
from exoshare.network.models import OrgUnit, OrgUnitKind

DEADLOCK_DETECTED = "40P01"
"""PostgreSQL's SQLSTATE for a transaction chosen to break a deadlock."""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# ---------------------------------------------------------------------------------- custody


def current_holders(
    session: Session, unit_ids: Iterable[str], at: datetime | None = None
) -> dict[str, str]:
    """Unit id -> org unit holding it at ``at`` (default now): latest arrival, else the owner."""
    ids = list(unit_ids)
    if not ids:
        return {}
    at = at or utcnow()
    ranked = (
        select(
            CustodyMovement.unit_id,
            CustodyMovement.org_unit_id,
            func.row_number()
            .over(
                partition_by=CustodyMovement.unit_id,
                order_by=(CustodyMovement.at.desc(), CustodyMovement.id.desc()),
            )
            .label("rank"),
        )
        .where(
            CustodyMovement.unit_id.in_(ids),
            CustodyMovement.direction == CustodyDirection.in_,
            CustodyMovement.at <= at,
        )
        .subquery()
    )
    arrived = dict(
        session.execute(
            select(ranked.c.unit_id, ranked.c.org_unit_id).where(ranked.c.rank == 1)
        ).all()
    )
    owners = dict(
        session.execute(
            select(DeviceUnit.id, DeviceUnit.org_unit_id).where(DeviceUnit.id.in_(ids))
        ).all()
    )
    return {uid: arrived.get(uid, owner) for uid, owner in owners.items()}


def current_holder(session: Session, unit_id: str, at: datetime | None = None) -> str:
    holder = current_holders(session, [unit_id], at).get(unit_id)
    if holder is None:
        raise NotFound(f"device unit {unit_id} not found")
    return holder


def _append_transfer(
    session: Session,
    principal: Principal,
    unit: DeviceUnit,
    to: OrgUnit,
    at: datetime,
    reason: str,
    lease_id: str | None = None,
) -> list[CustodyMovement]:
    holder = current_holder(session, unit.id, at)
    if holder == to.id:
        raise CustodyConflict(f"unit {unit.serial_number} is already at {to.code}", field="to")
    transfer_id = new_id()
    recorded_by = principal.user_ref
    legs = [
        CustodyMovement(
            unit_id=unit.id,
            direction=CustodyDirection.out,
            org_unit_id=holder,
            at=at,
            transfer_id=transfer_id,
            reason=reason,
            lease_id=lease_id,
            recorded_by_id=recorded_by,
        ),
        CustodyMovement(
            unit_id=unit.id,
            direction=CustodyDirection.in_,
            org_unit_id=to.id,
            at=at,
            transfer_id=transfer_id,
            reason=reason,
            lease_id=lease_id,
            recorded_by_id=recorded_by,
        ),
    ]
    session.add_all(legs)
    session.flush()
    return legs


def _unit_for_write(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
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


def _clinic(session: Session, principal: Principal, clinic_id: str, field_name: str) -> OrgUnit:
    """Where a unit goes (a move's destination, a lessee): in the caller's fleet-management
    scope, or refused exactly like an org unit that does not exist."""
    clinic = session.get(OrgUnit, clinic_id)
    if clinic is None or not principal.covers(Permission.fleet_manage, clinic.path):
        raise InvalidInput(f"org unit {clinic_id} does not exist", field=field_name)
    return clinic


def _lease_for_write(session: Session, principal: Principal, lease_id: str) -> Lease:
    """A lease the caller may see (else NotFound, as for a missing one); changing it needs the
    right to move its unit (checked by the caller through :func:`_unit_for_write`)."""
    return get_lease(session, principal, lease_id)


def lease_covering(session: Session, unit_id: str, day: date) -> Lease | None:
    """The lease occupying the unit on ``day``, if any."""
    return session.scalar(
        select(Lease).where(
            Lease.unit_id == unit_id,
            Lease.starts_on <= day,
            func.coalesce(Lease.returned_on, Lease.ends_on) >= day,
        )
    )


def transfer_unit(
    session: Session,
    principal: Principal,
    unit_id: str,
    to_org_unit_id: str,
    reason: str,
    at: datetime | None = None,
) -> list[CustodyMovement]:
    """Move a unit to another holder: appends an ``out`` and an ``in``. Refused while on lease."""
    unit = _unit_for_write(session, principal, unit_id)
    to = _clinic(session, principal, to_org_unit_id, "to_org_unit_id")
    at = as_utc(at) if at else utcnow()
    lease = lease_covering(session, unit.id, at.date())
    if lease is not None:
        raise UnitOnLease(
            f"unit {unit.serial_number} is out on lease {lease.id} to {lease.clinic.code} "
            f"until {lease.last_day.isoformat()}; return it early before moving it",
            lease_id=lease.id,
        )
    if not reason.strip():
        raise InvalidInput("a reason is required for a move", field="reason")
    return _append_transfer(session, principal, unit, to, at, reason.strip())


def clinics_for_transfer(session: Session, principal: Principal) -> list[OrgUnit]:
    """Clinics the caller may move units to: those in their fleet-management scope."""
    return list(
        session.scalars(
            select(OrgUnit)
            .where(
                OrgUnit.kind == OrgUnitKind.clinic,
                principal.org_filter(Permission.fleet_manage, OrgUnit.path),
            )
            .order_by(OrgUnit.name)
        )
    )


def custody_history(session: Session, principal: Principal, unit_id: str) -> list[CustodyMovement]:
    get_fleet_unit(session, principal, unit_id)
    return list(
        session.scalars(
            select(CustodyMovement)
            .where(CustodyMovement.unit_id == unit_id)
            .options(selectinload(CustodyMovement.org_unit))
            .order_by(CustodyMovement.id)
        )
    )


# ---------------------------------------------------------------------------------- visibility


def _visible(principal: Principal) -> ColumnElement[bool]:
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
        .where(DeviceUnit.id == unit_id, _visible(principal))
        .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
    )
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found")
    return unit


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
    units = list(
        session.scalars(
            select(DeviceUnit)
            .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
            .where(_visible(principal))
            .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
            .order_by(DeviceUnit.serial_number)
        )
    )
    ids = [u.id for u in units]
    holders = current_holders(session, ids, now)
    org_units = {
        o.id: o
        for o in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(set(holders.values()))))
    }
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


# ---------------------------------------------------------------------------------- leases


def _overlapping(session: Session, unit_id: str, first: date, last: date) -> Lease | None:
    return session.scalar(
        select(Lease)
        .where(
            Lease.unit_id == unit_id,
            Lease.starts_on <= last,
            func.coalesce(Lease.returned_on, Lease.ends_on) >= first,
        )
        .order_by(Lease.starts_on)
        .limit(1)
    )


def _conflict(lease: Lease, serial: str) -> LeaseConflict:
    return LeaseConflict(
        f"unit {serial} is already leased to {lease.clinic.code} from "
        f"{lease.starts_on.isoformat()} to {lease.last_day.isoformat()} (lease {lease.id})",
        conflicting_lease_id=lease.id,
    )


def create_lease(
    session: Session,
    principal: Principal,
    unit_id: str,
    clinic_id: str,
    monthly_fee: Decimal,
    starts_on: date,
    ends_on: date,
    currency: str | None = None,
    notes: str | None = None,
    renewed_from_id: str | None = None,
) -> Lease:
    """Let a unit to a clinic. Refused when it overlaps another lease of the unit.

    The check here gives a clear message; the database constraint underneath makes it hold
    under concurrency too (two requests racing for the same unit: exactly one lease is stored).
    """
    unit = _unit_for_write(session, principal, unit_id)
    clinic = _clinic(session, principal, clinic_id, "clinic_id")
    if clinic.kind is not OrgUnitKind.clinic:
        raise InvalidInput(f"{clinic.code} is not a clinic", field="clinic_id")
    if ends_on < starts_on:
        raise InvalidInput("ends_on is before starts_on", field="ends_on")
    if monthly_fee < 0:
        raise InvalidInput("monthly_fee must not be negative", field="monthly_fee")
    currency = (currency or clinic.currency or "").upper()
    if not currency:
        raise InvalidInput(f"{clinic.code} has no currency; give one", field="currency")
    if clinic.currency and currency != clinic.currency:
        raise InvalidInput(
            f"{clinic.code} is billed in {clinic.currency}, not {currency}", field="currency"
        )
    existing = _overlapping(session, unit.id, starts_on, ends_on)
    if existing is not None:
        raise _conflict(existing, unit.serial_number)
    lease = Lease(
        unit_id=unit.id,
        clinic_id=clinic.id,
        monthly_fee=monthly_fee,
        currency=currency,
        starts_on=starts_on,
        ends_on=ends_on,
        notes=notes,
        renewed_from_id=renewed_from_id,
        created_by_id=principal.user_ref,
    )
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                session.add(lease)
                session.flush()
            break
        except IntegrityError:
            # Another transaction stored an overlapping lease between our check and our insert.
            existing = _overlapping(session, unit.id, starts_on, ends_on)
            if existing is None:
                raise
            raise _conflict(existing, unit.serial_number) from None
        except OperationalError as exc:
            # Two overlapping leases inserted at the same moment can deadlock in PostgreSQL's
            # exclusion check, each waiting for the other's row. The insert that is told so
            # tries once more: it then waits for the other transaction and meets its lease as
            # a conflict above.
            if attempt == 2 or getattr(exc.orig, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
    if current_holder(session, unit.id, _day_start(starts_on)) != clinic.id:
        _append_transfer(
            session,
            principal,
            unit,
            clinic,
            _day_start(starts_on),
            f"lease {lease.id} starts",
            lease.id,
        )
    return lease


def get_lease(session: Session, principal: Principal, lease_id: str) -> Lease:
    lease = session.scalar(
        select(Lease)
        .where(Lease.id == lease_id)
        .options(selectinload(Lease.clinic), selectinload(Lease.unit))
    )
    if lease is None:
        raise NotFound(f"lease {lease_id} not found")
    owner = session.get(OrgUnit, lease.unit.org_unit_id)
    if not (
        principal.covers(Permission.fleet_read, lease.clinic.path)
        or (owner is not None and principal.covers(Permission.fleet_read, owner.path))
    ):
        raise NotFound(f"lease {lease_id} not found")
    return lease


def list_leases(session: Session, principal: Principal, unit_id: str | None = None) -> list[Lease]:
    lessee = OrgUnit.__table__.alias("lessee")
    stmt = (
        select(Lease)
        .join(DeviceUnit, DeviceUnit.id == Lease.unit_id)
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
        .join(lessee, lessee.c.id == Lease.clinic_id)
        .where(
            or_(
                principal.org_filter(Permission.fleet_read, OrgUnit.path),
                principal.org_filter(Permission.fleet_read, lessee.c.path),  # type: ignore[arg-type]
            )
        )
        .options(selectinload(Lease.clinic), selectinload(Lease.unit))
        .order_by(Lease.starts_on)
    )
    if unit_id:
        stmt = stmt.where(Lease.unit_id == unit_id)
    return list(session.scalars(stmt))


def renew_lease(
    session: Session,
    principal: Principal,
    lease_id: str,
    ends_on: date,
    monthly_fee: Decimal | None = None,
) -> Lease:
    """A renewal is a new lease from the day after the old one ends, linked to it."""
    old = _lease_for_write(session, principal, lease_id)
    if old.returned_on is not None:
        raise Conflict(f"lease {lease_id} was returned on {old.returned_on}; it cannot be renewed")
    return create_lease(
        session,
        principal,
        old.unit_id,
        old.clinic_id,
        old.monthly_fee if monthly_fee is None else monthly_fee,
        old.ends_on + timedelta(days=1),
        ends_on,
        currency=old.currency,
        renewed_from_id=old.id,
    )


def return_lease(session: Session, principal: Principal, lease_id: str, returned_on: date) -> Lease:
    """End a lease early (or on time): the unit goes back to its owner the next morning.

    The fee is billed in advance, so the month of the return stays billed; later months are not.
    """
    lease = _lease_for_write(session, principal, lease_id)
    unit = _unit_for_write(session, principal, lease.unit_id)
    if lease.returned_on is not None:
        raise Conflict(f"lease {lease_id} was already returned on {lease.returned_on}")
    if not lease.starts_on <= returned_on <= lease.ends_on:
        raise InvalidInput(
            f"returned_on must lie within the lease, {lease.starts_on} to {lease.ends_on}",
            field="returned_on",
        )
    lease.returned_on = returned_on
    session.flush()
    back = _day_start(returned_on + timedelta(days=1))
    if current_holder(session, unit.id, back) != unit.org_unit_id:
        _append_transfer(
            session, principal, unit, unit.org_unit, back, f"lease {lease.id} returned", lease.id
        )
    return lease


# ---------------------------------------------------------------------------------- maintenance


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
    unit = session.get(DeviceUnit, unit_id)
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found", field="unit_id")
    holder = session.get(OrgUnit, current_holder(session, unit.id))
    owner = session.get(OrgUnit, unit.org_unit_id)
    paths = [o.path for o in (holder, owner) if o is not None]
    if not any(principal.covers(Permission.units_write, p) for p in paths):
        # A unit the caller cannot see at all is answered like a missing one.
        if not any(principal.covers(Permission.fleet_read, p) for p in paths):
            raise NotFound(f"device unit {unit_id} not found", field="unit_id")
        raise PermissionDenied(f"you may not record maintenance of {unit.serial_number}")
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
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
