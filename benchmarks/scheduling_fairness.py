"""exoshare against pooled FCFS (and the status quo) over several seeds, with the spread.

    uv run python benchmarks/scheduling_fairness.py [--seeds 0 1 2 3 4] [--weeks 26] [--warmup 8]
        [--cooldown 4] [--clinics 20] [--units 60] [--backlog 500] [--arrivals 100] [--plan-weeks 6]

Each seed is one network simulation (``exoshare.scheduling.simulation.simulate_network``): the
same referrals, devices and staff for every policy, CP-SAT on one worker with deterministic
limits, so a seed repeats exactly. Prints, per policy over the seeds, the steady-state mean and
p90 wait, patients per device-month and first-week sessions as mean ± sd [min, max]; the lower
bound on the mean wait with unlimited capacity and exoshare's gap to it; per seed, exoshare's mean
wait as a share of pooled FCFS's; and whether the goal (mean wait at least 25 % below pooled FCFS
at equal or better first-week dose) holds on the mean over the seeds.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np

from exoshare.scheduling.problem import PLAN_WEEKS
from exoshare.scheduling.simulation import POLICIES, SimulationResult, simulate_network

FIGURES = (
    ("mean_wait_days", "mean wait (d)"),
    ("p90_wait_days", "p90 wait (d)"),
    ("patients_per_device_month", "patients / device-month"),
    ("first_week_sessions", "first-week sessions"),
    ("first_week_dose_pct", "first-week dose (%)"),
)


def spread(values: Sequence[float]) -> str:
    """``mean ± sd [min, max]`` (sample sd; 0 for one value)."""
    a = np.asarray(values, dtype=float)
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{a.mean():.1f} ± {sd:.1f} [{a.min():.1f}, {a.max():.1f}]"


def report(results: dict[int, SimulationResult]) -> str:
    """The markdown table and the verdict for results of several seeds (steady state)."""
    seeds = sorted(results)
    rows = [
        "| policy | " + " | ".join(label for _, label in FIGURES) + " |",
        "|---|" + "---|" * len(FIGURES),
    ]
    for pol in POLICIES:
        cells = [spread([getattr(results[s].steady[pol], a) for s in seeds]) for a, _ in FIGURES]
        rows.append(f"| {pol} | " + " | ".join(cells) + " |")
    bound = [results[s].wait_lower_bound_days["steady"] for s in seeds]
    gap = [
        results[s].steady["exoshare"].mean_wait_days - b for s, b in zip(seeds, bound, strict=True)
    ]
    rows.append("")
    rows.append(f"lower bound on the mean wait (unlimited capacity): {spread(bound)} d")
    rows.append(f"exoshare's gap to it: {spread(gap)} d")
    rows.append("")
    rows.append("| seed | exoshare / pooled FCFS, mean wait | lower by | dose exoshare vs pooled |")
    rows.append("|---|---|---|---|")
    for s in seeds:
        ratio = results[s].ratio("mean_wait_days", "steady", "pooled_fcfs")
        own, pooled = results[s].steady["exoshare"], results[s].steady["pooled_fcfs"]
        rows.append(
            f"| {s} | {ratio:.3f} | {100 * (1 - ratio):.1f} % | "
            f"{own.first_week_dose_pct:.1f} % vs {pooled.first_week_dose_pct:.1f} % |"
        )
    mean_own = np.mean([results[s].steady["exoshare"].mean_wait_days for s in seeds])
    mean_pooled = np.mean([results[s].steady["pooled_fcfs"].mean_wait_days for s in seeds])
    dose_own = np.mean([results[s].steady["exoshare"].first_week_dose_pct for s in seeds])
    dose_pooled = np.mean([results[s].steady["pooled_fcfs"].first_week_dose_pct for s in seeds])
    cut = 100 * (1 - mean_own / mean_pooled)
    met = cut >= 25 and dose_own >= dose_pooled
    rows.append("")
    rows.append(
        f"mean over {len(seeds)} seeds: exoshare {mean_own:.1f} d vs pooled FCFS "
        f"{mean_pooled:.1f} d, ratio {mean_own / mean_pooled:.3f} ({cut:.1f} % lower); "
        f"first-week dose {dose_own:.1f} % vs {dose_pooled:.1f} % — goal ≥ 25 % lower at equal "
        f"or better dose: {'met' if met else 'NOT met'}"
    )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--cooldown", type=int, default=4)
    ap.add_argument("--clinics", type=int, default=20)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--backlog", type=int, default=500)
    ap.add_argument("--arrivals", type=float, default=100.0)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument(
        "--plan-weeks",
        type=int,
        default=PLAN_WEEKS,
        help="weeks exoshare's rolling plan looks ahead",
    )
    args = ap.parse_args()
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    results = {}
    for seed in args.seeds:
        results[seed] = simulate_network(
            weeks=args.weeks,
            n_clinics=args.clinics,
            n_units=args.units,
            initial_waitlist=args.backlog,
            arrivals_per_week=args.arrivals,
            solver_time_limit_s=args.time_limit,
            seed=seed,
            warmup_weeks=args.warmup,
            cooldown_weeks=args.cooldown,
            plan_weeks=args.plan_weeks,
        )
        steady = results[seed].steady
        print(
            f"seed {seed} ({time.perf_counter() - t0:.0f} s): mean wait "
            + ", ".join(f"{pol} {steady[pol].mean_wait_days:.1f} d" for pol in POLICIES),
            flush=True,
        )
    print(report(results))
    load1 = os.getloadavg()
    print(
        f"\n(seeds {' '.join(map(str, args.seeds))}; {args.weeks} weeks, warm-up {args.warmup}, "
        f"cool-down {args.cooldown}, plan {args.plan_weeks} weeks, {args.clinics} clinics, "
        f"{args.units} units, "
        f"{args.arrivals:g} referrals/week, {time.perf_counter() - t0:.0f} s; load average "
        f"{load0[0]:.1f} → {load1[0]:.1f} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
