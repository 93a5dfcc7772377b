"""Scheduler scale benchmark: solve time, sessions, longest wait and CP-SAT gap per instance size.

    uv run python benchmarks/scheduler_scale.py [--sizes small medium large] [--time-limit 55]

Runs the status-quo FCFS baseline on the same instance for comparison. Goal: the large instance
(5,000 waiting patients, 200 units, 50 clinics, 4 weeks) in under 60 s on 2 cores, gap < 2 %.
"""

from __future__ import annotations

import argparse
import os
import time

from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.instances import generate_instance
from exoshare.scheduling.problem import schedule_violations
from exoshare.scheduling.solver import SessionScheduler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["small", "medium", "large"])
    ap.add_argument("--time-limit", type=float, default=55.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    load0 = os.getloadavg()
    print(
        "| instance | patients / units / clinics / weeks | solve time (s) | sessions scheduled "
        "(planned) | FCFS sessions | longest wait (d) | CP-SAT gap, sessions | gap of booked vs "
        "bound | violations |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        pb = generate_instance(size, seed=args.seed)
        t0 = time.perf_counter()
        s = SessionScheduler(
            time_limit_s=args.time_limit, num_workers=args.workers, random_seed=args.seed
        ).solve(pb)
        wall = time.perf_counter() - t0
        fcfs = FcfsScheduler().solve(pb)
        st = s.stats_
        bound = st.stages[0].bound
        booked_gap = 100 * (bound - st.sessions_scheduled) / max(1.0, bound)
        print(
            f"| {size} | {len(pb.patients)} / {len(pb.units)} / {len(pb.clinics)} / "
            f"{pb.horizon.weeks} | {wall:.1f} | {st.sessions_scheduled} ({st.sessions_planned}) | "
            f"{fcfs.stats_.sessions_scheduled} | {st.longest_wait_days} | {st.gap_pct:.2f} % "
            f"({st.stages[0].status}) | {booked_gap:.2f} % | "
            f"{len(schedule_violations(pb, s.assignments_))} |",
            flush=True,
        )

    load1 = os.getloadavg()
    print(
        f"\nload average (1/5/15 min) at start {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, "
        f"at end {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
