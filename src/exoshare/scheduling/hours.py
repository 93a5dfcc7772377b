"""Weekly hours: when a clinic is open and when a therapist works there (clinic-local times)."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.errors import InvalidInput
from exoshare.scheduling.clinics import clinic_to_manage, is_therapist_of
from exoshare.scheduling.models import ClinicOpeningHours, TherapistWorkingHours


def set_opening_hours(
    session: Session,
    principal: Principal,
    clinic_id: str,
    hours: dict[int, tuple[time, time]],
) -> list[ClinicOpeningHours]:
    """Replace a clinic's weekly opening hours (weekday 0 = Monday; missing = closed)."""
    clinic = clinic_to_manage(session, principal, clinic_id)
    for weekday, (opens, closes) in hours.items():
        if not 0 <= weekday <= 6 or opens >= closes:
            raise InvalidInput(f"weekday {weekday}: opening must be before closing", field="hours")
    for old in session.scalars(
        select(ClinicOpeningHours).where(ClinicOpeningHours.clinic_id == clinic.id)
    ):
        session.delete(old)
    session.flush()
    rows = [
        ClinicOpeningHours(clinic_id=clinic.id, weekday=d, opens=o, closes=c)
        for d, (o, c) in sorted(hours.items())
    ]
    session.add_all(rows)
    session.flush()
    return rows


def set_working_hours(
    session: Session,
    principal: Principal,
    therapist_id: str,
    clinic_id: str,
    hours: dict[int, tuple[time, time]],
) -> list[TherapistWorkingHours]:
    """Replace a therapist's weekly working hours at a clinic (none: the clinic's hours)."""
    clinic = clinic_to_manage(session, principal, clinic_id)
    if not is_therapist_of(session, therapist_id, clinic):
        raise InvalidInput(f"therapist {therapist_id} does not exist", field="therapist_id")
    for old in session.scalars(
        select(TherapistWorkingHours).where(
            TherapistWorkingHours.therapist_id == therapist_id,
            TherapistWorkingHours.clinic_id == clinic.id,
        )
    ):
        session.delete(old)
    session.flush()
    rows = [
        TherapistWorkingHours(
            therapist_id=therapist_id, clinic_id=clinic.id, weekday=d, starts=s, ends=e
        )
        for d, (s, e) in sorted(hours.items())
    ]
    session.add_all(rows)
    session.flush()
    return rows


def opening_hours_by_clinic(session: Session) -> dict[str, list[tuple[int, time, time]]]:
    """Clinic id -> (weekday, opens, closes) rows."""
    out: dict[str, list[tuple[int, time, time]]] = {}
    for h in session.scalars(select(ClinicOpeningHours)):
        out.setdefault(h.clinic_id, []).append((h.weekday, h.opens, h.closes))
    return out


def working_hours_by_therapist(
    session: Session,
) -> dict[tuple[str, str], list[tuple[int, time, time]]]:
    """(therapist id, clinic id) -> (weekday, starts, ends) rows."""
    out: dict[tuple[str, str], list[tuple[int, time, time]]] = {}
    for w in session.scalars(select(TherapistWorkingHours)):
        out.setdefault((w.therapist_id, w.clinic_id), []).append((w.weekday, w.starts, w.ends))
    return out


def opening_hours_of(session: Session, clinic_id: str) -> dict[int, tuple[time, time]]:
    """One clinic's weekday -> (opens, closes); a missing weekday is closed."""
    return {
        h.weekday: (h.opens, h.closes)
        for h in session.scalars(
            select(ClinicOpeningHours).where(ClinicOpeningHours.clinic_id == clinic_id)
        )
    }


def working_hours_of(
    session: Session, therapist_id: str, clinic_id: str
) -> dict[int, tuple[time, time]]:
    """A therapist's weekday -> (starts, ends) at a clinic; empty when none are recorded."""
    return {
        w.weekday: (w.starts, w.ends)
        for w in session.scalars(
            select(TherapistWorkingHours).where(
                TherapistWorkingHours.therapist_id == therapist_id,
                TherapistWorkingHours.clinic_id == clinic_id,
            )
        )
    }
