"""Shared-fleet rebalancing: which unbooked unit moves to which clinic's queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from exoshare.scheduling.instances import Network
from exoshare.scheduling.problem import (
    Assignment,
    Clinic,
    DeviceModel,
    DeviceUnit,
    Horizon,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
)
from exoshare.scheduling.rebalance import UnitMove, plan_unit_moves
from exoshare.scheduling.simulation import TRANSIT_WEEKS, _Course, _rebalance, _run_week, _State

MONDAY = date(2025, 3, 3)
HOURS = {d: (time(8), time(9)) for d in range(3)}  # Mon–Wed 8:00–9:00: 3 one-hour slots a week
SLOTS = [datetime.combine(MONDAY + timedelta(days=d), time(8)) for d in range(3)]
A = DeviceModel("A", 1.50, 1.90, 100.0, frozenset({"DE"}))
B = DeviceModel("B", 1.50, 1.90, 100.0, frozenset({"DE", "CH"}))
BERLIN, MUNICH = (52.52, 13.40), (48.14, 11.58)  # ~500 km apart: no patient reaches both


def network(
    busy_country: str = "DE",
    busy_units: tuple[DeviceUnit, ...] = (DeviceUnit("U3", "A", "BUSY"),),
    busy_therapists: tuple[Therapist, ...] = (
        Therapist("T3", "BUSY", frozenset({"A"}), HOURS),
        Therapist("T4", "BUSY", frozenset({"A"}), HOURS),
    ),
) -> tuple[list[Clinic], list[DeviceUnit], list[Therapist]]:
    """IDLE (Munich) holds two units of A nobody uses; BUSY (Berlin) has a queue."""
    clinics = [
        Clinic("IDLE", "DE", "Europe", *MUNICH, HOURS),
        Clinic("BUSY", busy_country, "Europe", *BERLIN, HOURS),
    ]
    units = [DeviceUnit("U1", "A", "IDLE"), DeviceUnit("U2", "A", "IDLE"), *busy_units]
    therapists = [Therapist("T1", "IDLE", frozenset({"A"}), HOURS), *busy_therapists]
    return clinics, units, therapists


def patient(pid: str = "Q", country: str = "DE", per_week: int = 2) -> WaitingPatient:
    return WaitingPatient(
        pid,
        BERLIN[0],
        BERLIN[1] + 0.05,
        country,
        1.75,
        75.0,
        date(2025, 1, 6),
        1.0,
        "routine referral",
        sessions_per_week=per_week,
        course_sessions=20,
        referring_clinic_id="BUSY",
    )


FREE = {"U1": 0, "U2": 0, "U3": 0}
"""Every unit may move, none has a course booked."""


def sessions_on(unit_id: str, therapist_id: str, clinic_id: str) -> list[Assignment]:
    """The unit and therapist busy in all three slots of the week."""
    return [
        Assignment("X", unit_id, therapist_id, clinic_id, s, s + timedelta(hours=1)) for s in SLOTS
    ]


def period(
    clinics: list[Clinic],
    units: list[DeviceUnit],
    therapists: list[Therapist],
    waiting: list[WaitingPatient],
) -> SchedulingProblem:
    return SchedulingProblem(
        clinics, [A, B], units, therapists, waiting, Horizon(MONDAY, 1), travel_limit_km=50.0
    )


def test_an_idle_unit_moves_to_the_queue_whose_certified_therapist_is_free():
    # BUSY's only unit ran all 3 slots with T3 while T4 (certified for A) sat free: one more unit
    # would have given 3 sessions; the queue wants 2 a week, so the gain is min(3, 2) = 2. Both
    # units of IDLE gave nothing: taking one loses nothing. Exactly one unit moves (one per group).
    pb = period(*network(), [patient()])
    moves = plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), FREE)
    assert len(moves) == 1
    (move,) = moves
    assert move.unit_id in {"U1", "U2"}
    assert move == UnitMove(
        move.unit_id, "A", "IDLE", "BUSY", 2, sessions_lost=0, leaves_in_weeks=0
    )
    # Among equally good units, the one whose booked courses end first; none where a unit is
    # already on its way.
    moves = plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), {"U1": 3, "U2": 1})
    assert [(m.unit_id, m.leaves_in_weeks) for m in moves] == [("U2", 1)]
    assert plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), FREE, {"BUSY"}) == []


def test_only_the_units_the_caller_lets_go_may_move():
    # The caller leaves out units in transit or whose courses run too long.
    pb = period(*network(), [patient()])
    assert plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), {"U3": 0}) == []


def test_no_unit_moves_where_the_certified_therapists_are_the_bottleneck():
    # BUSY's unit and its only certified therapist were busy in every slot: another unit would
    # have found nobody to run it, so the queue alone does not attract a unit.
    clinics, units, therapists = network(
        busy_therapists=(Therapist("T3", "BUSY", frozenset({"A"}), HOURS),)
    )
    pb = period(clinics, units, therapists, [patient()])
    assert plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), FREE) == []


def test_no_unit_moves_to_a_country_where_its_model_is_not_approved():
    # BUSY is in Switzerland, where A is not approved; it runs B, and T4 (certified for A and B)
    # sat free while B's unit was busy. A's idle units stay; no B unit is free to move.
    clinics, units, therapists = network(
        busy_country="CH",
        busy_units=(DeviceUnit("U3", "B", "BUSY"),),
        busy_therapists=(
            Therapist("T3", "BUSY", frozenset({"B"}), HOURS),
            Therapist("T4", "BUSY", frozenset({"A", "B"}), HOURS),
        ),
    )
    pb = period(clinics, units, therapists, [patient(country="CH")])
    assert plan_unit_moves(pb, sessions_on("U3", "T3", "BUSY"), FREE) == []


def test_a_unit_moves_only_when_it_gains_more_than_its_clinic_loses():
    # IDLE now has one unit, busy in 2 of its 3 slots with no other unit to take them: moving it
    # loses 2 sessions for a gain of 2 at BUSY, so it stays. With a queue wanting 3 a week the
    # gain is 3 > 2 and it moves.
    clinics, units, therapists = network()
    units = [u for u in units if u.id != "U2"]
    given = sessions_on("U3", "T3", "BUSY") + sessions_on("U1", "T1", "IDLE")[:2]
    assert plan_unit_moves(period(clinics, units, therapists, [patient()]), given, FREE) == []
    moves = plan_unit_moves(period(clinics, units, therapists, [patient(per_week=3)]), given, FREE)
    assert moves == [UnitMove("U1", "A", "IDLE", "BUSY", 3, sessions_lost=2, leaves_in_weeks=0)]


def test_simulation_moves_the_unit_and_keeps_it_out_of_service_in_transit():
    # The review at week 4 sees the last 4 weeks' bookings (BUSY's unit full, T4 free), moves an
    # idle unit from IDLE to BUSY at once, and the moved unit is unavailable for TRANSIT_WEEKS:
    # its transit counts as bookable time, at BUSY.
    clinics, units, therapists = network()
    net = Network(clinics, [A, B], units, therapists)
    review = MONDAY + timedelta(weeks=4)
    state = _State(waitlist=[patient()], sessions=sessions_on("U3", "T3", "BUSY"), units=units)
    _rebalance(net, review, state, 50.0, week_index=4)
    assert [(m.from_clinic_id, m.to_clinic_id) for _, m in state.moves] == [("IDLE", "BUSY")]
    moved = state.moves[0][1].unit_id
    assert state.arrival == {moved: review + timedelta(weeks=TRANSIT_WEEKS)}
    assert {u.id: u.clinic_id for u in state.units}[moved] == "BUSY"
    _run_week(net, review, state, "fcfs", 50.0, 1.0, 1, 0)
    assert all(a.unit_id != moved for a in state.sessions if a.start.date() >= review)
    assert state.bookable_by_week[-1][moved] == 3
    assert state.clinic_by_week[-1][moved] == "BUSY"


def test_a_course_in_progress_keeps_its_unit_until_it_ends():
    # Both units of IDLE carry a course (U1's ends in 1 week, U2's in 2). U1 is chosen: it stays
    # at IDLE for its course's last week and takes no new patient (R, a patient of IDLE, waits
    # although U1 and a therapist are free on Tuesday and Wednesday), then leaves the week after.
    clinics, units, therapists = network()
    therapists.append(Therapist("T2", "IDLE", frozenset({"A"}), HOURS))
    net = Network(clinics, [A, B], units, therapists)
    review = MONDAY + timedelta(weeks=4)
    near_idle = replace(patient("R"), home_lat_deg=MUNICH[0], home_lon_deg=MUNICH[1] + 0.05)
    courses = [
        _Course(replace(patient("C1", per_week=1), referring_clinic_id="IDLE"), "U1", 1, 8),
        _Course(replace(patient("C2", per_week=3), referring_clinic_id="IDLE"), "U2", 6, 8),
    ]
    state = _State(
        waitlist=[patient(), replace(near_idle, referring_clinic_id="IDLE")],
        ongoing=courses,
        sessions=sessions_on("U3", "T3", "BUSY"),
        units=units,
    )
    _rebalance(net, review, state, 50.0, week_index=4)
    assert [(m.unit_id, m.leaves_in_weeks) for _, m in state.moves] == [("U1", 1)]
    assert state.units == units and state.arrival == {}
    _run_week(net, review, state, "fcfs", 50.0, 1.0, 1, 0)
    at_idle = [(a.patient_id, a.unit_id) for a in state.sessions if a.clinic_id == "IDLE"]
    assert at_idle == [("C1", "U1")] + [("C2", "U2")] * 3
    assert [p.id for p in state.waitlist] == ["R"]
    next_week = review + timedelta(weeks=1)
    _rebalance(net, next_week, state, 50.0, week_index=5)
    assert {u.id: u.clinic_id for u in state.units}["U1"] == "BUSY"
    assert state.arrival == {"U1": next_week + timedelta(weeks=TRANSIT_WEEKS)}
