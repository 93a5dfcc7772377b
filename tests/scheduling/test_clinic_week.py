"""A clinic's real week on hand-checkable instances: started courses first, sessions already on
the calendar, public holidays, changeover time."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time

from exoshare.scheduling.courses import StartedCourse, continue_courses
from exoshare.scheduling.problem import (
    Clinic,
    DeviceModel,
    DeviceUnit,
    Horizon,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
    schedule_violations,
)
from exoshare.scheduling.public_holidays import public_holidays
from exoshare.scheduling.solver import SessionScheduler
from tests.scheduling.builders import BERLIN, MONDAY, waiting_patient


def patient(pid: str, **kw: object) -> WaitingPatient:
    """A course of three sessions a week, referred in January (the week's instances)."""
    return waiting_patient(
        pid,
        **{"referral_date": date(2025, 1, 6), "sessions_per_week": 3, "course_sessions": 3, **kw},
    )


def clinic_problem(
    patients: list[WaitingPatient],
    *,
    hours: dict[int, tuple[time, time]] | None = None,
    start: date = MONDAY,
    closed: frozenset[date] = frozenset(),
    changeover_min: int = 0,
    unit_booked: tuple[tuple[datetime, datetime], ...] = (),
) -> SchedulingProblem:
    """One Berlin clinic, one unit of model A, two therapists certified for it."""
    hours = hours or {d: (time(8), time(9)) for d in range(5)}  # one slot a weekday
    clinic = Clinic("C1", "DE", "Europe", BERLIN[0] + 0.05, BERLIN[1], hours, closed_days=closed)
    model = DeviceModel("A", 1.50, 1.90, 100.0, frozenset({"DE"}))
    therapists = [
        Therapist("T1", "C1", frozenset({"A"}), hours),
        Therapist("T2", "C1", frozenset({"A"}), hours),
    ]
    return SchedulingProblem(
        [clinic],
        [model],
        [DeviceUnit("U1", "A", "C1", booked=unit_booked)],
        therapists,
        patients,
        Horizon(start, 1, changeover_min=changeover_min),
        40.0,
    )


def solve(problem: SchedulingProblem) -> SessionScheduler:
    return SessionScheduler(time_limit_s=2, num_workers=1).solve(problem)


def test_a_started_course_continues_on_its_unit_and_therapist_ahead_of_a_new_start():
    # Five slots in the week (Mon–Fri 08:00). The started course wants 3 a week with T2; the new
    # patient has waited longer (since 2024) and wants 2 a week.
    started = patient("STARTED", referral_date=date(2025, 2, 3), course_sessions=6)
    new = patient("NEW", referral_date=date(2024, 12, 2), sessions_per_week=2)
    everyone = clinic_problem([started, new])
    course = StartedCourse(started, "C1", "A", "U1", "T2", slot_of_day=8)
    plan = continue_courses(clinic_problem([]), [course])
    # The course takes the first three days on its unit, with its own therapist at 08:00.
    assert [(a.unit_id, a.therapist_id, a.start) for a in plan.assignments] == [
        ("U1", "T2", datetime(2025, 3, d, 8)) for d in (3, 4, 5)
    ]
    assert plan.short == {}
    # The new start is planned around them: the two days left.
    rest = solve(clinic_problem([new]).with_booked(plan.assignments))
    assert [a.start for a in rest.assignments_] == [
        datetime(2025, 3, 6, 8),
        datetime(2025, 3, 7, 8),
    ]
    assert schedule_violations(everyone, [*plan.assignments, *rest.assignments_]) == []


def test_a_course_whose_unit_is_busy_moves_to_another_therapist_and_says_what_is_short():
    # Its therapist T2 is on leave all week (a booked interval); T1 is certified and free.
    started = patient("STARTED", sessions_per_week=2, course_sessions=2)
    leave = ((datetime(2025, 3, 3), datetime(2025, 3, 8)),)
    hours = {d: (time(8), time(9)) for d in range(5)}
    pb = clinic_problem([])
    pb = SchedulingProblem(
        pb.clinics,
        pb.models,
        pb.units,
        [
            Therapist("T1", "C1", frozenset({"A"}), hours),
            Therapist("T2", "C1", frozenset({"A"}), hours, booked=leave),
        ],
        [],
        pb.horizon,
        40.0,
    )
    plan = continue_courses(pb, [StartedCourse(started, "C1", "A", "U1", "T2", 8)])
    assert {a.therapist_id for a in plan.assignments} == {"T1"}
    assert len(plan.assignments) == 2
    # A course at a clinic without a unit of its model left gets nothing, and says why.
    gone = continue_courses(pb, [StartedCourse(started, "C1", "B", None, "T2", 8)])
    assert gone.assignments == []
    assert gone.short == {
        "STARTED": [
            "week 1: 0 of 2 sessions: its unit is no longer at the clinic and no other unit of "
            "its model is there"
        ]
    }


def test_a_session_already_booked_by_hand_counts_and_is_not_overlapped():
    # Booked by hand on Monday 08:00 on U1; the patient wants 2 a week.
    monday_8 = (datetime(2025, 3, 3, 8), datetime(2025, 3, 3, 9))
    hand = patient("HAND", sessions_per_week=2, course_sessions=5, booked=(monday_8,))
    pb = clinic_problem(
        [hand], hours={d: (time(8), time(10)) for d in range(5)}, unit_booked=(monday_8,)
    )
    s = solve(pb)
    # One more session (2 a week less the one already booked), not on Monday.
    assert len(s.assignments_) == 1
    assert s.assignments_[0].start.date() != date(2025, 3, 3)
    assert schedule_violations(pb, s.assignments_) == []
    # The checker itself refuses a second session on the hand-booked day.
    same_day = [
        a.__class__("HAND", "U1", "T1", "C1", datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 10))
        for a in s.assignments_
    ]
    assert "patient has two sessions on one day" in " ".join(schedule_violations(pb, same_day))


def test_no_session_lands_on_a_public_holiday():
    # Christmas week 2025 in Germany: 25 and 26 December are public holidays.
    start = date(2025, 12, 22)
    closed = public_holidays("DE", start, date(2025, 12, 28))
    assert closed == {date(2025, 12, 25), date(2025, 12, 26)}
    wants_three = patient("P1", sessions_per_week=3, course_sessions=3)
    s = solve(clinic_problem([wants_three], start=start, closed=closed))
    assert [a.start.date() for a in s.assignments_] == [
        date(2025, 12, 22),
        date(2025, 12, 23),
        date(2025, 12, 24),
    ]


def test_a_changeover_is_kept_between_two_patients_on_one_unit():
    # Monday 08:00–10:00 only: two patients, one session each, 15 minutes to change over.
    hours = {0: (time(8), time(10))}
    one_each = [patient(p, sessions_per_week=1, course_sessions=1) for p in ("P1", "P2")]
    pb = clinic_problem(one_each, hours=hours, changeover_min=15)
    s = solve(pb)
    assert sorted((a.start.time(), a.end.time()) for a in s.assignments_) == [
        (time(8), time(8, 45)),
        (time(9), time(9, 45)),
    ]
    assert Counter(a.patient_id for a in s.assignments_) == {"P1": 1, "P2": 1}
    assert schedule_violations(pb, s.assignments_) == []


def test_a_therapists_break_and_daily_limit_are_kept():
    # Monday 08:00–12:00 only; one therapist, on a break 10:00–11:00, at most 2 sessions a day.
    hours = {0: (time(8), time(12))}
    pb = clinic_problem(
        [patient(f"P{i}", sessions_per_week=1, course_sessions=1) for i in range(4)]
    )
    pb = SchedulingProblem(
        [replace(pb.clinics[0], opening_hours=hours)],
        pb.models,
        pb.units,
        [
            Therapist(
                "T1",
                "C1",
                frozenset({"A"}),
                hours,
                away=((datetime(2025, 3, 3, 10), datetime(2025, 3, 3, 11)),),
                max_sessions_per_day=2,
            )
        ],
        pb.patients,
        pb.horizon,
        40.0,
    )
    s = solve(pb)
    assert len(s.assignments_) == 2
    assert time(10) not in {a.start.time() for a in s.assignments_}
    assert schedule_violations(pb, s.assignments_) == []
    # The checker counts the limit too.
    third = replace(s.assignments_[0], patient_id="P3", start=datetime(2025, 3, 3, 11))
    third = replace(third, end=datetime(2025, 3, 3, 12))
    assert "more than the daily limit of 2" in " ".join(
        schedule_violations(pb, [*s.assignments_, third])
    )


def test_a_patient_who_can_come_only_on_wednesday_afternoons_is_booked_then():
    hours = {d: (time(8), time(18)) for d in range(5)}
    wednesday_pm = patient("P1", sessions_per_week=2, available={2: (time(14), time(18))})
    pb = clinic_problem([wednesday_pm], hours=hours)
    s = solve(pb)
    # One session a day, and Wednesday is the only day she can come.
    assert [(a.start.weekday(), a.start.time() >= time(14)) for a in s.assignments_] == [(2, True)]
    assert schedule_violations(pb, s.assignments_) == []
