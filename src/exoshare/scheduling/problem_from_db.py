"""The bridge from the database to the pure solver: :func:`build_problem` reads clinics, units,
therapists, the waitlist and the courses already started, and returns the
:class:`~exoshare.scheduling.problem.SchedulingProblem` the solver takes (clinic-local times on the
slot grid) with the :class:`~exoshare.scheduling.courses.StartedCourse` list booked before it.

The solver, FCFS baseline and simulation never see SQL; this module is the one place that
translates rows into their dataclasses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.academy.certificates import certified_models
from exoshare.auth import service as auth_service
from exoshare.devices import service as devices_service
from exoshare.devices.approvals.service import approved_countries
from exoshare.fleet.custody import current_holders
from exoshare.fleet.maintenance import unavailable_intervals
from exoshare.network import service as network_service
from exoshare.scheduling import eligibility
from exoshare.scheduling import problem as sp
from exoshare.scheduling.clinics import local, zone_of
from exoshare.scheduling.courses import StartedCourse
from exoshare.scheduling.hours import (
    leave_by_therapist,
    opening_hours_by_clinic,
    working_hours_by_therapist,
)
from exoshare.scheduling.models import BookedSession, TherapistWorkingHours, WaitlistEntry
from exoshare.scheduling.priority import PRIORITY_WEIGHT
from exoshare.scheduling.public_holidays import public_holidays
from exoshare.scheduling.schemas import BookingStatus
from exoshare.scheduling.waitlist import active_entries, available_hours, sessions_of_entries

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit


@dataclass
class BuiltProblem:
    problem: sp.SchedulingProblem
    """The patients waiting for a first session, and what can be booked."""
    entries: dict[str, WaitlistEntry]
    """Waitlist entry id (the solver's patient id) -> entry, waiting and started alike."""
    clinics: dict[str, OrgUnit]
    courses: list[StartedCourse]
    """Started courses with sessions still to book: booked before the waiting patients."""


def _weekly(rows: list[tuple[int, time, time]]) -> sp.WeeklyHours:
    return {d: (a, b) for d, a, b in rows}


def build_problem(
    session: Session,
    start: date,
    weeks: int,
    travel_limit_km: float = 50.0,
    slot_min: int = 60,
    clinic_ids: list[str] | None = None,
    changeover_min: int = 0,
) -> BuiltProblem:
    """The solver's instance from the database: every clinic with opening hours, a location and
    its country's public holidays, every functioning unit at the clinic holding it (on the days
    it may use it), certified therapists, waiting patients, and the courses already started.

    ``clinic_ids`` narrows it to those clinics: their units and therapists, and the waiting
    patients of those clinics only (an operator of one region schedules that region).
    """
    horizon = sp.Horizon(start, weeks, slot_min, changeover_min)
    clinic_rows = {c.id: c for c in network_service.located_clinics(session, clinic_ids)}
    regions = network_service.region_codes(session)
    opening = opening_hours_by_clinic(session)
    last_day = horizon.end_date - timedelta(days=1)
    clinics = []
    for c in clinic_rows.values():
        region = next((regions[p] for p in c.path.strip("/").split("/") if p in regions), "")
        clinics.append(
            sp.Clinic(
                c.id,
                c.country_code or "",
                region,
                float(c.latitude or 0),
                float(c.longitude or 0),
                _weekly(opening.get(c.id, [])),
                name=c.name,
                closed_days=public_holidays(c.country_code or "", start, last_day),
            )
        )
    window_start = datetime.combine(start, time(), tzinfo=UTC) - timedelta(days=1)
    window_end = datetime.combine(horizon.end_date, time(), tzinfo=UTC) + timedelta(days=1)

    unit_rows = devices_service.functioning_units(session)
    holders = current_holders(session, [u.id for u in unit_rows], window_start)
    unit_rows = [u for u in unit_rows if holders.get(u.id) in clinic_rows]
    blocked = unavailable_intervals(session, [u.id for u in unit_rows], window_start, window_end)
    booked = list(
        session.scalars(
            select(BookedSession).where(
                BookedSession.starts_at < window_end,
                BookedSession.ends_at > window_start,
                BookedSession.status == BookingStatus.booked,
            )
        )
    )
    booked_by_unit: dict[str, list[sp.Interval]] = defaultdict(list)
    booked_by_therapist: dict[str, list[sp.Interval]] = defaultdict(list)
    booked_by_patient: dict[str, list[sp.Interval]] = defaultdict(list)
    for b in booked:
        zone = zone_of(clinic_rows[b.clinic_id]) if b.clinic_id in clinic_rows else ZoneInfo("UTC")
        interval = (local(b.starts_at, zone), local(b.ends_at, zone))
        # The changeover after a session is the unit's and therapist's time too.
        held = (interval[0], max(interval[1], interval[0] + timedelta(minutes=slot_min)))
        booked_by_unit[b.unit_id].append(held)
        booked_by_therapist[b.therapist_id].append(held)
        booked_by_patient[b.patient_id].append(interval)
    units = []
    for u in unit_rows:
        clinic = clinic_rows[holders[u.id]]
        zone = zone_of(clinic)
        units.append(
            sp.DeviceUnit(
                u.id,
                u.model_id,
                clinic.id,
                (
                    *((local(a, zone), local(b, zone)) for a, b in blocked[u.id]),
                    *_days_away(session, u, clinic, horizon),
                ),
                tuple(booked_by_unit.get(u.id, [])),
            )
        )
    model_ids = sorted({u.model_id for u in unit_rows})
    countries = approved_countries(session, model_ids)
    # A unit whose model may not be used in its clinic's country is offered to nobody there
    # (the clinical-safety rule); the solver checks the same rule (the clinic's country).
    units = [
        u
        for u in units
        if (clinic_rows[u.clinic_id].country_code or "") in countries.get(u.model_id, set())
    ]
    model_ids = sorted({u.model_id for u in units})
    models = [
        sp.DeviceModel(
            m.id,
            m.min_patient_height_m,
            m.max_patient_height_m,
            m.max_patient_weight_kg,
            frozenset(countries.get(m.id, set())),
            m.name,
        )
        for m in devices_service.models_by_ids(session, model_ids)
    ]

    certs = certified_models(session, start, horizon.end_date)
    working = working_hours_by_therapist(session)
    leave = leave_by_therapist(session, start, last_day)
    therapists = []
    seen: set[str] = set()
    for user_id, clinic_id in auth_service.therapist_grants(session, list(clinic_rows)):
        # The solver knows a therapist at one clinic, their first: a later grant elsewhere
        # (remote tele-rehabilitation cover of a far clinic) is ignored here.
        if user_id in seen:
            continue
        seen.add(user_id)
        rows = working.get((user_id, clinic_id), [])
        hours = [(w.weekday, w.starts, w.ends) for w in rows] or opening.get(clinic_id, [])
        limits = [w.max_sessions for w in rows if w.max_sessions is not None]
        therapists.append(
            sp.Therapist(
                user_id,
                clinic_id,
                frozenset(certs.get(user_id, set())),
                _weekly(hours),
                tuple(booked_by_therapist.get(user_id, [])),
                # One limit a day in the solver: the smallest recorded, so no day exceeds its own.
                min(limits) if limits else None,
                (*_breaks(rows, horizon), *_whole_days(leave.get(user_id, []))),
            )
        )

    entries = {e.id: e for e in active_entries(session, clinic_ids)}
    given = sessions_of_entries(session, list(entries.values()))
    patients: list[sp.WaitingPatient] = []
    courses: list[StartedCourse] = []
    for e in entries.values():
        done = given.get(e.id, [])
        left = e.course_sessions - len(done)
        if left <= 0:
            continue
        patient = sp.WaitingPatient(
            e.id,
            e.home_latitude,
            e.home_longitude,
            e.clinic.country_code or "",
            e.patient.height_m,
            e.patient.weight_kg,
            e.referral_date,
            PRIORITY_WEIGHT[e.priority],
            e.priority_reason,
            e.sessions_per_week,
            left,
            e.clinic_id if e.clinic_id in clinic_rows else None,
            tuple(booked_by_patient.get(e.patient_id, [])),
            available_hours(e),
            e.session_slots,
            # A preference outside this run's clinics is one the run cannot meet: left out.
            e.preferred_clinic_id if e.preferred_clinic_id in clinic_rows else None,
            e.preferred_therapist_id,
        )
        if not done:
            patients.append(patient)
            continue
        latest = done[-1]
        if latest.clinic_id not in clinic_rows:
            continue  # the course runs at a clinic outside this run
        zone = zone_of(clinic_rows[latest.clinic_id])
        at = local(latest.starts_at, zone)
        courses.append(
            StartedCourse(
                patient,
                latest.clinic_id,
                latest.unit.model_id,
                latest.unit_id,
                latest.therapist_id,
                (at.hour * 60 + at.minute) // slot_min,
            )
        )
    problem = sp.SchedulingProblem(
        clinics, models, units, therapists, patients, horizon, travel_limit_km
    )
    return BuiltProblem(problem, entries, clinic_rows, courses)


def _breaks(rows: list[TherapistWorkingHours], horizon: sp.Horizon) -> list[sp.Interval]:
    """Each day's break in the horizon, as clinic-local intervals."""
    by_weekday = {
        w.weekday: (w.break_starts, w.break_ends)
        for w in rows
        if w.break_starts is not None and w.break_ends is not None
    }
    out: list[sp.Interval] = []
    for d in range(horizon.n_days):
        day = horizon.start_date + timedelta(days=d)
        pause = by_weekday.get(day.weekday())
        if pause is not None:
            out.append((datetime.combine(day, pause[0]), datetime.combine(day, pause[1])))
    return out


def _whole_days(days: list[date]) -> list[sp.Interval]:
    return [
        (datetime.combine(day, time()), datetime.combine(day + timedelta(days=1), time()))
        for day in days
    ]


def _days_away(
    session: Session, unit: DeviceUnit, clinic: OrgUnit, horizon: sp.Horizon
) -> list[sp.Interval]:
    """The horizon's days on which the clinic may not use the unit: a lease ended or let it to
    another clinic, custody moved it away, its status changed (the clinical-safety rule of
    :mod:`~exoshare.scheduling.eligibility`, asked at the clinic's noon).

    Asked on the first and last day and once a week between; only a unit whose answer is not
    the same every time is asked day by day (a lease that starts and ends between two weekly
    looks is missed, and is caught by the rule again when the session starts).
    """
    days = [horizon.start_date + timedelta(days=d) for d in range(horizon.n_days)]

    def away(day: date) -> bool:
        return eligibility.unit_away_on(session, unit, clinic, day) is not None

    looks = {day: away(day) for day in (*days[::7], days[-1])}
    if any(looks.values()) and not all(looks.values()):
        looks.update({day: away(day) for day in days if day not in looks})
    elif all(looks.values()):
        looks = dict.fromkeys(days, True)
    return _whole_days([day for day in days if looks.get(day)])
