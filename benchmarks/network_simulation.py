"""Network simulation benchmark: FCFS per clinic (status quo), pooled FCFS (nearest clinic with
room) and the exoshare network solver, on the same referrals, devices and staff.

    uv run python benchmarks/network_simulation.py [--weeks 26] [--warmup 8] [--cooldown 4]
        [--plan-weeks 4] [--seed 0] [--wall-clock]

exoshare plans on a rolling horizon of ``--plan-weeks`` weeks and commits only the first week,
and runs a shared fleet: every 4 weeks it may move units to clinics where a certified therapist
sat free next to busy units while patients wait (``exoshare.scheduling.rebalance``; the moves are
printed under the table). FCFS (the status quo) books one week at a time on each clinic's own
devices and never moves one.

Goals: mean wait at least 25 % below pooled FCFS at equal or better first-week dose; against
the status quo, mean wait at least 40 % lower and patients treated per device-month at least
25 % higher. The lower bound on the mean wait (unlimited capacity) and the gap to it are printed.
By default CP-SAT runs on one worker with deterministic time limits, so a seed gives the same
figures at any machine load; ``--wall-clock`` uses ``--workers`` and wall-clock limits instead.
Both are printed for the steady-state window (patients referred after the warm-up and
at least ``--cooldown`` weeks before the end) and for the whole run including the initial backlog;
see docs/scheduling.md for why the steady-state window is the fair comparison.
"""

from __future__ import annotations

import argparse
import os
import time

from exoshare.scheduling.simulation import render_table, simulate_network


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--cooldown", type=int, default=4)
    ap.add_argument("--clinics", type=int, default=20)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--backlog", type=int, default=500)
    ap.add_argument("--arrivals", type=float, default=100.0)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plan-weeks", type=int, default=4, help="exoshare's rolling horizon")
    ap.add_argument(
        "--wall-clock", action="store_true", help="wall-clock limits on --workers (not repeatable)"
    )
    args = ap.parse_args()
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    result = simulate_network(
        weeks=args.weeks,
        n_clinics=args.clinics,
        n_units=args.units,
        initial_waitlist=args.backlog,
        arrivals_per_week=args.arrivals,
        solver_time_limit_s=args.time_limit,
        num_workers=args.workers,
        seed=args.seed,
        warmup_weeks=args.warmup,
        cooldown_weeks=args.cooldown,
        plan_weeks=args.plan_weeks,
        deterministic=not args.wall_clock,
    )
    print(render_table(result))
    print(
        f"\n({args.weeks} weeks, warm-up {args.warmup}, cool-down {args.cooldown}, "
        f"{args.clinics} clinics, {args.units} units, {args.arrivals:g} referrals/week, "
        f"exoshare plans {args.plan_weeks} weeks and commits 1, seed {args.seed}, "
        f"{time.perf_counter() - t0:.0f} s)"
    )

    load1 = os.getloadavg()
    print(
        f"\nload average (1/5/15 min) at start {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, "
        f"at end {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
