"""The clinics a scheduling call touches: found within the caller's scope, their local time, and
who works there as a therapist.

An id the caller may not see answers exactly like a missing one (same status and body), so a
caller cannot learn which clinic ids exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc
from exoshare.errors import NotFound, PermissionDenied
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit


def zone_of(clinic: OrgUnit) -> ZoneInfo:
    """The clinic's time zone (UTC when it has none)."""
    return ZoneInfo(clinic.timezone) if clinic.timezone else ZoneInfo("UTC")


def local(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` as a naive wall-clock time in ``zone`` (the solver's clinic-local times)."""
    return as_utc(value).astimezone(zone).replace(tzinfo=None)


def clinic(session: Session, clinic_id: str) -> OrgUnit:
    """The clinic with this id, without a scope check; NotFound when there is none."""
    found = network_service.find_clinic(session, clinic_id)
    if found is None:
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    return found


def clinic_for(
    session: Session, principal: Principal, permission: Permission, clinic_id: str
) -> OrgUnit:
    """A clinic the caller holds ``permission`` on; any other id answers like a missing clinic."""
    found = network_service.find_clinic(session, clinic_id)
    if found is None or not principal.covers(permission, found.path):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    return found


def may_manage(principal: Principal, clinic: OrgUnit) -> None:
    """Refuse (403) a caller who does not keep the clinic's schedule."""
    if not principal.covers(Permission.scheduling_manage, clinic.path):
        raise PermissionDenied(f"you may not change the schedule of {clinic.code}")


def clinic_to_manage(session: Session, principal: Principal, clinic_id: str) -> OrgUnit:
    """A clinic whose schedule the caller keeps; one they cannot see answers as a missing one."""
    found = clinic(session, clinic_id)
    if not principal.covers(Permission.network_read, found.path) and not principal.covers(
        Permission.scheduling_manage, found.path
    ):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    may_manage(principal, found)
    return found


def is_therapist_of(session: Session, user_id: str, clinic: OrgUnit) -> bool:
    """Whether the user holds a therapist grant covering the clinic."""
    paths = network_service.org_unit_paths(
        session, auth_service.granted_unit_ids(user_id, Role.therapist)
    )
    return any(clinic.path.startswith(path) for path in paths)
