"""Rules of the network tree: creating org units under a parent, listing what a caller may see,
and the scope conditions other capabilities put in their own queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from exoshare.auth.scope import Permission, Principal
from exoshare.bounds import check_time_zone
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network.models import OrgUnit, Partner
from exoshare.network.phones import to_e164
from exoshare.network.schemas import OrgUnitKind, PartnerKind

# The depth of each kind of node in the tree: a child must sit deeper than its parent.
LEVEL_OF_KIND = {
    OrgUnitKind.consortium: 0,
    OrgUnitKind.region: 1,
    OrgUnitKind.country: 2,
    OrgUnitKind.clinic: 3,
}


def create_org_unit(
    session: Session,
    code: str,
    name: str,
    kind: OrgUnitKind,
    parent: OrgUnit | None,
    **attributes: object,
) -> OrgUnit:
    """Insert a node; its path and level follow from the parent, never from the caller."""
    if parent is None and kind is not OrgUnitKind.consortium:
        raise InvalidInput.worded(
            N_("only a consortium may be a root org unit"), also={"field": "parent_id"}
        )
    if parent is not None and LEVEL_OF_KIND[kind] <= parent.level:
        raise InvalidInput(f"a {kind.value} cannot sit under a {parent.kind.value}", field="kind")
    country = attributes.get("country_code")
    if parent is not None and parent.country_code and country not in (None, parent.country_code):
        # Approvals and agreements are allowed by the countries a caller's subtree holds: a unit
        # placed under one country must not claim another.
        raise InvalidInput(
            f"country_code: a unit under {parent.code} lies in {parent.country_code}, "
            f"not {country}",
            field="country_code",
        )
    zone = attributes.get("timezone")
    if zone is not None:
        check_time_zone(str(zone), "timezone")
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)):
        raise Conflict(f"an org unit with code {code!r} already exists", field="code")
    unit = OrgUnit(
        code=code,
        name=name,
        kind=kind,
        level=LEVEL_OF_KIND[kind],
        parent_id=parent.id if parent else None,
        path="",
        **attributes,
    )
    session.add(unit)
    session.flush()  # assigns the id the path is built from
    unit.path = (parent.path if parent else "/") + unit.id + "/"
    return unit


def create_org_unit_for(
    session: Session,
    principal: Principal,
    parent_id: str,
    code: str,
    name: str,
    kind: OrgUnitKind,
    **attributes: object,
) -> OrgUnit:
    parent = get_org_unit(session, principal, parent_id)
    if not principal.covers(Permission.network_write, parent.path):
        raise PermissionDenied(f"you may not add org units under {parent.code}")
    return create_org_unit(session, code, name, kind, parent, **attributes)


def get_org_unit(session: Session, principal: Principal, org_unit_id: str) -> OrgUnit:
    unit = session.scalar(
        select(OrgUnit).where(
            OrgUnit.id == org_unit_id,
            principal.org_filter(Permission.network_read, OrgUnit.path),
        )
    )
    if unit is None:
        raise NotFound(f"org unit {org_unit_id} not found")
    return unit


def list_org_units(
    session: Session,
    principal: Principal,
    kind: OrgUnitKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OrgUnit], int]:
    stmt = select(OrgUnit).where(principal.org_filter(Permission.network_read, OrgUnit.path))
    if kind is not None:
        stmt = stmt.where(OrgUnit.kind == kind)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(OrgUnit.path).limit(limit).offset(offset)).all()
    return list(rows), total


def update_org_unit(
    session: Session,
    principal: Principal,
    org_unit_id: str,
    name: str | None = None,
    closed_on: date | None = None,
    reopen: bool = False,
    contact: Mapping[str, str | None] | None = None,
) -> OrgUnit:
    """Rename, close (``closed_on``) or reopen (``reopen``) a unit; ``None`` keeps a value.

    ``contact`` sets a clinic's address and phone (:data:`CONTACT_FIELDS`; a blank or None
    value clears one); every value is checked before any is written."""
    unit = get_org_unit(session, principal, org_unit_id)
    if not principal.covers(Permission.network_write, unit.path):
        raise PermissionDenied(f"you may not change {unit.code}")
    if contact:
        for column, value in checked_contact(unit, contact).items():
            setattr(unit, column, value)
    if name is not None:
        unit.name = name
    if closed_on is not None:
        if unit.opened_on and closed_on < unit.opened_on:
            raise InvalidInput.worded(
                N_("closed_on is before opened_on"), also={"field": "closed_on"}
            )
        unit.closed_on = closed_on
    elif reopen:
        unit.closed_on = None
    return unit


CONTACT_FIELDS = {"address_line1": 200, "address_line2": 200, "postcode": 20, "phone": 40}
"""A clinic's contact columns and the longest text each takes (a phone as typed, before E.164)."""


def checked_contact(unit: OrgUnit, contact: Mapping[str, str | None]) -> dict[str, str | None]:
    """The contact values as stored: trimmed, blank as None, the phone in E.164 read in the
    clinic's country; InvalidInput (naming the field) for anything else."""
    if unit.kind is not OrgUnitKind.clinic:
        raise InvalidInput(
            f"{unit.code} is a {unit.kind.value}; only clinics have an address and phone",
            field=next(iter(contact)),
        )
    found: dict[str, str | None] = {}
    for column, value in contact.items():
        if column not in CONTACT_FIELDS:
            raise InvalidInput(f"{column} is not a contact field", field=column)
        text = " ".join((value or "").split()) or None
        if text is not None and len(text) > CONTACT_FIELDS[column]:
            raise InvalidInput(
                f"{column} has {len(text)} characters; keep it to {CONTACT_FIELDS[column]}",
                field=column,
            )
        if column == "phone" and text is not None:
            if unit.country_code is None and not text.startswith("+"):
                raise InvalidInput(
                    f"{unit.code} has no country, so write the phone with its country code "
                    "(e.g. +41 22 372 00 00)",
                    field="phone",
                )
            text = to_e164(text, unit.country_code)
        found[column] = text
    return found


@dataclass
class TreeNode:
    unit: OrgUnit
    children: list[TreeNode]
    clinics: int = 0
    patients: int = 0
    units: int = 0


def network_tree(
    session: Session,
    principal: Principal,
    patient_counts: Mapping[str, int],
    unit_counts: Mapping[str, int],
) -> list[TreeNode]:
    """The visible part of the tree with clinic, active-patient and device-unit counts per node.

    The patient and device-unit counts are per org unit (``patients.service`` and
    ``devices.service`` count their own rows); each node sums them over its subtree.
    """
    units = session.scalars(
        select(OrgUnit)
        .where(principal.org_filter(Permission.network_read, OrgUnit.path))
        .order_by(OrgUnit.level, OrgUnit.name)
    ).all()
    nodes = {u.id: TreeNode(u, []) for u in units}
    roots: list[TreeNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_id or "")
        (parent.children if parent else roots).append(node)

    def fill(node: TreeNode) -> None:
        node.patients = patient_counts.get(node.unit.id, 0)
        node.units = unit_counts.get(node.unit.id, 0)
        node.clinics = 1 if node.unit.kind is OrgUnitKind.clinic else 0
        for child in node.children:
            fill(child)
            node.patients += child.patients
            node.units += child.units
            node.clinics += child.clinics

    for root in roots:
        fill(root)
    return roots


# ------------------------------------------------------- for the fleet's and devices' rules
# Unscoped look-ups return rows for rules that check the caller's scope themselves; the SQL
# helpers return a condition or a subquery the caller puts in its own query (no N+1).


def in_scope(
    principal: Principal,
    permission: Permission,
    org_unit_id: ColumnElement[str] | InstrumentedAttribute[str],
) -> ColumnElement[bool]:
    """SQL condition: the org unit ``org_unit_id`` (another table's column) lies in the caller's
    scope for ``permission``; the caller puts it in its own query, one query for all rows."""
    return org_unit_id.in_(select(OrgUnit.id).where(principal.org_filter(permission, OrgUnit.path)))


def in_subtree(
    ancestor_id: str, org_unit_id: ColumnElement[str] | InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """SQL condition: the org unit ``org_unit_id`` is ``ancestor_id`` or lies beneath it."""
    ancestor_path = select(OrgUnit.path).where(OrgUnit.id == ancestor_id).scalar_subquery()
    return org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(ancestor_path)))


def code_of(org_unit_id: ColumnElement[str] | InstrumentedAttribute[str]) -> ScalarSelect[str]:
    """The code of the org unit ``org_unit_id`` (another table's column), to sort by in SQL."""
    return select(OrgUnit.code).where(OrgUnit.id == org_unit_id).scalar_subquery()


def find_org_unit(session: Session, org_unit_id: str) -> OrgUnit | None:
    """The org unit with this id, or None (no scope check: the caller makes it)."""
    return session.get(OrgUnit, org_unit_id)


def find_org_unit_by_code(session: Session, code: str) -> OrgUnit | None:
    """The org unit with this code, or None (no scope check: for the operator's CLI)."""
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def find_org_units(session: Session, org_unit_ids: Iterable[str]) -> dict[str, OrgUnit]:
    """The org units with these ids, by id, in one query (no scope check: the caller makes it)."""
    wanted = set(org_unit_ids)
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(wanted)))}


def find_clinic(session: Session, clinic_id: str) -> OrgUnit | None:
    """The clinic with this id, or None when there is none or the org unit is not a clinic."""
    unit = session.get(OrgUnit, clinic_id)
    return unit if unit is not None and unit.kind is OrgUnitKind.clinic else None


def clinics_in_scope(
    session: Session, principal: Principal, permission: Permission
) -> list[OrgUnit]:
    """The clinics on which the caller holds ``permission``, by name."""
    return list(
        session.scalars(
            select(OrgUnit)
            .where(
                OrgUnit.kind == OrgUnitKind.clinic, principal.org_filter(permission, OrgUnit.path)
            )
            .order_by(OrgUnit.name)
        )
    )


def country_codes(session: Session, org_unit_ids: Iterable[str]) -> dict[str, str | None]:
    """The country (ISO 3166-1 alpha-2, None where unset) of each of these org units, by id."""
    wanted = set(org_unit_ids)
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(OrgUnit.id, OrgUnit.country_code).where(OrgUnit.id.in_(wanted))
        ).all()
    )


def find_manufacturer(session: Session, partner_id: str) -> Partner | None:
    """The partner with this id if it is a manufacturer, else None (partners are public)."""
    partner = session.get(Partner, partner_id)
    return partner if partner is not None and partner.kind is PartnerKind.manufacturer else None


# ---------------------------------------------------------------------- for scheduling's rules


def org_unit_paths(session: Session, org_unit_ids: Select[str]) -> list[str]:
    """The paths of the org units whose ids the subquery selects (one query)."""
    return list(session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(org_unit_ids))))


def visible_clinics(
    session: Session, principal: Principal, permission: Permission
) -> list[OrgUnit]:
    """The clinics a page offers to choose from: visible in the network, ``permission`` held."""
    rows, _ = list_org_units(session, principal, OrgUnitKind.clinic, limit=500)
    return [c for c in rows if principal.covers(permission, c.path)]


def located_clinics(session: Session, clinic_ids: list[str] | None = None) -> list[OrgUnit]:
    """Open clinics with a location, by code (``clinic_ids`` narrows them): where sessions can
    be planned, since travel is measured from the clinic's coordinates."""
    stmt = select(OrgUnit).where(
        OrgUnit.kind == OrgUnitKind.clinic,
        OrgUnit.latitude.is_not(None),
        OrgUnit.longitude.is_not(None),
        OrgUnit.closed_on.is_(None),
    )
    if clinic_ids is not None:
        stmt = stmt.where(OrgUnit.id.in_(clinic_ids))
    return list(session.scalars(stmt.order_by(OrgUnit.code)))


def region_codes(session: Session) -> dict[str, str]:
    """Code of every region, by id."""
    return {
        o.id: o.code
        for o in session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgUnitKind.region))
    }


# ------------------------------------------------------------------ lookups for trusted callers


def org_units_of_kind(session: Session, principal: Principal, kind: OrgUnitKind) -> list[OrgUnit]:
    """Every org unit of one kind the caller may see, by code."""
    return list(
        session.scalars(
            select(OrgUnit)
            .where(
                OrgUnit.kind == kind, principal.org_filter(Permission.network_read, OrgUnit.path)
            )
            .order_by(OrgUnit.code)
        )
    )


def count_partners(session: Session) -> int:
    """How many partner organisations the network has (the partner list is public)."""
    return session.scalar(select(func.count()).select_from(Partner)) or 0


def find_partner(session: Session, partner_id: str) -> Partner | None:
    """The partner organisation with this id, or None (partners are public)."""
    return session.get(Partner, partner_id)
