"""Live sessions the server sustains, end to end: MQTT devices → ingestion → live hub → browsers.

For each database (SQLite, the embedded default; PostgreSQL, production) and each number of
sessions N, on this machine:

- the real app (``create_app``: MQTT ingestion worker with group commit, raw store, live hub)
  runs under uvicorn in its own process on a free port, ingesting from a private Mosquitto
  started on a free port (or ``--mqtt-url``; a shared broker with another exoshare server on
  it would mix their traffic and their worker client ids);
- a client process runs N simulated devices, each its own MQTT connection, publishing a
  10-sample batch every 100 ms (100 Hz, 27 channels, simulator signals, QoS 1, sample times
  = wall clock), and N browsers, each a real WebSocket on
  ``/api/v1/telerehab/sessions/{id}/live`` with a bearer token. Both are lean on purpose
  (``lean_mqtt.py``, ``lean_ws.py``: packets built before the run, frames read as bytes), so
  that the load generator takes as little as it can of the cores it shares with the server;
- the devices start their sessions one after another (``--starts-per-s``, 20 a second by
  default: a start runs every safety rule), then all stream together for ``--seconds``;
- latency = the moment the browser receives a ``batch`` frame minus the moment the frame's last
  sample was measured (same machine, same clock), over the time all sessions stream together
  after a 2 s warm-up.

It prints sessions, frames delivered, p50/p99/max latency, server CPU (cores and % per session),
client CPU, and where the server's time goes (py-spy, when ``uvx py-spy`` works).

    uv run python benchmarks/telerehab_live.py --sessions 25 50 100 200 --seconds 20
    uv run python benchmarks/telerehab_live.py --db postgresql --sessions 50 100 200
    uv run python benchmarks/telerehab_live.py --db postgresql --processes 2 --sessions 100

``--processes N`` starts N servers in one shared MQTT subscription, joined by the Redis live
relay (docs/scaling.md); browsers are spread over them and server CPU is their sum.

Each run takes about ``--seconds`` + sessions / ``--starts-per-s`` + 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.telemetry.broker_acl import installation_server_password

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.world builds the network
POSTGRES_URL = os.environ.get(
    "EXOSHARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ORG = "ES-MAD-01"
WARMUP_S = 2.0
_HEAD = re.compile(rb'\{"type":"(?P<type>\w+)"(?:,"seq":\d+,"sent_s":(?P<sent>[0-9.]+))?')


DEFAULT_RELAY_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of a process and of its live children (the server's storage process)."""
    own = children = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if stat.parent.name == str(pid):
                own += seconds
            elif fields[1] == str(pid):
                children += seconds
    return own, children


def _named_cpu_s(name: str) -> float:
    """CPU seconds of every live process whose command name is ``name`` (PostgreSQL's
    server and backends: the database shares these cores with the server)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            text = stat.read_text()
            if text[text.index("(") + 1 : text.rindex(")")] != name:
                continue
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _db_writes(url: str) -> tuple[int, int]:
    """(commits, rows inserted, updated or deleted) of the run's database so far (PostgreSQL;
    zeros on SQLite, which keeps no such counters)."""
    from sqlalchemy import create_engine, make_url, text

    if not url.startswith("postgresql"):
        return 0, 0
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted "
                "FROM pg_stat_database WHERE datname = :name"
            ),
            {"name": make_url(url).database},
        ).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def _telemetry_files(data_dir: Path) -> int:
    """Parquet files in the servers' raw store: one PUT each on an object store."""
    return sum(1 for _ in data_dir.rglob("*.parquet"))


def _redis_commands(args: argparse.Namespace) -> int:
    import redis

    client = redis.Redis.from_url(args.relay_url or DEFAULT_RELAY_URL)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def _mqtt_messages(ports: list[int]) -> int:
    """Device messages the servers received (their health endpoints)."""
    import httpx

    return sum(
        int(httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).json()["mqtt_messages"])
        for port in ports
    )


# ---------------------------------------------------------------------------- setup


def _database(kind: str, workdir: Path) -> tuple[str, str | None]:
    from sqlalchemy import create_engine, make_url, text

    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    name = f"exo_live_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), name


def _drop(name: str | None) -> None:
    if name is None:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _setup(url: str, n: int) -> dict[str, Any]:
    """A network, N device units with credentials, N planned sessions, a therapist token."""
    from tests.telerehab.helpers import ready_world

    from exoshare.auth import service as auth_service
    from exoshare.auth.models import User
    from exoshare.auth.schemas import CredentialKind
    from exoshare.db import make_engine, make_sessionmaker, session_scope, upgrade
    from exoshare.devices.models import DeviceUnit
    from exoshare.telemetry import credentials
    from exoshare.telerehab import sessions as telerehab_sessions
    from exoshare.telerehab.schemas import TherapyLocation

    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    # Certified and CE marked: planning a session checks the clinical-safety rule.
    world = ready_world(factory)
    devices = []
    with session_scope(factory) as s:
        user = s.get(User, world.ids["therapist_madrid"])
        assert user is not None
        principal = auth_service.principal_for(s, user)
        token, _ = auth_service.issue_credential(
            s, user, CredentialKind.api_token, timedelta(days=1)
        )
        template = s.get(DeviceUnit, world.ids["unit_madrid"])
        assert template is not None
        for i in range(n):
            unit = DeviceUnit(
                serial_number=f"LIVE-{i:04d}",
                model_id=template.model_id,
                org_unit_id=template.org_unit_id,
            )
            s.add(unit)
            s.flush()
            secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, unit.id)
            therapy = telerehab_sessions.plan_session(
                s, principal, world.ids["patient_carlos"], unit.id, TherapyLocation.home
            )
            devices.append(
                {"serial": unit.serial_number, "secret": secret, "therapy_id": therapy.id}
            )
    engine.dispose()
    return {"token": token, "patient_id": world.ids["patient_carlos"], "devices": devices}


# ---------------------------------------------------------------------------- server


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from exoshare.app import UVICORN_OPTIONS, create_app
    from exoshare.config import Settings
    from exoshare.heap import settle_heap

    settings = Settings(
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        mqtt_url=args.mqtt_url,
        mqtt_ingest=True,
        mqtt_embedded_port=_free_port(),
        port=args.port,
        live_relay_url=args.relay_url,
        live_relay_channel=args.relay_channel or "exoshare-live",
    )
    app = create_app(settings)
    settle_heap()  # as `exoshare serve` does
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", **UVICORN_OPTIONS)


# ---------------------------------------------------------------------------- clients


async def _clients(plan: dict[str, Any]) -> dict[str, Any]:
    # Beside this script: devices and browsers that cost the shared cores little.
    import lean_mqtt
    import lean_ws

    from exoshare.demo.gait_profiles import healthy_profile
    from exoshare.demo.gait_simulator import VirtualExoskeleton
    from exoshare.gait.channels import channel
    from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, encode, topic

    devices = plan["devices"]
    seconds = plan["seconds"]
    exo = VirtualExoskeleton(healthy_profile(), seed=1)
    names = exo.channel_names()
    # Sessions start one after another over ramp_s (as therapists start them, not all in one
    # instant: a start runs every safety rule), then all stream together for ``seconds``.
    ramp_s = plan["ramp_s"]
    n_batches = int((seconds + ramp_s) * 10)
    template = exo.next_batch(n_batches * 10 + 10)
    units = {name: channel(name).unit for name in names}
    host, port = plan["mqtt_host"], plan["mqtt_port"]
    latencies: list[float] = []
    send_lag: list[float] = []  # how late the load generator itself published each batch
    expected: list[int] = []  # batches due in the measured window
    durable: list[float] = []
    frames = collections.Counter[str]()
    receipts = collections.Counter[str]()
    ready: list[bool] = []
    receipt_messages: list[int] = []
    t_measure = 0.0

    # Browsers open their pages a few at a time, as a clinic's therapists do: hundreds of
    # handshakes at one instant each hold a database connection and want a second one (the
    # credential's last use), which exhausts the server's pool.
    handshakes = asyncio.Semaphore(16)

    def seen(text: bytes) -> None:
        now = time.time()
        # A browser parses the whole frame; this load generator shares the server's cores, so
        # it reads only the two fields it measures (its CPU is printed). Frames that queued up
        # on the server come as one JSON array.
        for found in _HEAD.finditer(text):
            frames[found["type"].decode()] += 1
            if found["sent"] and float(found["sent"]) >= t_measure:
                latencies.append(now - float(found["sent"]))

    async def browser(therapy_id: str, port: int) -> None:
        path = f"/api/v1/telerehab/sessions/{therapy_id}/live"
        async with handshakes:
            viewer = await asyncio.wait_for(
                lean_ws.open_viewer("127.0.0.1", port, path, plan["token"], seen), 60
            )
        ready.append(True)
        try:
            await viewer.closed  # until cancelled at the end
        finally:
            lean_ws.close(viewer)

    def payloads(i: int, info: dict[str, Any], start: float) -> tuple[float, list[bytes]]:
        """The device's session start and every batch it will send as a ready MQTT packet,
        built before the run: encoding is the device's work, on its own hardware, not the
        server's."""
        # Devices start over the ramp and are not in lockstep; all stop at the same end.
        t0 = start + (i / len(devices)) * ramp_s + (i % 10) * 0.01
        samples_topic = topic(ORG, info["serial"], "samples")
        packets = []
        for seq in range(int((start + ramp_s + seconds - t0) * 10)):
            first = seq * 10
            values = {n: template[n][first : first + 10] for n in names}
            wire = SampleBatch("live", seq, t0 + first / 100.0, 10, values).to_wire()
            packets.append(lean_mqtt.publish_packet(samples_topic, encode(wire), 2 + seq % 65534))
        return t0, packets

    async def device(info: dict[str, Any], t0: float, batches: list[bytes]) -> None:
        serial, secret = info["serial"], info["secret"]
        sent: dict[int, float] = {}

        def count(payload: bytes) -> None:
            now = time.time()
            if now >= t_measure:
                receipt_messages.append(1)
            for status, seq in _statuses(payload):
                receipts[status] += 1
                if seq is not None and seq in sent:
                    durable.append(now - sent.pop(seq))

        c = await lean_mqtt.connect(
            host,
            port,
            f"live-{serial}-{uuid.uuid4().hex[:6]}",
            serial,  # the device's broker login; no payload carries the secret
            secret,
            topic(ORG, serial, "receipts"),
            count,
        )
        try:
            await asyncio.sleep(max(0.0, t0 - 0.05 - time.time()))
            wire = SessionAnnounce(
                "live", serial, plan["patient_id"], t0, 100.0, units, settings=exo.settings
            ).to_wire()
            c.send(lean_mqtt.publish_packet(topic(ORG, serial, "session"), encode(wire), 1))
            for seq, packet in enumerate(batches):
                due = t0 + (seq + 1) * 0.1  # the batch's last sample was measured at due - 10 ms
                await asyncio.sleep(max(0.0, due - time.time()))
                if due >= t_measure:
                    expected.append(1)
                    sent[seq] = time.time()
                    send_lag.append(sent[seq] - due)
                c.send(packet)
            await asyncio.sleep(1.5)
        finally:
            lean_mqtt.close(c)

    # With several server processes the browsers are spread over them (a load balancer's
    # round robin); each device's messages go to whichever process the broker picks.
    ports = plan["ports"]
    viewers = [
        asyncio.create_task(browser(d["therapy_id"], ports[i % len(ports)]))
        for i, d in enumerate(devices)
    ]
    while len(ready) < len(devices):
        await asyncio.sleep(0.05)
        for v in viewers:
            if v.done():
                v.result()
    # Encoding takes ~30 µs a batch here; the margin leaves time for it before the start.
    start = time.time() + 2.0 + 60e-6 * len(devices) * n_batches
    encoded = [payloads(i, d, start) for i, d in enumerate(devices)]
    if time.time() > start:
        raise RuntimeError("encoding the devices' batches took longer than the margin for it")
    t_measure = start + ramp_s + WARMUP_S
    # When the devices start sending: the profiler (--profile) samples the steady state only,
    # not the browsers' connections and the devices' announces before it.
    Path(plan["started"]).write_text(str(start))
    window: list[tuple[float, float]] = []  # (wall, CPU) when all stream together, and after

    async def clock() -> None:
        for moment in (t_measure, start + ramp_s + seconds):
            await asyncio.sleep(max(0.0, moment - time.time()))
            window.append((time.time(), time.process_time()))

    clocked = asyncio.create_task(clock())
    await asyncio.gather(*(device(d, *e) for d, e in zip(devices, encoded, strict=True)))
    await clocked
    (wall0, cpu0), (wall1, cpu1) = window
    wall, cpu = wall1 - wall0, cpu1 - cpu0
    for viewer in viewers:
        viewer.cancel()
    await asyncio.gather(*viewers, return_exceptions=True)
    return {
        "latencies": latencies,
        "durable": durable,
        "send_lag": send_lag,
        "frames": dict(frames),
        "receipts": dict(receipts),
        "client_cores": cpu / wall,
        "client_wall_s": wall,
        "receipt_messages": len(receipt_messages),
        "expected": len(expected),
    }


def _statuses(payload: bytes) -> list[tuple[str, int | None]]:
    from exoshare.telemetry.protocol import decode_receipts

    return [
        (str(r.get("status")), r["seq"] if isinstance(r.get("seq"), int) else None)
        for r in decode_receipts(payload)
    ]


def clients(args: argparse.Namespace) -> None:
    import uvloop

    plan = json.loads(Path(args.plan).read_text())
    # The same event loop as the server's (uvicorn takes uvloop): the simulated devices and
    # browsers share the server's two cores, so what they spend is taken from it.
    result = uvloop.run(_clients(plan))
    Path(args.out).write_text(json.dumps(result))


# ---------------------------------------------------------------------------- orchestration


def _profile_summary(raw: Path) -> list[tuple[str, float]]:
    """Shares of server samples by the part of the path they are in (py-spy raw stacks)."""
    buckets = {
        "MQTT receive/publish (aiomqtt, paho)": ("paho/", "aiomqtt/"),
        "Parquet write + fsync": ("pyarrow/parquet", "store.py:flush", "store.py:_put", "fsync"),
        "SQL (SQLAlchemy + driver)": ("sqlalchemy/", "sqlite3", "psycopg/"),
        "validation": ("validation.py",),
        "decode (MessagePack, parse)": ("protocol.py",),
        "live hub (decimation, analysis, JSON)": ("live.py", "gait/", "alerts.py"),
        "WebSocket send (uvicorn, websockets)": ("websockets/", "uvicorn/", "starlette/"),
    }
    totals: collections.Counter[str] = collections.Counter()
    all_samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        all_samples += count
        frames = stack.split(";")
        # The innermost frame that belongs to a bucket decides.
        for frame in reversed(frames):
            hit = next((b for b, keys in buckets.items() if any(k in frame for k in keys)), None)
            if hit:
                totals[hit] += count
                break
        else:
            idle = any(k in stack for k in ("select (selectors", "_worker (concurrent", "wait ("))
            totals["idle (waiting)" if idle else "other (asyncio, threads, GC, …)"] += count
    return [(k, v / max(1, all_samples)) for k, v in totals.most_common()]


def _mosquitto_config(url: str, workdir: Path, port: int) -> Path:
    """mosquitto.conf, passwd and acl for the devices of ``_setup`` and the server (whose
    identity derives from the secret key in its data dir, created here first)."""
    import getpass

    from exoshare.config import Settings
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.telemetry.mosquitto import CONFIG_FILE, config_file, write_files

    settings = Settings(data_dir=workdir / "data", database_url=url)
    directory = workdir / "mosquitto"
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        write_files(session, directory, installation_server_password(settings))
    engine.dispose()
    conf = directory / CONFIG_FILE
    conf.write_text(config_file(directory, port, run_as=getpass.getuser()))
    return conf


def run_one(args: argparse.Namespace, kind: str, n: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="exo-live-"))
    url, dropme = _database(kind, workdir)
    servers: list[subprocess.Popen[bytes]] = []
    broker: subprocess.Popen[bytes] | None = None
    try:
        setup = _setup(url, n)
        ports = [_free_port() for _ in range(args.processes)]
        mqtt_url = args.mqtt_url
        if mqtt_url is None:
            # A private Mosquitto: the worker's fixed client id and its subscription to every
            # device topic must not meet another exoshare server on a shared broker.
            mport_free = _free_port()
            # With device trust, as in production: exoshare's password and ACL files.
            conf = _mosquitto_config(url, workdir, mport_free)
            broker = subprocess.Popen(
                ["mosquitto", "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
            mqtt_url = f"mqtt://127.0.0.1:{mport_free}"
        channel = f"exoshare-bench-{os.getpid()}-{n}"
        for port in ports:
            cmd = [sys.executable, __file__, "--serve", "--port", str(port), "--data-dir",
                   str(workdir / "data"), "--database-url", url]  # fmt: skip
            if mqtt_url:
                cmd += ["--mqtt-url", mqtt_url]
            if args.processes > 1:
                # The processes show each other what they ingest (docs/scaling.md).
                relay = args.relay_url or DEFAULT_RELAY_URL
                cmd += ["--relay-url", relay, "--relay-channel", channel]
            servers.append(subprocess.Popen(cmd, cwd=ROOT))
        from exoshare.health import wait_until_healthy

        for port in ports:
            if not wait_until_healthy(f"http://127.0.0.1:{port}", timeout_s=300):
                raise RuntimeError("the server did not become healthy")
        host, mport = mqtt_url.rsplit("//", 1)[1].split(":")
        started = workdir / "started"
        plan = {**setup, "seconds": args.seconds, "ports": ports, "mqtt_host": host,
                "mqtt_port": int(mport), "started": str(started),
                "ramp_s": n / args.starts_per_s}  # fmt: skip
        (workdir / "plan.json").write_text(json.dumps(plan))
        out = workdir / "result.json"
        client = subprocess.Popen(
            [sys.executable, __file__, "--clients", "--plan", str(workdir / "plan.json"),
             "--out", str(out)], cwd=ROOT,
        )  # fmt: skip
        # Everything is measured over the window in which all sessions stream together (after
        # the ramp and the warm-up), so that the ramp's lighter load does not dilute it.
        while not started.exists() and client.poll() is None:
            time.sleep(0.1)
        begin = float(started.read_text() or time.time()) if started.exists() else time.time()
        window_start = begin + n / args.starts_per_s + WARMUP_S
        window_end = begin + n / args.starts_per_s + args.seconds
        time.sleep(max(0.0, window_start - time.time()))
        cpu0 = [_cpu_s(server.pid) for server in servers]
        writes0 = _db_writes(url)
        files0 = _telemetry_files(workdir / "data")
        redis0 = _redis_commands(args) if args.processes > 1 else 0
        heard0 = _mqtt_messages(ports)
        broker0 = _cpu_s(broker.pid)[0] if broker is not None else 0.0
        database0 = _named_cpu_s("postgres")
        t0 = time.time()
        spy: subprocess.Popen[bytes] | None = None
        raw = workdir / "profile.txt"
        # py-spy installed next to this interpreter (uv pip install py-spy), else through uvx.
        local_spy = Path(sys.executable).with_name("py-spy")
        spy_command = [str(local_spy)] if local_spy.exists() else ["uvx", "py-spy"]
        if args.profile and (local_spy.exists() or shutil.which("uvx")):
            spy = subprocess.Popen(
                [*spy_command, "record", "--subprocesses", "--pid", str(servers[0].pid),
                 "--format", "raw",
                 "--duration", str(max(3, int(window_end - time.time() - 1))), "--rate", "50",
                 "--nonblocking", "-o", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        time.sleep(max(0.0, window_end - time.time()))
        wall = time.time() - t0
        spent = [
            (b[0] - a[0], b[1] - a[1])
            for a, b in zip(cpu0, (_cpu_s(server.pid) for server in servers), strict=True)
        ]
        web, storage = sum(w for w, _ in spent), sum(s for _, s in spent)
        heard = _mqtt_messages(ports) - heard0
        broker_cpu = _cpu_s(broker.pid)[0] - broker0 if broker is not None else float("nan")
        database_cpu = _named_cpu_s("postgres") - database0
        time.sleep(1.0)  # PostgreSQL's statistics are flushed within a second of a commit
        commits, rows = (b - a for a, b in zip(writes0, _db_writes(url), strict=True))
        puts = _telemetry_files(workdir / "data") - files0
        redis_ops = _redis_commands(args) - redis0 if args.processes > 1 else 0
        client.wait(timeout=args.seconds + n / args.starts_per_s + 180)
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
        result = json.loads(out.read_text())
        if raw.exists():
            kept = ROOT / "test-artifacts" / f"telerehab-live-profile-{kind}-{n}.txt"
            kept.parent.mkdir(exist_ok=True)
            shutil.copy(raw, kept)
        lat = np.array(result["latencies"]) * 1000
        receipt = np.array(result["durable"]) * 1000
        return {
            "db": kind,
            "processes": args.processes,
            "sessions": n,
            "frames": int(lat.size),
            "expected": result["expected"],
            "p50": float(np.percentile(lat, 50)) if lat.size else float("nan"),
            "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
            "max": float(lat.max()) if lat.size else float("nan"),
            "receipt_p50": float(np.percentile(receipt, 50)) if receipt.size else float("nan"),
            "receipt_p99": float(np.percentile(receipt, 99)) if receipt.size else float("nan"),
            "send_lag_p99": float(np.percentile(result["send_lag"], 99) * 1000)
            if result["send_lag"]
            else float("nan"),
            # Server CPU over the window in which all sessions stream together.
            "server_cores": (web + storage) / wall,
            "web_cores": web / wall,
            "storage_cores": storage / wall,
            "broker_cores": broker_cpu / wall,
            "database_cores": database_cpu / wall,
            "client_cores": result["client_cores"],
            "receipts": result["receipts"],
            # Rates over the window in which all sessions stream together, for the capacity
            # model in docs/scaling.md.
            "rates": {
                "device_messages_per_s": heard / wall,
                "receipt_messages_per_s": result["receipt_messages"] / result["client_wall_s"],
                "db_transactions_per_s": commits / wall,
                "db_rows_per_s": rows / wall,
                "object_puts_per_s": puts / wall,
                "redis_commands_per_s": redis_ops / wall,
            },
            "profile": _profile_summary(raw) if raw.exists() else [],
        }
    finally:
        for proc in (*servers, broker):
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=20)
        _drop(dropme)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[25, 50, 100, 200])
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="how long all sessions stream together"
    )
    parser.add_argument(
        "--starts-per-s",
        type=float,
        default=20.0,
        help="sessions started per second before that (each start runs every safety rule)",
    )
    parser.add_argument("--db", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--mqtt-url", help="an external broker (default: a private Mosquitto on a free port)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server (uvx)")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes sharing the broker subscription, browsers spread over them",
    )
    parser.add_argument(
        "--relay-url",
        help="Redis of the live relay between the processes (with --processes above 1; "
        f"default {DEFAULT_RELAY_URL})",
    )
    parser.add_argument("--relay-channel", help=argparse.SUPPRESS)
    # internal: the server and client processes
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    if args.clients:
        clients(args)
        return
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {args.seconds:g} s runs")
    header = ("db", "processes", "sessions", "frames/expected", "p50 ms", "p99 ms", "max ms",
              "receipt p50/p99 ms", "server cores (web + storage)", "CPU %/session",
              "client cores", "broker cores", "database cores", "devices late p99 ms")  # fmt: skip
    print(" | ".join(header))
    for kind in args.db:
        for n in args.sessions:
            r = run_one(args, kind, n)
            print(
                f"{r['db']} | {r['processes']} | {r['sessions']} | "
                f"{r['frames']}/{r['expected']} | {r['p50']:.0f} | "
                f"{r['p99']:.0f} | {r['max']:.0f} | "
                f"{r['receipt_p50']:.0f}/{r['receipt_p99']:.0f} | {r['server_cores']:.2f} "
                f"({r['web_cores']:.2f} + {r['storage_cores']:.2f}) | "
                f"{100 * r['server_cores'] / r['sessions']:.2f} | {r['client_cores']:.2f} | "
                f"{r['broker_cores']:.2f} | {r['database_cores']:.2f} | "
                f"{r['send_lag_p99']:.0f}",
                flush=True,
            )
            if r["profile"]:
                print(
                    "    server time: "
                    + ", ".join(f"{name} {100 * share:.0f}%" for name, share in r["profile"]),
                    flush=True,
                )


if __name__ == "__main__":
    main()
