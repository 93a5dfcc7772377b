"""`exoshare sharing federated-train`: a federated training run from the command line, with
its rounds as a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sharing_app = typer.Typer(help="Data sharing: federated training.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@sharing_app.command("federated-train")
def federated_train_command(
    rounds: Annotated[int, typer.Option(help="Training rounds", min=1, max=100)] = 20,
    strategy: Annotated[str, typer.Option(help="fedavg or fedprox")] = "fedavg",
    proximal_mu: Annotated[float, typer.Option(help="FedProx's proximal term", min=0)] = 0.0,
    noise_multiplier: Annotated[
        float, typer.Option(help="Differential privacy noise multiplier (0: none)", min=0)
    ] = 0.0,
    clipping_norm: Annotated[
        float, typer.Option(help="Bound on each clinic's update under DP", min=0.001)
    ] = 1.0,
    clinic: Annotated[
        list[str] | None, typer.Option(help="Clinic id (repeat; none: every clinic)")
    ] = None,
) -> None:
    """Train the gait-speed model across clinics (each on its consented patients) and print
    the federated and central errors and the privacy budget."""
    from pydantic import ValidationError

    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.config import get_settings
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import InvalidInput
    from exoshare.sharing import federated
    from exoshare.sharing.schemas import FederatedRunCreate, FederatedStatus

    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    try:
        body = FederatedRunCreate(
            strategy=strategy,
            rounds=rounds,
            proximal_mu=proximal_mu,
            dp_noise_multiplier=noise_multiplier,
            dp_clipping_norm=clipping_norm,
            clinic_ids=clinic or [],
        )
        with session_scope(factory) as session:
            run_id = federated.start_run(session, SYSTEM_CLI, body).id
    except (InvalidInput, ValidationError) as refused:
        detail = refused.detail if isinstance(refused, InvalidInput) else str(refused)
        err_console.print(f"[bold red]error:[/] {detail}")
        raise typer.Exit(2) from None
    with Progress(
        TextColumn("federated training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rounds", total=rounds)
        federated.execute(factory, run_id, lambda done: progress.update(task, completed=done))
    with session_scope(factory) as session:
        run = federated.view(session, SYSTEM_CLI, federated.get_run(session, SYSTEM_CLI, run_id))
    if run.status is not FederatedStatus.finished:
        err_console.print(f"[bold red]error:[/] run {run.id} {run.status.value}: {run.error}")
        raise typer.Exit(1)
    console.print(f"run {run.id}: {len(run.clinics)} clinics")
    for c in run.clinics:
        console.print(f"  {c.clinic_name}: {c.patients} patients, {c.train_examples} rows")
    console.print(
        f"test MAE: federated {run.federated_mae:.4f} m/s, central {run.central_mae:.4f} m/s"
    )
    if run.epsilon is not None:
        console.print(f"privacy budget: epsilon {run.epsilon:.3f} at delta {run.dp_delta:g}")
