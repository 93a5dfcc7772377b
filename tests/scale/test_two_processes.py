"""Two `exoshare serve` processes on PostgreSQL and Mosquitto: each message stored once."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import aiomqtt
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry.models import TelemetryBatch, TelemetrySession
from exoshare.telemetry.protocol import decode_receipts, encode, topic
from tests.conftest import fresh_database
from tests.scale.servers import BROKER_HOST, BROKER_PORT, Server, require_services, servers
from tests.telemetry.helpers import ORG, Env, announce, batch, make_env

N_BATCHES = 40
SAMPLES_PER_BATCH = 10


@dataclass
class Deployment:
    env: Env
    factory: sessionmaker[Session]
    serial: str
    servers: list[Server]


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    require_services()
    directory = tmp_path_factory.mktemp("scale")
    with fresh_database(request, "postgresql", directory, prefix="exo_scale") as url:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        env = make_env(factory, directory)
        # A serial of this run alone: other tests may use the shared broker at the same time.
        serial = f"SX2-{uuid.uuid4().hex[:8].upper()}"
        with session_scope(factory) as s:
            s.execute(
                update(DeviceUnit)
                .where(DeviceUnit.id == env.world.ids["unit_madrid"])
                .values(serial_number=serial)
            )
        try:
            with servers(url, directory) as started:
                yield Deployment(env, factory, serial, started)
        finally:
            engine.dispose()


def _health(server: Server) -> dict[str, object]:
    with urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def _wire(env: Env, message: object, serial: str) -> bytes:
    wire = message.to_wire()  # type: ignore[attr-defined]
    wire["auth"] = env.secret
    if "device" in wire:
        wire["device"] = serial
    return encode(wire)


async def _stream(deployment: Deployment, session_id: str) -> list[dict[str, object]]:
    """Announce, then send every batch once; every receipt heard until all batches have one."""
    env, serial = deployment.env, deployment.serial
    heard: list[dict[str, object]] = []
    async with aiomqtt.Client(
        BROKER_HOST, BROKER_PORT, identifier=f"dev-{uuid.uuid4().hex[:8]}"
    ) as device:
        await device.subscribe(topic(ORG, serial, "receipts"), qos=1)

        async def until(done: int) -> None:
            async with asyncio.timeout(30):
                async for message in device.messages:
                    heard.extend(decode_receipts(bytes(message.payload)))  # type: ignore[arg-type]
                    if sum(r.get("status") in ("stored", "duplicate") for r in heard) >= done:
                        return

        announce_msg = announce(env, session_id)
        await device.publish(topic(ORG, serial, "session"), _wire(env, announce_msg, serial), qos=1)
        await until(1)  # stored before any batch: another process may take the batches
        for seq in range(N_BATCHES):
            payload = _wire(env, batch(seq, SAMPLES_PER_BATCH, session_id), serial)
            await device.publish(topic(ORG, serial, "samples"), payload, qos=1)
        await until(1 + N_BATCHES)
        # Anything a second consumer would have answered comes within a group or two.
        with_settle = len(heard)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in device.messages:
                    heard.extend(decode_receipts(bytes(message.payload)))  # type: ignore[arg-type]
        assert len(heard) >= with_settle
    return heard


def test_each_device_message_is_stored_once_by_one_of_two_processes(
    deployment: Deployment,
) -> None:
    before = [int(_health(s)["mqtt_messages"]) for s in deployment.servers]  # type: ignore[call-overload]
    receipts = asyncio.run(_stream(deployment, "scale-1"))

    ours = [r for r in receipts if r.get("session_id") == "scale-1"]
    assert sorted(r["status"] for r in ours) == ["stored"] * (1 + N_BATCHES)
    assert sorted(r["seq"] for r in ours if r.get("ref") == "samples") == list(range(N_BATCHES))
    with session_scope(deployment.factory) as s:
        sessions = s.scalars(
            select(TelemetrySession).where(TelemetrySession.device_session_id == "scale-1")
        ).all()
        assert len(sessions) == 1
        assert (sessions[0].n_batches, sessions[0].n_samples) == (
            N_BATCHES,
            N_BATCHES * SAMPLES_PER_BATCH,
        )
        stored = s.scalar(
            select(func.count())
            .select_from(TelemetryBatch)
            .where(TelemetryBatch.session_id == sessions[0].id)
        )
        assert stored == N_BATCHES
    # Both processes took part: the broker spread the messages over the group.
    after = [int(_health(s)["mqtt_messages"]) for s in deployment.servers]  # type: ignore[call-overload]
    received = [a - b for a, b in zip(after, before, strict=True)]
    assert all(r > 0 for r in received), received
    assert sum(received) >= 1 + N_BATCHES
    for server in deployment.servers:
        log = server.log.read_text()
        assert "Traceback" not in log, log
        assert "IntegrityError" not in log and "UniqueViolation" not in log, log
