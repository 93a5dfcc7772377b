"""Telemetry commands: ``exoshare import``, ``analyse`` and ``device-credential``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exoshare.config import get_settings

console = Console()
err_console = Console(stderr=True)

MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="Column mapping 'Source column=channel_name' (repeatable); '-channel' negates, "
        "'=-' ignores the column",
    ),
]
MapFileOption = Annotated[
    Path | None, typer.Option(help="File with one 'Source column=channel_name' per line")
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="csv, parquet, c3d or mot (default: from suffix)")
]
RateOption = Annotated[
    float | None, typer.Option("--rate", help="Sampling rate (Hz) of files without a time column")
]


def _mapping(items: list[str] | None, map_file: Path | None) -> dict[str, str]:
    from exoshare.telemetry.files import parse_mapping

    lines = list(items or [])
    if map_file is not None:
        lines += map_file.read_text().splitlines()
    try:
        return parse_mapping(lines)
    except ValueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="Recording files", exists=True, dir_okay=False)
    ],
    device: Annotated[str, typer.Option(help="Serial number of the device that recorded them")],
    patient: Annotated[str, typer.Option(help="Id of the patient")],
    map_items: MapOption = None,
    map_file: MapFileOption = None,
    file_format: FormatOption = None,
    rate: RateOption = None,
) -> None:
    """Import recordings as sessions (one per file) and store their gait summaries."""
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.telemetry import service
    from exoshare.telemetry.files import read_recording
    from exoshare.telemetry.store import RawStore

    settings = get_settings()
    mapping = _mapping(map_items, map_file)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    store = RawStore(settings.resolved_telemetry_url())
    failed = 0
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("importing", total=len(files))
        for path in files:
            progress.update(task, description=f"importing {path.name}")
            try:
                imported = read_recording(
                    path, mapping, file_format, rate, settings.telemetry_max_nan_run_s
                )
                with session_scope(factory) as session:
                    unit = service.unit_by_serial(session, device)
                    record = service.import_recording(
                        session,
                        store,
                        unit,
                        patient,
                        imported.recording,
                        source="import",
                        source_file=path.name,
                        max_nan_run_s=settings.telemetry_max_nan_run_s,
                    )
                    line = f"{path.name}: session {record.id}, {record.n_samples} samples, " + (
                        f"{record.step_count} steps, cadence "
                        f"{record.cadence_steps_per_min or 0:.1f} steps/min"
                        if record.summary
                        else f"no summary ({record.analysis_error})"
                    )
                progress.console.print(line)
                if imported.ignored_columns:
                    progress.console.print(
                        f"  ignored columns: {', '.join(imported.ignored_columns)}"
                    )
            except ExoshareError as exc:
                failed += 1
                progress.console.print(f"[bold red]error:[/] {exc.detail}")
            progress.advance(task)
    if failed:
        err_console.print(f"{failed} of {len(files)} file(s) not imported; nothing of them stored")
        raise typer.Exit(1)


def analyse_command(
    file: Annotated[Path, typer.Argument(help="Recording file", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    map_items: MapOption = None,
    map_file: MapFileOption = None,
    file_format: FormatOption = None,
    rate: RateOption = None,
    leg_length_m: Annotated[
        float | None, typer.Option(help="Leg length for distance and speed")
    ] = None,
) -> None:
    """Print the gait summary of a recording file, without a server or database."""
    from exoshare.errors import ExoshareError
    from exoshare.gait import GaitDataError, analyse
    from exoshare.gait.report import summary_json, summary_table
    from exoshare.telemetry.files import read_recording

    try:
        recording = read_recording(file, _mapping(map_items, map_file), file_format, rate).recording
        if leg_length_m:
            recording.meta["leg_length_m"] = leg_length_m
        summary = analyse(recording)
    except ExoshareError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}")
        raise typer.Exit(2) from None
    except GaitDataError as exc:
        err_console.print(f"[bold red]error:[/] {file.name}: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(summary_json(summary, include_strides=False, include_curves=False))
    else:
        console.print(summary_table(summary, title=file.name))


def credential_command(
    serial: Annotated[str, typer.Argument(help="Serial number of the device")],
    label: Annotated[str | None, typer.Option(help="What the credential is for")] = None,
) -> None:
    """Issue a device credential (printed once) for a device to send telemetry with."""
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.telemetry import service

    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    try:
        with session_scope(factory) as session:
            unit = service.unit_by_serial(session, serial)
            secret, credential = service.issue_device_credential(session, None, unit.id, label)
    except ExoshareError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}")
        raise typer.Exit(2) from None
    console.print(f"credential {credential.id} for {serial} (org unit {unit.org_unit.code}):")
    print(secret)
