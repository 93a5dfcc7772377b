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
from exoshare.network import service as network_service
from exoshare.scheduling import eligibility
from exoshare.scheduling.bookings import DEFAULT_CHANGEOVER_MIN
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.eligibility import Refusal
from exoshare.scheduling.waitlist import MAX_SESSION_SLOTS, clinics_in_reach, session_length_min

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit
    from exoshare.scheduling.models import WaitlistEntry

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


@dataclass(frozen=True)
class WishChoices:
    """What a referral may ask of its sessions: a length, and a clinic and therapist in reach."""

    lengths: list[tuple[int, int]]
    """(slots, minutes a session of that many slots lasts)."""
    clinics: list[tuple[str, str]]
    """(clinic id, name) within reach of home, by name."""
    therapists: list[tuple[str, str, str]]
    """(user id, name, clinic name) of the therapists of those clinics, by name."""


def session_minutes(session_slots: int) -> int:
    """How long the desk's sessions of ``session_slots`` slots last (the usual changeover)."""
    return session_length_min(session_slots, DEFAULT_CHANGEOVER_MIN)


def wish_choices(
    session: Session, principal: Principal, home: tuple[float, float] | None
) -> WishChoices:
    """The session lengths, and the clinics and therapists a referral from ``home`` may prefer
    (those :func:`~exoshare.scheduling.waitlist.check_preferences` accepts)."""
    lengths = [(n, session_minutes(n)) for n in range(1, MAX_SESSION_SLOTS + 1)]
    clinics = clinics_in_reach(session, principal, home) if home is not None else []
    name_of = {c.id: c.name for c in clinics}
    grants = auth_service.therapist_grants(session, list(name_of))
    names = auth_service.display_names(session, sorted({user_id for user_id, _ in grants}))
    therapists: dict[str, tuple[str, str, str]] = {}
    for user_id, clinic_id in grants:
        therapists.setdefault(user_id, (user_id, names.get(user_id, user_id), name_of[clinic_id]))
    return WishChoices(
        lengths,
        sorted(((c.id, c.name) for c in clinics), key=lambda c: (c[1], c[0])),
        sorted(therapists.values(), key=lambda t: (t[1], t[0])),
    )


def wish_names(session: Session, entries: list[WaitlistEntry]) -> dict[str, str]:
    """Clinic and therapist id -> name, for the preferences these entries name."""
    out: dict[str, str] = {}
    for clinic_id in {e.preferred_clinic_id for e in entries if e.preferred_clinic_id}:
        found = network_service.find_clinic(session, clinic_id)
        if found is not None:
            out[clinic_id] = found.name
    people = sorted({e.preferred_therapist_id for e in entries if e.preferred_therapist_id})
    out.update(auth_service.display_names(session, people))
    return out


def clinic_local_start(clinic: OrgUnit, day: str, at: str) -> datetime:
    """The instant of a date (YYYY-MM-DD) and time (HH:MM) on the clinic's wall clock."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(at), zone_of(clinic))
    except ValueError:
        raise InvalidInput(
            f"{day!r} {at!r} is not a date and time; give a date as YYYY-MM-DD and a time as HH:MM",
            field="starts_at",
        ) from None
