"""Courses already started: their next sessions, booked before any new start, on their own unit,
therapist and time of day where these are free.

A patient in the middle of a course has the stronger claim on the clinic's time: stopping a course
half-way loses what it has built, a new start can wait a week. So a schedule run books every
started course first (week by week, longest weighted wait first), and only then plans the
waitlist around those sessions (:meth:`SchedulingProblem.with_booked`). Pure: no database or web
imports.

>>> course = StartedCourse(patient, "C1", "EXO-A", "U1", "T1", 9)  # doctest: +SKIP
>>> plan = continue_courses(problem, [course])  # doctest: +SKIP
>>> plan.assignments[0].unit_id, plan.short["P1"]  # doctest: +SKIP
('U1', ['week 2: 1 of 2 sessions: no day left on which a unit of its model and a ...'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from exoshare.scheduling.ledger import Ledger
from exoshare.scheduling.problem import Assignment, SchedulingProblem, WaitingPatient


@dataclass(frozen=True)
class StartedCourse:
    """A patient whose course has begun, and where it has been given so far."""

    patient: WaitingPatient
    """``course_sessions`` is what is still to be booked; ``booked`` the sessions already on the
    calendar inside the horizon (they count towards each week's dose)."""
    clinic_id: str
    model_id: str
    """Where and on which model the course has been given; it continues there."""
    unit_id: str | None
    """The unit of the latest session: kept when free (fitting and settings stay as they were)."""
    therapist_id: str | None
    slot_of_day: int | None
    """The slot of the day of the latest session (clinic-local), kept when free."""


@dataclass
class Continuation:
    assignments: list[Assignment] = field(default_factory=list)
    short: dict[str, list[str]] = field(default_factory=dict)
    """Patient id -> each week in which the course got less than its dose, and why."""


def continue_courses(problem: SchedulingProblem, courses: Sequence[StartedCourse]) -> Continuation:
    """Book every started course's sessions over the horizon, before anyone new.

    Per week, each course gets up to its weekly dose less what it already has that week, on
    distinct days: first on its own unit (its usual therapist and time of day preferred), else on
    another unit of the same model at the same clinic. Courses are served week by week, longest
    weighted wait first, so a crowded week shares out rather than one course taking every slot.
    """
    h = problem.horizon
    ledger = Ledger(problem)
    out = Continuation()
    units_of: dict[tuple[str, str], list[str]] = {}
    for u in problem.units:
        units_of.setdefault((u.clinic_id, u.model_id), []).append(u.id)
    left = {c.patient.id: c.patient.course_sessions for c in courses}
    order = sorted(
        courses,
        key=lambda c: (-c.patient.priority_weight * _waited(c.patient, problem), c.patient.id),
    )
    for c in order:
        ledger.patient_days |= {(c.patient.id, d) for d in problem.patient_days(c.patient)}
    for week in range(h.weeks):
        for c in order:
            p = c.patient
            need = min(
                p.sessions_per_week - problem.patient_week_sessions(p).get(week, 0), left[p.id]
            )
            if need <= 0:
                continue
            candidates = _units_for(problem, c, units_of)
            if not candidates:
                out.short.setdefault(p.id, []).append(
                    f"week {week + 1}: 0 of {need} sessions: its unit is no longer at the clinic "
                    "and no other unit of its model is there"
                )
                continue
            best: tuple[str, list[tuple[int, str]]] | None = None
            for uid in candidates:
                plan = ledger.week_plan(p, uid, week, need, c.slot_of_day, c.therapist_id)
                if best is None or len(plan) > len(best[1]):
                    best = (uid, plan)
                if len(plan) == need:
                    break
            assert best is not None
            uid, plan = best
            booked = ledger.book(p, uid, plan)
            out.assignments.extend(booked)
            left[p.id] -= len(booked)
            if len(booked) < need:
                out.short.setdefault(p.id, []).append(
                    f"week {week + 1}: {len(booked)} of {need} sessions: no day left on which a "
                    "unit of its model and a certified therapist are both free"
                )
    out.assignments.sort(key=lambda a: (a.start, a.unit_id))
    return out


def _waited(p: WaitingPatient, problem: SchedulingProblem) -> int:
    return (problem.horizon.start_date - p.referral_date).days


def _units_for(
    problem: SchedulingProblem, course: StartedCourse, units_of: dict[tuple[str, str], list[str]]
) -> list[str]:
    """The course's own unit first (when the clinic still has it), then the other units of its
    model at its clinic."""
    same = units_of.get((course.clinic_id, course.model_id), [])
    return sorted(same, key=lambda u: u != course.unit_id)
