"""The scope space of grants: a read-only view of the org-unit tree's id, path, code, name, kind.

network owns the ``org_units`` table and every rule about it (network/models.py,
network/service.py): creating, renaming and closing units, the tree's shape. auth sits below
network, yet a grant or an invitation names an org unit, and a scope decision needs that unit's
materialised path (``/root/region/country/clinic/``). This module names the few columns auth
reads, by the table's name, so auth depends on no capability above it. It never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import String, column, select, table
from sqlalchemy.orm import Session

org_units = table(
    "org_units",
    column("id", String),
    column("path", String),
    column("code", String),
    column("name", String),
    column("kind", String),
)
"""The columns of network's ``org_units`` table that a scope decision reads."""


class OrgUnitRef(Protocol):
    """Anything naming an org unit by id: a :class:`ScopeUnit`, or network's own ``OrgUnit``."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class ScopeUnit:
    """One org unit as auth sees it: where it sits in the tree, and what to call it."""

    id: str
    path: str
    code: str
    name: str
    kind: str


def scope_unit(session: Session, org_unit_id: str) -> ScopeUnit | None:
    """The org unit with this id, or None when there is none."""
    row = session.execute(
        select(
            org_units.c.id, org_units.c.path, org_units.c.code, org_units.c.name, org_units.c.kind
        ).where(org_units.c.id == org_unit_id)
    ).one_or_none()
    return None if row is None else ScopeUnit(*row)


def paths_of(session: Session, org_unit_ids: set[str]) -> dict[str, str]:
    """The materialised path of each of these org units, by id (one query)."""
    if not org_unit_ids:
        return {}
    rows = session.execute(
        select(org_units.c.id, org_units.c.path).where(org_units.c.id.in_(org_unit_ids))
    ).all()
    return {unit_id: path for unit_id, path in rows}
