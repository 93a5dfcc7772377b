"""The `exoshare` command: serve, demo, database, users, seeding."""

from __future__ import annotations

import os
import socket
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from exoshare.academy.cli import academy_app
from exoshare.auth.secret_box import totp_box
from exoshare.config import Settings, get_settings
from exoshare.demo.device_client import simulate_command
from exoshare.outcomes.cli import outcomes_app
from exoshare.reminders.cli import reminders_app
from exoshare.scheduling.problem import PLAN_WEEKS
from exoshare.sharing.cli import sharing_app
from exoshare.telemetry.cli import (
    analyse_command,
    broker_app,
    credential_command,
    import_command,
    reanalyse_command,
    revoke_credential_command,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from exoshare.demo.network import DemoNetwork

app = typer.Typer(
    help="exoshare: shared devices, therapist reach, knowledge and data for gait rehabilitation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
mail_app = typer.Typer(help="E-mail kept by the demo's SMTP sink.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Secrets stored sealed under EXOSHARE_SECRET_KEY.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(mail_app, name="mail")
app.add_typer(keys_app, name="keys")
agreements_app = typer.Typer(help="Agreements between partners.", no_args_is_help=True)
app.add_typer(agreements_app, name="agreements")
app.command("import")(import_command)
app.command("analyse")(analyse_command)
app.command("reanalyse")(reanalyse_command)
app.command("device-credential")(credential_command)
app.command("revoke-device-credential")(revoke_credential_command)
app.add_typer(broker_app, name="broker")
app.command("simulate")(simulate_command)
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(academy_app, name="academy")
app.add_typer(sharing_app, name="sharing")
app.add_typer(reminders_app, name="reminders")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "heads",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from exoshare.db import upgrade

    url = get_settings().resolved_database_url()
    upgrade(url, revision)
    console.print(f"database at [bold]{_redact(url)}[/] is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")],
) -> None:
    """Revert migrations down to REVISION."""
    from exoshare.db import downgrade

    url = get_settings().resolved_database_url()
    downgrade(url, revision)
    console.print(f"database at [bold]{_redact(url)}[/] is at revision {revision}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login e-mail")],
    name: Annotated[str, typer.Option(help="Display name")],
    role: Annotated[str, typer.Option(help="Role to grant, e.g. consortium_operator")],
    org_unit: Annotated[str, typer.Option(help="Code of the org unit the role covers")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    locale: Annotated[str, typer.Option(help="Interface language")] = "en",
) -> None:
    """Create a user with one role on an org-unit subtree."""
    from exoshare.auth import service
    from exoshare.auth.schemas import Role
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.network import service as network_service

    try:
        role_value = Role(role)
    except ValueError:
        raise _fail(
            f"unknown role {role!r}; choose one of: {', '.join(r.value for r in Role)}"
        ) from None
    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    try:
        with session_scope(factory) as session:
            unit = network_service.find_org_unit_by_code(session, org_unit)
            if unit is None:
                raise _fail(f"no org unit with code {org_unit!r}")
            user = service.create_user(session, email, name, password, locale)
            service.add_grant(session, user, role_value, unit)
    except ExoshareError as exc:
        raise _fail(exc.detail) from None
    console.print(f"created {email} as {role_value.value} on {org_unit}")


@keys_app.command("reseal")
def keys_reseal() -> None:
    """Re-seal every stored TOTP secret with the current EXOSHARE_SECRET_KEY (step 2 of a key
    rotation; the former key must be in EXOSHARE_PREVIOUS_SECRET_KEYS while this runs)."""
    from exoshare.auth.totp import service as totp
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import UndecryptableSecret

    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    try:
        with session_scope(factory) as session:
            count = totp.reseal_all(session, totp_box(settings))
    except UndecryptableSecret:
        raise _fail(
            "a stored TOTP secret opens with none of the keys: put the former secret key in "
            "EXOSHARE_PREVIOUS_SECRET_KEYS and run again (nothing was changed)"
        ) from None
    console.print(f"re-sealed {count} TOTP secret(s) with the current key")


@agreements_app.command("end-lapsed")
def agreements_end_lapsed() -> None:
    """End every active agreement whose end date has passed, and the remote cover it gave
    (run it daily, e.g. from cron, so a cover stops the day after its agreement's last day)."""
    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.network import agreements

    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    with session_scope(factory) as session:
        ended = agreements.end_lapsed(session, SYSTEM_CLI)
        for item in ended:
            console.print(
                f"ended {item.agreement.title} ({item.agreement.id}); "
                f"cover withdrawn from {len(item.user_ids)} therapist(s)"
            )
    console.print(f"{len(ended)} agreement(s) ended")


def _mail_dir(data_dir: Path | None) -> Path:
    from exoshare.demo.mail_sink import mail_dir

    return mail_dir(data_dir or get_settings().data_dir)


@mail_app.command("list")
def mail_list(
    data_dir: Annotated[Path | None, typer.Option(help="The demo's data dir")] = None,
) -> None:
    """List the messages the demo sent (invitations, password resets), oldest first."""
    from exoshare.demo.mail_sink import read_messages

    messages = read_messages(_mail_dir(data_dir))
    if not messages:
        console.print("no e-mail yet")
        return
    table = Table("#", "received (UTC)", "to", "subject")
    for message in messages:
        table.add_row(str(message.number), message.received_at, message.to, message.subject)
    console.print(table)


@mail_app.command("show")
def mail_show(
    number: Annotated[int, typer.Argument(help="Number from `exoshare mail list`")],
    data_dir: Annotated[Path | None, typer.Option(help="The demo's data dir")] = None,
) -> None:
    """Print one message: its headers and text (links included)."""
    from exoshare.demo.mail_sink import read_messages

    messages = read_messages(_mail_dir(data_dir))
    if not 1 <= number <= len(messages):
        raise _fail(f"no message {number}; there are {len(messages)} (see `exoshare mail list`)")
    message = messages[number - 1]
    console.print(f"To: {message.to}\nSubject: {message.subject}\n", markup=False)
    console.print(message.body, markup=False, soft_wrap=True)


def _print_logins(network: DemoNetwork) -> None:
    from exoshare.demo.network import DEMO_PASSWORD

    console.print(
        f"{network.clinics} clinics in {network.countries} countries, "
        f"{network.device_units} device units, {network.patients} patients, "
        f"{network.users} accounts"
    )
    table = Table(title=f"Demo logins — the password of every account is {DEMO_PASSWORD}")
    width = max((len(login.email) for login in network.all_logins), default=10)
    table.add_column("e-mail", no_wrap=True, min_width=width)
    table.add_column("role", no_wrap=True)
    table.add_column("where")
    curated = {login.email for login in network.logins}
    for login in network.all_logins:
        style = "bold" if login.email in curated else None
        table.add_row(login.email, login.role.value.replace("_", " "), login.where, style=style)
    # The logins are what people copy from this output; a pipe or log file gets a wide table
    # instead of rich's 80-column default.
    wide = console if console.is_terminal else Console(width=160)
    wide.print(table)


@app.command()
def seed(
    database_url: Annotated[
        str | None, typer.Option(help="Database to seed; defaults to EXOSHARE_DATABASE_URL")
    ] = None,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed")] = 7,
) -> None:
    """Write the demo network into a database (migrating it first)."""
    from exoshare.db import make_engine, make_sessionmaker, session_scope, upgrade
    from exoshare.demo.network import ensure_demo_network

    url = database_url or get_settings().resolved_database_url()
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    with session_scope(factory) as session:
        network = ensure_demo_network(session, seed_value)
    if not network.created:
        console.print("the database already holds a network; nothing written")
    else:
        console.print(f"seeded {_redact(url)}")
    _print_logins(network)


def _free_port(host: str, preferred: int) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((host, port)) != 0:
                return port
    raise _fail(f"no free port between {preferred} and {preferred + 49}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on (the next free one is used)")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the demo keeps its data; default: per-user dir")
    ] = None,
    live_devices: Annotated[
        bool, typer.Option(help="Stream live simulated sessions from virtual exoskeletons")
    ] = True,
) -> None:
    """Create (or reuse) a demo network in the data dir, start the server, print the logins."""
    import uvicorn

    from exoshare.app import UVICORN_OPTIONS, create_app
    from exoshare.db import make_engine, make_sessionmaker, session_scope, upgrade
    from exoshare.demo.mail_sink import MailSink, mail_dir
    from exoshare.demo.network import ensure_demo_network
    from exoshare.heap import settle_heap

    base = get_settings()
    overrides: dict[str, object] = {
        "cookie_secure": False,
        "mqtt_ingest": True,
        "reminders_dispatch": True,
    }
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = Settings(**{**base.model_dump(), **overrides})
    port = _free_port(settings.host, port)
    if not settings.smtp_url:
        # Invitations and password resets land in a local sink, read with `exoshare mail`.
        sink = MailSink(mail_dir(settings.data_dir), settings.host).start()
        settings.smtp_url = sink.url
    if not settings.public_url:
        settings.public_url = f"http://{settings.host}:{port}"
    url = settings.resolved_database_url()
    console.print(f"data in [bold]{settings.data_dir}[/]; migrating {_redact(url)} ...")
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    with session_scope(factory) as session:
        network = ensure_demo_network(session)
    console.print("demo network " + ("created" if network.created else "reused"))
    if network.created:
        _schedule_demo_waitlist(factory)
        _seed_demo_history(factory, settings)
        _seed_demo_outcomes(factory)
        _seed_demo_research(factory)
        federated_runs = _queue_demo_federated(factory)
        _seed_demo_reminders(factory)
    _warm_recovery_prediction(settings)
    if not settings.mqtt_url:
        # Fix the embedded broker's port now, so it can be printed for `exoshare simulate`.
        settings.mqtt_embedded_port = _free_port(
            settings.mqtt_embedded_host, settings.mqtt_embedded_port
        )
    _print_logins(network)
    broker = (
        settings.mqtt_url or f"mqtt://{settings.mqtt_embedded_host}:{settings.mqtt_embedded_port}"
    )
    console.print(f"\ndevices stream to [bold]{broker}[/]", soft_wrap=True)
    console.print(f"try: exoshare simulate --broker {broker} --devices 3", soft_wrap=True)
    mail_hint = "exoshare mail list" + (f" --data-dir {data_dir}" if data_dir else "")
    console.print(f"e-mail goes to {settings.smtp_url}; read it with: {mail_hint}", soft_wrap=True)
    console.print(f"exoshare demo running at [bold]http://{settings.host}:{port}/[/]\n")
    if live_devices:
        from exoshare.demo.live import start_live_demo

        start_live_demo(factory, broker, f"http://{settings.host}:{port}")
        console.print(
            "live simulated sessions stream in Madrid, Lagos and Bangalore "
            "(see Live sessions as maria.lopez@demo.exoshare.org)"
        )
    if network.created and federated_runs:
        from exoshare.demo.federated_demo import train_in_background

        train_in_background(factory, federated_runs)
        console.print(
            "federated training runs in the background (about a minute a run); "
            "see Federated training as researcher@demo.exoshare.org"
        )
    served = create_app(settings)
    settle_heap()
    uvicorn.run(served, host=settings.host, port=port, log_level="warning", **UVICORN_OPTIONS)


def _seed_demo_history(factory: sessionmaker[Session], settings: Settings) -> None:
    """Six weeks of past sessions for a few patients, so progress pages show a trend, and the
    care records (plans, notes, home programmes) of Maria's patients."""
    from exoshare.db import session_scope
    from exoshare.demo.care_records import seed_care_records
    from exoshare.demo.history import seed_session_history
    from exoshare.telemetry.store import RawStore

    store = RawStore(settings.resolved_telemetry_url())
    with session_scope(factory) as session:
        stored = seed_session_history(session, store, date.today())
    console.print(f"stored {stored} past gait sessions with their summaries")
    with session_scope(factory) as session:
        care = seed_care_records(session, settings.data_dir, date.today())
    console.print(
        f"care records: {care.exercises} library exercises, {care.plans} plans, "
        f"{care.notes} session notes, {care.adherence_logs} adherence logs"
    )


def _seed_demo_outcomes(factory: sessionmaker[Session]) -> None:
    """Outcome measures and goals for Maria's patients and the story patients."""
    from exoshare.db import session_scope
    from exoshare.demo.outcomes_demo import seed_outcomes

    with session_scope(factory) as session:
        written, goals_set = seed_outcomes(session, date.today())
    console.print(f"recorded {written} outcome measures and {goals_set} goals")


def _warm_recovery_prediction(settings: Settings) -> None:
    """Fit the recovery prediction in the background, so the first prediction a visitor opens
    does not wait for it (the server starts meanwhile)."""
    import threading

    from exoshare.outcomes.forecast import fitted_predictor

    threading.Thread(
        target=fitted_predictor,
        args=(settings.prediction_training_patients,),
        name="warm-prediction",
        daemon=True,
    ).start()


def _seed_demo_research(factory: sessionmaker[Session]) -> None:
    """A released research data set and one waiting for a steward, after the history exists."""
    from exoshare.db import session_scope
    from exoshare.demo.network import RESEARCHER_EMAIL
    from exoshare.demo.sharing_demo import seed_research

    with session_scope(factory) as session:
        seed_research(session, RESEARCHER_EMAIL)
    console.print("released a de-identified research data set")


def _queue_demo_federated(factory: sessionmaker[Session]) -> list[str]:
    """Two federated training runs asked by the researcher (trained once the server is up)."""
    from exoshare.demo.federated_demo import seed_federated
    from exoshare.demo.network import RESEARCHER_EMAIL

    return seed_federated(factory, RESEARCHER_EMAIL)


def _seed_demo_reminders(factory: sessionmaker[Session]) -> None:
    """Reminder preferences of the demo patients (text message, e-mail, languages)."""
    from exoshare.db import session_scope
    from exoshare.demo.reminders_demo import seed_reminder_preferences

    with session_scope(factory) as session:
        by_sms, by_email = seed_reminder_preferences(session)
    console.print(
        f"reminders: {by_sms} patients by text message (see `exoshare reminders outbox`), "
        f"{by_email} by e-mail"
    )


def _schedule_demo_waitlist(factory: sessionmaker[Session]) -> None:
    """Book the demo waitlist from next Monday, so calendars and expected starts are filled."""
    from exoshare.auth.scope import SYSTEM_DEMO
    from exoshare.db import session_scope
    from exoshare.scheduling.runs import run_schedule

    today = date.today()
    start = today + timedelta(days=7 - today.weekday())
    with session_scope(factory) as session:
        run = run_schedule(session, SYSTEM_DEMO, start, time_limit_s=20.0)
        console.print(
            f"scheduled {run.patients_scheduled} of {run.patients_waiting} waiting patients "
            f"from {start:%Y-%m-%d} across the network"
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Run the production server against the configured database (migrate it first)."""
    import uvicorn

    from exoshare.app import UVICORN_OPTIONS
    from exoshare.db import at_head

    # The server ingests MQTT telemetry (embedded broker unless EXOSHARE_MQTT_URL is set)
    # and sends the patients' reminders.
    os.environ.setdefault("EXOSHARE_MQTT_INGEST", "true")
    os.environ.setdefault("EXOSHARE_REMINDERS_DISPATCH", "true")
    settings = get_settings()
    if workers > 1 and settings.mqtt_ingest and not settings.mqtt_url:
        # Each worker would start its own embedded broker on its own port: devices would reach
        # one of them and the other workers' browsers would never see them.
        raise _fail(
            f"--workers {workers} needs an external MQTT broker: the embedded broker serves "
            "one process. Set EXOSHARE_MQTT_URL (Mosquitto 2 or EMQX, see docs/scaling.md) "
            "and EXOSHARE_LIVE_RELAY_URL (Redis), or run with --workers 1"
        )
    if not at_head(settings.resolved_database_url()):
        raise _fail("the database is not at the newest migration; run `exoshare db upgrade`")
    uvicorn.run(
        "exoshare.app:serve_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=True,
        **UVICORN_OPTIONS,
    )


schedule_app = typer.Typer(
    help="Run the network scheduler; `schedule what-if` for capacity advice.",
    invoke_without_command=True,
)
app.add_typer(schedule_app, name="schedule")


@schedule_app.callback()
def schedule(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option(help="First day of the horizon, YYYY-MM-DD (a Monday)")
    ] = None,
    weeks: Annotated[int, typer.Option(help="Weeks to schedule")] = PLAN_WEEKS,
    travel_limit_km: Annotated[float, typer.Option(help="Longest trip from home")] = 50.0,
    time_limit_s: Annotated[float, typer.Option(help="Solver time limit")] = 60.0,
) -> None:
    """Run the network scheduler on the waitlist in the database and book the sessions."""

    from pydantic import ValidationError

    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.errors import ExoshareError
    from exoshare.scheduling.runs import run_schedule
    from exoshare.scheduling.schemas import ScheduleRunCreate

    if ctx.invoked_subcommand is not None:
        return
    if start is None:
        raise _fail("--start: give the first day of the horizon, YYYY-MM-DD (a Monday)")
    try:
        # The API's rules for a run: a start within the calendar, 1-12 weeks, finite limits.
        request = ScheduleRunCreate(
            start=start, weeks=weeks, travel_limit_km=travel_limit_km, time_limit_s=time_limit_s
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    try:
        with session_scope(factory) as session:
            run = run_schedule(session, SYSTEM_CLI, **request.model_dump())
    except (ExoshareError, ValueError) as exc:
        raise _fail(getattr(exc, "detail", str(exc))) from None
    gap = "—" if run.gap_pct is None else f"{run.gap_pct:.2f} %"
    console.print(
        f"{run.patients_scheduled} of {run.patients_waiting} waiting patients scheduled, "
        f"{run.sessions_booked} sessions booked; solver {run.status}, gap {gap}, "
        f"{run.wall_time_s or 0:.1f} s"
    )


@schedule_app.command("what-if")
def schedule_what_if(
    start: Annotated[str, typer.Option(help="First simulated day, YYYY-MM-DD (a Monday)")],
    weeks: Annotated[int, typer.Option(help="Weeks simulated per what-if run")] = 8,
    seeds: Annotated[int, typer.Option(help="Referral seeds each change is run on")] = 3,
    travel_limit_km: Annotated[float, typer.Option(help="Longest trip from home")] = 50.0,
) -> None:
    """Where would one more therapist-day or unit cut waiting most? Simulates each candidate
    change on the network in the database, stores the run and prints the ranked advice."""
    import calendar

    from pydantic import ValidationError
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from exoshare.auth.scope import SYSTEM_CLI
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.devices import service as devices_service
    from exoshare.errors import ExoshareError
    from exoshare.network import service as network_service
    from exoshare.scheduling import capacity
    from exoshare.scheduling.schemas import CapacityRunCreate, CapacityRunOut

    try:
        request = CapacityRunCreate(
            start=start, weeks=weeks, seeds=seeds, travel_limit_km=travel_limit_km
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    try:
        with session_scope(factory) as session:
            run_id = capacity.start_capacity_run(session, SYSTEM_CLI, **request.model_dump()).id
    except ExoshareError as exc:
        raise _fail(exc.detail) from None
    progress = Progress(
        TextColumn("[bold]what-if runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("what-if", total=None)
        capacity.execute_capacity_run(
            factory, run_id, lambda done, total: progress.update(task, completed=done, total=total)
        )
    with session_scope(factory) as session:
        run = CapacityRunOut.model_validate(capacity.capacity_run(session, SYSTEM_CLI, run_id))
        codes = {c.id: c.code for c in network_service.located_clinics(session)}
        models = {
            m.id: m.name
            for m in devices_service.models_by_ids(
                session, {a.model_id for a in run.advice if a.model_id}
            )
        }
    if run.status != "done":
        raise _fail(f"capacity run {run_id} {run.status}: {run.error}")
    console.print(
        f"capacity run {run.id}: {run.patients_waiting} waiting, "
        f"{run.referrals_per_week:.1f} referrals a week; mean weighted wait today "
        f"{run.baseline_wait_days or 0:.1f} ± {run.baseline_wait_sd or 0:.1f} d"
    )
    table = Table("rank", "change", "clinic", "wait cut (d)", "p90 cut (d)", "more started")
    for a in run.advice:
        day = calendar.day_name[a.weekday or 0]
        what = (
            f"+1 unit of {models.get(a.model_id or '', a.model_id)}"
            if a.kind == "unit"
            else f"+{day} for {a.therapist_id or 'a relief therapist'}"
        )
        table.add_row(
            str(a.rank),
            what,
            codes.get(a.clinic_id, a.clinic_id),
            f"{a.wait_cut_days:.1f} ± {a.wait_cut_sd:.1f}",
            f"{a.p90_cut_days:.1f}",
            f"{a.extra_patients:.1f}",
        )
    console.print(table)


@app.command("simulate-network")
def simulate_network_command(
    weeks: Annotated[int, typer.Option(help="Weeks to simulate")] = 12,
    time_limit_s: Annotated[float, typer.Option(help="Solver time limit per week")] = 5.0,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
) -> None:
    """Weeks of referrals scheduled by FCFS per clinic and by exoshare across the network."""
    from exoshare.scheduling.simulation import render_table, simulate_network

    result = simulate_network(weeks=weeks, solver_time_limit_s=time_limit_s, seed=seed)
    console.print(render_table(result))
