"""Rules of scheduling data: waitlist, hours, certifications, and running the solver on them.

:func:`build_problem` turns the database into the pure solver's :class:`SchedulingProblem`
(clinic-local times on the slot grid); :func:`run_schedule` solves it and books the sessions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.models import RoleGrant, User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, utcnow
from exoshare.devices.approvals.service import approved_countries
from exoshare.devices.models import DeviceModel, DeviceUnit
from exoshare.devices.schemas import UnitStatus
from exoshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SlotTaken
from exoshare.fleet.custody import current_holders
from exoshare.fleet.maintenance import unavailable_intervals
from exoshare.network.models import OrgUnit
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients.models import Patient
from exoshare.scheduling import problem as sp
from exoshare.scheduling.models import (
    PRIORITY_WEIGHT,
    BookedSession,
    ClinicOpeningHours,
    Priority,
    ScheduleRun,
    TherapistCertification,
    TherapistWorkingHours,
    WaitlistEntry,
    WaitlistStatus,
)
from exoshare.telerehab import eligibility


def _zone(clinic: OrgUnit) -> ZoneInfo:
    return ZoneInfo(clinic.timezone) if clinic.timezone else ZoneInfo("UTC")


def _clinic(session: Session, clinic_id: str) -> OrgUnit:
    clinic = session.get(OrgUnit, clinic_id)
    if clinic is None or clinic.kind is not OrgUnitKind.clinic:
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    return clinic


def _clinic_for(
    session: Session, principal: Principal, permission: Permission, clinic_id: str
) -> OrgUnit:
    """A clinic the caller holds ``permission`` on; any other id answers exactly like a missing
    clinic (same status and body), so a caller cannot learn which clinic ids exist."""
    clinic = session.get(OrgUnit, clinic_id)
    if (
        clinic is None
        or clinic.kind is not OrgUnitKind.clinic
        or not principal.covers(permission, clinic.path)
    ):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    return clinic


def _may_manage(principal: Principal, clinic: OrgUnit) -> None:
    if not principal.covers(Permission.scheduling_manage, clinic.path):
        raise PermissionDenied(f"you may not change the schedule of {clinic.code}")


def _clinic_to_manage(session: Session, principal: Principal, clinic_id: str) -> OrgUnit:
    """A clinic whose schedule the caller keeps; one they cannot see answers as a missing one."""
    clinic = _clinic(session, clinic_id)
    if not principal.covers(Permission.network_read, clinic.path) and not principal.covers(
        Permission.scheduling_manage, clinic.path
    ):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    _may_manage(principal, clinic)
    return clinic


def set_opening_hours(
    session: Session,
    principal: Principal,
    clinic_id: str,
    hours: dict[int, tuple[time, time]],
) -> list[ClinicOpeningHours]:
    """Replace a clinic's weekly opening hours (weekday 0 = Monday; missing = closed)."""
    clinic = _clinic_to_manage(session, principal, clinic_id)
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
    clinic = _clinic_to_manage(session, principal, clinic_id)
    if not _is_therapist_of(session, therapist_id, clinic):
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


def certify(
    session: Session,
    principal: Principal,
    therapist_id: str,
    model_id: str,
    certified_on: date,
    expires_on: date,
) -> TherapistCertification:
    """Record that a therapist may run a model until ``expires_on`` (renewal overwrites)."""
    if not principal.has_role(Role.consortium_operator):
        raise PermissionDenied("certifications are recorded by the operator (later: the academy)")
    # The therapist must hold a grant where the caller manages users: an operator of one
    # country certifies that country's therapists, and cannot tell anyone else exists.
    grant_paths = session.scalars(
        select(OrgUnit.path)
        .join(RoleGrant, RoleGrant.org_unit_id == OrgUnit.id)
        .where(RoleGrant.user_id == therapist_id, RoleGrant.revoked_at.is_(None))
    )
    if session.get(User, therapist_id) is None or not any(
        principal.covers(Permission.users_manage, path) for path in grant_paths
    ):
        raise InvalidInput(f"user {therapist_id} does not exist", field="therapist_id")
    if session.get(DeviceModel, model_id) is None:
        raise InvalidInput(f"device model {model_id} does not exist", field="model_id")
    if expires_on <= certified_on:
        raise InvalidInput("expires_on must be after certified_on", field="expires_on")
    cert = session.scalar(
        select(TherapistCertification).where(
            TherapistCertification.therapist_id == therapist_id,
            TherapistCertification.model_id == model_id,
        )
    )
    if cert is None:
        cert = TherapistCertification(therapist_id=therapist_id, model_id=model_id)
        session.add(cert)
    cert.certified_on, cert.expires_on = certified_on, expires_on
    session.flush()
    return cert


# ---------------------------------------------------------------------------------- waitlist


def add_to_waitlist(
    session: Session,
    principal: Principal,
    patient_id: str,
    referral_date: date,
    priority: Priority,
    priority_reason: str,
    sessions_per_week: int,
    course_sessions: int,
    home_latitude: float | None = None,
    home_longitude: float | None = None,
) -> WaitlistEntry:
    """Put a patient on their clinic's waitlist; the home defaults to the clinic's location."""
    patient = session.get(Patient, patient_id)
    clinic = session.get(OrgUnit, patient.clinic_id) if patient else None
    if patient is None or patient.voided or clinic is None:
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if not principal.covers(Permission.patients_read, clinic.path):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    _may_manage(principal, clinic)
    if not priority_reason.strip():
        raise InvalidInput("a priority needs a recorded reason", field="priority_reason")
    if not 1 <= sessions_per_week <= 7:
        raise InvalidInput("sessions_per_week must be 1–7", field="sessions_per_week")
    if course_sessions < 1:
        raise InvalidInput("course_sessions must be at least 1", field="course_sessions")
    lat = home_latitude if home_latitude is not None else clinic.latitude
    lon = home_longitude if home_longitude is not None else clinic.longitude
    if lat is None or lon is None:
        raise InvalidInput("the home location is required", field="home_latitude")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("home location outside the globe", field="home_latitude")
    active = session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.patient_id == patient.id,
            WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled]),
        )
    )
    if active:
        raise Conflict(f"patient {patient_id} is already on the waitlist (entry {active})")
    entry = WaitlistEntry(
        patient_id=patient.id,
        clinic_id=clinic.id,
        referral_date=referral_date,
        priority=priority,
        priority_reason=priority_reason.strip(),
        sessions_per_week=sessions_per_week,
        course_sessions=course_sessions,
        home_latitude=lat,
        home_longitude=lon,
        status=WaitlistStatus.waiting,
        created_by_id=principal.user_ref,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class WaitlistRow:
    entry: WaitlistEntry
    position: int | None
    """1 = next in line at the clinic; None once scheduled."""
    waited_days: int


def waitlist_order_key(entry: WaitlistEntry) -> tuple[float, date, str]:
    """Priority first (urgent before routine), then who was referred first."""
    return (-PRIORITY_WEIGHT[entry.priority], entry.referral_date, entry.id)


def waitlist(
    session: Session, principal: Principal, clinic_id: str, today: date | None = None
) -> list[WaitlistRow]:
    clinic = _clinic_for(session, principal, Permission.patients_read, clinic_id)
    today = today or utcnow().date()
    entries = list(
        session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.clinic_id == clinic.id,
                WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled]),
            )
            .options(selectinload(WaitlistEntry.patient))
        )
    )
    waiting = sorted(
        (e for e in entries if e.status is WaitlistStatus.waiting), key=waitlist_order_key
    )
    scheduled = sorted(
        (e for e in entries if e.status is WaitlistStatus.scheduled),
        key=lambda e: (e.first_session_at or datetime.max.replace(tzinfo=UTC), e.id),
    )
    rows = [WaitlistRow(e, None, (today - e.referral_date).days) for e in scheduled] + [
        WaitlistRow(e, i, (today - e.referral_date).days) for i, e in enumerate(waiting, 1)
    ]
    return rows


# ---------------------------------------------------------------------------------- problem


@dataclass
class BuiltProblem:
    problem: sp.SchedulingProblem
    entries: dict[str, WaitlistEntry]
    clinics: dict[str, OrgUnit]


def _weekly(rows: list[tuple[int, time, time]]) -> sp.WeeklyHours:
    return {d: (a, b) for d, a, b in rows}


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return as_utc(value).astimezone(zone).replace(tzinfo=None)


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
    clinic_stmt = select(OrgUnit).where(
        OrgUnit.kind == OrgUnitKind.clinic,
        OrgUnit.latitude.is_not(None),
        OrgUnit.longitude.is_not(None),
        OrgUnit.closed_on.is_(None),
    )
    if clinic_ids is not None:
        clinic_stmt = clinic_stmt.where(OrgUnit.id.in_(clinic_ids))
    clinic_rows = {c.id: c for c in session.scalars(clinic_stmt.order_by(OrgUnit.code))}
    regions = {
        o.id: o.code
        for o in session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgUnitKind.region))
    }
    opening: dict[str, list[tuple[int, time, time]]] = defaultdict(list)
    for h in session.scalars(select(ClinicOpeningHours)):
        opening[h.clinic_id].append((h.weekday, h.opens, h.closes))
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

    unit_rows = list(
        session.scalars(select(DeviceUnit).where(DeviceUnit.status == UnitStatus.functioning))
    )
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
        zone = _zone(clinic_rows[b.clinic_id]) if b.clinic_id in clinic_rows else ZoneInfo("UTC")
        interval = (_local(b.starts_at, zone), _local(b.ends_at, zone))
        booked_by_unit[b.unit_id].append(interval)
        booked_by_therapist[b.therapist_id].append(interval)
    units = []
    for u in unit_rows:
        clinic = clinic_rows[holders[u.id]]
        zone = _zone(clinic)
        units.append(
            sp.DeviceUnit(
                u.id,
                u.model_id,
                clinic.id,
                tuple((_local(a, zone), _local(b, zone)) for a, b in blocked[u.id]),
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
        for m in session.scalars(select(DeviceModel).where(DeviceModel.id.in_(model_ids)))
    ]

    certs: dict[str, set[str]] = defaultdict(set)
    for cert in session.scalars(
        select(TherapistCertification).where(
            TherapistCertification.certified_on <= start,
            TherapistCertification.expires_on >= horizon.end_date,
        )
    ):
        certs[cert.therapist_id].add(cert.model_id)
    working: dict[tuple[str, str], list[tuple[int, time, time]]] = defaultdict(list)
    for w in session.scalars(select(TherapistWorkingHours)):
        working[(w.therapist_id, w.clinic_id)].append((w.weekday, w.starts, w.ends))
    therapists = []
    seen: set[str] = set()
    for grant in session.scalars(
        select(RoleGrant)
        .where(
            RoleGrant.role == Role.therapist,
            RoleGrant.revoked_at.is_(None),
            RoleGrant.org_unit_id.in_(list(clinic_rows)),
        )
        .order_by(RoleGrant.user_id, RoleGrant.granted_at, RoleGrant.id)
    ):
        # The solver knows a therapist at one clinic, their first: a later grant elsewhere
        # (remote tele-rehabilitation cover of a far clinic) is ignored here.
        if grant.user_id in seen:
            continue
        seen.add(grant.user_id)
        hours = working.get((grant.user_id, grant.org_unit_id)) or opening.get(
            grant.org_unit_id, []
        )
        therapists.append(
            sp.Therapist(
                grant.user_id,
                grant.org_unit_id,
                frozenset(certs.get(grant.user_id, set())),
                _weekly(hours),
                tuple(booked_by_therapist.get(grant.user_id, [])),
            )
        )

    entries = {
        e.id: e
        for e in session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitlistStatus.waiting,
                WaitlistEntry.clinic_id.in_(clinic_ids) if clinic_ids is not None else true(),
            )
            .options(selectinload(WaitlistEntry.patient), selectinload(WaitlistEntry.clinic))
            .order_by(WaitlistEntry.referral_date, WaitlistEntry.id)
        )
    }
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


# ---------------------------------------------------------------------------------- booking


def _insert_sessions(session: Session, rows: list[BookedSession]) -> None:
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        raise SlotTaken(
            "another booking took one of these slots meanwhile (unit, therapist or patient "
            "already booked at that start); nothing was booked — run the schedule again"
        ) from None


def _is_therapist_of(session: Session, user_id: str, clinic: OrgUnit) -> bool:
    """Whether the user holds a therapist grant covering the clinic."""
    paths = session.scalars(
        select(OrgUnit.path)
        .join(RoleGrant, RoleGrant.org_unit_id == OrgUnit.id)
        .where(
            RoleGrant.user_id == user_id,
            RoleGrant.role == Role.therapist,
            RoleGrant.revoked_at.is_(None),
        )
    ).all()
    return any(clinic.path.startswith(path) for path in paths)


def book_session(
    session: Session,
    principal: Principal,
    patient_id: str,
    unit_id: str,
    therapist_id: str,
    starts_at: datetime,
    duration_min: int = 60,
) -> BookedSession:
    """Book one session by hand. Two requests for the same unit slot: exactly one wins.

    The unit, the patient and the therapist must each be one the caller can see (a unit held
    by a clinic in their device scope, a patient whose record they may read, a therapist of the
    unit's clinic); any other id is refused exactly like one that does not exist, so a booking
    attempt teaches nobody which ids exist elsewhere.
    """

    unit = session.get(DeviceUnit, unit_id)
    holder = current_holders(session, [unit.id], as_utc(starts_at))[unit.id] if unit else None
    clinic = session.get(OrgUnit, holder) if holder else None
    if (
        unit is None
        or clinic is None
        or clinic.kind is not OrgUnitKind.clinic
        or not principal.covers(Permission.devices_read, clinic.path)
    ):
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    _may_manage(principal, clinic)
    patient = session.get(Patient, patient_id)
    patient_clinic = session.get(OrgUnit, patient.clinic_id) if patient else None
    if (
        patient is None
        or patient.voided
        or patient_clinic is None
        or not principal.covers(Permission.patients_read, patient_clinic.path)
    ):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if not _is_therapist_of(session, therapist_id, clinic):
        raise InvalidInput(f"therapist {therapist_id} does not exist", field="therapist_id")
    if starts_at.tzinfo is None:
        raise InvalidInput("starts_at must carry a time zone", field="starts_at")
    start = starts_at.astimezone(UTC)
    # The solver keeps these rules inside its model; a booking by hand must meet them too.
    eligibility.require_eligible(
        session,
        therapist_id=therapist_id,
        patient=patient,
        unit=unit,
        clinic=clinic,
        at=start,
        duration=timedelta(minutes=duration_min),
    )
    taken = session.scalar(
        select(BookedSession).where(
            BookedSession.unit_id == unit.id, BookedSession.starts_at == start
        )
    )
    if taken is not None:
        raise SlotTaken(
            f"unit {unit.serial_number} is already booked at {start.isoformat()} "
            f"(session {taken.id})",
            booked_session_id=taken.id,
        )
    row = BookedSession(
        patient_id=patient_id,
        unit_id=unit.id,
        therapist_id=therapist_id,
        clinic_id=clinic.id,
        starts_at=start,
        ends_at=start + timedelta(minutes=duration_min),
    )
    _insert_sessions(session, [row])
    return row


def run_schedule(
    session: Session,
    principal: Principal,
    start: date,
    weeks: int = 4,
    travel_limit_km: float = 50.0,
    time_limit_s: float = 30.0,
    num_workers: int = 2,
) -> ScheduleRun:
    """Solve the network's waitlist over ``weeks`` from ``start`` and book the result.

    Patients the solver cannot place keep waiting with the reasons it gave; booked ones move to
    ``scheduled`` with their first session. All or nothing: a slot taken meanwhile aborts the run.
    """
    from exoshare.scheduling.solver import SessionScheduler

    if not principal.has_role(Role.consortium_operator):
        raise PermissionDenied("the network schedule is run by the consortium operator")
    if not 1 <= weeks <= 12:
        raise InvalidInput("weeks must be 1–12", field="weeks")
    # Every clinic, unit, therapist and patient the run touches is in the caller's scope.
    in_scope = list(
        session.scalars(
            select(OrgUnit.id).where(
                OrgUnit.kind == OrgUnitKind.clinic,
                principal.org_filter(Permission.scheduling_manage, OrgUnit.path),
            )
        )
    )
    built = build_problem(session, start, weeks, travel_limit_km, clinic_ids=in_scope)
    run = ScheduleRun(
        horizon_start=start,
        weeks=weeks,
        travel_limit_km=travel_limit_km,
        patients_waiting=len(built.entries),
        triggered_by_id=principal.user_ref,
    )
    session.add(run)
    session.flush()
    if not built.entries:
        run.status = "nothing to schedule"
        return run
    solver = SessionScheduler(time_limit_s=time_limit_s, num_workers=num_workers).solve(
        built.problem
    )
    rows = []
    for a in solver.assignments_:
        zone = _zone(built.clinics[a.clinic_id])
        entry = built.entries[a.patient_id]
        rows.append(
            BookedSession(
                patient_id=entry.patient_id,
                unit_id=a.unit_id,
                therapist_id=a.therapist_id,
                clinic_id=a.clinic_id,
                starts_at=a.start.replace(tzinfo=zone).astimezone(UTC),
                ends_at=a.end.replace(tzinfo=zone).astimezone(UTC),
                waitlist_entry_id=entry.id,
                schedule_run_id=run.id,
            )
        )
    _insert_sessions(session, rows)
    first: dict[str, datetime] = {}
    for row in rows:
        if row.waitlist_entry_id and (
            row.waitlist_entry_id not in first or row.starts_at < first[row.waitlist_entry_id]
        ):
            first[row.waitlist_entry_id] = row.starts_at
    for entry_id, entry in built.entries.items():
        if entry_id in first:
            entry.status = WaitlistStatus.scheduled
            entry.first_session_at = first[entry_id]
            entry.unscheduled_reasons = None
        else:
            entry.unscheduled_reasons = solver.unscheduled_.get(
                entry_id, ["no free capacity in the horizon"]
            )
    stats = solver.stats_
    run.patients_scheduled = len(first)
    run.sessions_booked = len(rows)
    run.status = stats.status
    gap = stats.gap_pct
    run.gap_pct = gap if gap == gap else None  # NaN when no stage ran
    run.wall_time_s = stats.wall_time_s
    session.flush()
    return run


CALENDAR_MAX_DAYS = 62
"""The longest calendar one request shows (two months); longer views page on ``start``."""


def calendar(
    session: Session, principal: Principal, clinic_id: str, start: date, days: int = 7
) -> list[BookedSession]:
    """A clinic's booked sessions from ``start`` (clinic-local days)."""
    # Refused rather than clamped: a client asking for 90 days and silently getting 62 would
    # show a calendar with sessions missing and no sign of it.
    if not 1 <= days <= CALENDAR_MAX_DAYS:
        raise InvalidInput(
            f"days: {days} is outside 1–{CALENDAR_MAX_DAYS}; ask for 1 to {CALENDAR_MAX_DAYS} "
            "days and page on with start",
            field="days",
        )
    clinic = _clinic_for(session, principal, Permission.fleet_read, clinic_id)
    zone = _zone(clinic)
    lo = datetime.combine(start, time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(start + timedelta(days=days), time(), tzinfo=zone).astimezone(UTC)
    return list(
        session.scalars(
            select(BookedSession)
            .where(
                BookedSession.clinic_id == clinic.id,
                BookedSession.starts_at >= lo,
                BookedSession.starts_at < hi,
            )
            .options(
                selectinload(BookedSession.patient).selectinload(Patient.clinic),
                selectinload(BookedSession.unit),
            )
            .order_by(BookedSession.starts_at, BookedSession.unit_id)
        )
    )


def nameable_patients(principal: Principal, bookings: list[BookedSession]) -> set[str]:
    """Ids of the booked patients whose names the caller may read.

    A clinic's calendar holds patients of other clinics too (the network schedule sends a
    patient to the nearest free unit); their names stay with their own clinic.
    """
    return {
        b.patient_id
        for b in bookings
        if principal.covers(Permission.patients_read, b.patient.clinic.path)
    }


@dataclass
class Utilisation:
    clinic: OrgUnit
    booked_hours: int
    open_unit_hours: int

    @property
    def pct(self) -> float:
        return 100.0 * self.booked_hours / self.open_unit_hours if self.open_unit_hours else 0.0


def utilisation(
    session: Session, principal: Principal, start: date, weeks: int = 4
) -> list[Utilisation]:
    """Booked session-hours against open unit-hours per visible clinic over ``weeks``."""
    built = build_problem(session, start, weeks)
    problem = built.problem
    open_hours: dict[str, int] = defaultdict(int)
    for u in problem.units:
        clinic = problem.clinic_by_id[u.clinic_id]
        open_hours[u.clinic_id] += len(problem.horizon.slots_within(clinic.opening_hours))
    lo = datetime.combine(start, time(), tzinfo=UTC)
    hi = datetime.combine(problem.horizon.end_date, time(), tzinfo=UTC)
    booked = dict(
        session.execute(
            select(BookedSession.clinic_id, func.count())
            .where(BookedSession.starts_at >= lo, BookedSession.starts_at < hi)
            .group_by(BookedSession.clinic_id)
        ).all()
    )
    return [
        Utilisation(c, booked.get(c.id, 0), open_hours.get(c.id, 0))
        for c in built.clinics.values()
        if principal.covers(Permission.fleet_read, c.path) and open_hours.get(c.id)
    ]
