"""The network-wide session scheduler: lexicographic CP-SAT over (clinic, model, start week).

Why a decomposition: a boolean per (patient, unit, therapist, slot) is ~10⁹ variables on the large
instance. Instead:

1. **Screening** (:mod:`exoshare.scheduling.rules`) keeps, per patient, the (clinic, model) pairs
   that pass every hard rule (size, weight, country approval, travel limit, certified therapist,
   some bookable slot).
2. **Master** (CP-SAT): a boolean per (patient, (clinic, model), start week). A patient who starts
   in week *s* is treated every week from *s* on, at the sessions per week they want, until the
   course ends. Capacities per (clinic, model, week) count bookable unit slots; per (clinic, set of
   models, week) count slots where a unit of the set *and* a certified therapist are free (Hall's
   condition of the unit–therapist matching, aggregated over the week). Every real schedule meets
   these, so the master is a relaxation and CP-SAT's bound is an upper bound on sessions.
   Objectives, lexicographically: (1) maximise sessions, (2a) minimise the longest priority-weighted
   wait, (2b) with that maximum as a bound, minimise the sum of weighted waits per course session
   (shortest course first among equals, Smith's rule), (3) minimise travel
   (see :data:`STAGE_NAMES` for why stage 2 has two steps). Each stage keeps the previous stage's
   value as a constraint and starts from the previous solution as a hint. Metro areas that share no
   patient are separate models, solved stage by stage across all of them (stage-major), so unused
   time of quickly closed components flows to the rest.
3. **Units** (CP-SAT per (clinic, model) with several units): split the group's patients over its
   units so no unit is over-full in any week.
4. **Slots and therapists** (CP-SAT per clinic and week): pick the days of each patient (one
   session a day at most) and the slots of each unit so that, in every slot, the units in use can be
   matched to distinct free certified therapists (Hall's condition per slot over the clinic's
   models); then match therapists per slot with augmenting paths.
"""

from __future__ import annotations

import itertools
import time as _time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self

from ortools.sat.python import cp_model

from exoshare.scheduling.ledger import Ledger
from exoshare.scheduling.problem import (
    Assignment,
    Horizon,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
)
from exoshare.scheduling.rules import Option, screen

STAGE_NAMES = (
    "max sessions",
    "min longest weighted wait (days)",
    "min total weighted wait per course session (days)",
    "min travel (km)",
)
"""The lexicographic stages, in solve order; ``SolveStats.stages`` follows this order.

Stage 2 of the issue ("minimise the longest weighted wait") is solved in two steps. 2a minimises
the maximum, which protects the patient who has waited longest but says nothing about anyone else:
once the max is fixed, every schedule that keeps all other patients at or below it is equally good
to 2a, and CP-SAT returns whichever it meets first. 2b therefore keeps 2a's value as a bound and
minimises the *sum* of weighted waits (equivalently their mean). That never worsens 1 or 2a (both
are constraints), breaks 2a's ties in favour of the many rather than arbitrarily, and is what lowers
the mean wait. Travel comes last, as the issue orders.

2b prices each wait per session of the patient's course (:func:`_per_course_session`): the horizon
sees only the first weeks of a course, while the course holds its unit and therapist for all of
its sessions, so a plain sum would start a 36-session course as readily as a 12-session one that
frees the capacity for two more patients (Smith's rule: weight / processing time). For the same
reason stage 1 counts each course's weekly dose from its start week to the horizon's end
(``_Choice.held``), not only the sessions before its course ends: a 12-session course that ends in
week 3 of a 4-week plan hands its capacity to the next start, and counting it short made stage 1
prefer the long courses that fill the horizon.
"""
WAIT_SCALE = 100
"""Weighted waits enter CP-SAT as integers in 1/100 of a day."""
TRAVEL_SCALE = 10
"""Travel enters CP-SAT as integers in 0.1 km."""
COURSE_SCALE = 100
"""Stage 2b's waits per course session are integers in 1/100 of WAIT_SCALE's unit."""


@dataclass
class StageStats:
    name: str
    status: str
    objective: float
    bound: float
    gap_pct: float
    wall_time_s: float


@dataclass
class SolveStats:
    stages: list[StageStats] = field(default_factory=list)
    wall_time_s: float = 0.0
    n_patients: int = 0
    n_master_variables: int = 0
    sessions_planned: int = 0
    """Sessions in the master solution (an aggregate plan; slots are found afterwards)."""
    sessions_scheduled: int = 0
    """Sessions actually booked in ``assignments_``."""
    patients_scheduled: int = 0
    longest_wait_days: int = 0
    longest_weighted_wait_days: float = 0.0
    travel_km: float = 0.0
    """Round-trip km over all booked sessions."""
    short_starts_rebooked: int = 0
    """Courses whose first week came out of the slot stage short of its dose, handed back to
    the left-over pass (which starts a course only with its whole weekly dose)."""

    @property
    def gap_pct(self) -> float:
        """CP-SAT's relative gap of the first (sessions) stage, in percent."""
        return self.stages[0].gap_pct if self.stages else float("nan")

    @property
    def status(self) -> str:
        return "/".join(s.status for s in self.stages)


@dataclass(frozen=True)
class _Choice:
    patient: int
    group: int
    start_week: int
    per_week: tuple[int, ...]
    sessions: int
    weighted_wait: int
    travel: int
    held: int
    """Stage 1's sessions: the weekly dose from the start week to the horizon's end, as if the
    course went on. A course that ends inside the horizon frees its capacity for the next
    start, which the rolling plan books; counting only its real sessions made stage 1 prefer
    long courses (they fill the horizon), against Smith's rule in stage 2b."""
    slots_per_session: int = 1
    """Consecutive slots each session takes: what one session costs the unit and therapist."""

    def load(self, week: int) -> int:
        """Unit-slots (and therapist-slots) the choice takes in ``week``."""
        return self.per_week[week] * self.slots_per_session


class SessionScheduler:
    """Assign waiting patients' sessions to (unit, therapist, slot) across the whole network.

    >>> sched = SessionScheduler(time_limit_s=10).solve(problem)  # doctest: +SKIP
    >>> sched.stats_.sessions_scheduled, sched.unscheduled_["P3"]  # doctest: +SKIP
    (12, ["height 2.05 m outside every reachable model's range 1.50–1.95 m"])

    Results: ``assignments_`` (booked sessions, sorted by start), ``unscheduled_`` (patient id ->
    reasons in words), ``first_session_`` (patient id -> start of the first session),
    ``stats_`` (:class:`SolveStats`: per-stage objective, CP-SAT bound and gap, wall time).
    """

    def __init__(
        self,
        time_limit_s: float = 60.0,
        num_workers: int = 2,
        random_seed: int = 0,
        max_options_per_patient: int = 4,
        stage_time_shares: tuple[float, ...] = (0.8, 0.07, 0.07, 0.06),
        master_time_share: float = 0.85,
        log_search: bool = False,
        deterministic: bool = False,
        left_over_pass: bool = True,
    ) -> None:
        self.time_limit_s = time_limit_s
        self.num_workers = num_workers
        self.random_seed = random_seed
        self.max_options_per_patient = max_options_per_patient
        self.stage_time_shares = stage_time_shares
        self.master_time_share = master_time_share
        self.log_search = log_search
        self.deterministic = deterministic
        self.left_over_pass = left_over_pass
        """One CP-SAT worker, deterministic time limits and fixed budgets per stage and metro area:
        the same instance and seed give the same schedule whatever the machine's load (the
        network simulation's default; wall-clock limits with rollover otherwise)."""

    # ------------------------------------------------------------------ public action
    def solve(self, problem: SchedulingProblem) -> Self:
        t0 = self._t0 = _time.perf_counter()
        self._problem = problem
        self.stats_ = SolveStats(n_patients=len(problem.patients))
        self.unscheduled_: dict[str, list[str]] = {}
        self.assignments_: list[Assignment] = []
        self.first_session_: dict[str, datetime] = {}
        self._time_of_day: dict[int, int] = {}
        self.__dict__.pop("_usage", None)
        self.__dict__.pop("_start_groups", None)
        self._master_solution: list[_Choice] = []
        # Deterministic mode's budget for the exact sub-solves (units, weeks), in CP-SAT's
        # deterministic seconds: what the master's share leaves of the limit.
        self._deterministic_left = self.time_limit_s * (1 - self.master_time_share)

        self._patient_days = [problem.patient_days(p) for p in problem.patients]
        screening = self._screening = screen(problem)
        self.unscheduled_.update(screening.reasons)
        self._build_groups(screening.group_slots)
        choices = self._enumerate_choices(screening.options)
        chosen = self._solve_master(choices, t0)
        chosen = self._master_solution = self._honour_preferred_clinics(chosen, choices)
        per_unit = self._split_over_units(chosen)
        booked = self._book_slots(per_unit, t0)
        if self.left_over_pass:
            booked = self._without_short_starts(booked)
            booked += self._fill_left_over(booked, screening.options)
        self._collect(booked, chosen, choices, screening.options)
        self.stats_.wall_time_s = _time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ capacities
    def _build_groups(self, group_slots: dict[tuple[str, str], set[int]]) -> None:
        pb, h = self._problem, self._problem.horizon
        self._groups: list[tuple[str, str]] = sorted(g for g, s in group_slots.items() if s)
        self._group_slots = group_slots
        self._gidx = {g: i for i, g in enumerate(self._groups)}
        self._unit_slots = {u.id: set(pb.unit_slots(u)) for u in pb.units}
        self._ther_slots = {t.id: set(pb.therapist_slots(t)) for t in pb.therapists}
        units_by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
        for u in pb.units:
            units_by_group[(u.clinic_id, u.model_id)].append(u.id)
        self._units_by_group = units_by_group
        weeks = range(h.weeks)
        # Slots where a unit of g is usable: unit free and some certified therapist free.
        self._unit_week_cap: dict[tuple[str, int], int] = {}
        self._unit_week_days: dict[tuple[str, int], set[int]] = {}
        self._group_week_cap: dict[tuple[int, int], int] = defaultdict(int)
        self._group_week_days: dict[tuple[int, int], int] = defaultdict(int)
        for g, gi in self._gidx.items():
            usable = group_slots[g]
            for uid in units_by_group[g]:
                slots = self._unit_slots[uid] & usable
                for w in weeks:
                    ws = [s for s in slots if h.week_of(s) == w]
                    days = {h.day_of(s) for s in ws}
                    self._unit_week_cap[(uid, w)] = len(ws)
                    self._unit_week_days[(uid, w)] = days
                    self._group_week_cap[(gi, w)] += len(ws)
                    self._group_week_days[(gi, w)] = max(self._group_week_days[(gi, w)], len(days))
        # Hall capacities per clinic, model subset and week.
        self._hall: list[tuple[list[int], int, int]] = []  # (group ids, week, capacity)
        by_clinic: dict[str, list[str]] = defaultdict(list)
        for c, m in self._groups:
            by_clinic[c].append(m)
        for c, models in by_clinic.items():
            ther = [t for t in pb.therapists if t.clinic_id == c]
            for r in range(1, len(models) + 1):
                for subset in itertools.combinations(models, r):
                    units = [uid for m in subset for uid in units_by_group[(c, m)]]
                    certs = [t for t in ther if t.certified_model_ids & set(subset)]
                    gids = [self._gidx[(c, m)] for m in subset]
                    for w in weeks:
                        cap = 0
                        for s in _week_slots(h, w):
                            n_u = sum(1 for uid in units if s in self._unit_slots[uid])
                            if n_u:
                                n_t = sum(1 for t in certs if s in self._ther_slots[t.id])
                                cap += min(n_u, n_t)
                        unit_cap = sum(self._group_week_cap[(gi, w)] for gi in gids)
                        if cap < unit_cap:
                            self._hall.append((gids, w, cap))

    def _enumerate_choices(self, options: dict[str, list[Option]]) -> list[_Choice]:
        pb, h = self._problem, self._problem.horizon
        out: list[_Choice] = []
        for pi, p in enumerate(pb.patients):
            opts = [o for o in options.get(p.id, []) if (o.clinic_id, o.model_id) in self._gidx]
            # Sessions already on the patient's calendar fill part of the week's dose and its days.
            already = pb.patient_week_sessions(p)
            # A preferred clinic beyond the nearest options stays a choice, so the preference
            # pass after the master has it to move the patient to.
            kept = opts[: self.max_options_per_patient] + [
                o
                for o in opts[self.max_options_per_patient :]
                if o.clinic_id == p.preferred_clinic_id
            ]
            for o in kept:
                gi = self._gidx[(o.clinic_id, o.model_id)]
                days = self._patient_group_days(p, gi)
                for s in range(h.weeks):
                    left, per_week = p.course_sessions, []
                    for w in range(h.weeks):
                        n = 0
                        if w >= s:
                            n = min(
                                p.sessions_per_week - already.get(w, 0),
                                days[w] - already.get(w, 0),
                                left,
                            )
                            n = max(0, n)
                        per_week.append(n)
                        left -= n
                    total = sum(per_week)
                    held = sum(
                        max(0, min(p.sessions_per_week, days[w]) - already.get(w, 0))
                        for w in range(s, h.weeks)
                    )
                    full_first_week = min(p.sessions_per_week - already.get(s, 0), _weekly_dose(p))
                    # A course starts only with its whole weekly dose, as the baselines start
                    # theirs: a first week of one session where three are wanted is a poor
                    # start (a week of public holidays, a full clinic); the dose is capped only
                    # by the days the patient can come.
                    if total == 0 or per_week[s] < full_first_week:
                        continue
                    wait = max(0, (h.start_date + timedelta(weeks=s) - p.referral_date).days)
                    out.append(
                        _Choice(
                            pi,
                            gi,
                            s,
                            tuple(per_week),
                            total,
                            round(p.priority_weight * wait * WAIT_SCALE),
                            round(2 * o.distance_km * total * TRAVEL_SCALE),
                            max(total, held),
                            p.session_slots,
                        )
                    )
        return out

    def _patient_group_days(self, p: WaitingPatient, gi: int) -> list[int]:
        """Per week, the days on which the group has a usable slot the patient can come to."""
        h = self._problem.horizon
        if p.available is None and p.session_slots == 1:
            return [self._group_week_days[(gi, w)] for w in range(h.weeks)]
        days: list[set[int]] = [set() for _ in range(h.weeks)]
        # A longer session counts only the days on which the whole of it fits in one go.
        for s in self._screening.starts_for(*self._groups[gi], p.session_slots):
            if self._problem.patient_slot_ok(p, s):
                days[h.week_of(s)].add(h.day_of(s))
        return [len(d) for d in days]

    # ------------------------------------------------------------------ master
    def _solve_master(self, choices: list[_Choice], t0: float) -> list[_Choice]:
        """Solve each connected component (patients sharing reachable groups) on its own.

        Metro areas far apart share no patient, so their models are independent; solving them
        apart keeps every LP small and lets CP-SAT prove optimality where a joint model would not
        even finish presolve. Budgets are shared in proportion to size, unused time rolls over.
        """
        self.stats_.n_master_variables = len(choices)
        if not choices:
            return []
        parent = list(range(len(self._groups)))

        def find(g: int) -> int:
            while parent[g] != g:
                parent[g] = parent[parent[g]]
                g = parent[g]
            return g

        first_group: dict[int, int] = {}
        for ch in choices:
            g0 = first_group.setdefault(ch.patient, ch.group)
            parent[find(ch.group)] = find(g0)
        comps: dict[int, list[_Choice]] = defaultdict(list)
        for ch in choices:
            comps[find(ch.group)].append(ch)
        # Smallest first: they usually close in a fraction of their share, and what they leave
        # rolls over to the large metro areas that come last and need it.
        parts = sorted(comps.values(), key=len)
        deadline = t0 + self.master_time_share * self.time_limit_s
        # Stage-major: stage 1 of every component, then stage 2a of every component, and so on.
        # Stage 1 (sessions) is the one whose gap is reported and which decides the most, so it
        # gets its share of the *whole* master budget; components that CP-SAT closes quickly (most
        # metro areas, in well under a second) hand their unused time to the ones that follow.
        # Going component-major instead gave each small component a fixed slice, and a few of
        # them stopped far from optimal while others had time to spare.
        runs = [self._solve_component(part) for part in parts]
        for run in runs:
            next(run)
        shares = _stage_shares(self.stage_time_shares)
        records: list[list[tuple[str, str, int, float, float]]] = [[] for _ in parts]
        solutions: list[list[_Choice]] = [[] for _ in parts]
        for k in range(len(STAGE_NAMES)):
            now = _time.perf_counter()
            stage_deadline = now + max(0.0, deadline - now) * shares[k] / sum(shares[k:])
            left = len(choices)
            for ci, (part, run) in enumerate(zip(parts, runs, strict=True)):
                budget = max(0.0, stage_deadline - _time.perf_counter()) * len(part) / left
                if self.deterministic:
                    budget = (
                        self.time_limit_s
                        * self.master_time_share
                        * shares[k]
                        / sum(shares)
                        * len(part)
                        / len(choices)
                    )
                left -= len(part)
                answer = run.send(budget)
                assert answer is not None  # every send after the priming next() answers
                rec, solutions[ci] = answer
                records[ci].append(rec)
        chosen = [ch for sol in solutions for ch in sol]
        scales = (1.0, 1.0 / WAIT_SCALE, 1.0 / (WAIT_SCALE * COURSE_SCALE), 1.0 / TRAVEL_SCALE)
        for k, name in enumerate(STAGE_NAMES):
            recs = [r[k] for r in records]
            statuses = {r[1] for r in recs}
            status = "OPTIMAL" if statuses == {"OPTIMAL"} else "FEASIBLE"
            if k == 1:  # a maximum over components
                value, bound = max(r[2] for r in recs), max(r[3] for r in recs)
            else:
                value, bound = sum(r[2] for r in recs), sum(r[3] for r in recs)
            gap = abs(bound - value) / max(1.0, abs(value)) * 100
            self.stats_.stages.append(
                StageStats(
                    name, status, value * scales[k], bound * scales[k], gap, sum(r[4] for r in recs)
                )
            )
        self.stats_.sessions_planned = sum(c.sessions for c in chosen)
        self._master_solution = chosen
        return chosen

    def _solve_component(
        self, choices: list[_Choice]
    ) -> Generator[tuple[tuple[str, str, int, float, float], list[_Choice]] | None, float, None]:
        """Build one component's master model, then solve one stage per ``send(budget_s)``.

        A generator so the caller can run the stages of all components in stage-major order while
        each model (and its frozen earlier objectives) stays built. The first ``next()`` builds
        the model; each ``send(budget)`` answers ``(record, chosen choices)`` for the next stage.
        """
        pb, h = self._problem, self._problem.horizon
        model = cp_model.CpModel()
        x = [model.new_bool_var(f"x{i}") for i in range(len(choices))]
        by_patient: dict[int, list[int]] = defaultdict(list)
        by_group_week: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, ch in enumerate(choices):
            by_patient[ch.patient].append(i)
            for w, n in enumerate(ch.per_week):
                if n:
                    by_group_week[(ch.group, w)].append(i)
        for idx in by_patient.values():
            model.add_at_most_one(x[i] for i in idx)
        # Capacities count unit-slots: a session of two slots takes two.
        for (gi, w), idx in by_group_week.items():
            cap = self._group_week_cap[(gi, w)]
            if sum(choices[i].load(w) for i in idx) > cap:
                model.add(
                    cp_model.LinearExpr.weighted_sum(
                        [x[i] for i in idx], [choices[i].load(w) for i in idx]
                    )
                    <= cap
                )
        for gids, w, cap in self._hall:
            idx = [i for gi in gids for i in by_group_week.get((gi, w), [])]
            if sum(choices[i].load(w) for i in idx) > cap:
                model.add(
                    cp_model.LinearExpr.weighted_sum(
                        [x[i] for i in idx], [choices[i].load(w) for i in idx]
                    )
                    <= cap
                )

        # Stage 1 counts the sessions each course holds in the horizon (see ``_Choice.held``).
        sessions = cp_model.LinearExpr.weighted_sum(x, [c.held for c in choices])
        # Unserved patients count as waiting until the horizon ends: a lower bound on their wait.
        unserved_wait = {
            pi: round(
                pb.patients[pi].priority_weight
                * max(0, (h.end_date - pb.patients[pi].referral_date).days)
                * WAIT_SCALE
            )
            for pi in {c.patient for c in choices}
        }
        max_wait = model.new_int_var(0, max(unserved_wait.values(), default=0), "max_wait")
        for pi in unserved_wait:
            idx = by_patient.get(pi, [])
            u = unserved_wait[pi]
            # max_wait >= u - sum x_i (u - w_i): the patient's own weighted wait.
            model.add(
                max_wait
                + cp_model.LinearExpr.weighted_sum(
                    [x[i] for i in idx], [u - choices[i].weighted_wait for i in idx]
                )
                >= u
            )
        # Sum of weighted waits: each patient waits u (unserved) unless a choice i is taken, which
        # saves u - w_i. Written as constant - savings so CP-SAT sees one linear row.
        saving_vars, saving_coefs = [], []
        for pi, idx in by_patient.items():
            for i in idx:
                saving_vars.append(x[i])
                saving_coefs.append(
                    _per_course_session(
                        unserved_wait[pi] - choices[i].weighted_wait, pb.patients[pi]
                    )
                )
        total_wait = sum(
            _per_course_session(u, pb.patients[pi]) for pi, u in unserved_wait.items()
        ) - cp_model.LinearExpr.weighted_sum(saving_vars, saving_coefs)
        travel = cp_model.LinearExpr.weighted_sum(x, [c.travel for c in choices])

        def values(sol: list[int]) -> tuple[int, int, int, int]:
            waits = dict(unserved_wait)
            for i, v in enumerate(sol):
                if v:
                    waits[choices[i].patient] = choices[i].weighted_wait
            return (
                sum(choices[i].held for i, v in enumerate(sol) if v),
                max(waits.values(), default=0),
                sum(_per_course_session(w, pb.patients[pi]) for pi, w in waits.items()),
                sum(choices[i].travel for i, v in enumerate(sol) if v),
            )

        stage_specs = [
            (STAGE_NAMES[0], sessions, True),
            (STAGE_NAMES[1], max_wait, False),
            (STAGE_NAMES[2], total_wait, False),
            (STAGE_NAMES[3], travel, False),
        ]
        solution = self._greedy_master(choices, by_patient, unserved_wait)
        # A valid upper bound on stage 1 without search: every patient's largest held sessions
        # (held sessions of courses that end in the horizon may exceed the units' capacity).
        trivial_sessions = sum(max(choices[i].held for i in idx) for idx in by_patient.values())
        out: tuple[tuple[str, str, int, float, float], list[_Choice]] | None = None
        for k, (name, expr, maximise) in enumerate(stage_specs):
            budget = yield out
            model.maximize(expr) if maximise else model.minimize(expr)
            model.clear_hints()
            for var, val in zip(x, solution, strict=True):
                model.add_hint(var, val)
            model.add_hint(max_wait, values(solution)[1])
            solver = cp_model.CpSolver()
            if self.deterministic:
                solver.parameters.max_deterministic_time = max(0.05, budget)
                solver.parameters.num_workers = 1
            else:
                solver.parameters.max_time_in_seconds = max(0.05, budget)
                solver.parameters.num_workers = self.num_workers
            solver.parameters.random_seed = self.random_seed
            solver.parameters.log_search_progress = self.log_search
            if k > 0:
                # The frozen objective rows make CP-SAT's presolve slow (dual/dominance rules over
                # thousands of patients) while buying little: the hint is already good.
                solver.parameters.cp_model_presolve = False
            ts = _time.perf_counter()
            status = solver.solve(model)
            wall = _time.perf_counter() - ts
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                candidate = [int(solver.boolean_value(v)) for v in x]
                new, old = values(candidate)[k], values(solution)[k]
                if (new >= old) if maximise else (new <= old):
                    solution = candidate
                bound = solver.best_objective_bound
            else:
                # No solution within the budget: keep the hint (feasible by construction) and
                # report a trivial but valid bound, so the gap is never understated.
                bound = float(trivial_sessions) if k == 0 else 0.0
            value = values(solution)[k]
            record = (name, solver.status_name(status), value, bound, wall)
            out = (record, [choices[i] for i, v in enumerate(solution) if v])
            # Freeze this stage's value before optimising the next one.
            model.add(expr >= value if maximise else expr <= value)
        yield out

    def _greedy_master(
        self,
        choices: list[_Choice],
        by_patient: dict[int, list[int]],
        unserved_wait: dict[int, int],
    ) -> list[int]:
        """A feasible first plan: longest weighted wait first, nearest option, earliest week.

        CP-SAT starts from it, so every stage has a solution even on a tight time budget.
        """
        left = dict(self._group_week_cap)
        hall_left = [cap for _, _, cap in self._hall]
        hall_of: dict[tuple[int, int], list[int]] = defaultdict(list)
        for h_i, (gids, w, _) in enumerate(self._hall):
            for gi in gids:
                hall_of[(gi, w)].append(h_i)
        sol = [0] * len(choices)
        for pi in sorted(by_patient, key=lambda pi: (-unserved_wait[pi], pi)):
            # Choices are enumerated option by option (nearest first), start week ascending.
            for i in by_patient[pi]:
                ch = choices[i]
                needs = [(w, ch.load(w)) for w, n in enumerate(ch.per_week) if n]
                if all(left[(ch.group, w)] >= n for w, n in needs) and all(
                    hall_left[h_i] >= n for w, n in needs for h_i in hall_of[(ch.group, w)]
                ):
                    for w, n in needs:
                        left[(ch.group, w)] -= n
                        for h_i in hall_of[(ch.group, w)]:
                            hall_left[h_i] -= n
                    sol[i] = 1
                    break
        return sol

    # ------------------------------------------------------------------ preferred clinic
    def _honour_preferred_clinics(
        self, chosen: list[_Choice], choices: list[_Choice]
    ) -> list[_Choice]:
        """Move patients to the clinic they prefer where that costs no session and no wait.

        A late stage after the master's lexicographic ones (sessions, waits, travel): a
        patient planned elsewhere takes a choice at the preferred clinic with the same start
        week (the same wait) and at least as many sessions, if the group's weekly unit-slots
        and the clinic's Hall capacities still hold it. A preference is never a hard rule:
        where nothing fits, the patient keeps the master's plan. Travel may grow; it comes
        after the preference.
        """
        pb = self._problem
        if not any(pb.patients[ch.patient].preferred_clinic_id for ch in chosen):
            return chosen
        weeks = range(pb.horizon.weeks)
        usage: dict[tuple[int, int], int] = defaultdict(int)
        for ch in chosen:
            for w in weeks:
                usage[(ch.group, w)] += ch.load(w)
        hall_used = [sum(usage[(gi, w)] for gi in gids) for gids, w, _ in self._hall]
        alternatives: dict[int, list[_Choice]] = defaultdict(list)
        for ch in choices:
            clinic = self._groups[ch.group][0]
            if clinic == pb.patients[ch.patient].preferred_clinic_id:
                alternatives[ch.patient].append(ch)
        out = list(chosen)
        for i, ch in enumerate(out):
            if self._groups[ch.group][0] == pb.patients[ch.patient].preferred_clinic_id:
                continue
            for alt in alternatives.get(ch.patient, []):
                if alt.start_week != ch.start_week or alt.sessions < ch.sessions:
                    continue
                moved = [
                    usage[(alt.group, w)]
                    - (ch.load(w) if alt.group == ch.group else 0)
                    + alt.load(w)
                    for w in weeks
                ]
                if any(moved[w] > self._group_week_cap[(alt.group, w)] for w in weeks):
                    continue
                hall_after = [
                    used
                    - (ch.load(w) if ch.group in gids else 0)
                    + (alt.load(w) if alt.group in gids else 0)
                    for used, (gids, w, _) in zip(hall_used, self._hall, strict=True)
                ]
                if any(n > cap for n, (_, _, cap) in zip(hall_after, self._hall, strict=True)):
                    continue
                for w in weeks:
                    usage[(ch.group, w)] -= ch.load(w)
                    usage[(alt.group, w)] += alt.load(w)
                hall_used = hall_after
                out[i] = alt
                break
        return out

    # ------------------------------------------------------------------ units
    def _split_over_units(self, chosen: list[_Choice]) -> dict[str, list[_Choice]]:
        by_group: dict[int, list[_Choice]] = defaultdict(list)
        for ch in chosen:
            by_group[ch.group].append(ch)
        out: dict[str, list[_Choice]] = defaultdict(list)
        weeks = range(self._problem.horizon.weeks)
        for gi, chs in sorted(by_group.items()):
            units = self._units_by_group[self._groups[gi]]
            units = [u for u in units if any(self._unit_week_cap[(u, w)] for w in weeks)]
            if len(units) == 1:
                out[units[0]].extend(chs)
                continue
            placed = self._first_fit(chs, units)
            if len(placed) < len(chs) and self._time_left_s() > 0:
                # First fit left someone out: let CP-SAT try the exact split.
                exact = self._split_cpsat(chs, units)
                if len(exact) > len(placed):
                    placed = exact
            for i, u in placed.items():
                out[u].append(chs[i])
        return out

    def _first_fit(self, chs: list[_Choice], units: list[str]) -> dict[int, str]:
        left = {
            (u, w): self._unit_week_cap[(u, w)] for u in units for w in range(len(chs[0].per_week))
        }
        placed: dict[int, str] = {}
        for i in sorted(range(len(chs)), key=lambda i: -chs[i].sessions):
            ch = chs[i]
            for u in sorted(
                units, key=lambda u: -sum(left[(u, w)] for w in range(len(ch.per_week)))
            ):
                if all(left[(u, w)] >= ch.load(w) for w in range(len(ch.per_week))):
                    for w in range(len(ch.per_week)):
                        left[(u, w)] -= ch.load(w)
                    placed[i] = u
                    break
        return placed

    def _split_cpsat(self, chs: list[_Choice], units: list[str]) -> dict[int, str]:
        weeks = range(len(chs[0].per_week))
        model = cp_model.CpModel()
        b = {(i, u): model.new_bool_var(f"b{i}_{u}") for i in range(len(chs)) for u in units}
        for i in range(len(chs)):
            model.add_at_most_one(b[(i, u)] for u in units)
        for u in units:
            for w in weeks:
                idx = [i for i, ch in enumerate(chs) if ch.per_week[w]]
                model.add(
                    sum(chs[i].load(w) * b[(i, u)] for i in idx) <= self._unit_week_cap[(u, w)]
                )
        model.maximize(sum(chs[i].sessions * var for (i, _), var in b.items()))
        solver, status = self._sub_solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return {}
        return {i: u for (i, u), var in b.items() if solver.boolean_value(var)}

    def _time_left_s(self) -> float:
        """Time left for optional exact sub-solves, keeping a reserve so the limit is honoured.

        Building a sub-model costs Python time on top of CP-SAT's own limit, so a small reserve
        (5 % of the limit, at most 1 s) is kept back; without it many tiny last-moment sub-solves
        pushed the wall time past the limit.
        """
        if self.deterministic:
            return self._deterministic_left
        reserve = min(1.0, 0.05 * self.time_limit_s)
        return self.time_limit_s - reserve - (_time.perf_counter() - self._t0)

    def _sub_solve(
        self, model: cp_model.CpModel
    ) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
        """Solve a subproblem on one thread within a share of what is left of the time limit."""
        solver = self._sub_solver()
        status = solver.solve(model)
        self._deterministic_left -= solver.deterministic_time
        return solver, status

    def _sub_solver(self) -> cp_model.CpSolver:
        """A one-thread solver for a subproblem, with a share of what is left of the time limit."""
        left = max(0.0, self._time_left_s())
        solver = cp_model.CpSolver()
        if self.deterministic:
            solver.parameters.max_deterministic_time = max(0.05, min(1.0, 0.1 * left))
        else:
            solver.parameters.max_time_in_seconds = max(0.05, min(1.0, 0.1 * left))
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = self.random_seed
        return solver

    # ------------------------------------------------------------------ slots + therapists
    def _book_slots(self, per_unit: dict[str, list[_Choice]], t0: float) -> list[Assignment]:
        pb, h = self._problem, self._problem.horizon
        by_clinic: dict[str, dict[str, list[_Choice]]] = defaultdict(dict)
        for uid, chs in per_unit.items():
            by_clinic[pb.unit_by_id[uid].clinic_id][uid] = chs
        booked: list[Assignment] = []
        for cid in sorted(by_clinic):
            units = by_clinic[cid]
            ther = [t for t in pb.therapists if t.clinic_id == cid]
            for w in range(h.weeks):
                demand = sum(ch.per_week[w] for chs in units.values() for ch in chs)
                if not demand:
                    continue
                week = self._book_greedy(cid, w, units, ther)
                if any(
                    pb.patients[ch.patient].preferred_therapist_id
                    for chs in units.values()
                    for ch in chs
                    if ch.per_week[w]
                ):
                    week = self._unless_preferences_cost(cid, w, units, ther, week)
                if len(week) < demand and self._time_left_s() > 0:
                    # The greedy left sessions out: let CP-SAT search the week exactly.
                    exact = self._book_cpsat(cid, w, units, ther)
                    if len(exact) > len(week):
                        week = exact
                booked.extend(week)
        return booked

    def _unless_preferences_cost(
        self,
        cid: str,
        w: int,
        units: dict[str, list[_Choice]],
        ther: list[Therapist],
        honoured: list[Assignment],
    ) -> list[Assignment]:
        """The week booked with preferred therapists, unless booking it without them gives more
        sessions: a preference never costs a session (the greedy's order decides what fits)."""
        with_wishes = dict(self._time_of_day)
        self._time_of_day = dict(self._time_of_day_before_week)
        plain = self._book_greedy(cid, w, units, ther, honour_preferences=False)
        if len(plain) > len(honoured):
            return plain
        self._time_of_day = with_wishes
        return honoured

    def _book_greedy(
        self,
        cid: str,
        w: int,
        units: dict[str, list[_Choice]],
        ther: list[Therapist],
        honour_preferences: bool = True,
    ) -> list[Assignment]:
        """Book day by day, keeping each patient's time of day, with augmenting-path matching.

        Starting patients take the earliest days (their wait ends at the first session);
        continuing ones take the least busy days, which keeps room for the rest.
        """
        pb, h = self._problem, self._problem.horizon
        # What the patients' usual times of day were before this week (a second booking of the
        # same week, without preferences, starts from them again).
        self._time_of_day_before_week = dict(self._time_of_day)
        week_slots = set(_week_slots(h, w))
        certs = {
            u: [t.id for t in ther if pb.unit_by_id[u].model_id in t.certified_model_ids]
            for u in units
        }
        usable = {
            u: sorted(
                s
                for s in self._unit_slots[u] & week_slots
                if any(s in self._ther_slots[t] for t in certs[u])
            )
            for u in units
        }
        matching: dict[int, dict[str, str]] = defaultdict(dict)  # slot -> therapist -> unit
        # (slot, therapist) held by a session of several slots: one therapist runs the whole
        # sitting, so augmenting paths may not hand such a slot to another therapist.
        pinned: set[tuple[int, str]] = set()
        unit_used: set[tuple[str, int]] = set()

        limit = {t.id: t.max_sessions_per_day for t in ther}
        day_load: dict[tuple[str, int], int] = defaultdict(int)
        for therapist in ther:
            for d, n in pb.therapist_day_load(therapist).items():
                day_load[(therapist.id, d)] = n

        def augment(s: int, u: str, seen: set[str], prefer: str | None = None) -> bool:
            for t in sorted(certs[u], key=lambda t: t != prefer) if prefer else certs[u]:
                if t in seen or s not in self._ther_slots[t] or (s, t) in pinned:
                    continue
                seen.add(t)
                holder = matching[s].get(t)
                if holder is None:
                    # Only a therapist taking a new session adds to their day; along an
                    # augmenting path the others swap one unit for another in the same slot.
                    cap = limit[t]
                    if cap is not None and day_load[(t, h.day_of(s))] >= cap:
                        continue
                    day_load[(t, h.day_of(s))] += 1
                    matching[s][t] = u
                    return True
                if augment(s, holder, seen):
                    matching[s][t] = u
                    return True
            return False

        def hold_span(span: range, u: str, prefer: str | None) -> bool:
            """One certified therapist free for every slot of a longer session, kept for it."""
            d = h.day_of(span[0])
            for t in sorted(certs[u], key=lambda t: t != prefer):
                cap = limit[t]
                if (cap is not None and day_load[(t, d)] >= cap) or not all(
                    k in self._ther_slots[t] and t not in matching[k] for k in span
                ):
                    continue
                day_load[(t, d)] += 1
                for k in span:
                    matching[k][t] = u
                    pinned.add((k, t))
                return True
            return False

        # Longer sessions first: they need several free slots in a row, the short ones fit
        # around them.
        order = sorted(
            ((u, ch) for u, chs in units.items() for ch in chs if ch.per_week[w]),
            key=lambda uc: (
                uc[1].start_week != w,
                -uc[1].slots_per_session,
                -uc[1].per_week[w],
                uc[1].patient,
            ),
        )
        sessions: list[tuple[int, str, int]] = []  # (patient, unit, slot)
        for u, ch in order:
            taken_days = self._patient_days[ch.patient]
            by_day: dict[int, list[int]] = defaultdict(list)
            patient = pb.patients[ch.patient]
            length = ch.slots_per_session
            usable_here = set(usable[u])
            for s in usable[u]:
                span = h.span(s, length)
                if (
                    span is not None
                    and all(k in usable_here and (u, k) not in unit_used for k in span)
                    and h.day_of(s) not in taken_days
                    and pb.patient_slot_ok(patient, s)
                ):
                    by_day[h.day_of(s)].append(s)
            if ch.start_week == w:
                days = sorted(by_day)
            else:
                days = sorted(by_day, key=lambda d: (-len(by_day[d]), d))
            pref = self._time_of_day.get(ch.patient)
            got = 0
            for d in days:
                if got == ch.per_week[w]:
                    break
                liked = patient.preferred_therapist_id if honour_preferences else None
                liked_free = {
                    s
                    for s in by_day[d]
                    if liked in certs[u]
                    and all(
                        k in self._ther_slots[liked] and liked not in matching[k]
                        for k in range(s, s + length)
                    )
                }
                # The preferred therapist's free slots first (a soft wish: the day is kept).
                cands = sorted(
                    by_day[d],
                    key=lambda s: (s not in liked_free, s % h.slots_per_day != pref, s),
                )
                for s in cands:
                    if length > 1:
                        if hold_span(range(s, s + length), u, liked):
                            unit_used.update((u, k) for k in range(s, s + length))
                            sessions.append((ch.patient, u, s))
                            self._time_of_day.setdefault(ch.patient, s % h.slots_per_day)
                            got += 1
                            break
                        continue
                    snapshot = dict(matching[s])
                    if augment(s, u, set(), liked):
                        unit_used.add((u, s))
                        sessions.append((ch.patient, u, s))
                        self._time_of_day.setdefault(ch.patient, s % h.slots_per_day)
                        got += 1
                        break
                    matching[s] = snapshot
        out = []
        for pi, u, s in sessions:
            t = next(t for t, holder in matching[s].items() if holder == u)
            start = h.slot_start(s)
            out.append(
                Assignment(
                    pb.patients[pi].id, u, t, cid, start, pb.session_end(pb.patients[pi], start)
                )
            )
        return out

    def _book_cpsat(
        self, cid: str, w: int, units: dict[str, list[_Choice]], ther: list[Therapist]
    ) -> list[Assignment]:
        pb, h = self._problem, self._problem.horizon
        if any(t.max_sessions_per_day is not None for t in ther) or any(
            pb.patients[ch.patient].available is not None or ch.slots_per_session > 1
            for chs in units.values()
            for ch in chs
        ):
            # The exact week model knows neither daily limits, nor a patient's hours of the
            # day, nor sessions of several slots; the greedy booking, which keeps them, stands.
            return []
        model = cp_model.CpModel()
        z: dict[tuple[str, int, int], cp_model.IntVar] = {}  # (unit, choice idx, day)
        y: dict[tuple[str, int], cp_model.IntVar] = {}  # (unit, slot)
        objective = []
        week_slots = set(_week_slots(h, w))
        active = False
        for uid, chs in units.items():
            model_id = pb.unit_by_id[uid].model_id
            certs = [t for t in ther if model_id in t.certified_model_ids]
            slots = sorted(
                s
                for s in self._unit_slots[uid] & week_slots
                if any(s in self._ther_slots[t.id] for t in certs)
            )
            for s in slots:
                y[(uid, s)] = model.new_bool_var("")
            days = sorted({h.day_of(s) for s in slots})
            day_terms: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            for i, ch in enumerate(chs):
                if not ch.per_week[w]:
                    continue
                active = True
                zs = []
                for d in days:
                    if d in self._patient_days[ch.patient]:
                        continue
                    v = model.new_bool_var("")
                    z[(uid, i, d)] = v
                    zs.append(v)
                    day_terms[d].append(v)
                    objective.append(v)
                model.add(sum(zs) <= ch.per_week[w])
            for d in days:
                model.add(sum(day_terms[d]) == sum(y[(uid, s)] for s in slots if h.day_of(s) == d))
        if not active:
            return []
        # Hall's condition per slot: units in use need distinct free certified therapists.
        models_here = sorted({pb.unit_by_id[u].model_id for u in units})
        for s in sorted(week_slots):
            free = [t for t in ther if s in self._ther_slots[t.id]]
            for r in range(1, len(models_here) + 1):
                for subset in itertools.combinations(models_here, r):
                    ys = [
                        y[(u, s)]
                        for u in units
                        if (u, s) in y and pb.unit_by_id[u].model_id in subset
                    ]
                    cap = sum(1 for t in free if t.certified_model_ids & set(subset))
                    if len(ys) > cap:
                        model.add(sum(ys) <= cap)
        model.maximize(sum(objective))
        solver, status = self._sub_solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return []
        out: list[Assignment] = []
        # Units in use per slot, then therapists matched per slot.
        used: dict[int, list[str]] = defaultdict(list)
        for (u, s), v in y.items():
            if solver.boolean_value(v):
                used[s].append(u)
        slot_ther = {s: _match(pb, sorted(us), ther, s, self._ther_slots) for s, us in used.items()}
        for uid, chs in units.items():
            for d in sorted({d for (u, _, d) in z if u == uid}):
                patients = sorted(
                    (
                        i
                        for i in range(len(chs))
                        if (uid, i, d) in z and solver.boolean_value(z[(uid, i, d)])
                    ),
                    key=lambda i: pb.patients[chs[i].patient].id,
                )
                slots = sorted(s for s in used if h.day_of(s) == d and uid in used[s])
                for i, s in zip(patients, slots, strict=True):
                    start = h.slot_start(s)
                    out.append(
                        Assignment(
                            pb.patients[chs[i].patient].id,
                            uid,
                            slot_ther[s][uid],
                            cid,
                            start,
                            pb.session_end(pb.patients[chs[i].patient], start),
                        )
                    )
        return out

    # ------------------------------------------------------------------ left-over capacity
    def _without_short_starts(self, booked: list[Assignment]) -> list[Assignment]:
        """Drop the courses whose first week got fewer sessions than that week could give.

        The slot stage can lose sessions the weekly plan counted; a course that starts with one
        session where three were wanted has a poor first week. Such a patient is unbooked and
        handed to the left-over pass, which starts a course only with its whole weekly dose
        (that week if the room is there, else a later one).
        """
        pb, h = self._problem, self._problem.horizon
        by_patient: dict[str, list[Assignment]] = defaultdict(list)
        for a in booked:
            by_patient[a.patient_id].append(a)
        short: set[str] = set()
        for pid, sessions in by_patient.items():
            p = pb.patient_by_id[pid]
            first = min(sessions, key=lambda a: a.start)
            week = h.week_of(h.slot_of(first.start))
            got = sum(1 for a in sessions if h.week_of(h.slot_of(a.start)) == week)
            if got + pb.patient_week_sessions(p).get(week, 0) < _weekly_dose(p):
                short.add(pid)
        self.stats_.short_starts_rebooked = len(short)
        return [a for a in booked if a.patient_id not in short]

    def _fill_left_over(
        self, booked: list[Assignment], options: dict[str, list[Option]]
    ) -> list[Assignment]:
        """Book on what the plan left free, moving nobody already booked.

        The master plans weekly totals and the slot stage may lose some of them, so capacity can
        be left where an eligible patient still waits, or where a patient got less than their
        weekly dose. First the patients left out, in the master's order (:meth:`_left_over_order`:
        anyone above stage 2a's longest weighted wait, then by Smith's rule), each starting in
        the earliest week that holds a full weekly dose on one unit of an option (nearest
        first); then the weeks in which a booked patient got less than their dose, from their
        first week on, on their own unit.
        """
        pb, h = self._problem, self._problem.horizon
        ledger = Ledger(pb.with_booked(booked))
        by_patient: dict[str, list[Assignment]] = defaultdict(list)
        for a in sorted(booked, key=lambda a: a.start):
            by_patient[a.patient_id].append(a)
        added: list[Assignment] = []
        # Days per (unit, week) with the unit and a certified therapist both free, so full
        # units are passed over without a search (the large instance leaves ~2,000 patients
        # waiting, each with several options); a booking at a clinic clears its units' entries.
        room: dict[tuple[str, int], int] = {}

        def free_days(uid: str, week: int) -> int:
            if (uid, week) not in room:
                model_id = pb.unit_by_id[uid].model_id
                ther = [
                    t
                    for t in ledger.therapists_at[pb.unit_by_id[uid].clinic_id]
                    if model_id in pb.therapist_by_id[t].certified_model_ids
                ]
                room[(uid, week)] = len(
                    {
                        h.day_of(s)
                        for s in ledger.unit_free[uid]
                        if h.week_of(s) == week
                        and any(
                            s in ledger.ther_free[t] and ledger.has_room(t, h.day_of(s))
                            for t in ther
                        )
                    }
                )
            return room[(uid, week)]

        left_out = [p for p in pb.patients if p.id not in by_patient and options.get(p.id)]
        left_out.sort(key=self._left_over_order)
        for p in left_out:
            units = [
                uid
                for o in options[p.id]
                for uid in self._units_by_group.get((o.clinic_id, o.model_id), [])
            ]
            # A preferred clinic's units first in each week: the same start, the patient's wish.
            units.sort(key=lambda uid: pb.unit_by_id[uid].clinic_id != p.preferred_clinic_id)
            already = pb.patient_week_sessions(p)
            for week in range(h.weeks):
                need = min(p.sessions_per_week - already.get(week, 0), _weekly_dose(p))
                if need <= 0:
                    continue
                start = next(
                    (
                        (uid, plan)
                        for uid in units
                        if free_days(uid, week) >= need
                        and len(plan := ledger.week_plan(p, uid, week, need)) == need
                    ),
                    None,
                )
                if start is None:
                    continue
                uid, plan = start
                got = ledger.book(p, uid, plan)
                clinic = pb.unit_by_id[uid].clinic_id
                for key in [k for k in room if pb.unit_by_id[k[0]].clinic_id == clinic]:
                    del room[key]
                by_patient[p.id] = got
                break
        for pid, sessions in by_patient.items():
            p = pb.patient_by_id[pid]
            first = sessions[0]
            pref = h.slot_of(first.start) % h.slots_per_day
            already = pb.patient_week_sessions(p)
            per_week: dict[int, int] = defaultdict(int)
            for a in sessions:
                per_week[h.week_of(h.slot_of(a.start))] += 1
            total = len(sessions)
            for week in range(h.week_of(h.slot_of(first.start)), h.weeks):
                missing = min(
                    p.sessions_per_week - per_week[week] - already.get(week, 0),
                    p.course_sessions - total,
                )
                if missing <= 0:
                    continue
                # Its own unit first, then the other units of its model at its clinic.
                unit = pb.unit_by_id[first.unit_id]
                group = self._units_by_group.get((unit.clinic_id, unit.model_id), [unit.id])
                for uid in sorted(group, key=lambda u: u != unit.id):
                    got = ledger.book(
                        p, uid, ledger.week_plan(p, uid, week, missing, pref, first.therapist_id)
                    )
                    sessions.extend(got)
                    total += len(got)
                    missing -= len(got)
                    if missing <= 0:
                        break
        known = {(a.unit_id, a.start) for a in booked}
        for sessions in by_patient.values():
            added.extend(a for a in sessions if (a.unit_id, a.start) not in known)
        return added

    def _left_over_order(self, p: WaitingPatient) -> tuple[bool, float, str]:
        """The master's order for the left-over pass: first whoever would otherwise wait longer
        than stage 2a's longest weighted wait (longest first), then Smith's rule as in stage 2b:
        weighted wait (counted to the horizon's end) per slot the course holds, highest first."""
        h = self._problem.horizon
        wait = p.priority_weight * (h.end_date - p.referral_date).days
        longest = self.stats_.stages[1].objective if len(self.stats_.stages) > 1 else 0.0
        if wait > longest:
            return (False, -wait, p.id)
        return (True, -wait / max(1, p.course_sessions * p.session_slots), p.id)

    # ------------------------------------------------------------------ results
    def _collect(
        self,
        booked: list[Assignment],
        chosen: list[_Choice],
        choices: list[_Choice],
        options: dict[str, list[Option]],
    ) -> None:
        pb, _h = self._problem, self._problem.horizon
        self.assignments_ = sorted(booked, key=lambda a: (a.start, a.unit_id))
        for a in self.assignments_:
            self.first_session_.setdefault(a.patient_id, a.start)
        st = self.stats_
        st.sessions_scheduled = len(self.assignments_)
        st.patients_scheduled = len(self.first_session_)
        waits = {
            pid: (t.date() - pb.patient_by_id[pid].referral_date).days
            for pid, t in self.first_session_.items()
        }
        st.longest_wait_days = max(waits.values(), default=0)
        st.longest_weighted_wait_days = max(
            (pb.patient_by_id[pid].priority_weight * w for pid, w in waits.items()), default=0.0
        )
        st.travel_km = sum(
            2 * pb.distance_km(pb.patient_by_id[a.patient_id], pb.clinic_by_id[a.clinic_id])
            for a in self.assignments_
        )
        planned = {pb.patients[c.patient].id for c in chosen}
        for p in pb.patients:
            if p.id in self.first_session_ or p.id in self.unscheduled_:
                continue
            if p.id in planned:
                self.unscheduled_[p.id] = [
                    "no certified therapist free: the weekly plan fitted the clinic's totals, but "
                    "no slot pattern lined up a free unit, a free certified therapist and one "
                    "session a day"
                ]
            else:
                self.unscheduled_[p.id] = [self._capacity_reason(p, options.get(p.id, []))]

    def _capacity_reason(self, p: WaitingPatient, opts: list[Option]) -> str:
        where = ", ".join(
            f"{self._problem.model_label(o.model_id)} at {self._problem.clinic_label(o.clinic_id)}"
            for o in opts[: self.max_options_per_patient]
        )
        if not hasattr(self, "_usage"):
            self._usage: dict[tuple[int, int], int] = defaultdict(int)
            for ch in getattr(self, "_master_solution", []):
                for w in range(len(ch.per_week)):
                    self._usage[(ch.group, w)] += ch.load(w)
        usage = self._usage
        unit_full = any(
            self._group_week_cap[(gi, w)] - usage[(gi, w)] < p.sessions_per_week * p.session_slots
            for o in opts
            if (gi := self._gidx.get((o.clinic_id, o.model_id))) is not None
            for w in range(self._problem.horizon.weeks)
        )
        if not unit_full and opts:
            return (
                f"no certified therapist free: units of {where} have free slots but their "
                "certified therapists are fully booked"
            )
        # "Taken by higher-priority patients" only when nobody with a shorter weighted wait
        # started on one of these (clinic, model) pairs; otherwise say what held them back.
        h = self._problem.horizon
        own = p.priority_weight * (h.end_date - p.referral_date).days
        groups = {(o.clinic_id, o.model_id) for o in opts[: self.max_options_per_patient]}
        shorter = sorted(
            qid for qid, (group, wait) in self._starts().items() if group in groups and wait < own
        )
        dose = min(p.sessions_per_week, p.course_sessions)
        if not shorter:
            return (
                f"capacity: all compatible slots ({where}) taken by patients with a longer "
                "priority-weighted wait"
            )
        return (
            f"capacity: no week left {dose} free sessions on distinct days at {where}; "
            f"{len(shorter)} patients with a shorter weighted wait started there on courses "
            "that fitted the slots left (the schedule serves the most sessions network-wide "
            "first, then the longest weighted wait)"
        )

    def _starts(self) -> dict[str, tuple[tuple[str, str], float]]:
        """Booked patient id -> ((clinic, model) of their first session, weighted wait counted
        to the horizon's end, the measure the objective ranks the unserved by)."""
        if not hasattr(self, "_start_groups"):
            pb, h = self._problem, self._problem.horizon
            self._start_groups: dict[str, tuple[tuple[str, str], float]] = {}
            for a in self.assignments_:
                if a.patient_id not in self._start_groups:
                    q = pb.patient_by_id[a.patient_id]
                    unit = pb.unit_by_id[a.unit_id]
                    self._start_groups[a.patient_id] = (
                        (unit.clinic_id, unit.model_id),
                        q.priority_weight * (h.end_date - q.referral_date).days,
                    )
        return self._start_groups


def _per_course_session(weighted_wait: int, p: WaitingPatient) -> int:
    """Stage 2b's price of a weighted wait: per session of the patient's course (Smith's rule).

    The network is capacity-bound: a course holds its unit and therapist for all its sessions,
    most of them after the planning horizon, where the sum of waits cannot see them. Starting a
    12-session course instead of a 36-session one frees the capacity for two more patients, so
    by the exchange argument of weighted-shortest-processing-time scheduling the mean wait is
    lowest when starts go by priority weight / course length. Stage 2a's bound still protects
    the longest weighted wait, so long courses do not starve. A course's length is what it holds:
    its sessions times the slots each takes. Scaled by ``COURSE_SCALE`` to stay an integer with
    1/100-day resolution on the longest courses.
    """
    return round(weighted_wait * COURSE_SCALE / max(1, p.course_sessions * p.session_slots))


def _weekly_dose(p: WaitingPatient) -> int:
    """The sessions a full week gives the patient: as many as wanted, within the course, and no
    more than the days a week they can come."""
    days = 7 if p.available is None else len(p.available)
    return min(p.sessions_per_week, p.course_sessions, days)


def _stage_shares(shares: tuple[float, ...]) -> tuple[float, ...]:
    """Time shares per stage; a 3-tuple (sessions, wait, travel) splits the wait share in two."""
    if len(shares) == len(STAGE_NAMES):
        return tuple(shares)
    if len(shares) == 3:
        return (shares[0], shares[1] / 2, shares[1] / 2, shares[2])
    raise ValueError(f"stage_time_shares needs {len(STAGE_NAMES)} (or 3) values, got {shares}")


def _week_slots(h: Horizon, w: int) -> range:
    per_week = 7 * h.slots_per_day
    return range(w * per_week, (w + 1) * per_week)


def _match(
    pb: SchedulingProblem,
    units: list[str],
    ther: list[Therapist],
    s: int,
    ther_slots: dict[str, set[int]],
) -> dict[str, str]:
    """Maximum bipartite matching units -> free certified therapists in slot ``s`` (Kuhn)."""
    free = [t for t in ther if s in ther_slots[t.id]]
    owner: dict[str, str] = {}  # therapist -> unit

    def try_unit(u: str, seen: set[str]) -> bool:
        m = pb.unit_by_id[u].model_id
        for t in free:
            if m in t.certified_model_ids and t.id not in seen:
                seen.add(t.id)
                if t.id not in owner or try_unit(owner[t.id], seen):
                    owner[t.id] = u
                    return True
        return False

    for u in units:
        if not try_unit(u, set()):
            raise RuntimeError(f"Hall's condition held but no therapist matched unit {u} at {s}")
    return {u: t for t, u in owner.items()}
