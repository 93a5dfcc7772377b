"""The partner registry: organisations, what they offer and need, where and in which languages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network.models import OrgUnit, Partner
from exoshare.network.reach import covers_network
from exoshare.network.schemas import Offering, PartnerKind

LIST_FIELDS = ("countries", "languages", "offers", "needs")


def _unique(values: Iterable[str]) -> list[str]:
    """The values in their first order, each once (a form may send one twice)."""
    return list(dict.fromkeys(str(v) for v in values))


def may_edit(session: Session, principal: Principal, partner: Partner) -> bool:
    """A partner that runs an org unit is edited by whoever holds ``partners:write`` there; any
    other partner belongs to the whole network, and so to its operators."""
    if partner.org_unit_id is not None:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == partner.org_unit_id))
        return path is not None and principal.covers(Permission.partners_write, path)
    return covers_network(session, principal, Permission.partners_write)


def create_partner(
    session: Session,
    principal: Principal,
    name: str,
    kind: PartnerKind,
    country_code: str,
    website: str | None = None,
    *,
    org_unit_id: str | None = None,
    **attributes: Any,
) -> Partner:
    """Register a partner. One linked to an org unit takes its place (country, coordinates)
    from it and may be registered by that unit's administrators; others by network operators."""
    unit: OrgUnit | None = None
    if org_unit_id is not None:
        unit = session.scalar(
            select(OrgUnit).where(
                OrgUnit.id == org_unit_id,
                principal.org_filter(Permission.network_read, OrgUnit.path),
            )
        )
        if unit is None:
            raise InvalidInput(f"org unit {org_unit_id} does not exist", field="org_unit_id")
        if not principal.covers(Permission.partners_write, unit.path):
            raise PermissionDenied(f"you may not register a partner for {unit.code}")
        if unit.country_code and unit.country_code != country_code.upper():
            raise InvalidInput(
                f"country_code: {unit.code} lies in {unit.country_code}, not {country_code}",
                field="country_code",
            )
    elif not covers_network(session, principal, Permission.partners_write):
        raise PermissionDenied.worded(
            N_("only an operator of the whole network may register a partner outside the tree")
        )
    if session.scalar(select(Partner.id).where(Partner.name == name)):
        raise Conflict(f"a partner named {name!r} already exists", field="name")
    for key in LIST_FIELDS:
        attributes[key] = _unique(attributes.get(key) or [])
    if unit is not None and attributes.get("latitude") is None:
        attributes["latitude"], attributes["longitude"] = unit.latitude, unit.longitude
    partner = Partner(
        name=name,
        kind=kind,
        country_code=country_code.upper(),
        website=website,
        org_unit_id=org_unit_id,
        **attributes,
    )
    session.add(partner)
    session.flush()
    return partner


def get_partner(session: Session, principal: Principal, partner_id: str) -> Partner:
    """A partner (the registry is open to everyone signed in, like a trade directory)."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id} not found")
    return partner


def update_partner(
    session: Session, principal: Principal, partner_id: str, changes: Mapping[str, Any]
) -> Partner:
    """Change what ``changes`` names (a PATCH body's fields set); others keep their value."""
    partner = get_partner(session, principal, partner_id)
    if not may_edit(session, principal, partner):
        raise PermissionDenied(f"you may not change the partner {partner.name}")
    name = changes.get("name")
    taken = name is not None and name != partner.name
    if taken and session.scalar(select(Partner.id).where(Partner.name == name)):
        raise Conflict(f"a partner named {name!r} already exists", field="name")
    for key, value in changes.items():
        setattr(partner, key, _unique(value) if key in LIST_FIELDS else value)
    return partner


def list_partners(
    session: Session,
    principal: Principal,
    kind: PartnerKind | None = None,
    offering: Offering | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Partner], int]:
    """Partners by name, narrowed to a kind and to those offering one thing."""
    stmt = select(Partner)
    if kind is not None:
        stmt = stmt.where(Partner.kind == kind)
    if offering is None:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(Partner.name).limit(limit).offset(offset)).all()
        return list(rows), total
    # JSON containment differs between SQLite and PostgreSQL; the registry is small, so the
    # offer is matched in Python over the kind-filtered rows.
    matching = [p for p in session.scalars(stmt.order_by(Partner.name)) if offering in p.offers]
    return matching[offset : offset + limit], len(matching)


def all_partners(session: Session) -> list[Partner]:
    """Every partner, by name (for matchmaking, which ranks them all)."""
    return list(session.scalars(select(Partner).order_by(Partner.name)))


def partners_by_ids(session: Session, partner_ids: Iterable[str]) -> dict[str, Partner]:
    wanted = set(partner_ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Partner).where(Partner.id.in_(wanted)))}
