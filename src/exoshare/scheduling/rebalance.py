"""Shared-fleet rebalancing: which units to move to which clinic's queue, and why.

A shared fleet can do what clinics owning their devices cannot: move a unit from where it sits
idle to where patients wait for it. The decision is made periodically from what the last period
showed, in sessions:

- **gain** of one more unit of model *m* at clinic *c*: the hours of the period in which a
  therapist of *c* certified for *m* was working and free while no unit of *m* at *c* was free
  (what an extra unit would have turned into sessions), capped by the demand of today's queue
  that may use *m* at *c* under the hard rules (size and weight in range, *m* approved in
  *c*'s country, where it would be used, *c* within the travel limit). Units alone do not
  treat anyone: where the certified therapists are the ones fully booked, the gain is zero
  and nothing moves there.
- **loss** of taking a unit away: its sessions of the period at hours when no other unit of its
  model at its clinic was free (the others could have taken the rest).

A course in progress never loses its unit: a unit chosen while courses are booked on it takes no
new course and leaves when they end (``leaves_in_weeks``).

>>> moves = plan_unit_moves(last_period, sessions, weeks_booked={"C06-U3": 2})  # doctest: +SKIP
>>> moves[0]  # doctest: +SKIP
UnitMove(unit_id='C06-U3', model_id='TRD-1', from_clinic_id='C06', to_clinic_id='C05',
         sessions_gained=96, sessions_lost=0, leaves_in_weeks=2)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from exoshare.scheduling.problem import Assignment, SchedulingProblem


@dataclass(frozen=True)
class UnitMove:
    """One custody move proposed by :func:`plan_unit_moves`."""

    unit_id: str
    model_id: str
    from_clinic_id: str
    to_clinic_id: str
    sessions_gained: int
    """Sessions the unit would have added at the destination over the last period (see module)."""
    sessions_lost: int
    """Sessions of the last period the source clinic could not have given without the unit."""
    leaves_in_weeks: int
    """Weeks until the courses booked on the unit end; it takes no new course meanwhile."""


def plan_unit_moves(
    period: SchedulingProblem,
    sessions: Iterable[Assignment],
    weeks_booked: Mapping[str, int],
    incoming_clinic_ids: Collection[str] = (),
) -> list[UnitMove]:
    """The moves that add the most sessions net of what the sources lose, at most one per group.

    ``period`` is the network as it is now (units at their current clinic, nothing in
    ``booked``), with the horizon of the period just ended and the waitlist of today as
    ``patients``; ``sessions`` are the sessions given in that period. Only the units in
    ``weeks_booked`` may move, each with the weeks until the courses booked on it end (0: none);
    the caller leaves out units in transit or already chosen. Clinics in
    ``incoming_clinic_ids`` already have a unit on its way and get no other one.

    At most one unit leaves each (clinic, model) and at most one arrives at each clinic per
    decision, because gain and loss are measured for one unit (and a therapist certified for two
    models counts in the gain of both): after a move, the next period's measurements show whether
    another one is worth it. A move is proposed only when it gains more than it loses; among
    equally good moves, the unit that leaves soonest. The choice is an assignment problem, solved
    exactly with CP-SAT.
    """
    pb = period
    unit_busy: dict[str, set[int]] = defaultdict(set)
    ther_busy: dict[str, set[int]] = defaultdict(set)
    for a in sessions:
        if pb.horizon.start_date <= a.start.date() < pb.horizon.end_date:
            # Every slot the session holds: a session of several slots takes all of them.
            held = pb.horizon.slots_overlapping([(a.start, a.end)])
            unit_busy[a.unit_id] |= held
            ther_busy[a.therapist_id] |= held
    units_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for u in pb.units:
        units_of[(u.clinic_id, u.model_id)].append(u.id)
    unit_free = {u.id: set(pb.unit_slots(u)) - unit_busy[u.id] for u in pb.units}

    gain: dict[tuple[str, str], int] = {}
    for c in pb.clinics:
        for m in pb.models:
            if c.id in incoming_clinic_ids or c.country not in m.approved_countries:
                continue
            ther_free: set[int] = set()
            for t in pb.therapists:
                if t.clinic_id == c.id and m.id in t.certified_model_ids:
                    ther_free |= set(pb.therapist_slots(t)) - ther_busy[t.id]
            spare = ther_free.difference(*(unit_free[uid] for uid in units_of[(c.id, m.id)]))
            demand = pb.horizon.weeks * sum(
                p.sessions_per_week * p.session_slots
                for p in pb.patients
                if m.fits(p.height_m, p.weight_kg) and pb.distance_km(p, c) <= pb.travel_limit_km
            )
            if min(len(spare), demand) > 0:
                gain[(c.id, m.id)] = min(len(spare), demand)

    # For each unit that may move: the sessions no other unit of its group could have taken.
    loss: dict[str, int] = {}
    for u in pb.units:
        if u.id not in weeks_booked:
            continue
        others = [unit_free[o] for o in units_of[(u.clinic_id, u.model_id)] if o != u.id]
        loss[u.id] = sum(1 for s in unit_busy[u.id] if not any(s in free for free in others))

    candidates = [
        (uid, dest, gain[dest] - loss[uid])
        for uid in sorted(loss)
        for dest in sorted(gain)
        if dest[1] == pb.unit_by_id[uid].model_id
        and dest[0] != pb.unit_by_id[uid].clinic_id
        and gain[dest] > loss[uid]
    ]
    if not candidates:
        return []
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"move_{i}") for i in range(len(candidates))]
    by_unit: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    leaving: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
    arriving: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for var, (uid, dest, _) in zip(x, candidates, strict=True):
        u = pb.unit_by_id[uid]
        by_unit[uid].append(var)
        leaving[(u.clinic_id, u.model_id)].append(var)
        arriving[dest[0]].append(var)
    for group in (*by_unit.values(), *leaving.values(), *arriving.values()):
        model.add_at_most_one(group)
    # Net sessions first; the weeks until the unit leaves only break ties.
    tie = 1 + max(weeks_booked[uid] for uid, _, _ in candidates)
    model.maximize(
        sum(
            (v * tie - weeks_booked[uid]) * var
            for var, (uid, _, v) in zip(x, candidates, strict=True)
        )
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # small and deterministic
    solver.parameters.max_time_in_seconds = 10.0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return []
    moves = []
    for var, (uid, dest, _) in zip(x, candidates, strict=True):
        if solver.boolean_value(var):
            u = pb.unit_by_id[uid]
            moves.append(
                UnitMove(
                    uid, u.model_id, u.clinic_id, dest[0], gain[dest], loss[uid], weeks_booked[uid]
                )
            )
    return moves
