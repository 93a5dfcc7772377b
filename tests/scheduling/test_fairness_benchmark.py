"""The fairness benchmark (benchmarks/scheduling_fairness.py) on a tiny network: its figures are
the simulation's, its verdict follows from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

from exoshare.scheduling.simulation import simulate_network

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scheduling_fairness.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scheduling_fairness", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spread_is_mean_sample_sd_min_max() -> None:
    assert load_script().spread([1.0, 2.0, 3.0]) == "2.0 ± 1.0 [1.0, 3.0]"
    assert load_script().spread([4.0]) == "4.0 ± 0.0 [4.0, 4.0]"


def test_the_report_of_two_seeds_on_a_tiny_network() -> None:
    script = load_script()
    results = {
        seed: simulate_network(
            weeks=4,
            n_clinics=4,
            n_units=8,
            initial_waitlist=10,
            arrivals_per_week=8,
            solver_time_limit_s=0.2,
            seed=seed,
            warmup_weeks=1,
            cooldown_weeks=1,
        )
        for seed in (0, 1)
    }
    text = script.report(results)
    waits = {
        pol: [results[s].steady[pol].mean_wait_days for s in (0, 1)]
        for pol in ("fcfs", "pooled_fcfs", "exoshare")
    }
    for pol, values in waits.items():
        assert f"| {pol} | {script.spread(values)} |" in text
    for seed in (0, 1):
        ratio = waits["exoshare"][seed] / waits["pooled_fcfs"][seed]
        assert f"| {seed} | {ratio:.3f} | {100 * (1 - ratio):.1f} % |" in text
    ratio = np.mean(waits["exoshare"]) / np.mean(waits["pooled_fcfs"])
    verdict = text.splitlines()[-1]
    assert f"ratio {ratio:.3f}" in verdict
    dose = {
        pol: np.mean([results[s].steady[pol].first_week_dose_pct for s in (0, 1)])
        for pol in ("pooled_fcfs", "exoshare")
    }
    met = 1 - ratio >= 0.25 and dose["exoshare"] >= dose["pooled_fcfs"]
    assert verdict.endswith(": met" if met else ": NOT met")
