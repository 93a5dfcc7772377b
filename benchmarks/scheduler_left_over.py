"""Quality of the network solver's plan with and without its left-over pass, on one instance.

    uv run python benchmarks/scheduler_left_over.py [--size medium] [--seed 0] [--time-limit 20]

Prints, for the plan as the master and slot stages leave it and for the plan after the left-over
pass: sessions, patients started, courses whose first week is below the weekly dose, how many
eligible waiting patients (and sessions) could still be added to the capacity left over without
moving anyone (the left-over pass run once more on the final plan), violations of the hard rules,
and the wall time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

from exoshare.scheduling.instances import generate_instance
from exoshare.scheduling.problem import SchedulingProblem, schedule_violations
from exoshare.scheduling.rules import screen
from exoshare.scheduling.solver import SessionScheduler


def measure(problem: SchedulingProblem, solved: SessionScheduler, wall_s: float) -> str:
    h = problem.horizon
    weeks: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for a in solved.assignments_:
        weeks[a.patient_id][h.week_of(h.slot_of(a.start))] += 1
    short = sum(
        1
        for pid, per_week in weeks.items()
        if per_week[min(per_week)]
        < min(
            problem.patient_by_id[pid].sessions_per_week, problem.patient_by_id[pid].course_sessions
        )
    )
    addable = solved._fill_left_over(list(solved.assignments_), screen(problem).options)
    return (
        f"{len(solved.assignments_):>8} | {len(weeks):>8} | {short:>10} | "
        f"{len({a.patient_id for a in addable} - set(weeks)):>8} ({len(addable)} sessions) | "
        f"{len(schedule_violations(problem, solved.assignments_))} | {wall_s:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="medium")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()
    problem = generate_instance(args.size, seed=args.seed)
    print(f"{args.size} instance, seed {args.seed}, {args.time_limit:g} s limit, 2 workers")
    print("plan | sessions | patients | first week short | addable patients | violations | time")
    for label, on in (("without left-over pass", False), ("with left-over pass", True)):
        t0 = time.perf_counter()
        solved = SessionScheduler(
            time_limit_s=args.time_limit, num_workers=2, left_over_pass=on
        ).solve(problem)
        print(f"{label} | {measure(problem, solved, time.perf_counter() - t0)}")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
