"""Telemetry commands: ``exoshare import``, ``analyse``, ``reanalyse``, ``device-credential`` and
``broker``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exoshare.config import get_settings
from exoshare.telemetry.broker_acl import installation_server_password

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from exoshare.telemetry.mosquitto import MosquittoSync

console = Console()
# soft_wrap: an error stays one line, however narrow the terminal, for logs and scripts.
err_console = Console(stderr=True, soft_wrap=True)

LEG_LENGTH_RANGE_M = (0.3, 1.5)
"""Leg lengths --leg-length-m accepts: small children to the tallest adults."""

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
        try:
            lines += map_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            err_console.print(f"[bold red]error:[/] --map-file {map_file}: {exc}")
            raise typer.Exit(2) from None
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
    from exoshare.telemetry import credentials, imports
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
                    unit = credentials.unit_by_serial(session, device)
                    record = imports.import_recording(
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
        # 2, like analyse and a usage error: the input is at fault, and the lines above say how.
        err_console.print(f"{failed} of {len(files)} file(s) not imported; nothing of them stored")
        raise typer.Exit(2)


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
    from exoshare.gait.analysis import analyse
    from exoshare.gait.errors import GaitDataError
    from exoshare.gait.report import summary_json, summary_table
    from exoshare.telemetry.files import read_recording

    shortest, longest = LEG_LENGTH_RANGE_M
    if leg_length_m is not None and not (
        math.isfinite(leg_length_m) and shortest <= leg_length_m <= longest
    ):
        err_console.print(
            f"[bold red]error:[/] --leg-length-m {leg_length_m:g}: a leg (floor to greater "
            f"trochanter) is {shortest:g} to {longest:g} m long"
        )
        raise typer.Exit(2)
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


def reanalyse_command(
    session_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--session", help="Id of a stored session (repeatable; default: every ended one)"
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786); default EXOSHARE_REANALYSIS_SCHEDULER, "
            "else a local cluster"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes of the local cluster (default: one per core)"),
    ] = None,
) -> None:
    """Analyse stored sessions again (after a gait engine update) on a Dask cluster and keep
    their summaries; a session that fails is reported and the others go on."""
    from exoshare.db import make_engine, make_sessionmaker
    from exoshare.telemetry import reanalysis

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    factory = make_sessionmaker(engine)
    work = reanalysis.jobs(factory, settings.resolved_telemetry_url(), session_ids)
    if session_ids and len(work) < len(set(session_ids)):
        missing = sorted(set(session_ids) - {job.telemetry_session_id for job in work})
        err_console.print(f"[bold red]error:[/] no stored session {', '.join(missing)}")
        raise typer.Exit(2)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    address = scheduler or settings.reanalysis_scheduler
    with reanalysis.cluster_client(address, workers) as client, progress:
        task = progress.add_task("re-analysing", total=len(work))
        outcomes = reanalysis.reanalyse(factory, client, work, lambda _: progress.advance(task))
    engine.dispose()
    for outcome in outcomes:
        if outcome.status != "analysed":
            err_console.print(f"{outcome.telemetry_session_id}: {outcome.status}: {outcome.error}")
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in ("analysed", "refused", "failed")
    }
    console.print(
        f"{counts['analysed']} analysed, {counts['refused']} refused by the engine, "
        f"{counts['failed']} failed, of {len(work)} session(s)"
    )
    if counts["failed"]:
        raise typer.Exit(1)


def credential_command(
    serial: Annotated[str, typer.Argument(help="Serial number of the device")],
    label: Annotated[str | None, typer.Option(help="What the credential is for")] = None,
) -> None:
    """Issue a device credential (printed once) for a device to send telemetry with."""
    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.telemetry import credentials

    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    sync = _mosquitto(factory)
    remove = credentials.add_credential_listener(sync.on_credential_change) if sync else None
    try:
        with session_scope(factory) as session:
            unit = credentials.unit_by_serial(session, serial)
            secret, credential = credentials.issue_device_credential(
                session, SYSTEM_CLI, unit.id, label
            )
            org_code = unit.org_unit_code
    except ExoshareError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}")
        raise typer.Exit(2) from None
    finally:
        if remove is not None:
            remove()
    console.print(
        f"credential {credential.id} for {serial} (org unit {org_code}); MQTT username "
        f"{serial}, password:"
    )
    print(secret)


def revoke_credential_command(
    credential_id: Annotated[str, typer.Argument(help="Id of the device credential")],
) -> None:
    """Revoke a device credential: refused from now on, and cut off at the broker."""
    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.telemetry import credentials

    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    sync = _mosquitto(factory)
    remove = credentials.add_credential_listener(sync.on_credential_change) if sync else None
    try:
        with session_scope(factory) as session:
            credential = credentials.revoke_device_credential(session, SYSTEM_CLI, credential_id)
            serial = credential.device_unit.serial_number
    except ExoshareError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}")
        raise typer.Exit(2) from None
    finally:
        if remove is not None:
            remove()
    console.print(
        f"credential {credential_id} of {serial} revoked; a running `exoshare serve` with the "
        "embedded broker disconnects the device within 5 s"
        + ("; Mosquitto reloaded" if sync and sync.pid_file else "")
    )


def _mosquitto(factory: sessionmaker[Session]) -> MosquittoSync | None:
    from exoshare.telemetry.mosquitto import MosquittoSync

    settings = get_settings()
    if settings.mosquitto_dir is None:
        return None
    return MosquittoSync(
        factory,
        settings.mosquitto_dir,
        installation_server_password(settings),
        settings.mosquitto_pid_file,
    )


broker_app = typer.Typer(
    help="The MQTT broker's device trust (Mosquitto in production).", no_args_is_help=True
)


@broker_app.command("config")
def broker_config_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to write mosquitto.conf, passwd and acl; default: EXOSHARE_MOSQUITTO_DIR",
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port Mosquitto listens on")] = 1883,
    bind: Annotated[
        str, typer.Option(help="Address Mosquitto listens on (loopback unless devices are remote)")
    ] = "127.0.0.1",
    user: Annotated[
        str | None,
        typer.Option(help="User Mosquitto keeps when started as root (it must read the files)"),
    ] = None,
) -> None:
    """Write a Mosquitto configuration with device trust: no anonymous clients, each device
    on its own topics, the server identity for exoshare.

    Start it with `mosquitto -c DIR/mosquitto.conf` and point exoshare at it
    (EXOSHARE_MQTT_URL, EXOSHARE_MOSQUITTO_DIR, EXOSHARE_MOSQUITTO_PID_FILE)."""
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.telemetry.mosquitto import CONFIG_FILE, config_file, write_files

    settings = get_settings()
    target = directory or settings.mosquitto_dir
    if target is None:
        err_console.print("[bold red]error:[/] give --dir or set EXOSHARE_MOSQUITTO_DIR")
        raise typer.Exit(2)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    with session_scope(factory) as session:
        count = write_files(session, target, installation_server_password(settings))
    (target / CONFIG_FILE).write_text(config_file(target, port, bind, run_as=user))
    console.print(f"wrote {target / CONFIG_FILE}, passwd and acl ({count} devices)")


@broker_app.command("sync")
def broker_sync_command() -> None:
    """Rewrite Mosquitto's password and ACL files from the credentials and reload it (after a
    device changed clinic, the secret key was rotated, or files were lost)."""
    from exoshare.db import make_engine, make_sessionmaker

    settings = get_settings()
    sync = _mosquitto(make_sessionmaker(make_engine(settings.resolved_database_url())))
    if sync is None:
        err_console.print("[bold red]error:[/] set EXOSHARE_MOSQUITTO_DIR")
        raise typer.Exit(2)
    count = sync.sync()
    reloaded = "reloaded" if sync.pid_file else "not reloaded (no EXOSHARE_MOSQUITTO_PID_FILE)"
    console.print(f"{count} devices in {sync.directory}; Mosquitto {reloaded}")
