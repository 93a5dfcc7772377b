"""The bridge from the database to the pure solver: :func:`build_problem` reads clinics, units,
therapists and the waitlist and returns the :class:`~exoshare.scheduling.problem.SchedulingProblem`
the solver takes (clinic-local times on the slot grid).

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

from exoshare.auth import service as auth_service
from exoshare.devices import service as devices_service
from exoshare.devices.approvals.service import approved_countries
from exoshare.fleet.custody import current_holders
from exoshare.fleet.maintenance import unavailable_intervals
from exoshare.network import service as network_service
from exoshare.scheduling import problem as sp
from exoshare.scheduling.certifications import certified_models
from exoshare.scheduling.clinics import local, zone_of
from exoshare.scheduling.hours import opening_hours_by_clinic, working_hours_by_therapist
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.priority import PRIORITY_WEIGHT
from exoshare.scheduling.waitlist import waiting_entries

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit


@dataclass
class BuiltProblem:
    problem: sp.SchedulingProblem
    entries: dict[str, WaitlistEntry]
    """Waitlist entry id (the solver's patient id) -> entry."""
    clinics: dict[str, OrgUnit]


def _weekly(rows: list[tuple[int, time, time]]) -> sp.WeeklyHours:
    return {d: (a, b) for d, a, b in rows}


def build_problem(
    session: Session,
    start: date,
    weeks: int,
    travel_limit_km: float = 50.0,
    slot_min: int = 60,
    clinic_ids: list[str] | None = None,
) -> BuiltProblem:
    """The solver's instance from the database: every clinic with opening hours and a location,
    every functioning unit at the clinic holding it, certified therapists, waiting patients.

    ``clinic_ids`` narrows it to those clinics: their units and therapists, and the waiting
    patients of those clinics only (an operator of one region schedules that region).
    """
    horizon = sp.Horizon(start, weeks, slot_min)
    clinic_rows = {c.id: c for c in network_service.located_clinics(session, clinic_ids)}
    regions = network_service.region_codes(session)
    opening = opening_hours_by_clinic(session)
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
                BookedSession.starts_at < window_end, BookedSession.ends_at > window_start
            )
        )
    )
    booked_by_unit: dict[str, list[sp.Interval]] = defaultdict(list)
    booked_by_therapist: dict[str, list[sp.Interval]] = defaultdict(list)
    for b in booked:
        zone = zone_of(clinic_rows[b.clinic_id]) if b.clinic_id in clinic_rows else ZoneInfo("UTC")
        interval = (local(b.starts_at, zone), local(b.ends_at, zone))
        booked_by_unit[b.unit_id].append(interval)
        booked_by_therapist[b.therapist_id].append(interval)
    units = []
    for u in unit_rows:
        clinic = clinic_rows[holders[u.id]]
        zone = zone_of(clinic)
        units.append(
            sp.DeviceUnit(
                u.id,
                u.model_id,
                clinic.id,
                tuple((local(a, zone), local(b, zone)) for a, b in blocked[u.id]),
                tuple(booked_by_unit.get(u.id, [])),
            )
        )
    model_ids = sorted({u.model_id for u in unit_rows})
    countries = approved_countries(session, model_ids)
    # A unit whose model may not be used in its clinic's country is offered to nobody there
    # (the clinical-safety rule); the solver then also checks the patient's country.
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
    therapists = []
    seen: set[str] = set()
    for user_id, clinic_id in auth_service.therapist_grants(session, list(clinic_rows)):
        # The solver knows a therapist at one clinic, their first: a later grant elsewhere
        # (remote tele-rehabilitation cover of a far clinic) is ignored here.
        if user_id in seen:
            continue
        seen.add(user_id)
        hours = working.get((user_id, clinic_id)) or opening.get(clinic_id, [])
        therapists.append(
            sp.Therapist(
                user_id,
                clinic_id,
                frozenset(certs.get(user_id, set())),
                _weekly(hours),
                tuple(booked_by_therapist.get(user_id, [])),
            )
        )

    entries = {e.id: e for e in waiting_entries(session, clinic_ids)}
    patients = [
        sp.WaitingPatient(
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
            e.course_sessions,
            e.clinic_id if e.clinic_id in clinic_rows else None,
        )
        for e in entries.values()
    ]
    problem = sp.SchedulingProblem(
        clinics, models, units, therapists, patients, horizon, travel_limit_km
    )
    return BuiltProblem(problem, entries, clinic_rows)
