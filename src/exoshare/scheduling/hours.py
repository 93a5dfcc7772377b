"""Weekly hours: when a clinic is open and when a therapist works there (clinic-local times)."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.errors import N_, InvalidInput
from exoshare.scheduling.clinics import clinic_to_manage, is_therapist_of
from exoshare.scheduling.models import ClinicOpeningHours, TherapistLeave, TherapistWorkingHours


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
    breaks: dict[int, tuple[time, time]] | None = None,
    max_sessions: int | None = None,
) -> list[TherapistWorkingHours]:
    """Replace a therapist's weekly working hours at a clinic (none: the clinic's hours), with a
    break on some days and a limit of sessions a day."""
    clinic = clinic_to_manage(session, principal, clinic_id)
    if not is_therapist_of(session, therapist_id, clinic):
        raise InvalidInput(f"therapist {therapist_id} does not exist", field="therapist_id")
    breaks = breaks or {}
    for weekday, (pause, resume) in breaks.items():
        work = hours.get(weekday)
        if work is None or not work[0] < pause < resume < work[1]:
            raise InvalidInput(
                f"weekday {weekday}: a break must lie inside that day's working hours and "
                "start before it ends",
                field="breaks",
            )
    if max_sessions is not None and not 1 <= max_sessions <= 24:
        raise InvalidInput.worded(
            N_("max_sessions must be 1–24 sessions a day"), also={"field": "max_sessions"}
        )
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
            therapist_id=therapist_id,
            clinic_id=clinic.id,
            weekday=d,
            starts=s,
            ends=e,
            break_starts=breaks[d][0] if d in breaks else None,
            break_ends=breaks[d][1] if d in breaks else None,
            max_sessions=max_sessions,
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
) -> dict[tuple[str, str], list[TherapistWorkingHours]]:
    """(therapist id, clinic id) -> their weekday rows (hours, break, daily limit)."""
    out: dict[tuple[str, str], list[TherapistWorkingHours]] = {}
    for w in session.scalars(select(TherapistWorkingHours)):
        out.setdefault((w.therapist_id, w.clinic_id), []).append(w)
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
) -> dict[int, TherapistWorkingHours]:
    """A therapist's weekday -> row (hours, break, daily limit) at a clinic; empty when none."""
    return {
        w.weekday: w
        for w in session.scalars(
            select(TherapistWorkingHours).where(
                TherapistWorkingHours.therapist_id == therapist_id,
                TherapistWorkingHours.clinic_id == clinic_id,
            )
        )
    }


def record_leave(
    session: Session,
    principal: Principal,
    clinic_id: str,
    therapist_id: str,
    first_day: date,
    last_day: date,
    reason: str,
) -> TherapistLeave:
    """Record days a therapist of the clinic is away; schedule runs book nobody with them then."""
    clinic = clinic_to_manage(session, principal, clinic_id)
    if not is_therapist_of(session, therapist_id, clinic):
        raise InvalidInput(f"therapist {therapist_id} does not exist", field="therapist_id")
    if last_day < first_day:
        raise InvalidInput(
            f"last_day {last_day} is before first_day {first_day}; give the last day away",
            field="last_day",
        )
    if (last_day - first_day).days > 366:
        raise InvalidInput.worded(
            N_("leave is recorded a year at a time at most"), also={"field": "last_day"}
        )
    if not reason.strip():
        raise InvalidInput.worded(
            N_("say why the therapist is away (holiday, sickness, ...)"), also={"field": "reason"}
        )
    row = TherapistLeave(
        therapist_id=therapist_id,
        first_day=first_day,
        last_day=last_day,
        reason=reason.strip(),
        created_by_id=principal.user_ref,
    )
    session.add(row)
    session.flush()
    return row


def leave_by_therapist(session: Session, first: date, last: date) -> dict[str, list[date]]:
    """Therapist id -> the days from ``first`` to ``last`` on which they are on leave."""
    out: dict[str, list[date]] = {}
    for leave in session.scalars(
        select(TherapistLeave).where(
            TherapistLeave.first_day <= last, TherapistLeave.last_day >= first
        )
    ):
        day = max(first, leave.first_day)
        while day <= min(last, leave.last_day):
            out.setdefault(leave.therapist_id, []).append(day)
            day += timedelta(days=1)
    return out
