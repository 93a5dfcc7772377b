"""Capacity advice: which one more therapist-day or unit would cut waiting most, by what-if runs
of the network simulation over the same seeded referrals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from exoshare.scheduling.courses import StartedCourse
from exoshare.scheduling.instances import Network
from exoshare.scheduling.problem import DeviceUnit, Therapist, WaitingPatient, haversine_km
from exoshare.scheduling.simulation import SimulationInstance, seeded_referrals, simulate_instance

THERAPIST_DAY = "therapist_day"
UNIT = "unit"
WHATIF_POLICY = "exoshare"
"""The what-if runs simulate the network solver alone: the advice is for the network as run."""


@dataclass(frozen=True)
class Change:
    """One candidate: a unit of ``model_id`` at ``clinic_id``, or one more working day a week
    (``weekday``, 0 = Monday) for ``therapist_id`` of ``clinic_id`` (None: a relief therapist
    certified for the clinic's models)."""

    kind: str
    clinic_id: str
    model_id: str | None = None
    therapist_id: str | None = None
    weekday: int | None = None
    demand: float = 0.0
    """Priority-weighted waiting patients in reach who fit, per unit or therapist-day already
    there: the figure candidates are pruned by."""


@dataclass(frozen=True)
class WhatIfSetup:
    """The network and the waitlist as they are, and how the simulation is run for each change."""

    network: Network
    backlog: list[WaitingPatient]
    start: date
    weeks: int = 8
    arrivals_per_week: float = 20.0
    travel_limit_km: float = 50.0
    solver_time_limit_s: float = 0.5
    plan_weeks: int = 2
    courses: list[StartedCourse] = field(default_factory=list)
    """Courses running at the start (booked first in every run)."""


@dataclass
class Outcome:
    """A change's effect over the seeds: per seed, the baseline minus the run with the change."""

    change: Change
    wait_cut_days: list[float] = field(default_factory=list)
    """Cut in the mean priority-weighted wait (days), one value per seed."""
    p90_cut_days: list[float] = field(default_factory=list)
    extra_patients: list[int] = field(default_factory=list)
    """Patients started during the run with the change minus without it."""

    @property
    def wait_cut_mean(self) -> float:
        return float(np.mean(self.wait_cut_days))

    @property
    def wait_cut_sd(self) -> float:
        return float(np.std(self.wait_cut_days, ddof=1)) if len(self.wait_cut_days) > 1 else 0.0

    @property
    def p90_cut_mean(self) -> float:
        return float(np.mean(self.p90_cut_days))

    @property
    def extra_patients_mean(self) -> float:
        return float(np.mean(self.extra_patients))


@dataclass
class Baseline:
    """The network as it is, per seed."""

    mean_weighted_wait_days: list[float] = field(default_factory=list)
    p90_weighted_wait_days: list[float] = field(default_factory=list)
    patients_started: list[int] = field(default_factory=list)


def candidate_changes(
    network: Network, waiting: Sequence[WaitingPatient], travel_limit_km: float, per_kind: int = 4
) -> list[Change]:
    """The changes worth simulating, at most ``per_kind`` of each kind, most promising first.

    Pruning (each run of the simulation costs seconds, so only changes that can help are run):

    - a (clinic, model) pair counts only if at least one waiting patient fits the model (height,
      weight), lives within the travel limit of the clinic, and the model is approved in the
      clinic's country — the hard rules a session there would meet;
    - a unit only where a therapist of the clinic is certified for its model (else nobody may run
      it);
    - a therapist-day only at a clinic with a unit of a model that patients in reach need: the
      certified therapist working fewest days gets the first open weekday they do not work; when
      every certified therapist works every open day, a relief therapist certified for those
      models works the first open day (one candidate per clinic);
    - candidates are ranked by their priority-weighted demand per unit (or certified
      therapist-day) already there, and the first ``per_kind`` of each kind are kept.
    """
    models = {m.id: m for m in network.models}
    demand: dict[tuple[str, str], float] = {}
    for c in network.clinics:
        for m in network.models:
            if c.country not in m.approved_countries:
                continue
            weight = sum(
                p.priority_weight
                for p in waiting
                if m.fits(p.height_m, p.weight_kg)
                and haversine_km(p.home_lat_deg, p.home_lon_deg, c.lat_deg, c.lon_deg)
                <= travel_limit_km
            )
            if weight > 0:
                demand[(c.id, m.id)] = weight
    units_at: dict[tuple[str, str], int] = {}
    for u in network.units:
        units_at[(u.clinic_id, u.model_id)] = units_at.get((u.clinic_id, u.model_id), 0) + 1
    certified = {(t.clinic_id, m) for t in network.therapists for m in t.certified_model_ids}
    units = [
        Change(UNIT, c, model_id=m, demand=w / (1 + units_at.get((c, m), 0)))
        for (c, m), w in demand.items()
        if (c, m) in certified and m in models
    ]
    days: list[Change] = []
    for clinic in network.clinics:
        # Models with a unit here and patients in reach: a therapist-day for them can be used.
        needed = sorted(m for (c, m) in demand if c == clinic.id and units_at.get((c, m)))
        if not needed or not clinic.opening_hours:
            continue
        certified_here = [
            t
            for t in network.therapists
            if t.clinic_id == clinic.id and set(needed) & t.certified_model_ids
        ]
        options = [
            (len(t.working_hours), t.id, free[0])
            for t in certified_here
            if (free := [d for d in sorted(clinic.opening_hours) if d not in t.working_hours])
        ]
        staffed = sum(len(t.working_hours) for t in certified_here)
        wanted = sum(demand[(clinic.id, m)] for m in needed)
        if options:
            _, tid, weekday = min(options)
            change = Change(THERAPIST_DAY, clinic.id, therapist_id=tid, weekday=weekday)
        else:
            # Every certified therapist works every open day: the extra day is a relief
            # therapist's (certified for the models needed here), on the first open day.
            change = Change(THERAPIST_DAY, clinic.id, weekday=min(clinic.opening_hours))
        days.append(replace(change, demand=wanted / (1 + staffed)))
    ranked = sorted(units, key=lambda c: (-c.demand, c.clinic_id, c.model_id or ""))[:per_kind]
    ranked += sorted(days, key=lambda c: (-c.demand, c.clinic_id))[:per_kind]
    return ranked


def apply_change(network: Network, change: Change) -> Network:
    """The network with ``change`` made (a new unit, or the therapist's extra day)."""
    if change.kind == UNIT:
        if change.model_id is None:
            raise ValueError("a unit change needs a model")
        unit = DeviceUnit(
            f"whatif-{change.clinic_id}-{change.model_id}", change.model_id, change.clinic_id
        )
        return replace(network, units=[*network.units, unit])
    if change.kind != THERAPIST_DAY or change.weekday is None:
        raise ValueError(f"unknown change {change}")
    clinic = next(c for c in network.clinics if c.id == change.clinic_id)
    if change.therapist_id is None:
        units_here = {u.model_id for u in network.units if u.clinic_id == clinic.id}
        relief = Therapist(
            f"whatif-{clinic.id}-relief",
            clinic.id,
            frozenset(units_here),
            {change.weekday: clinic.opening_hours[change.weekday]},
        )
        return replace(network, therapists=[*network.therapists, relief])
    therapists = []
    for t in network.therapists:
        if t.id == change.therapist_id:
            # The therapist's usual day (their first), within the clinic's hours that day.
            opens, closes = clinic.opening_hours[change.weekday]
            usual = next(iter(t.working_hours.values()), (opens, closes))
            hours = (max(usual[0], opens), min(usual[1], closes))
            t = replace(t, working_hours={**t.working_hours, change.weekday: hours})
        therapists.append(t)
    return replace(network, therapists=therapists)


def what_if(
    setup: WhatIfSetup,
    changes: Sequence[Change],
    seeds: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Baseline, list[Outcome]]:
    """Simulate the network as it is and with each change, over the same referrals per seed, and
    rank the changes by the cut in the mean priority-weighted wait (then the p90 cut).

    Every run of one seed sees the same waitlist and the same referrals (drawn once per seed from
    the network as it is); ``progress(done, total)`` is called after each run.
    """
    if not seeds:
        raise ValueError("at least one seed")
    total = len(seeds) * (1 + len(changes))
    done = 0
    baseline = Baseline()
    outcomes = [Outcome(c) for c in changes]
    for seed in seeds:
        referrals = seeded_referrals(
            setup.network,
            setup.start,
            setup.weeks,
            setup.arrivals_per_week,
            np.random.default_rng(seed),
        )

        def run(
            network: Network, seed: int = seed, referrals: list[list[WaitingPatient]] = referrals
        ) -> tuple[float, float, int]:
            result = simulate_instance(
                SimulationInstance(network, list(setup.backlog), referrals, setup.courses),
                start=setup.start,
                travel_limit_km=setup.travel_limit_km,
                solver_time_limit_s=setup.solver_time_limit_s,
                seed=seed,
                plan_weeks=setup.plan_weeks,
                policies=(WHATIF_POLICY,),
            )
            m = result.overall[WHATIF_POLICY]
            return m.mean_weighted_wait_days, m.p90_weighted_wait_days, m.patients_started

        mean0, p900, started0 = run(setup.network)
        baseline.mean_weighted_wait_days.append(mean0)
        baseline.p90_weighted_wait_days.append(p900)
        baseline.patients_started.append(started0)
        done += 1
        if progress:
            progress(done, total)
        for outcome in outcomes:
            mean, p90, started = run(apply_change(setup.network, outcome.change))
            outcome.wait_cut_days.append(mean0 - mean)
            outcome.p90_cut_days.append(p900 - p90)
            outcome.extra_patients.append(started - started0)
            done += 1
            if progress:
                progress(done, total)
    outcomes.sort(key=lambda o: (-o.wait_cut_mean, -o.p90_cut_mean, o.change.clinic_id))
    return baseline, outcomes
