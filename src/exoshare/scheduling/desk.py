"""What the clinic desk chooses from when it books: the units the clinic may use that day (its
own and those on loan to it) and its therapists, and a clinic-local date and time read as an
instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import Principal
from exoshare.db import utcnow
from exoshare.errors import InvalidInput
from exoshare.scheduling import eligibility
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.eligibility import Refusal

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit

UNITS_SHOWN = 200
"""More units than any clinic holds; the desk lists them all in one choice."""


@dataclass(frozen=True)
class DeskChoices:
    day: date
    """The clinic-local day the units are offered for."""
    units: list[DeviceUnit]
    """The units the clinic may use that day, its own and those on loan to it, by serial."""
    away: list[tuple[DeviceUnit, Refusal]]
    """The clinic's own units it may not use that day, each with why (leased out, broken)."""
    therapists: list[tuple[str, str]]
    """(user id, display name), by name."""


def desk_choices(
    session: Session, principal: Principal, clinic: OrgUnit, day: date | None = None
) -> DeskChoices:
    """The units the clinic may use on ``day`` (clinic-local; today when None) and the
    therapists granted at the clinic itself.

    A unit is offered when the clinic holds it that day by the same rule the schedule run and
    the booking ask (:func:`eligibility.unit_away_on`): a unit leased in is offered for the days
    of its lease, a unit the clinic owns but has leased out is not offered for those days.

    The caller has checked that ``clinic`` is one whose schedule ``principal`` keeps (the units
    a clinic holds are its staff's to see, whoever owns them).
    """
    shown = day or utcnow().astimezone(zone_of(clinic)).date()
    units: list[DeviceUnit] = []
    away: list[tuple[DeviceUnit, Refusal]] = []
    for unit in eligibility.candidate_units(session, clinic.id):
        why = eligibility.unit_away_on(session, unit, clinic, shown)
        if why is None:
            units.append(unit)
        elif unit.org_unit_id == clinic.id:
            away.append((unit, why))
    ids = sorted({user_id for user_id, _ in auth_service.therapist_grants(session, [clinic.id])})
    names = auth_service.display_names(session, ids)
    return DeskChoices(
        day=shown,
        units=units[:UNITS_SHOWN],
        away=away,
        therapists=sorted(((i, names.get(i, i)) for i in ids), key=lambda t: (t[1], t[0])),
    )


def day_or_none(text: str | None) -> date | None:
    """A form's date (YYYY-MM-DD), or None when it is missing or not a date."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def clinic_local_start(clinic: OrgUnit, day: str, at: str) -> datetime:
    """The instant of a date (YYYY-MM-DD) and time (HH:MM) on the clinic's wall clock."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(at), zone_of(clinic))
    except ValueError:
        raise InvalidInput(
            f"{day!r} {at!r} is not a date and time; give a date as YYYY-MM-DD and a time as HH:MM",
            field="starts_at",
        ) from None
