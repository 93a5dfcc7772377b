"""Week-by-week network simulation: status-quo FCFS per clinic, pooled FCFS (nearest clinic with
room) and the network-wide solver."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import numpy as np

from exoshare.scheduling.courses import StartedCourse
from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.instances import Network, generate_network, generate_patients
from exoshare.scheduling.ledger import Ledger
from exoshare.scheduling.problem import (
    PLAN_WEEKS,
    Assignment,
    DeviceUnit,
    Horizon,
    SchedulingProblem,
    WaitingPatient,
    haversine_km,
)
from exoshare.scheduling.rebalance import UnitMove, plan_unit_moves
from exoshare.scheduling.rules import screen
from exoshare.scheduling.solver import SessionScheduler

POLICIES = ("fcfs", "pooled_fcfs", "exoshare")
"""``fcfs``: each clinic its own waitlist on its own units (the status quo); ``pooled_fcfs``: one
queue in referral order, each patient to the nearest clinic within the travel limit with room for
a full weekly dose, same capacity, rules and dose; ``exoshare``: the network solver."""
WEEKS_PER_MONTH = 4
"""Months are 4-week blocks, so every month has the same number of weekdays."""
REVIEW_WEEKS = 4
"""exoshare reviews where its shared units stand every 4 weeks, from the last 4 weeks' bookings."""
TRANSIT_WEEKS = 2
"""A moved unit is unavailable for 2 weeks (packing, shipping across countries, set-up); the
time counts as bookable, so it lowers the policy's utilisation instead of being hidden."""


@dataclass
class PolicyMetrics:
    patients_arrived: int = 0
    patients_started: int = 0
    mean_wait_days: float = float("nan")
    p90_wait_days: float = float("nan")
    p95_wait_days: float = float("nan")
    mean_weighted_wait_days: float = float("nan")
    """``priority_weight`` × wait, the solver's fairness measure (urgent counts double)."""
    p90_weighted_wait_days: float = float("nan")
    first_week_sessions: float = float("nan")
    """Mean sessions in the calendar week of each started patient's first session."""
    first_week_dose_pct: float = float("nan")
    """The same as a share of each one's weekly dose (sessions a week wanted, or the course)."""
    patients_per_device_month: float = float("nan")
    utilisation_pct: float = float("nan")
    sessions: int = 0
    travel_km_per_session: float = float("nan")
    """Round trip, home to clinic and back."""


@dataclass
class SimulationResult:
    weeks: int
    n_units: int
    overall: dict[str, PolicyMetrics] = field(default_factory=dict)
    """policy -> metrics over the whole run: every patient (initial backlog included), all weeks."""
    by_region: dict[str, dict[str, PolicyMetrics]] = field(default_factory=dict)
    """policy -> region -> metrics (whole run, as ``overall``)."""
    steady: dict[str, PolicyMetrics] = field(default_factory=dict)
    """policy -> metrics in the measurement window: patients referred after the warm-up and at
    least ``cooldown_weeks`` before the end; sessions, utilisation and patients per device-month
    from the warm-up on. Empty when there is no warm-up."""
    warmup_weeks: int = 0
    cooldown_weeks: int = 0
    untreatable: dict[str, list[str]] = field(default_factory=dict)
    """patient id -> why no clinic of the network could ever treat them (hard rules alone)."""
    steady_excluded_untreatable: int = 0
    """Patients of the steady-state window left out of ``steady`` because they are untreatable."""
    unit_moves: list[tuple[date, UnitMove]] = field(default_factory=list)
    """exoshare's custody moves (decision date, move); FCFS never moves a unit. A unit leaves
    ``move.leaves_in_weeks`` after the decision, when the courses booked on it have ended."""

    wait_lower_bound_days: dict[str, float] = field(default_factory=dict)
    """scope ("overall", "steady") -> mean wait if capacity were unlimited: each patient starts
    on the first day, from the first weekly plan after their referral, on which a compatible
    unit and a certified therapist are open (same calendars, rules and weekly planning)."""

    def ratio(self, attr: str, scope: str = "overall", baseline: str = "fcfs") -> float:
        """exoshare / ``baseline`` for one metric of ``overall`` (or ``steady``)."""
        m = getattr(self, scope)
        return float(getattr(m["exoshare"], attr) / getattr(m[baseline], attr))


@dataclass(frozen=True)
class SimulationInstance:
    """What a simulation runs on: the network, the waitlist at the start, the weekly referrals."""

    network: Network
    backlog: list[WaitingPatient]
    referrals: list[list[WaitingPatient]]
    """One list per simulated week: the patients referred in the week before it."""
    courses: list[StartedCourse] = field(default_factory=list)
    """Courses already running at the start: booked first, on their unit, until they end (their
    patients are not counted in the waits: they waited before the run)."""


@dataclass
class _Course:
    patient: WaitingPatient
    unit_id: str
    left: int
    pref_slot: int
    planned: dict[datetime, tuple[str, str]] = field(default_factory=dict)
    """Sessions the policy's own plan already gave this course in later weeks (start -> unit,
    therapist): kept as its appointments when still free, so a started course is not re-packed
    from scratch by the greedy booking (empty for a one-week plan)."""


@dataclass
class _State:
    waitlist: list[WaitingPatient] = field(default_factory=list)
    ongoing: list[_Course] = field(default_factory=list)
    started: dict[str, date] = field(default_factory=dict)
    sessions: list[Assignment] = field(default_factory=list)
    bookable_by_week: list[dict[str, int]] = field(default_factory=list)
    units: list[DeviceUnit] = field(default_factory=list)
    """The units where they stand now (a moved unit at its new clinic from the decision to send it
    off; ``arrival`` says until when it is in transit); empty means the network's units."""
    clinic_by_week: list[dict[str, str]] = field(default_factory=list)
    """Per simulated week: unit id -> the clinic holding it (regional metrics follow moves)."""
    moves: list[tuple[date, UnitMove]] = field(default_factory=list)
    leaving: dict[str, UnitMove] = field(default_factory=dict)
    """Units chosen to move that still have courses booked: no new course, they leave when the
    courses end."""
    arrival: dict[str, date] = field(default_factory=dict)
    """Unit id -> first day a moved unit is usable at its new clinic."""


def simulate_network(
    *,
    weeks: int = 12,
    n_clinics: int = 20,
    n_units: int = 60,
    initial_waitlist: int = 500,
    arrivals_per_week: float = 100.0,
    travel_limit_km: float = 50.0,
    solver_time_limit_s: float = 5.0,
    num_workers: int = 2,
    seed: int = 0,
    start: date = date(2025, 3, 3),
    warmup_weeks: int = 0,
    cooldown_weeks: int = 0,
    plan_weeks: int = PLAN_WEEKS,
    deterministic: bool = True,
) -> SimulationResult:
    """Simulate ``weeks`` of Poisson referrals, scheduling each week under both policies.

    Week by week and for each policy separately: patients already in a course are booked first,
    on the sessions the policy's plan already gave them when still free, else on their unit (same
    time of day when free); then the policy plans the waitlist —
    ``fcfs`` on the referring clinic's own units for the week (the status quo), ``exoshare`` with
    :class:`SessionScheduler` across the network on a rolling horizon: it plans ``plan_weeks``
    weeks ahead, with the continuing courses on the calendar for all of them, and commits only the
    first week; the rest is planned again next week with the new referrals. As a shared fleet,
    exoshare also moves units between clinics every ``REVIEW_WEEKS`` (:func:`_rebalance`); FCFS's
    units stay where they are. Both see the same patients, devices and staff; ``plan_weeks=1``
    plans one week at a time for both.

    Waits run from referral to first session, the same way for both policies; patients still
    waiting at the end count with the wait so far (a lower bound), so a policy cannot look good by
    leaving people on the list.

    ``overall`` covers everyone, including the initial backlog, whose wait before the first week
    is the same under both policies and no scheduler can shorten. With ``warmup_weeks`` > 0 the
    result also has ``steady``: the usual steady-state estimate of queueing simulation, measured
    on patients referred after the warm-up and at least ``cooldown_weeks`` before the end (so
    their wait is not cut short by the end of the run), with both policies still carrying the
    backlog through the warm-up.

    ``deterministic`` runs CP-SAT on one worker with deterministic time limits (the same seed
    gives the same result on any machine load); off, on ``num_workers`` with wall-clock limits.
    """
    if warmup_weeks < 0 or cooldown_weeks < 0 or warmup_weeks + cooldown_weeks >= weeks:
        raise ValueError("need 0 <= warmup_weeks, 0 <= cooldown_weeks, warmup + cooldown < weeks")
    network = generate_network(n_clinics, n_units, seed=seed)
    rng = np.random.default_rng(seed + 7)
    backlog = generate_patients(
        network,
        initial_waitlist,
        referred_between=(start - timedelta(days=90), start),
        rng=rng,
        id_prefix="B",
    )
    instance = SimulationInstance(
        network, backlog, seeded_referrals(network, start, weeks, arrivals_per_week, rng)
    )
    return simulate_instance(
        instance,
        start=start,
        travel_limit_km=travel_limit_km,
        solver_time_limit_s=solver_time_limit_s,
        num_workers=num_workers,
        seed=seed,
        warmup_weeks=warmup_weeks,
        cooldown_weeks=cooldown_weeks,
        plan_weeks=plan_weeks,
        deterministic=deterministic,
    )


def seeded_referrals(
    network: Network,
    start: date,
    weeks: int,
    arrivals_per_week: float,
    rng: np.random.Generator,
) -> list[list[WaitingPatient]]:
    """Poisson referrals for each of ``weeks`` weeks from ``start``, spread over the clinics by
    ``network.referral_share`` (ids ``A00001``, ... in order of arrival)."""
    arrivals: list[list[WaitingPatient]] = []
    next_id = 1
    for k in range(weeks):
        n = int(rng.poisson(arrivals_per_week))
        week0 = start + timedelta(weeks=k)
        arrivals.append(
            generate_patients(
                network,
                n,
                referred_between=(week0 - timedelta(days=7), week0),
                rng=rng,
                id_prefix="A",
                first_index=next_id,
            )
        )
        next_id += n
    return arrivals


def simulate_instance(
    instance: SimulationInstance,
    *,
    start: date,
    travel_limit_km: float = 50.0,
    solver_time_limit_s: float = 5.0,
    num_workers: int = 2,
    seed: int = 0,
    warmup_weeks: int = 0,
    cooldown_weeks: int = 0,
    plan_weeks: int = PLAN_WEEKS,
    deterministic: bool = True,
    policies: tuple[str, ...] = POLICIES,
) -> SimulationResult:
    """:func:`simulate_network` on a given network, backlog and weekly referrals (one week per
    entry of ``instance.referrals``), for ``policies`` only (``exoshare`` for a what-if run)."""
    network, backlog, arrivals = instance.network, instance.backlog, instance.referrals
    weeks = len(arrivals)
    if warmup_weeks < 0 or cooldown_weeks < 0 or warmup_weeks + cooldown_weeks >= weeks:
        raise ValueError("need 0 <= warmup_weeks, 0 <= cooldown_weeks, warmup + cooldown < weeks")
    if plan_weeks < 1:
        raise ValueError("plan_weeks must be at least 1")
    if not policies or not set(policies) <= set(POLICIES):
        raise ValueError(f"policies must be some of {', '.join(POLICIES)}")
    states = {
        pol: _State(
            waitlist=list(backlog),
            units=list(network.units),
            ongoing=_running(network, instance.courses),
        )
        for pol in policies
    }
    for k in range(weeks):
        for pol, state in states.items():
            state.waitlist += arrivals[k]
            if pol == "exoshare":
                _rebalance(
                    network, start + timedelta(weeks=k), state, travel_limit_km, week_index=k
                )
            _run_week(
                network,
                start + timedelta(weeks=k),
                state,
                pol,
                travel_limit_km,
                solver_time_limit_s,
                num_workers,
                seed,
                plan_weeks=plan_weeks if pol == "exoshare" else 1,
                deterministic=deterministic,
            )
    end = start + timedelta(weeks=weeks)
    everyone = [*backlog, *(p for week in arrivals for p in week)]
    region_of = {c.id: c.region for c in network.clinics}
    # Patients no policy can ever treat: no (clinic, model) passes the hard rules network-wide
    # (size or weight outside every reachable model, no clinic within the travel limit, ...).
    # They stay in ``overall``; ``steady`` leaves them out for both policies alike, since each
    # would add the same censored wait to both means, and reports how many there were.
    untreatable = screen(
        SchedulingProblem(
            network.clinics,
            network.models,
            network.units,
            network.therapists,
            everyone,
            Horizon(start, weeks, 60),
            travel_limit_km,
        )
    ).reasons
    window = [p for week in arrivals[warmup_weeks : weeks - cooldown_weeks] for p in week]
    measured = [p for p in window if p.id not in untreatable]
    earliest = _earliest_starts(network, start, [backlog, *arrivals], travel_limit_km)
    result = SimulationResult(
        weeks,
        len(network.units),
        warmup_weeks=warmup_weeks,
        cooldown_weeks=cooldown_weeks,
        untreatable=untreatable,
        steady_excluded_untreatable=len(window) - len(measured) if warmup_weeks else 0,
        unit_moves=states["exoshare"].moves if "exoshare" in states else [],
    )
    result.wait_lower_bound_days["overall"] = _mean_wait(everyone, earliest, end)
    if warmup_weeks:
        result.wait_lower_bound_days["steady"] = _mean_wait(measured, earliest, end)
    # Sessions of the courses running at the start name patients who are not in the waits.
    by_id = {p.id: p for p in [*everyone, *(c.patient for c in instance.courses)]}
    for pol, state in states.items():
        result.overall[pol] = _metrics(
            everyone, state, network, end, weeks, None, region_of, by_id=by_id
        )
        result.by_region[pol] = {
            r: _metrics(everyone, state, network, end, weeks, r, region_of, by_id=by_id)
            for r in sorted({c.region for c in network.clinics})
        }
        if warmup_weeks:
            result.steady[pol] = _metrics(
                measured,
                state,
                network,
                end,
                weeks,
                None,
                region_of,
                from_week=warmup_weeks,
                by_id=by_id,
            )
    return result


def _run_week(
    network: Network,
    week_start: date,
    state: _State,
    policy: str,
    travel_limit_km: float,
    time_limit_s: float,
    num_workers: int,
    seed: int,
    plan_weeks: int = 1,
    deterministic: bool = False,
) -> None:
    """Book one week (``week_start`` .. +7 days) under ``policy`` and update ``state``.

    The policy plans ``plan_weeks`` weeks ahead (a rolling horizon): continuing courses are put on
    the calendar for every planned week, on their own unit, so the plan sees the capacity they
    leave; the waitlist is planned over the whole horizon; then only the first week is committed
    (sessions, first sessions, new courses). Tentative bookings of later weeks are dropped and
    planned again next week, with that week's referrals. With ``plan_weeks=1`` this is the plain
    week-by-week plan.
    """
    week = Horizon(week_start, 1, 60)
    plan = Horizon(week_start, plan_weeks, 60)
    if not state.units:
        state.units = list(network.units)
    # Time in transit counts as bookable: it is unit time the policy chose to spend moving.
    one_week = SchedulingProblem(
        network.clinics, network.models, state.units, network.therapists, [], week, travel_limit_km
    )
    state.bookable_by_week.append({u.id: len(one_week.unit_slots(u)) for u in state.units})
    state.clinic_by_week.append({u.id: u.clinic_id for u in state.units})
    fleet = [_with_transit(u, state.arrival.get(u.id)) for u in state.units]
    base = SchedulingProblem(
        network.clinics, network.models, fleet, network.therapists, [], plan, travel_limit_km
    )
    # Patients in a course come first, on their own unit, week by week over the planned horizon;
    # only the first week's sessions are committed.
    ledger = Ledger(replace(base, patients=[c.patient for c in state.ongoing]))
    left = {id(c): c.left for c in state.ongoing}
    calendar: list[Assignment] = []
    for w in range(plan.weeks):
        for course in state.ongoing:
            need = min(course.patient.sessions_per_week, left[id(course)])
            if need <= 0:
                continue
            booked = _book_planned(ledger, course, w, need)
            if len(booked) < need:
                booked += ledger.book(
                    course.patient,
                    course.unit_id,
                    ledger.week_plan(
                        course.patient, course.unit_id, w, need - len(booked), course.pref_slot
                    ),
                )
            left[id(course)] -= len(booked)
            calendar += booked
            if w == 0:
                state.sessions += booked
                course.left -= len(booked)
    state.ongoing = [c for c in state.ongoing if c.left > 0]
    taken = defaultdict(list)
    for a in calendar:
        taken[a.unit_id].append((a.start, a.end))
        taken[a.therapist_id].append((a.start, a.end))
    # A unit chosen to move takes no new course: it only finishes the ones booked on it.
    units = [
        replace(
            u,
            booked=(*u.booked, *taken[u.id]),
            maintenance=(*u.maintenance, (_midnight(plan.start_date), _midnight(plan.end_date)))
            if u.id in state.leaving
            else u.maintenance,
        )
        for u in fleet
    ]
    # Sessions on the calendar before the run (a network read from the database) stay booked.
    therapists = [replace(t, booked=(*t.booked, *taken[t.id])) for t in network.therapists]
    problem = SchedulingProblem(
        network.clinics, network.models, units, therapists, state.waitlist, plan, travel_limit_km
    )
    if policy in ("fcfs", "pooled_fcfs"):
        result: FcfsScheduler | SessionScheduler = FcfsScheduler(
            pooled=policy == "pooled_fcfs"
        ).solve(problem)
    else:
        result = SessionScheduler(
            time_limit_s=time_limit_s,
            num_workers=num_workers,
            random_seed=seed,
            deterministic=deterministic,
        ).solve(problem)
    committed = [a for a in result.assignments_ if a.start.date() < week.end_date]
    state.sessions += committed
    first_unit: dict[str, Assignment] = {}
    count: dict[str, int] = defaultdict(int)
    for a in committed:
        first_unit.setdefault(a.patient_id, a)
        count[a.patient_id] += 1
    remaining = []
    for p in state.waitlist:
        if p.id in first_unit:
            a = first_unit[p.id]
            state.started[p.id] = a.start.date()
            if p.course_sessions > count[p.id]:
                pref = plan.slot_of(a.start) % plan.slots_per_day
                later = {
                    b.start: (b.unit_id, b.therapist_id)
                    for b in result.assignments_
                    if b.patient_id == p.id and b.start.date() >= week.end_date
                }
                state.ongoing.append(
                    _Course(p, a.unit_id, p.course_sessions - count[p.id], pref, later)
                )
        else:
            remaining.append(p)
    state.waitlist = remaining


def _running(network: Network, courses: list[StartedCourse]) -> list[_Course]:
    """The courses running at the start, each on its unit (or the first of its model at its
    clinic when the latest session's unit is not known); a course with no such unit is left out."""
    out = []
    for c in courses:
        unit_id = c.unit_id or next(
            (u.id for u in network.units if (u.clinic_id, u.model_id) == (c.clinic_id, c.model_id)),
            None,
        )
        if unit_id is not None and c.patient.course_sessions > 0:
            out.append(_Course(c.patient, unit_id, c.patient.course_sessions, c.slot_of_day or 0))
    return out


def _earliest_starts(
    network: Network, start: date, cohorts: list[list[WaitingPatient]], travel_limit_km: float
) -> dict[str, date]:
    """Patient id -> the first day they could start with unlimited capacity: from the weekly plan
    they first join (cohort k joins in week k), the first day on which one of their options has
    a unit and a certified therapist open. Untreatable patients are left out."""
    out: dict[str, date] = {}
    for k, cohort in enumerate(cohorts):
        first_day = start + timedelta(weeks=max(0, k - 1))
        problem = SchedulingProblem(
            network.clinics,
            network.models,
            network.units,
            network.therapists,
            cohort,
            Horizon(first_day, 2, 60),
            travel_limit_km,
        )
        screening = screen(problem)
        for p in cohort:
            days = [
                problem.horizon.slot_start(min(slots)).date()
                for o in screening.options.get(p.id, [])
                if (slots := screening.group_slots.get((o.clinic_id, o.model_id)))
            ]
            if days:
                out[p.id] = min(days)
    return out


def _mean_wait(patients: list[WaitingPatient], earliest: dict[str, date], end: date) -> float:
    waits = [
        (min(earliest[p.id], end) - p.referral_date).days for p in patients if p.id in earliest
    ]
    return float(np.mean(waits)) if waits else float("nan")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def _with_transit(unit: DeviceUnit, arrival: date | None) -> DeviceUnit:
    """``unit`` blocked during its last move (the ``TRANSIT_WEEKS`` before ``arrival``)."""
    if arrival is None:
        return unit
    transit = (_midnight(arrival - timedelta(weeks=TRANSIT_WEEKS)), _midnight(arrival))
    return replace(unit, maintenance=(*unit.maintenance, transit))


def _rebalance(
    network: Network, week_start: date, state: _State, travel_limit_km: float, week_index: int
) -> None:
    """Every ``REVIEW_WEEKS`` choose units to move; every week send off those now free.

    Choices come from :func:`plan_unit_moves` on the last ``REVIEW_WEEKS`` of bookings. A course
    in progress keeps its unit: a unit may be chosen only if the courses booked on it (on it as
    their unit, or planned on it) end within the next ``REVIEW_WEEKS``; it then takes no new
    course and leaves the week they have ended. A moved unit stays at least one whole review
    period at its new clinic, so that its use there is measured before it may move again (else a
    unit that just arrived, with nothing booked yet, looks idle). Units are measured where they
    stand, one in transit already at its new clinic, so the gain there is not claimed twice; a
    clinic with a chosen unit still to come gets no other one.
    """
    weeks_booked: dict[str, int] = defaultdict(int)
    for c in state.ongoing:
        weeks_left = -(-c.left // c.patient.sessions_per_week)
        on = {c.unit_id} | {u for start, (u, _) in c.planned.items() if start.date() >= week_start}
        for uid in on:
            weeks_booked[uid] = max(weeks_booked[uid], weeks_left)
    if week_index and week_index % REVIEW_WEEKS == 0:
        _choose_moves(network, week_start, state, travel_limit_km, weeks_booked)
    for uid, move in list(state.leaving.items()):
        if weeks_booked[uid] == 0:
            state.units = [
                replace(u, clinic_id=move.to_clinic_id) if u.id == uid else u for u in state.units
            ]
            state.arrival[uid] = week_start + timedelta(weeks=TRANSIT_WEEKS)
            del state.leaving[uid]


def _choose_moves(
    network: Network,
    week_start: date,
    state: _State,
    travel_limit_km: float,
    weeks_booked: dict[str, int],
) -> None:
    movable = {
        u.id: weeks_booked[u.id]
        for u in state.units
        if u.id not in state.leaving
        and (
            u.id not in state.arrival
            or state.arrival[u.id] <= week_start - timedelta(weeks=REVIEW_WEEKS)
        )
        and weeks_booked[u.id] <= REVIEW_WEEKS
    }
    period = SchedulingProblem(
        network.clinics,
        network.models,
        state.units,
        network.therapists,
        state.waitlist,
        Horizon(week_start - timedelta(weeks=REVIEW_WEEKS), REVIEW_WEEKS, 60),
        travel_limit_km,
    )
    incoming = {m.to_clinic_id for m in state.leaving.values()}
    for move in plan_unit_moves(period, state.sessions, movable, incoming):
        state.leaving[move.unit_id] = move
        state.moves.append((week_start, move))


def _book_planned(ledger: Ledger, course: _Course, week: int, need: int) -> list[Assignment]:
    """Book up to ``need`` of the course's planned sessions in ``week`` that are still free.

    A planned session counts only on a unit of the course's clinic and model, with its planned
    therapist, on a day the patient has no session yet; the rest is left to the greedy booking.
    """
    if need <= 0 or not course.planned:
        return []
    pb = ledger.problem
    h = pb.horizon
    home = pb.unit_by_id[course.unit_id]
    per_week = 7 * h.slots_per_day
    out: list[Assignment] = []
    days: set[int] = set()
    for start, (uid, tid) in sorted(course.planned.items()):
        if len(out) == need:
            break
        if not h.start_date <= start.date() < h.end_date:
            continue
        s = h.slot_of(start)
        d = h.day_of(s)
        unit = pb.unit_by_id.get(uid)
        # A longer session needs its unit and therapist free for every slot of it.
        span = h.span(s, course.patient.session_slots) or ()
        if (
            s // per_week != week
            or unit is None
            or (unit.clinic_id, unit.model_id) != (home.clinic_id, home.model_id)
            or d in days
            or (course.patient.id, d) in ledger.patient_days
            or not span
            or not all(k in ledger.unit_free[uid] for k in span)
            or not all(k in ledger.ther_free.get(tid, ()) for k in span)
        ):
            continue
        out += ledger.book(course.patient, uid, [(s, tid)])
        days.add(d)
    return out


def _metrics(
    everyone: list[WaitingPatient],
    state: _State,
    network: Network,
    end: date,
    weeks: int,
    region: str | None,
    region_of: dict[str, str],
    from_week: int = 0,
    by_id: dict[str, WaitingPatient] | None = None,
) -> PolicyMetrics:
    """Metrics of ``everyone`` (waits) and of the sessions from week ``from_week`` on."""

    def in_region(clinic_id: str | None) -> bool:
        return region is None or (clinic_id is not None and region_of[clinic_id] == region)

    by_id = by_id or {p.id: p for p in everyone}
    patients = [p for p in everyone if in_region(p.referring_clinic_id)]
    waits = np.array(
        [(state.started.get(p.id, end) - p.referral_date).days for p in patients], dtype=float
    )
    weighted = waits * np.array([p.priority_weight for p in patients], dtype=float)
    # Months are 4-week blocks counted from the first simulated week (``end`` - ``weeks``).
    window_start = end - timedelta(weeks=weeks - from_week)
    sessions = [
        a for a in state.sessions if in_region(a.clinic_id) and a.start.date() >= window_start
    ]
    treated_per_month: dict[int, set[str]] = defaultdict(set)
    for a in sessions:
        month = (a.start.date() - window_start).days // (7 * WEEKS_PER_MONTH)
        treated_per_month[month].add(a.patient_id)
    # Units count where they stood each week, so a moved unit's device-months follow it.
    held = list(
        zip(state.bookable_by_week[from_week:], state.clinic_by_week[from_week:], strict=True)
    )
    device_months = (
        sum(1 for _, where in held for c in where.values() if in_region(c)) / WEEKS_PER_MONTH
    )
    clinic_by_id = {c.id: c for c in network.clinics}
    travel = [
        2
        * haversine_km(
            by_id[a.patient_id].home_lat_deg,
            by_id[a.patient_id].home_lon_deg,
            clinic_by_id[a.clinic_id].lat_deg,
            clinic_by_id[a.clinic_id].lon_deg,
        )
        for a in sessions
    ]
    bookable = sum(n for wk, where in held for u, n in wk.items() if in_region(where[u]))
    # Sessions in the calendar week (Monday to Sunday) of each started patient's first session,
    # all of theirs wherever held: a course started on a Friday has had a short first week.
    first_week: dict[str, int] = defaultdict(int)
    started = {
        p.id: state.started[p.id] - timedelta(days=state.started[p.id].weekday())
        for p in patients
        if p.id in state.started
    }
    for a in state.sessions:
        monday = started.get(a.patient_id)
        if monday is not None and monday <= a.start.date() < monday + timedelta(days=7):
            first_week[a.patient_id] += 1
    dose = [
        first_week[pid] / min(by_id[pid].sessions_per_week, by_id[pid].course_sessions)
        for pid in started
    ]
    return PolicyMetrics(
        patients_arrived=len(patients),
        patients_started=sum(1 for p in patients if p.id in state.started),
        mean_wait_days=float(waits.mean()) if len(waits) else float("nan"),
        p90_wait_days=float(np.percentile(waits, 90)) if len(waits) else float("nan"),
        p95_wait_days=float(np.percentile(waits, 95)) if len(waits) else float("nan"),
        mean_weighted_wait_days=float(weighted.mean()) if len(waits) else float("nan"),
        p90_weighted_wait_days=float(np.percentile(weighted, 90)) if len(waits) else float("nan"),
        first_week_sessions=(
            float(np.mean([first_week[pid] for pid in started])) if started else float("nan")
        ),
        first_week_dose_pct=100 * float(np.mean(dose)) if dose else float("nan"),
        patients_per_device_month=(
            sum(len(s) for s in treated_per_month.values()) / device_months
            if device_months
            else float("nan")
        ),
        # Bookable time is counted in slots, so a session counts the slots it takes.
        utilisation_pct=(
            100 * sum(by_id[a.patient_id].session_slots for a in sessions) / bookable
            if bookable
            else float("nan")
        ),
        sessions=len(sessions),
        travel_km_per_session=float(np.mean(travel)) if travel else float("nan"),
    )


def render_table(result: SimulationResult) -> str:
    """Markdown table: FCFS vs exoshare overall and per region, with the exoshare/FCFS ratios."""
    rows = [
        "| scope | policy | started / arrived | mean wait (d) | p90 wait (d) "
        "| first-week sessions (dose) | patients / device-month | utilisation "
        "| round trip km / session |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def line(scope: str, pol: str, m: PolicyMetrics) -> str:
        return (
            f"| {scope} | {pol} | {m.patients_started} / {m.patients_arrived} | "
            f"{m.mean_wait_days:.1f} | {m.p90_wait_days:.1f} | "
            f"{m.first_week_sessions:.2f} ({m.first_week_dose_pct:.0f} %) | "
            f"{m.patients_per_device_month:.2f} | "
            f"{m.utilisation_pct:.1f} % | {m.travel_km_per_session:.1f} |"
        )

    steady_scope = "network, steady state"
    if result.steady:
        for pol in POLICIES:
            rows.append(line(steady_scope, pol, result.steady[pol]))
    for pol in POLICIES:
        rows.append(line("network", pol, result.overall[pol]))
    for region in result.by_region["fcfs"]:
        for pol in POLICIES:
            rows.append(line(region, pol, result.by_region[pol][region]))
    rows.append("")
    if result.steady:
        rows.append(
            f"steady state: patients who joined the waitlist in weeks {result.warmup_weeks + 1}–"
            f"{result.weeks - result.cooldown_weeks} of {result.weeks}, leaving out "
            f"{result.steady_excluded_untreatable} whom no clinic of the network may treat under "
            "the hard rules (the same for both policies); 'network' and the regions: the whole "
            f"run, everyone, including the initial backlog and {len(result.untreatable)} "
            "untreatable patients"
        )
    scopes = [("steady", "steady state")] if result.steady else []
    scopes.append(("overall", "whole run"))
    for scope, label in scopes:
        bound = result.wait_lower_bound_days[scope]
        mean = getattr(result, scope)["exoshare"].mean_wait_days
        rows.append(
            f"{label}: lower bound on the mean wait with unlimited capacity {bound:.1f} d "
            f"(treatable patients); exoshare {mean:.1f} d, gap {mean - bound:.1f} d"
        )
        pooled, own = getattr(result, scope)["pooled_fcfs"], getattr(result, scope)["exoshare"]
        change = 100 * (1 - result.ratio("mean_wait_days", scope, "pooled_fcfs"))
        dose_ok = own.first_week_dose_pct >= pooled.first_week_dose_pct
        rows.append(
            f"{label}: mean wait vs pooled FCFS, goal ≥ 25 % lower at equal or better first-week "
            f"dose — {change:.0f} % lower, first-week dose {own.first_week_dose_pct:.0f} % vs "
            f"{pooled.first_week_dose_pct:.0f} % "
            f"({'met' if change >= 25 and dose_ok else 'NOT met'})"
        )
    for attr, what, goal, sign in (
        ("mean_wait_days", "mean wait", 40, -1),
        ("patients_per_device_month", "patients treated per device-month", 25, 1),
    ):
        parts = []
        for scope, label in scopes:
            change = 100 * sign * (result.ratio(attr, scope) - 1)
            parts.append(
                f"{label}: {change:.0f} % {'lower' if sign < 0 else 'higher'}"
                f" ({'met' if change >= goal else 'NOT met'})"
            )
        rows.append(
            f"{what}: vs FCFS, goal ≥ {goal} % {'lower' if sign < 0 else 'higher'} — "
            + "; ".join(parts)
        )
    moves = result.unit_moves
    rows.append(
        f"exoshare moved {len(moves)} units between clinics (FCFS: none)"
        + (": " if moves else "")
        + ", ".join(
            f"{m.unit_id} {m.model_id} {m.from_clinic_id}→{m.to_clinic_id} chosen {day:%Y-%m-%d}"
            f" leaving {m.leaves_in_weeks} wk later "
            f"(+{m.sessions_gained}/−{m.sessions_lost} sessions per {REVIEW_WEEKS} weeks)"
            for day, m in moves
        )
    )
    return "\n".join(rows)
