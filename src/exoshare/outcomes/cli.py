"""`exoshare outcomes`: validate the recovery prediction; write synthetic cohorts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

outcomes_app = typer.Typer(help="Recovery prediction and its validation.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@outcomes_app.command("validate-prediction")
def validate_prediction_command(
    cohort: Annotated[Path, typer.Option(help="Cohort CSV", exists=True, dir_okay=False)],
    cutoff_day: Annotated[
        float, typer.Option(help="Observations up to this day are given", min=0)
    ] = 14,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Predict every gait speed after the cutoff; print coverage, MAE vs baselines, FAC>=4 AUC."""
    from exoshare.outcomes.validation import CohortFileError, validate_file

    try:
        result = validate_file(cohort, cutoff_day)
    except (CohortFileError, UnicodeDecodeError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    console.print(f"patients: {result.patients} (cutoff day {cutoff_day:g})")
    console.print(f"coverage of the 80 % intervals: {fmt(result.coverage_80)}")
    console.print(f"MAE gait speed (m/s): model {fmt(result.mae_mps)}")
    console.print(f"  last value carried forward {fmt(result.mae_last_value_mps)}")
    console.print(f"  training cohort's mean curve {fmt(result.mae_mean_curve_mps)}")
    console.print(
        f"FAC >= 4 at the last observation: AUC {fmt(result.fac4_auc)}, "
        f"Brier {fmt(result.fac4_brier)}"
    )


@outcomes_app.command("generate-cohort")
def generate_cohort_command(
    out: Annotated[Path, typer.Option(help="CSV to write", dir_okay=False)],
    seed: Annotated[int, typer.Option(help="Random seed")] = 1,
    patients: Annotated[int, typer.Option(help="Number of patients", min=1)] = 300,
) -> None:
    """Write a synthetic cohort (published recovery parameters) in the cohort CSV format."""
    from exoshare.outcomes.cohort import generate_cohort, write_cohort_csv

    write_cohort_csv(generate_cohort(patients, seed), out)
    console.print(f"wrote {patients} patients to {out}")
