"""Capacity advice runs: start a what-if run on the network in the database, execute it in the
background with its progress stored, and read its ranked advice (consortium operators only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.schemas import Role
from exoshare.auth.scope import Principal
from exoshare.db import session_scope, utcnow
from exoshare.errors import CapacityRunBusy, InvalidInput, NotFound, PermissionDenied
from exoshare.scheduling.instances import Network
from exoshare.scheduling.models import CapacityAdvice, CapacityRun, WaitlistEntry
from exoshare.scheduling.problem_from_db import build_problem
from exoshare.scheduling.whatif import WhatIfSetup, candidate_changes, what_if

REFERRAL_WINDOW_DAYS = 84
"""New referrals per week are the network's referrals of the last 12 weeks, per week."""
STALE_AFTER = timedelta(hours=2)
"""A run queued or running for longer than this (a server restarted under it) no longer blocks a
new one."""
CHANGES_PER_KIND = 4
"""Candidates simulated per kind after pruning: with 3 seeds, 27 runs of the simulation."""


def _operator_only(principal: Principal) -> None:
    if not principal.has_role(Role.consortium_operator):
        raise PermissionDenied("capacity advice is the consortium operator's")


def start_capacity_run(
    session: Session,
    principal: Principal,
    start: date,
    weeks: int = 8,
    seeds: int = 3,
    travel_limit_km: float = 50.0,
) -> CapacityRun:
    """Store a queued run; :func:`execute_capacity_run` does the work (in the background)."""
    _operator_only(principal)
    if not 2 <= weeks <= 26:
        raise InvalidInput("weeks must be 2–26", field="weeks")
    if not 1 <= seeds <= 10:
        raise InvalidInput("seeds must be 1–10", field="seeds")
    busy = session.scalar(
        select(CapacityRun.id).where(
            CapacityRun.status.in_(("queued", "running")),
            CapacityRun.requested_at > utcnow() - STALE_AFTER,
        )
    )
    if busy is not None:
        raise CapacityRunBusy(
            f"capacity run {busy} is under way; wait for it to finish before starting another"
        )
    run = CapacityRun(
        requested_by_id=principal.user_ref,
        horizon_start=start,
        weeks=weeks,
        seeds=seeds,
        travel_limit_km=travel_limit_km,
    )
    session.add(run)
    session.flush()
    return run


def execute_capacity_run(
    factory: sessionmaker[Session],
    run_id: str,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Simulate the network as it is and with each candidate change, store the ranked advice.

    Progress is committed after every simulation run, so a page polling the run sees it move; a
    failure is stored on the run (status ``failed`` with the error), never raised to the caller
    of a background task.
    """
    with session_scope(factory) as session:
        run = session.get(CapacityRun, run_id)
        if run is None:
            return
        run.status = "running"
        setup = _setup(session, run)
        changes = candidate_changes(
            setup.network, setup.backlog, run.travel_limit_km, CHANGES_PER_KIND
        )
        run.patients_waiting = len(setup.backlog)
        run.referrals_per_week = setup.arrivals_per_week
        run.runs_total = run.seeds * (1 + len(changes))

    def step(done: int, total: int) -> None:
        with session_scope(factory) as session:
            row = session.get(CapacityRun, run_id)
            if row is not None:
                row.runs_done = done
        if progress:
            progress(done, total)

    try:
        baseline, ranked = what_if(setup, changes, list(range(run.seeds)), step)
    except Exception as exc:  # stored for the operator: a background task has no caller to tell
        with session_scope(factory) as session:
            row = session.get(CapacityRun, run_id)
            if row is not None:
                row.status, row.error, row.finished_at = "failed", str(exc)[:2000], utcnow()
        return
    with session_scope(factory) as session:
        row = session.get(CapacityRun, run_id)
        if row is None:
            return
        waits = baseline.mean_weighted_wait_days
        row.baseline_wait_days = float(np.mean(waits))
        row.baseline_wait_sd = float(np.std(waits, ddof=1)) if len(waits) > 1 else 0.0
        for rank, outcome in enumerate(ranked, start=1):
            change = outcome.change
            row.advice.append(
                CapacityAdvice(
                    rank=rank,
                    kind=change.kind,
                    clinic_id=change.clinic_id,
                    model_id=change.model_id,
                    therapist_id=change.therapist_id,
                    weekday=change.weekday,
                    wait_cut_days=outcome.wait_cut_mean,
                    wait_cut_sd=outcome.wait_cut_sd,
                    p90_cut_days=outcome.p90_cut_mean,
                    extra_patients=outcome.extra_patients_mean,
                )
            )
        row.status, row.finished_at = "done", utcnow()


def _setup(session: Session, run: CapacityRun) -> WhatIfSetup:
    """The network, waitlist and running courses as the database holds them, and the referral
    rate and spread of the last ``REFERRAL_WINDOW_DAYS``."""
    built = build_problem(session, run.horizon_start, 1, run.travel_limit_km)
    pb = built.problem
    since = run.horizon_start - timedelta(days=REFERRAL_WINDOW_DAYS)
    recent = Counter(
        session.scalars(
            select(WaitlistEntry.clinic_id).where(WaitlistEntry.referral_date >= since)
        ).all()
    )
    located = {c.id for c in pb.clinics}
    # Every located clinic keeps a small share, so a clinic with no recent referral still gets
    # simulated patients (new referrals do not stop because a quarter had none).
    share = {c: recent.get(c, 0) + 0.5 for c in located}
    total = sum(share.values()) or 1.0
    network = Network(
        list(pb.clinics),
        list(pb.models),
        list(pb.units),
        list(pb.therapists),
        {c: w / total for c, w in share.items()},
    )
    per_week = sum(n for c, n in recent.items() if c in located) / (REFERRAL_WINDOW_DAYS / 7)
    return WhatIfSetup(
        network,
        list(pb.patients),
        run.horizon_start,
        weeks=run.weeks,
        arrivals_per_week=per_week,
        travel_limit_km=run.travel_limit_km,
        courses=built.courses,
    )


def capacity_run(session: Session, principal: Principal, run_id: str) -> CapacityRun:
    """One run with its advice; anyone but an operator is told it does not exist."""
    run = session.get(CapacityRun, run_id)
    if run is None or not principal.has_role(Role.consortium_operator):
        raise NotFound(f"capacity run {run_id} not found")
    return run


def capacity_runs(session: Session, principal: Principal, limit: int = 20) -> list[CapacityRun]:
    """The latest runs, newest first."""
    _operator_only(principal)
    return list(
        session.scalars(select(CapacityRun).order_by(CapacityRun.requested_at.desc()).limit(limit))
    )
