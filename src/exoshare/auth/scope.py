"""The one place that decides what a user may see and change.

Every query for scoped data takes its filter from a :class:`Principal`. Grants are roles on an
org-unit subtree; a subtree is a prefix of the materialised ``OrgUnit.path``. Services ask for a
filter (``principal.org_filter(Permission.patients_read, OrgUnit.path)``) and never test roles
themselves, so a rule changes here or nowhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from exoshare.auth.schemas import Role


class Permission(enum.StrEnum):
    network_read = "network:read"
    network_write = "network:write"
    patients_read = "patients:read"
    patients_write = "patients:write"
    devices_read = "devices:read"
    units_write = "units:write"
    models_write = "models:write"
    users_manage = "users:manage"
    audit_read = "audit:read"
    fleet_read = "fleet:read"
    fleet_manage = "fleet:manage"
    billing_read = "billing:read"
    billing_manage = "billing:manage"
    usage_write = "usage:write"
    scheduling_manage = "scheduling:manage"
    academy_learn = "academy:learn"
    academy_author = "academy:author"
    academy_certify = "academy:certify"
    academy_team = "academy:team"
    partners_write = "partners:write"
    translations_write = "translations:write"
    research_request = "research:request"
    research_steward = "research:steward"
    federated_train = "federated:train"
    federated_counts = "federated:counts"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The operator runs the network and the fleet but does not read clinical records.
    Role.consortium_operator: frozenset(
        {
            P.network_read,
            P.network_write,
            P.devices_read,
            P.units_write,
            P.models_write,
            P.users_manage,
            P.audit_read,
            P.fleet_read,
            P.fleet_manage,
            P.billing_read,
            P.billing_manage,
            P.usage_write,
            P.scheduling_manage,
            P.academy_team,
            P.partners_write,
            # Runs federated training and sees each clinic's counts (the operator reads no
            # records, and counts of a training set are not a record).
            P.federated_train,
            P.federated_counts,
        }
    ),
    Role.clinic_admin: frozenset(
        {
            P.network_read,
            P.patients_read,
            P.patients_write,
            P.devices_read,
            P.units_write,
            P.users_manage,
            P.audit_read,
            # A clinic sees the units it holds and its own invoices, and keeps its own waitlist;
            # moving and leasing shared units is the operator's job.
            P.fleet_read,
            P.billing_read,
            P.usage_write,
            P.scheduling_manage,
            # A clinic admin sees who on the team holds which certificate, and learns too.
            P.academy_team,
            P.academy_learn,
            # A clinic keeps its own partner record (what it offers and needs) and may end an
            # agreement it is party to; making one that reaches another clinic is the operator's.
            P.partners_write,
            # The clinic admin is its clinic's data steward: approves what leaves it.
            P.research_steward,
        }
    ),
    Role.therapist: frozenset(
        {
            P.network_read,
            P.patients_read,
            P.patients_write,
            P.devices_read,
            P.fleet_read,
            P.usage_write,
            P.academy_learn,
        }
    ),
    # A patient's own record is reached through Patient.user_id, not through a subtree.
    Role.patient: frozenset(),
    # Researchers start federated runs and read their aggregates, never a clinic's small counts.
    Role.researcher: frozenset({P.network_read, P.research_request, P.federated_train}),
    # Manufacturers write models of their own organisation only and see units of those models
    # only (both checked in devices.service), never the clinics' whole fleet.
    Role.manufacturer: frozenset({P.network_read, P.models_write}),
    # Trainers author and translate courses of their subtree, sign off practicals and issue,
    # renew and revoke the certificates of people granted there; they read no clinical records.
    Role.trainer: frozenset(
        {P.network_read, P.academy_learn, P.academy_author, P.academy_certify, P.academy_team}
    ),
    # A translator works on the interface's words, which belong to no org unit and no patient.
    Role.translator: frozenset({P.translations_write}),
}

GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.consortium_operator: frozenset(Role),
    Role.clinic_admin: frozenset({Role.clinic_admin, Role.therapist, Role.patient}),
}
"""Which roles a holder of ``users:manage`` may hand out, within its own subtree."""


@dataclass(frozen=True)
class Grant:
    role: Role
    org_unit_id: str
    org_unit_path: str


@dataclass
class Principal:
    """The authenticated caller of one request, with where the request came from (for audit)."""

    user_id: str
    email: str
    display_name: str
    locale: str
    grants: tuple[Grant, ...]
    partner_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    request_path: str | None = None
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        self.roles = frozenset(grant.role for grant in self.grants)

    @property
    def user_ref(self) -> str | None:
        """The user to record as the author of a row (``created_by_id``, audit ``user_id``)."""
        return self.user_id

    @property
    def is_system(self) -> bool:
        return False

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def paths_for(self, permission: Permission) -> list[str]:
        """Subtree prefixes on which the caller holds ``permission``, without redundant nesting."""
        paths = sorted(
            {g.org_unit_path for g in self.grants if permission in ROLE_PERMISSIONS[g.role]}
        )
        kept: list[str] = []
        for path in paths:
            if not any(path.startswith(outer) for outer in kept):
                kept.append(path)
        return kept

    def can(self, permission: Permission) -> bool:
        return bool(self.paths_for(permission))

    def covers(self, permission: Permission, org_unit_path: str) -> bool:
        """Whether ``permission`` holds on the org unit with this path."""
        return any(org_unit_path.startswith(p) for p in self.paths_for(permission))

    def org_filter(
        self,
        permission: Permission,
        path_column: InstrumentedAttribute[str] | ColumnElement[str],
    ) -> ColumnElement[bool]:
        """SQL condition selecting rows whose org-unit path lies in the caller's scope."""
        paths = self.paths_for(permission)
        if not paths:
            return false()
        if "/" in paths:
            return true()
        # Paths are hex ids separated by '/', so LIKE metacharacters cannot occur in them.
        return or_(*(path_column.startswith(p, autoescape=True) for p in paths))

    def may_grant(self, role: Role, org_unit_path: str) -> bool:
        """A grant may be no wider than one the granter holds, in role and in subtree."""
        return any(
            Permission.users_manage in ROLE_PERMISSIONS[g.role]
            and role in GRANTABLE_ROLES.get(g.role, frozenset())
            and org_unit_path.startswith(g.org_unit_path)
            for g in self.grants
        )


class SystemPrincipal(Principal):
    """exoshare itself, acting for a trusted internal caller (seeding, CLI, demo, ingestion).

    Every scope check passes, as for an operator whose subtree is the whole network, and it is
    never a patient, manufacturer or any other role with a narrower view. It has no user: the rows
    it writes carry no author, and its audit rows name it in ``user_agent`` (``system:<purpose>``),
    so they stay recognisable. Only code, never a request, can hold one: the request gate builds
    principals from credentials alone.
    """

    def __init__(self, purpose: str) -> None:
        if not purpose or not purpose.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"a system purpose is one word, not {purpose!r}")
        name = f"system:{purpose}"
        super().__init__(
            user_id="", email="", display_name=name, locale="en", grants=(), user_agent=name
        )
        self.purpose = purpose
        self.name = name

    @property
    def user_ref(self) -> str | None:
        return None

    @property
    def is_system(self) -> bool:
        return True

    def has_role(self, role: Role) -> bool:
        # Operator-only actions (the network schedule, certifications) are open to the
        # system; narrowing roles (patient, manufacturer) never apply to it.
        return role is Role.consortium_operator

    def paths_for(self, permission: Permission) -> list[str]:
        return ["/"]

    def may_grant(self, role: Role, org_unit_path: str) -> bool:
        return True

    def __repr__(self) -> str:
        return f"SystemPrincipal({self.purpose!r})"


SYSTEM_SEEDING = SystemPrincipal("seeding")
"""Builds networks: the demo generator, test worlds, imports of reference data."""
SYSTEM_CLI = SystemPrincipal("cli")
"""The ``exoshare`` command run by whoever operates the server."""
SYSTEM_DEMO = SystemPrincipal("demo")
"""The demo's simulated clinics: live sessions, history, fleet activity."""
SYSTEM_INGESTION = SystemPrincipal("ingestion")
"""Telemetry ingestion after the device's own credential was checked (metering, summaries)."""
SYSTEM_REMINDERS = SystemPrincipal("reminders")
"""The reminder dispatcher: reads upcoming bookings and home programmes to remind patients."""
