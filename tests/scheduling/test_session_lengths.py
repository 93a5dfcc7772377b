"""Sessions longer than one slot, and a preferred clinic or therapist, on hand-checkable
instances: one Berlin clinic (or two), one unit, 60-min slots with a 15-min changeover."""

from __future__ import annotations

from datetime import date, datetime, time

from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.problem import (
    Assignment,
    Clinic,
    DeviceModel,
    DeviceUnit,
    Horizon,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
    schedule_violations,
)
from exoshare.scheduling.rules import screen
from exoshare.scheduling.solver import SessionScheduler
from tests.scheduling.builders import BERLIN, MONDAY, waiting_patient

MODEL = DeviceModel("A", 1.50, 1.90, 100.0, frozenset({"DE"}))


def patient(pid: str, **kw: object) -> WaitingPatient:
    """One session in the week, a course of one."""
    return waiting_patient(pid, **{"sessions_per_week": 1, "course_sessions": 1, **kw})


def monday_only(opens: int, closes: int) -> dict[int, tuple[time, time]]:
    return {0: (time(opens), time(closes))}


def problem(
    patients: list[WaitingPatient],
    *,
    hours: dict[int, tuple[time, time]],
    unit_booked: tuple[tuple[datetime, datetime], ...] = (),
    therapist_hours: dict[str, dict[int, tuple[time, time]]] | None = None,
    second_clinic: bool = False,
    second_unit_booked: tuple[tuple[datetime, datetime], ...] = (),
) -> SchedulingProblem:
    """Clinic C1 (5.6 km from home) with unit U1 and therapists T1, T2; with ``second_clinic``,
    C2 (11 km from home) with unit U2 and therapist T3."""
    therapist_hours = therapist_hours or {}
    clinics = [Clinic("C1", "DE", "Europe", BERLIN[0] + 0.05, BERLIN[1], hours)]
    units = [DeviceUnit("U1", "A", "C1", booked=unit_booked)]
    therapists = [
        Therapist("T1", "C1", frozenset({"A"}), therapist_hours.get("T1", hours)),
        Therapist("T2", "C1", frozenset({"A"}), therapist_hours.get("T2", hours)),
    ]
    if second_clinic:
        clinics.append(Clinic("C2", "DE", "Europe", BERLIN[0] + 0.10, BERLIN[1], hours))
        units.append(DeviceUnit("U2", "A", "C2", booked=second_unit_booked))
        therapists.append(Therapist("T3", "C2", frozenset({"A"}), hours))
    return SchedulingProblem(
        clinics, [MODEL], units, therapists, patients, Horizon(MONDAY, 1, 60, 15), 40.0
    )


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MONDAY, time(hour, minute))


def test_a_two_slot_session_takes_two_consecutive_slots_of_one_unit_and_one_therapist() -> None:
    # Monday 08:00–11:00, one unit: three slots. P2 wants 2-slot sessions (105 min), P1 one.
    pb = problem(
        [patient("P1"), patient("P2", session_slots=2)],
        hours=monday_only(8, 11),
    )
    s = SessionScheduler(time_limit_s=5, deterministic=True).solve(pb)
    got = {a.patient_id: a for a in s.assignments_}
    assert set(got) == {"P1", "P2"}
    # The longer session is placed first, 08:00–09:45; its changeover ends at 10:00, when P1's
    # one-slot session starts.
    assert (got["P2"].start, got["P2"].end) == (at(8), at(9, 45))
    assert (got["P1"].start, got["P1"].end) == (at(10), at(10, 45))
    assert got["P2"].unit_id == got["P1"].unit_id == "U1"
    assert schedule_violations(pb, s.assignments_) == []
    # The whole session and its changeover are the unit's and the therapist's time.
    after = pb.with_booked([got["P2"]])
    assert after.unit_slots(after.unit_by_id["U1"]) == [10]  # slots count from midnight
    assert after.therapist_slots(after.therapist_by_id[got["P2"].therapist_id]) == [10]


def test_the_baseline_books_the_same_long_session_in_referral_order() -> None:
    # P1 referred first takes 08:00; P2's two slots in a row are 09:00–11:00.
    pb = problem(
        [
            patient("P1", referral_date=date(2025, 1, 10)),
            patient("P2", session_slots=2, referral_date=date(2025, 1, 20)),
        ],
        hours=monday_only(8, 11),
    )
    fcfs = FcfsScheduler(pooled=True).solve(pb)
    got = {a.patient_id: (a.start, a.end) for a in fcfs.assignments_}
    assert got == {"P1": (at(8), at(8, 45)), "P2": (at(9), at(10, 45))}
    assert schedule_violations(pb, fcfs.assignments_) == []


def test_a_two_slot_patient_waits_where_no_two_slots_in_a_row_are_free() -> None:
    # Open 08:00–10:00 but the unit is taken 09:00–10:00: one free slot, not two in a row.
    pb = problem(
        [patient("P2", session_slots=2), patient("P1")],
        hours=monday_only(8, 10),
        unit_booked=((at(9), at(10)),),
    )
    reason = (
        "no room for a 105-min session: nowhere in the horizon are one unit and one certified "
        "therapist both free for 2 consecutive slots, for A at C1"
    )
    assert screen(pb).reasons["P2"] == [reason]
    s = SessionScheduler(time_limit_s=5, deterministic=True).solve(pb)
    assert [(a.patient_id, a.start) for a in s.assignments_] == [("P1", at(8))]
    assert s.unscheduled_["P2"] == [reason]
    fcfs = FcfsScheduler(pooled=True).solve(pb)
    assert [a.patient_id for a in fcfs.assignments_] == ["P1"]
    assert fcfs.unscheduled_["P2"] == [reason]


def test_a_two_slot_session_needs_one_therapist_for_both_slots() -> None:
    # T1 works 08:00–09:00 only, T2 09:00–10:00 only: a unit free 08:00–10:00 but nobody to
    # run the whole sitting (a hand-over half-way is not a session).
    hours = monday_only(8, 10)
    pb = problem(
        [patient("P2", session_slots=2)],
        hours=hours,
        therapist_hours={"T1": monday_only(8, 9), "T2": monday_only(9, 10)},
    )
    s = SessionScheduler(time_limit_s=5, deterministic=True).solve(pb)
    assert s.assignments_ == []
    assert s.unscheduled_["P2"][0].startswith("no room for a 105-min session")


def test_the_verifier_checks_every_slot_of_a_long_session() -> None:
    pb = problem(
        [patient("P2", session_slots=2)],
        hours=monday_only(8, 10),
        unit_booked=((at(9), at(10)),),
    )
    clash = Assignment("P2", "U1", "T1", "C1", at(8), at(9, 45))
    assert schedule_violations(pb, [clash]) == [
        "P2@U1 2025-03-03 08:00: unit closed, in maintenance or already booked"
    ]
    short = Assignment("P2", "U1", "T1", "C1", at(8), at(8, 45))
    assert "session does not last 105 min" in " ".join(schedule_violations(pb, [short]))
    free = problem([patient("P2", session_slots=2)], hours=monday_only(8, 10))
    fits = Assignment("P2", "U1", "T1", "C1", at(8), at(9, 45))
    assert schedule_violations(free, [fits]) == []
    # Two patients' sessions overlapping in the long session's second slot: double booking.
    two = problem([patient("P2", session_slots=2), patient("P1")], hours=monday_only(8, 10))
    overlap = [fits, Assignment("P1", "U1", "T2", "C1", at(9), at(9, 45))]
    assert "P1@U1 2025-03-03 09:00: unit double-booked" in schedule_violations(two, overlap)


def test_a_preferred_therapist_is_given_when_free_and_another_when_not() -> None:
    hours = monday_only(8, 9)
    plain = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem([patient("P1")], hours=hours)
    )
    assert [a.therapist_id for a in plain.assignments_] == ["T1"]
    liked = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem([patient("P1", preferred_therapist_id="T2")], hours=hours)
    )
    assert [a.therapist_id for a in liked.assignments_] == ["T2"]
    # T2 does not work on Monday: the patient is still booked, with T1.
    busy = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem(
            [patient("P1", preferred_therapist_id="T2")],
            hours=hours,
            therapist_hours={"T2": {1: (time(8), time(9))}},
        )
    )
    assert [(a.therapist_id, a.start) for a in busy.assignments_] == [("T1", at(8))]


def test_a_preferred_clinic_is_taken_when_it_costs_no_wait_and_not_otherwise() -> None:
    hours = monday_only(8, 9)
    near = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem([patient("P1")], hours=hours, second_clinic=True)
    )
    assert [a.clinic_id for a in near.assignments_] == ["C1"]  # travel: the nearer clinic
    liked = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem([patient("P1", preferred_clinic_id="C2")], hours=hours, second_clinic=True)
    )
    assert [(a.clinic_id, a.start) for a in liked.assignments_] == [("C2", at(8))]
    # C2's unit is taken that Monday: the patient starts at C1 the same day all the same.
    full = SessionScheduler(time_limit_s=5, deterministic=True).solve(
        problem(
            [patient("P1", preferred_clinic_id="C2")],
            hours=hours,
            second_clinic=True,
            second_unit_booked=((at(8), at(9)),),
        )
    )
    assert [(a.clinic_id, a.start) for a in full.assignments_] == [("C1", at(8))]
