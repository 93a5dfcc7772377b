"""`exoshare reminders`: run the dispatcher once; list the local SMS outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exoshare.config import Settings, get_settings

reminders_app = typer.Typer(
    help="Reminders to patients (appointments, home programme).", no_args_is_help=True
)
console = Console()


def _settings(data_dir: Path | None) -> Settings:
    base = get_settings()
    return Settings(**{**base.model_dump(), "data_dir": data_dir}) if data_dir else base


DataDir = Annotated[
    Path | None, typer.Option(help="The data dir (the demo's); default: EXOSHARE_DATA_DIR")
]


@reminders_app.command("run-once")
def run_once_command(data_dir: DataDir = None) -> None:
    """Send every reminder due now (what the server does every minute), then print the count."""
    from exoshare.db import make_engine, make_sessionmaker
    from exoshare.reminders.dispatch import Dispatcher
    from exoshare.reminders.sms import sms_sender_for

    settings = _settings(data_dir)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    result = Dispatcher(factory, settings, sms_sender_for(settings, factory)).run_once()
    console.print(
        f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed "
        f"({result.claimed} claimed by this run)"
    )
    for error in result.errors:
        console.print(f"  {error}", markup=False, soft_wrap=True)


@reminders_app.command("outbox")
def outbox_command(
    patient: Annotated[str | None, typer.Option(help="Only this patient's (their id)")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first", min=1, max=10_000)] = 50,
    data_dir: DataDir = None,
) -> None:
    """List the text messages kept in the local outbox (no SMS provider configured)."""
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.reminders.sms import outbox

    settings = _settings(data_dir)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    with session_scope(factory) as session:
        rows = outbox(session, patient, limit)
        if not rows:
            console.print("the outbox is empty")
            return
        table = Table("kept (UTC)", "to", "patient", "message")
        table.columns[0].no_wrap = table.columns[1].no_wrap = table.columns[2].no_wrap = True
        for row in rows:
            table.add_row(
                f"{row.created_at:%Y-%m-%d %H:%M}", row.to_e164, row.patient_id or "", row.body
            )
    # Rows are read from a pipe or a log as often as on a terminal: wide enough for them.
    (console if console.is_terminal else Console(width=200)).print(table)
