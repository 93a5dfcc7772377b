"""Week-by-week network simulation: status-quo FCFS per clinic versus the network-wide solver."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np

from exoshare.scheduling.fcfs import FcfsScheduler, Ledger
from exoshare.scheduling.instances import Network, generate_network, generate_patients
from exoshare.scheduling.problem import (
    Assignment,
    Horizon,
    SchedulingProblem,
    WaitingPatient,
    haversine_km,
)
from exoshare.scheduling.solver import SessionScheduler

POLICIES = ("fcfs", "exoshare")
WEEKS_PER_MONTH = 4
"""Months are 4-week blocks, so every month has the same number of weekdays."""


@dataclass
class PolicyMetrics:
    patients_arrived: int = 0
    patients_started: int = 0
    mean_wait_days: float = float("nan")
    p95_wait_days: float = float("nan")
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
    by_region: dict[str, dict[str, PolicyMetrics]] = field(default_factory=dict)
    """policy -> region -> metrics."""

    def ratio(self, attr: str) -> float:
        """exoshare / fcfs for one metric of ``overall``."""
        return float(getattr(self.overall["exoshare"], attr) / getattr(self.overall["fcfs"], attr))


@dataclass
class _Course:
    patient: WaitingPatient
    unit_id: str
    left: int
    pref_slot: int


@dataclass
class _State:
    waitlist: list[WaitingPatient] = field(default_factory=list)
    ongoing: list[_Course] = field(default_factory=list)
    started: dict[str, date] = field(default_factory=dict)
    sessions: list[Assignment] = field(default_factory=list)
    bookable_unit_slots: dict[str, int] = field(default_factory=lambda: defaultdict(int))


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
) -> SimulationResult:
    """Simulate ``weeks`` of Poisson referrals, scheduling each week under both policies.

    Week by week and for each policy separately: patients already in a course are booked first on
    their unit (same time of day when free); then the policy plans the waitlist for the week —
    ``fcfs`` on the referring clinic's own units, ``exoshare`` with :class:`SessionScheduler`
    across the network. Both see the same patients, devices and staff.

    Waits run from referral to first session; patients still waiting at the end count with the
    wait so far (a lower bound), so a policy cannot look good by leaving people on the list.
    """
    network = generate_network(n_clinics, n_units, seed=seed)
    rng = np.random.default_rng(seed + 7)
    backlog = generate_patients(
        network,
        initial_waitlist,
        referred_between=(start - timedelta(days=90), start),
        rng=rng,
        id_prefix="B",
    )
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
    states = {pol: _State(waitlist=list(backlog)) for pol in POLICIES}
    for k in range(weeks):
        horizon = Horizon(start + timedelta(weeks=k), 1, 60)
        for pol, state in states.items():
            state.waitlist += arrivals[k]
            _run_week(
                network,
                horizon,
                state,
                pol,
                travel_limit_km,
                solver_time_limit_s,
                num_workers,
                seed,
            )
    end = start + timedelta(weeks=weeks)
    everyone = [*backlog, *(p for week in arrivals for p in week)]
    region_of = {c.id: c.region for c in network.clinics}
    result = SimulationResult(weeks, len(network.units))
    for pol, state in states.items():
        result.overall[pol] = _metrics(everyone, state, network, end, weeks, None, region_of)
        result.by_region[pol] = {
            r: _metrics(everyone, state, network, end, weeks, r, region_of)
            for r in sorted({c.region for c in network.clinics})
        }
    return result


def _run_week(
    network: Network,
    horizon: Horizon,
    state: _State,
    policy: str,
    travel_limit_km: float,
    time_limit_s: float,
    num_workers: int,
    seed: int,
) -> None:
    base = SchedulingProblem(
        network.clinics,
        network.models,
        network.units,
        network.therapists,
        [],
        horizon,
        travel_limit_km,
    )
    for u in network.units:
        state.bookable_unit_slots[u.id] += len(base.unit_slots(u))
    # Patients in a course come first, on their own unit.
    ledger = Ledger(replace(base, patients=[c.patient for c in state.ongoing]))
    still: list[_Course] = []
    for course in state.ongoing:
        need = min(course.patient.sessions_per_week, course.left)
        plan = ledger.week_plan(course.patient, course.unit_id, 0, need, course.pref_slot)
        booked = ledger.book(course.patient, course.unit_id, plan)
        state.sessions += booked
        course.left -= len(booked)
        if course.left > 0:
            still.append(course)
    state.ongoing = still
    taken = defaultdict(list)
    for a in state.sessions:
        if horizon.start_date <= a.start.date() < horizon.end_date:
            taken[a.unit_id].append((a.start, a.end))
            taken[a.therapist_id].append((a.start, a.end))
    units = [replace(u, booked=tuple(taken[u.id])) for u in network.units]
    therapists = [replace(t, booked=tuple(taken[t.id])) for t in network.therapists]
    problem = SchedulingProblem(
        network.clinics, network.models, units, therapists, state.waitlist, horizon, travel_limit_km
    )
    if policy == "fcfs":
        result: FcfsScheduler | SessionScheduler = FcfsScheduler().solve(problem)
    else:
        result = SessionScheduler(
            time_limit_s=time_limit_s, num_workers=num_workers, random_seed=seed
        ).solve(problem)
    state.sessions += result.assignments_
    first_unit: dict[str, Assignment] = {}
    count: dict[str, int] = defaultdict(int)
    for a in result.assignments_:
        first_unit.setdefault(a.patient_id, a)
        count[a.patient_id] += 1
    remaining = []
    for p in state.waitlist:
        if p.id in first_unit:
            a = first_unit[p.id]
            state.started[p.id] = a.start.date()
            if p.course_sessions > count[p.id]:
                pref = horizon.slot_of(a.start) % horizon.slots_per_day
                state.ongoing.append(_Course(p, a.unit_id, p.course_sessions - count[p.id], pref))
        else:
            remaining.append(p)
    state.waitlist = remaining


def _metrics(
    everyone: list[WaitingPatient],
    state: _State,
    network: Network,
    end: date,
    weeks: int,
    region: str | None,
    region_of: dict[str, str],
) -> PolicyMetrics:
    def in_region(clinic_id: str | None) -> bool:
        return region is None or (clinic_id is not None and region_of[clinic_id] == region)

    patients = [p for p in everyone if in_region(p.referring_clinic_id)]
    waits = np.array(
        [(state.started.get(p.id, end) - p.referral_date).days for p in patients], dtype=float
    )
    unit_ids = {u.id for u in network.units if in_region(u.clinic_id)}
    by_id = {p.id: p for p in everyone}
    sessions = [a for a in state.sessions if a.unit_id in unit_ids]
    origin = min(a.start for a in state.sessions) if state.sessions else datetime.min
    treated_per_month: dict[int, set[str]] = defaultdict(set)
    for a in sessions:
        month = (a.start.date() - origin.date()).days // (7 * WEEKS_PER_MONTH)
        treated_per_month[month].add(a.patient_id)
    months = weeks / WEEKS_PER_MONTH
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
    bookable = sum(state.bookable_unit_slots[u] for u in unit_ids)
    return PolicyMetrics(
        patients_arrived=len(patients),
        patients_started=sum(1 for p in patients if p.id in state.started),
        mean_wait_days=float(waits.mean()) if len(waits) else float("nan"),
        p95_wait_days=float(np.percentile(waits, 95)) if len(waits) else float("nan"),
        patients_per_device_month=(
            sum(len(s) for s in treated_per_month.values()) / (len(unit_ids) * months)
            if unit_ids
            else float("nan")
        ),
        utilisation_pct=100 * len(sessions) / bookable if bookable else float("nan"),
        sessions=len(sessions),
        travel_km_per_session=float(np.mean(travel)) if travel else float("nan"),
    )


def render_table(result: SimulationResult) -> str:
    """Markdown table: FCFS vs exoshare overall and per region, with the exoshare/FCFS ratios."""
    rows = [
        "| scope | policy | started / arrived | mean wait (d) | p95 wait (d) "
        "| patients / device-month | utilisation | round trip km / session |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def line(scope: str, pol: str, m: PolicyMetrics) -> str:
        return (
            f"| {scope} | {pol} | {m.patients_started} / {m.patients_arrived} | "
            f"{m.mean_wait_days:.1f} | {m.p95_wait_days:.1f} | {m.patients_per_device_month:.2f} | "
            f"{m.utilisation_pct:.1f} % | {m.travel_km_per_session:.1f} |"
        )

    for pol in POLICIES:
        rows.append(line("network", pol, result.overall[pol]))
    for region in result.by_region["fcfs"]:
        for pol in POLICIES:
            rows.append(line(region, pol, result.by_region[pol][region]))
    wait_cut = 100 * (1 - result.ratio("mean_wait_days"))
    gain = 100 * (result.ratio("patients_per_device_month") - 1)
    rows += [
        "",
        f"mean wait: {wait_cut:.0f} % lower than FCFS (goal ≥ 40 %: "
        f"{'met' if wait_cut >= 40 else 'NOT met'})",
        f"patients treated per device-month: {gain:+.0f} % vs FCFS (goal ≥ +25 %: "
        f"{'met' if gain >= 25 else 'NOT met'})",
    ]
    return "\n".join(rows)
