"""The status-quo FCFS baseline and the week-by-week network simulation."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time

from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.instances import Network
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
from exoshare.scheduling.simulation import (
    SimulationResult,
    _Course,
    _run_week,
    _State,
    render_table,
    simulate_network,
)
from exoshare.scheduling.solver import SessionScheduler

MONDAY = date(2025, 3, 3)
HOURS = {d: (time(8), time(9)) for d in range(3)}  # 3 one-hour slots a week per unit


def two_clinics(patients: list[WaitingPatient]) -> SchedulingProblem:
    model = DeviceModel("A", 1.50, 1.90, 100.0, frozenset({"DE"}))
    clinics = [
        Clinic("BUSY", "DE", "Europe", 52.52, 13.40, HOURS),
        Clinic("IDLE", "DE", "Europe", 52.52, 13.55, HOURS),  # ~10 km east
    ]
    units = [DeviceUnit("U1", "A", "BUSY"), DeviceUnit("U2", "A", "IDLE")]
    therapists = [
        Therapist("T1", "BUSY", frozenset({"A"}), HOURS),
        Therapist("T2", "IDLE", frozenset({"A"}), HOURS),
    ]
    return SchedulingProblem(clinics, [model], units, therapists, patients, Horizon(MONDAY, 1), 50)


def waiting(pid: str, referred: date) -> WaitingPatient:
    return WaitingPatient(
        pid,
        52.52,
        13.45,
        "DE",
        1.75,
        75.0,
        referred,
        1.0,
        "routine referral",
        sessions_per_week=3,
        course_sessions=20,
        referring_clinic_id="BUSY",
    )


def test_fcfs_serves_in_referral_order_on_own_devices_only():
    first, second = waiting("FIRST", date(2025, 1, 5)), waiting("SECOND", date(2025, 1, 20))
    pb = two_clinics([second, first])
    fcfs = FcfsScheduler().solve(pb)
    assert schedule_violations(pb, fcfs.assignments_) == []
    assert Counter((a.patient_id, a.unit_id) for a in fcfs.assignments_) == {("FIRST", "U1"): 3}
    assert fcfs.unscheduled_["SECOND"] == [
        "capacity: all compatible slots (A at BUSY) taken by earlier referrals"
    ]
    # The network solver uses the idle clinic 10 km away for the second patient.
    net = SessionScheduler(time_limit_s=3, num_workers=1).solve(pb)
    assert schedule_violations(pb, net.assignments_) == []
    assert {a.unit_id for a in net.assignments_} == {"U1", "U2"}
    assert net.stats_.sessions_scheduled == 6 and not net.unscheduled_


def test_pooled_fcfs_sends_the_second_referral_to_the_nearest_clinic_with_room():
    first, second = waiting("FIRST", date(2025, 1, 5)), waiting("SECOND", date(2025, 1, 20))
    pb = two_clinics([second, first])
    pooled = FcfsScheduler(pooled=True).solve(pb)
    assert schedule_violations(pb, pooled.assignments_) == []
    # Home is 3.4 km from BUSY and 6.8 km from IDLE: FIRST takes the nearer, SECOND the other.
    assert Counter((a.patient_id, a.unit_id) for a in pooled.assignments_) == {
        ("FIRST", "U1"): 3,
        ("SECOND", "U2"): 3,
    }


def test_fcfs_books_only_full_weekly_dose_at_start():
    # Monday is in maintenance: two slots cannot give a full 3-per-week first week, so FCFS waits.
    pb = two_clinics([waiting("P", date(2025, 1, 5))])
    blocked = SchedulingProblem(
        pb.clinics,
        pb.models,
        [DeviceUnit("U1", "A", "BUSY", maintenance=((_at(MONDAY, 8), _at(MONDAY, 9)),))],
        pb.therapists[:1],
        pb.patients,
        pb.horizon,
        50,
    )
    fcfs = FcfsScheduler().solve(blocked)
    assert fcfs.assignments_ == []
    assert fcfs.unscheduled_["P"][0].startswith("capacity")


def _at(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour))


def test_small_simulation_returns_sane_numbers_and_repeats_them_exactly():
    def run() -> SimulationResult:
        return simulate_network(
            weeks=2,
            n_clinics=5,
            n_units=8,
            initial_waitlist=40,
            arrivals_per_week=10,
            solver_time_limit_s=1.0,
            num_workers=1,
            seed=1,
        )

    result = run()
    for pol in ("fcfs", "pooled_fcfs", "exoshare"):
        m = result.overall[pol]
        assert m.patients_arrived >= 40
        assert 0 < m.patients_started <= m.patients_arrived
        assert 0 <= m.mean_wait_days <= m.p90_wait_days <= m.p95_wait_days
        assert 0 < m.first_week_dose_pct <= 100
        assert 0 < m.utilisation_pct <= 100
        assert m.sessions > 0 and m.travel_km_per_session > 0
        regions = result.by_region[pol]
        assert sum(r.patients_arrived for r in regions.values()) == m.patients_arrived
        assert sum(r.sessions for r in regions.values()) == m.sessions
    # Sharing devices across the network never books fewer sessions in this setting.
    assert result.overall["exoshare"].sessions >= result.overall["fcfs"].sessions
    table = render_table(result)
    assert "| network | fcfs |" in table and "mean wait vs pooled FCFS" in table
    # No policy waits less on average than every patient starting at their first possible day.
    bound = result.wait_lower_bound_days["overall"]
    assert 0 < bound <= min(m.mean_wait_days for m in result.overall.values())
    # Deterministic CP-SAT (the default): the same seed gives the same figures.
    assert run().overall == result.overall


def test_rolling_plan_commits_only_the_first_week_and_keeps_ongoing_courses():
    # One unit with 3 slots a week. "ONGOING" is in a course (4 sessions left, 1 a week) and
    # takes Monday; "NEW" (referred earlier than "LATE") can take the 2 slots left each week.
    # The plan covers 4 weeks; only week 1 may be committed.
    pb = two_clinics([])
    network = Network(
        list(pb.clinics), list(pb.models), list(pb.units[:1]), list(pb.therapists[:1])
    )
    ongoing = replace(waiting("ONGOING", date(2024, 12, 1)), sessions_per_week=1)
    new = replace(waiting("NEW", date(2025, 1, 5)), sessions_per_week=2, course_sessions=6)
    late = replace(waiting("LATE", date(2025, 2, 20)), sessions_per_week=2, course_sessions=6)
    state = _State(waitlist=[new, late], ongoing=[_Course(ongoing, "U1", 4, 8)])
    _run_week(network, MONDAY, state, "exoshare", 50.0, 3.0, 1, 0, plan_weeks=4)
    week_end = datetime.combine(date(2025, 3, 10), time())
    assert state.sessions and all(
        MONDAY <= a.start.date() < week_end.date() for a in state.sessions
    )
    by_patient = Counter(a.patient_id for a in state.sessions)
    assert by_patient["ONGOING"] == 1  # its course stays on the calendar, on its own unit
    assert all(a.unit_id == "U1" for a in state.sessions)
    assert len({a.start for a in state.sessions}) == len(state.sessions)  # no double booking
    courses = {c.patient.id: c.left for c in state.ongoing}
    assert courses["ONGOING"] == 3
    # Only one new patient fits next to the course: NEW (longest wait) starts this week and the
    # rest of its course is carried over. LATE fits in week 4 of the plan (after NEW's 3 weeks),
    # but nothing of a later week is committed: LATE stays on the waitlist, to be planned again.
    assert state.started == {"NEW": date(2025, 3, 4)}  # Monday 8:00 is the course's
    assert by_patient["NEW"] == 2 and courses["NEW"] == 4
    assert [p.id for p in state.waitlist] == ["LATE"]
    assert len(state.bookable_by_week) == 1 and state.bookable_by_week[0]["U1"] == 3


def test_started_courses_keep_the_sessions_their_plan_gave_them():
    # A course keeps the later sessions the policy's own plan gave it (its appointments) instead
    # of being re-packed by the greedy booking, which would take the earliest free day (Monday);
    # a planned session that is no longer free falls back to the greedy booking.
    pb = two_clinics([])
    network = Network(
        list(pb.clinics), list(pb.models), list(pb.units[:1]), list(pb.therapists[:1])
    )
    wednesday = datetime.combine(date(2025, 3, 5), time(8))
    x = replace(waiting("X", date(2024, 12, 1)), sessions_per_week=1)
    y = replace(waiting("Y", date(2024, 12, 2)), sessions_per_week=1)
    planned = {wednesday: ("U1", "T1")}
    state = _State(
        ongoing=[_Course(x, "U1", 3, 0, dict(planned)), _Course(y, "U1", 3, 0, dict(planned))]
    )
    _run_week(network, MONDAY, state, "fcfs", 50.0, 3.0, 1, 0)
    start = {a.patient_id: a.start for a in state.sessions}
    assert start["X"] == wednesday
    assert start["Y"] == datetime.combine(MONDAY, time(8))
    assert {c.patient.id: c.left for c in state.ongoing} == {"X": 2, "Y": 2}
