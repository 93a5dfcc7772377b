"""Schedule runs: solve the network's waitlist over a horizon and book the result."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, InvalidInput, PermissionDenied
from exoshare.network import service as network_service
from exoshare.scheduling.bookings import DEFAULT_CHANGEOVER_MIN, insert_sessions
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.courses import continue_courses
from exoshare.scheduling.models import BookedSession, ScheduleRun
from exoshare.scheduling.problem import PLAN_WEEKS
from exoshare.scheduling.problem_from_db import build_problem
from exoshare.scheduling.schemas import WaitlistStatus


def run_schedule(
    session: Session,
    principal: Principal,
    start: date,
    weeks: int = PLAN_WEEKS,
    travel_limit_km: float = 50.0,
    time_limit_s: float = 30.0,
    num_workers: int = 2,
    changeover_min: int = DEFAULT_CHANGEOVER_MIN,
) -> ScheduleRun:
    """Continue the started courses, then solve the waitlist over ``weeks`` from ``start``, and
    book both.

    Started courses go first, on their own unit, therapist and time of day where free; the
    waiting patients are planned around them and around every session already on the calendar
    (booked by hand too). Patients the solver cannot place keep waiting with the reasons it gave;
    booked ones move to ``scheduled`` with their first session. All or nothing: a slot taken
    meanwhile aborts the run.
    """
    from exoshare.scheduling.solver import SessionScheduler

    if not principal.has_role(Role.consortium_operator):
        raise PermissionDenied.worded(N_("the network schedule is run by the consortium operator"))
    if not 1 <= weeks <= 12:
        raise InvalidInput.worded(N_("weeks must be 1–12"), also={"field": "weeks"})
    # Every clinic, unit, therapist and patient the run touches is in the caller's scope.
    in_scope = [
        c.id
        for c in network_service.clinics_in_scope(session, principal, Permission.scheduling_manage)
    ]
    built = build_problem(
        session, start, weeks, travel_limit_km, clinic_ids=in_scope, changeover_min=changeover_min
    )
    continued = continue_courses(built.problem, built.courses)
    problem = built.problem.with_booked(continued.assignments)
    run = ScheduleRun(
        horizon_start=start,
        weeks=weeks,
        travel_limit_km=travel_limit_km,
        patients_waiting=len(problem.patients),
        triggered_by_id=principal.user_ref,
    )
    session.add(run)
    session.flush()
    if not problem.patients and not continued.assignments:
        run.status = "nothing to schedule"
        return run
    solver = SessionScheduler(time_limit_s=time_limit_s, num_workers=num_workers).solve(problem)
    rows = []
    for a in [*continued.assignments, *solver.assignments_]:
        zone = zone_of(built.clinics[a.clinic_id])
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
    insert_sessions(session, rows)
    first: dict[str, datetime] = {}
    for row in rows[len(continued.assignments) :]:
        if row.waitlist_entry_id and (
            row.waitlist_entry_id not in first or row.starts_at < first[row.waitlist_entry_id]
        ):
            first[row.waitlist_entry_id] = row.starts_at
    for course in built.courses:
        entry = built.entries[course.patient.id]
        entry.status = WaitlistStatus.scheduled
        entry.unscheduled_reasons = continued.short.get(entry.id)
    for p in problem.patients:
        entry = built.entries[p.id]
        if entry.id in first:
            entry.status = WaitlistStatus.scheduled
            entry.first_session_at = first[entry.id]
            entry.unscheduled_reasons = None
        else:
            entry.unscheduled_reasons = solver.unscheduled_.get(
                entry.id, ["no free capacity in the horizon"]
            )
    stats = solver.stats_
    run.patients_scheduled = len(first)
    run.sessions_booked = len(rows)
    run.status = stats.status or "courses continued"
    gap = stats.gap_pct
    run.gap_pct = gap if gap == gap else None  # NaN when no stage ran
    run.wall_time_s = stats.wall_time_s
    run.notes = (
        f"started courses continued first: {len(built.courses)}, "
        f"with {len(continued.assignments)} sessions"
    )
    session.flush()
    return run
