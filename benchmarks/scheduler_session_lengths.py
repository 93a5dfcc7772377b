"""Longer sessions and soft preferences on a synthetic instance: what they cost, what is met.

    uv run python benchmarks/scheduler_session_lengths.py [--size small] [--seed 0]

Every fourth patient gets 2-slot sessions (120 min: the synthetic horizon keeps no changeover);
every third names a preferred clinic (their second-nearest option) and a preferred therapist (one
certified there). The network solver runs with and without the preferences, and pooled FCFS runs
on the same instance with them. Per run: sessions, slot-hours booked, patients started, longest
and mean weighted wait (days, started patients), preferences met (patients booked at their
preferred clinic / patients with one who started; sessions with the preferred therapist /
sessions held where that therapist could run them: their clinic, a model they are certified
for), violations of the hard rules (every slot of every session checked) and wall time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.instances import generate_instance
from exoshare.scheduling.problem import SchedulingProblem, schedule_violations
from exoshare.scheduling.rules import screen
from exoshare.scheduling.solver import SessionScheduler


def with_wishes(problem: SchedulingProblem, preferences: bool) -> SchedulingProblem:
    options = screen(problem).options
    patients = []
    for i, p in enumerate(problem.patients):
        p = replace(p, session_slots=2 if i % 4 == 0 else 1)
        opts = options.get(p.id, [])
        if preferences and i % 3 == 0 and len(opts) > 1:
            clinic = opts[1].clinic_id
            certified = sorted(
                t.id
                for t in problem.therapists
                if t.clinic_id == clinic and opts[1].model_id in t.certified_model_ids
            )
            p = replace(
                p,
                preferred_clinic_id=clinic,
                preferred_therapist_id=certified[-1] if certified else None,
            )
        patients.append(p)
    return replace(problem, patients=patients)


def row(
    label: str, problem: SchedulingProblem, solved: FcfsScheduler | SessionScheduler, wall: float
) -> str:
    by_id = problem.patient_by_id
    first = solved.first_session_
    waits = [
        by_id[pid].priority_weight * (t.date() - by_id[pid].referral_date).days
        for pid, t in first.items()
    ]
    slot_hours = sum(by_id[a.patient_id].session_slots for a in solved.assignments_)
    wanting = [pid for pid in first if by_id[pid].preferred_clinic_id]
    at_clinic = {
        a.patient_id
        for a in solved.assignments_
        if a.clinic_id == by_id[a.patient_id].preferred_clinic_id
    }
    # A preferred therapist can be met only at their clinic, on a model they are certified
    # for: count the sessions held there on such a unit.
    can_run = {t.id: (t.clinic_id, t.certified_model_ids) for t in problem.therapists}
    liked = [
        a
        for a in solved.assignments_
        if (t := by_id[a.patient_id].preferred_therapist_id)
        and can_run[t][0] == a.clinic_id
        and problem.unit_by_id[a.unit_id].model_id in can_run[t][1]
    ]
    with_them = sum(
        1 for a in liked if a.therapist_id == by_id[a.patient_id].preferred_therapist_id
    )
    mean = sum(waits) / len(waits) if waits else float("nan")
    return (
        f"{label} | {len(solved.assignments_)} | {slot_hours} | {len(first)} | "
        f"{max(waits, default=0):.0f} | {mean:.1f} | "
        f"{len(at_clinic & set(wanting))}/{len(wanting)} | {with_them}/{len(liked)} | "
        f"{len(schedule_violations(problem, solved.assignments_))} | {wall:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args()
    base = generate_instance(args.size, seed=args.seed)
    plain, wished = with_wishes(base, False), with_wishes(base, True)
    n_long = sum(p.session_slots == 2 for p in wished.patients)
    n_pref = sum(p.preferred_clinic_id is not None for p in wished.patients)
    print(
        f"{args.size} instance, seed {args.seed}: {len(base.patients)} patients, {n_long} with "
        f"{base.horizon.session_min_of(2)}-min sessions, {n_pref} with preferences; "
        f"{args.time_limit:g} s deterministic limit"
    )
    print(
        "run | sessions | slot-hours | patients | longest weighted wait | mean weighted wait | "
        "preferred clinic met | preferred therapist met (where they could) | violations | time"
    )
    runs = (
        (
            "exoshare, no preferences",
            plain,
            lambda: SessionScheduler(time_limit_s=args.time_limit, deterministic=True),
        ),
        (
            "exoshare, preferences",
            wished,
            lambda: SessionScheduler(time_limit_s=args.time_limit, deterministic=True),
        ),
        ("pooled FCFS, preferences", wished, lambda: FcfsScheduler(pooled=True)),
    )
    for label, problem, make in runs:
        t0 = time.perf_counter()
        solved = make().solve(problem)
        print(row(label, problem, solved, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
