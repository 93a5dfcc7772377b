"""Custody: who holds a unit. An append-only ledger of moves; the holder is the latest arrival."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Principal
from exoshare.db import new_id, utcnow
from exoshare.devices import service as devices_service
from exoshare.errors import CustodyConflict, NotFound
from exoshare.fleet.access import get_fleet_unit
from exoshare.fleet.models import CustodyMovement
from exoshare.fleet.schemas import CustodyDirection

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit


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
    owners = devices_service.owners_of(session, ids)
    return {uid: arrived.get(uid, owner) for uid, owner in owners.items()}


def current_holder(session: Session, unit_id: str, at: datetime | None = None) -> str:
    holder = current_holders(session, [unit_id], at).get(unit_id)
    if holder is None:
        raise NotFound(f"device unit {unit_id} not found")
    return holder


def append_transfer(
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


def arrived_on_lease(session: Session, unit_id: str, at: datetime) -> bool:
    """Whether the unit's latest move in, up to ``at``, came with a lease."""
    latest = session.scalar(
        select(CustodyMovement.lease_id)
        .where(
            CustodyMovement.unit_id == unit_id,
            CustodyMovement.direction == CustodyDirection.in_,
            CustodyMovement.at <= at,
        )
        .order_by(CustodyMovement.at.desc(), CustodyMovement.id.desc())
        .limit(1)
    )
    return latest is not None


def moved_in_unit_ids(clinic_id: str) -> Select[str]:
    """A subquery: the units ever moved in to the clinic, whether still there or not."""
    return select(CustodyMovement.unit_id).where(
        CustodyMovement.org_unit_id == clinic_id,
        CustodyMovement.direction == CustodyDirection.in_,
    )


def unit_ever_moved_in(session: Session, unit_id: str, clinic_id: str) -> bool:
    """Whether the unit was ever moved in to the clinic (a lease, a transfer), there now or not."""
    return (
        session.scalar(
            moved_in_unit_ids(clinic_id).where(CustodyMovement.unit_id == unit_id).limit(1)
        )
        is not None
    )
