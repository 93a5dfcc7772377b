"""Leases: a unit let to a clinic for a monthly fee, without overlap; renewals and early returns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import N_, Conflict, InvalidInput, LeaseConflict, NotFound
from exoshare.fleet.access import destination_clinic, unit_for_write
from exoshare.fleet.custody import append_transfer, current_holder
from exoshare.fleet.models import Lease
from exoshare.network import service as network_service

DEADLOCK_DETECTED = "40P01"
"""PostgreSQL's SQLSTATE for a transaction chosen to break a deadlock."""

LEASE_STARTS = "lease {lease_id} starts"
LEASE_RETURNED = "lease {lease_id} returned"
"""The reasons a lease writes into the custody history (the API shows them as they are)."""
LEASE_MOVE_WORDS = {
    LEASE_STARTS: N_("lease starts"),
    LEASE_RETURNED: N_("lease returned"),
}


def movement_words(reason: str, lease_id: str | None) -> str | None:
    """The interface string (marked ``N_``) for a custody reason a lease wrote, else None (a
    person's own words, shown as written)."""
    if lease_id is None:
        return None
    for written, words in LEASE_MOVE_WORDS.items():
        if reason == written.format(lease_id=lease_id):
            return words
    return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def lease_covering(session: Session, unit_id: str, day: date) -> Lease | None:
    """The lease occupying the unit on ``day``, if any."""
    return session.scalar(
        select(Lease).where(
            Lease.unit_id == unit_id,
            Lease.starts_on <= day,
            func.coalesce(Lease.returned_on, Lease.ends_on) >= day,
        )
    )


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
    unit = unit_for_write(session, principal, unit_id)
    clinic = destination_clinic(session, principal, clinic_id, "clinic_id")
    if network_service.find_clinic(session, clinic.id) is None:
        raise InvalidInput(f"{clinic.code} is not a clinic", field="clinic_id")
    if ends_on < starts_on:
        raise InvalidInput.worded(N_("ends_on is before starts_on"), also={"field": "ends_on"})
    if monthly_fee < 0:
        raise InvalidInput.worded(
            N_("monthly_fee must not be negative"), also={"field": "monthly_fee"}
        )
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
        append_transfer(
            session,
            principal,
            unit,
            clinic,
            _day_start(starts_on),
            LEASE_STARTS.format(lease_id=lease.id),
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
    owner = network_service.find_org_unit(session, lease.unit.org_unit_id)
    if not (
        principal.covers(Permission.fleet_read, lease.clinic.path)
        or (owner is not None and principal.covers(Permission.fleet_read, owner.path))
    ):
        raise NotFound(f"lease {lease_id} not found")
    return lease


def _lease_for_write(session: Session, principal: Principal, lease_id: str) -> Lease:
    """A lease the caller may see (else NotFound, as for a missing one); changing it needs the
    right to move its unit (checked by the caller through :func:`unit_for_write`)."""
    return get_lease(session, principal, lease_id)


def list_leases(session: Session, principal: Principal, unit_id: str | None = None) -> list[Lease]:
    stmt = (
        select(Lease)
        .where(
            or_(
                Lease.unit_id.in_(
                    devices_service.unit_ids_owned_in(principal, Permission.fleet_read)
                ),
                network_service.in_scope(principal, Permission.fleet_read, Lease.clinic_id),
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
    unit = unit_for_write(session, principal, lease.unit_id)
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
        append_transfer(
            session,
            principal,
            unit,
            unit.org_unit,
            back,
            LEASE_RETURNED.format(lease_id=lease.id),
            lease.id,
        )
    return lease
