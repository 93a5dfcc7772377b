"""The status-quo baseline: first-come-first-served per clinic, on the clinic's own devices only."""

from __future__ import annotations

import time as _time
from collections import defaultdict
from datetime import datetime
from typing import Self

from exoshare.scheduling.ledger import Ledger
from exoshare.scheduling.problem import Assignment, SchedulingProblem
from exoshare.scheduling.rules import screen
from exoshare.scheduling.solver import SolveStats


class FcfsScheduler:
    """Each clinic serves its own waitlist in referral order on its own units; ``pooled``, every
    patient goes, in referral order, to the nearest clinic within the travel limit that has room.

    A patient starts in the earliest week in which one of the referring clinic's compatible units
    (same hard rules as the network solver) can give the full weekly dose, then keeps that unit and
    gets as many of the weekly sessions as still fit in later weeks. Results have the same names
    as :class:`~exoshare.scheduling.solver.SessionScheduler`'s.
    """

    def __init__(self, pooled: bool = False) -> None:
        self.pooled = pooled

    def solve(self, problem: SchedulingProblem) -> Self:
        t0 = _time.perf_counter()
        h = problem.horizon
        # Options come nearest first, so pooled FCFS tries the nearest clinic with room first.
        screening = screen(problem, referring_clinic_only=not self.pooled)
        self.unscheduled_: dict[str, list[str]] = dict(screening.reasons)
        self.assignments_: list[Assignment] = []
        self.first_session_: dict[str, datetime] = {}
        ledger = Ledger(problem)
        units_of: dict[tuple[str, str], list[str]] = defaultdict(list)
        for u in problem.units:
            units_of[(u.clinic_id, u.model_id)].append(u.id)
        for p in sorted(problem.patients, key=lambda p: (p.referral_date, p.id)):
            options = screening.options.get(p.id)
            if not options:
                continue
            units = [uid for o in options for uid in units_of[(o.clinic_id, o.model_id)]]
            # A preferred clinic's units are tried first in each week: the same wait, its wish.
            units.sort(key=lambda uid: problem.unit_by_id[uid].clinic_id != p.preferred_clinic_id)
            booked: list[Assignment] = []
            for week in range(h.weeks):
                need = min(p.sessions_per_week, p.course_sessions)
                start = next(
                    (
                        (uid, plan)
                        for uid in units
                        if len(plan := ledger.week_plan(p, uid, week, need)) == need
                    ),
                    None,
                )
                if start is None:
                    continue
                uid, plan = start
                booked = ledger.book(p, uid, plan)
                pref = h.slot_of(booked[0].start) % h.slots_per_day
                left = p.course_sessions - len(booked)
                for later in range(week + 1, h.weeks):
                    if left <= 0:
                        break
                    plan = ledger.week_plan(p, uid, later, min(p.sessions_per_week, left), pref)
                    booked += ledger.book(p, uid, plan)
                    left = p.course_sessions - len(booked)
                break
            if booked:
                self.assignments_ += booked
                self.first_session_[p.id] = booked[0].start
            else:
                where = ", ".join(f"{o.model_id} at {o.clinic_id}" for o in options)
                self.unscheduled_[p.id] = [
                    f"capacity: all compatible slots ({where}) taken by earlier referrals"
                ]
        self.assignments_.sort(key=lambda a: (a.start, a.unit_id))
        st = self.stats_ = SolveStats(n_patients=len(problem.patients))
        st.sessions_scheduled = st.sessions_planned = len(self.assignments_)
        st.patients_scheduled = len(self.first_session_)
        waits = {
            pid: (t.date() - problem.patient_by_id[pid].referral_date).days
            for pid, t in self.first_session_.items()
        }
        st.longest_wait_days = max(waits.values(), default=0)
        st.longest_weighted_wait_days = max(
            (problem.patient_by_id[pid].priority_weight * w for pid, w in waits.items()),
            default=0.0,
        )
        st.travel_km = sum(
            2
            * problem.distance_km(
                problem.patient_by_id[a.patient_id], problem.clinic_by_id[a.clinic_id]
            )
            for a in self.assignments_
        )
        st.wall_time_s = _time.perf_counter() - t0
        return self
