"""Sustained ingestion rate through MQTT into the raw store, with the time share of each stage.

Run (Mosquitto on 127.0.0.1:1883, or ``--embedded`` for the amqtt broker):

    uv run python benchmarks/telemetry_ingest.py --devices 20 --batches 30

Each simulated device announces a session, publishes ``--batches`` batches of 1 s (100 samples
x 27 channels, simulator signals, MessagePack) with QoS 1 as fast as the broker takes them, and
ends the session (which runs the gait analysis). One ingestion worker (the one `exoshare serve`
runs: group commit, one Parquet file per group) stores everything into a fresh SQLite database
(or ``--database-url``) and a Parquet store in a temp dir. The rate counts sample instants
(rows of 27 values) from the first publish to the last receipt. ``--samples 10`` sends the
10-sample batches live devices send; ``--per-batch-files`` is the one-file-per-batch layout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import make_engine, make_sessionmaker, session_scope, upgrade
from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.devices import service as devices
from exoshare.devices.envelope import SettingLimit
from exoshare.devices.schemas import DeviceType
from exoshare.network import partners
from exoshare.network import service as network
from exoshare.network.schemas import OrgUnitKind, PartnerKind
from exoshare.patients import service as patients
from exoshare.patients.schemas import Diagnosis, Sex
from exoshare.telemetry.broker_acl import server_password
from exoshare.telemetry.broker_trust import DeviceTrust
from exoshare.telemetry.credentials import issue_device_credential
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker, embedded_broker
from exoshare.telemetry.protocol import (
    SampleBatch,
    SessionAnnounce,
    SessionEnd,
    decode_receipts,
    encode,
    topic,
)
from exoshare.telemetry.store import RawStore

FS_HZ = 100.0
START_S = 1_767_225_600.0
ORG = "BENCH-01"


def _network(factory, n_devices: int) -> tuple[list[tuple[str, str]], str]:  # type: ignore[no-untyped-def]
    credentials: list[tuple[str, str]] = []
    with session_scope(factory) as s:
        root = network.create_org_unit(s, "BENCH", "Bench", OrgUnitKind.consortium, None)
        clinic = network.create_org_unit(
            s, ORG, "Bench clinic", OrgUnitKind.clinic, root, country_code="ES", city="Madrid"
        )
        maker = partners.create_partner(
            s, SYSTEM_SEEDING, "Bench Robotics", PartnerKind.manufacturer, "ES"
        )
        model = devices.create_model(
            s,
            SYSTEM_SEEDING,
            "Bench X",
            maker.id,
            DeviceType.overground_exoskeleton,
            1.5,
            2.0,
            120,
            "battery",
            [SettingLimit("assistance_pct", "%", 0, 100, 10, 50)],
        )
        patient = patients.create_patient(
            s,
            SYSTEM_SEEDING,
            clinic.id,
            "MRN-1",
            "Ana",
            "Bench",
            Sex.female,
            date(1970, 1, 1),
            1.7,
            70.0,
            Diagnosis.stroke,
            date(2025, 1, 1),
            "es",
        )
        for k in range(n_devices):
            unit = devices.create_unit(s, SYSTEM_SEEDING, f"BX-{k:04d}", model.id, clinic.id)
            secret, _ = issue_device_credential(s, SYSTEM_SEEDING, unit.id)
            credentials.append((unit.serial_number, secret))
        return credentials, patient.id


async def _device(
    address: BrokerAddress,
    serial: str,
    secret: str,
    patient_id: str,
    n_batches: int,
    done: asyncio.Queue[int],
    size: int,
) -> None:
    exo = VirtualExoskeleton(healthy_profile(), seed=hash(serial) % 1000)
    frames = [exo.next_batch(size) for _ in range(n_batches)]
    channels = {name: _unit(name) for name in frames[0]}
    messages = [("session", SessionAnnounce("s1", serial, patient_id, START_S, FS_HZ, channels))]
    messages += [
        ("samples", SampleBatch("s1", k, START_S + k * size / FS_HZ, size, frames[k]))
        for k in range(n_batches)
    ]
    end = SessionEnd("s1", START_S + n_batches * size / FS_HZ, n_batches, size * n_batches)
    messages += [("session", end)]
    payloads = []
    for kind, message in messages:
        payloads.append((topic(ORG, serial, kind), encode(message.to_wire())))
    # The device's own broker login (the broker keeps it on its topics; no payload has it).
    login = BrokerAddress(address.host, address.port, serial, secret)
    async with login.client(f"bench-{serial}") as client:
        await client.subscribe(topic(ORG, serial, "receipts"), qos=1)
        await done.put(0)
        for name, payload in payloads:
            await client.publish(name, payload, qos=1)
        received = 0
        async for message in client.messages:
            received += len(decode_receipts(message.payload))  # type: ignore[arg-type]
            if received == len(payloads):
                break
    await done.put(1)


def _unit(name: str) -> str:
    from exoshare.gait.channels import channel

    return channel(name).unit


async def run(n_devices: int, n_batches: int, workdir: Path, args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    credentials, patient_id = _network(factory, n_devices)
    async with contextlib.AsyncExitStack() as stack:
        if args.embedded:
            trust = DeviceTrust(factory, server_password("benchmark"))
            address = await stack.enter_async_context(embedded_broker(trust, "127.0.0.1", 18870))
        else:
            address = BrokerAddress.parse(args.mqtt_url)
        await _measure(factory, address, credentials, patient_id, n_batches, workdir, args)


async def _measure(
    factory: Any,
    address: BrokerAddress,
    credentials: list[tuple[str, str]],
    patient_id: str,
    n_batches: int,
    workdir: Path,
    args: argparse.Namespace,
) -> None:
    n_devices = len(credentials)
    ingestor = Ingestor(
        factory, RawStore(str(workdir / "telemetry")), group_files=not args.per_batch_files
    )
    worker = MqttIngestWorker(ingestor, address, client_id=f"bench-worker-{time.time_ns()}")
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.subscribed.wait(), 10)
    done: asyncio.Queue[int] = asyncio.Queue()
    devices_tasks = [
        asyncio.create_task(
            _device(address, serial, secret, patient_id, n_batches, done, args.samples)
        )
        for serial, secret in credentials
    ]
    for _ in credentials:
        await done.get()  # every device connected and subscribed
    start = time.perf_counter()
    await asyncio.gather(*devices_tasks)
    wall = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rows = n_devices * n_batches * args.samples
    print(
        f"{n_devices} devices x {n_batches} batches of {args.samples} samples x 27 channels via "
        f"{address.url}, {factory.kw['bind'].dialect.name}, "
        f"{'one file per batch' if args.per_batch_files else 'one file per group'}"
    )
    print(
        f"stored {rows:,} sample rows ({rows * 27:,} values) in {wall:.1f} s: "
        f"{rows / wall:,.0f} rows/s = {rows * 27 / wall:,.0f} values/s "
        f"(= {rows / wall / FS_HZ:.0f} devices streaming at 100 Hz in real time)"
    )
    print(
        f"receipts: {dict(ingestor.counts)}; {ingestor.groups} groups "
        f"(mean {(n_devices * (n_batches + 2)) / max(1, ingestor.groups):.0f} messages)"
    )
    seconds = ingestor.times.seconds
    sql = seconds.get("transaction", 0.0) - seconds.get("validate", 0.0) - seconds.get("write", 0.0)
    stages = {
        "decode (MessagePack + parse)": seconds.get("decode", 0.0),
        "validation (registry, ranges, NaN, time)": seconds.get("validate", 0.0),
        "writing Parquet (temp + rename)": seconds.get("write", 0.0),
        "SQL (auth, index, de-dup, commit, analysis at end)": sql,
    }
    busy = sum(stages.values())
    stages["MQTT receive, threads, receipts (rest of wall time)"] = max(0.0, wall - busy)
    print(f"{'stage':55} {'seconds':>8} {'share':>7}")
    for name, value in stages.items():
        print(f"{name:55} {value:8.2f} {value / wall:7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--embedded", action="store_true", help="use the embedded amqtt broker")
    parser.add_argument("--samples", type=int, default=100, help="samples per batch")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--per-batch-files", action="store_true")
    args = parser.parse_args()

    async def go() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            await run(args.devices, args.batches, Path(tmp), args)

    asyncio.run(go())


if __name__ == "__main__":
    main()
