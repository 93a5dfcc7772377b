"""What the clinic desk chooses from when it books: the clinic's units and therapists, and a
clinic-local date and time read as an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import Principal
from exoshare.devices import service as devices_service
from exoshare.errors import InvalidInput
from exoshare.scheduling.clinics import zone_of

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit

UNITS_SHOWN = 200
"""More units than any clinic holds; the desk lists them all in one choice."""


@dataclass(frozen=True)
class DeskChoices:
    units: list[DeviceUnit]
    therapists: list[tuple[str, str]]
    """(user id, display name), by name."""


def desk_choices(session: Session, principal: Principal, clinic: OrgUnit) -> DeskChoices:
    """The units the clinic owns and the therapists granted at the clinic itself."""
    units, _ = devices_service.list_units(session, principal, clinic.id, limit=UNITS_SHOWN)
    ids = sorted({user_id for user_id, _ in auth_service.therapist_grants(session, [clinic.id])})
    names = auth_service.display_names(session, ids)
    return DeskChoices(
        units=[u for u in units if u.org_unit_id == clinic.id],
        therapists=sorted(((i, names.get(i, i)) for i in ids), key=lambda t: (t[1], t[0])),
    )


def clinic_local_start(clinic: OrgUnit, day: str, at: str) -> datetime:
    """The instant of a date (YYYY-MM-DD) and time (HH:MM) on the clinic's wall clock."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(at), zone_of(clinic))
    except ValueError:
        raise InvalidInput(
            f"{day!r} {at!r} is not a date and time; give a date as YYYY-MM-DD and a time as HH:MM",
            field="starts_at",
        ) from None
