"""Telemetry over the wire: MQTT (Mosquitto and the embedded broker), WebSocket, upload."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from exoshare.telemetry import credentials
from exoshare.telemetry.broker_acl import (
    SERVER_USERNAME,
    installation_server_password,
    server_password,
)
from exoshare.telemetry.broker_trust import DeviceTrust
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.ingest_process import IngestProcess
from exoshare.telemetry.models import SessionStatus, TelemetrySession
from exoshare.telemetry.mqtt import (
    BrokerAddress,
    GroupIngestion,
    MqttIngestWorker,
    embedded_broker,
)
from exoshare.telemetry.protocol import decode, decode_receipts, encode, encode_json, topic
from exoshare.telemetry.store import RawStore
from tests.telemetry.helpers import (
    ORG,
    SERIAL,
    announce,
    batch,
    counts,
    end,
    make_env,
    only_session,
    simulated_angles,
)
from tests.world import build_world

MOSQUITTO = os.environ.get("EXOSHARE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _reachable(address: BrokerAddress) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex((address.host, address.port)) == 0


async def _stream_session(
    env: object, address: BrokerAddress, worker_id: str, storage: GroupIngestion | None = None
) -> list[dict]:
    """Announce, 5 batches (one sent three times, out of order), end; collect the receipts."""
    ingestion = storage or env.ingestor  # type: ignore[attr-defined]
    worker = MqttIngestWorker(ingestion, address, client_id=worker_id)
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.subscribed.wait(), 10)
    receipts: list[dict] = []
    secret = env.secret  # type: ignore[attr-defined]
    messages = [("session", announce(env))]  # type: ignore[arg-type]
    messages += [("samples", batch(seq)) for seq in (0, 2, 1, 2, 3, 4, 2)]
    messages += [("session", end(5))]
    device_login = BrokerAddress(address.host, address.port, SERIAL, secret)
    async with device_login.client(f"device-{worker_id}") as device:
        await device.subscribe(topic(ORG, SERIAL, "receipts"), qos=1)
        for kind, message in messages:
            await device.publish(topic(ORG, SERIAL, kind), encode(message.to_wire()), qos=1)
        async with asyncio.timeout(20):
            async for incoming in device.messages:
                receipts += decode_receipts(incoming.payload)  # type: ignore[arg-type]
                if len(receipts) == len(messages):
                    break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return receipts


def _check_streamed(env: object, receipts: list[dict], *, file_per_batch: bool = True) -> None:
    statuses = [(r["ref"], r.get("seq"), r["status"]) for r in receipts]
    assert statuses == [
        ("session", None, "stored"),
        ("samples", 0, "stored"),
        ("samples", 2, "stored"),
        ("samples", 1, "stored"),
        ("samples", 2, "duplicate"),
        ("samples", 3, "stored"),
        ("samples", 4, "stored"),
        ("samples", 2, "duplicate"),
        ("end", None, "stored"),
    ]
    sessions, batches, samples, files = counts(env)  # type: ignore[arg-type]
    assert (sessions, batches, samples) == (1, 5, 500)
    # The storage process keeps each group's batches in one file.
    assert files == 5 if file_per_batch else 1 <= files <= 5
    record = only_session(env)  # type: ignore[arg-type]
    assert record.status is SessionStatus.ended and record.n_samples == 500
    assert record.summary is not None and record.step_count is not None


def test_mqtt_ingestion_through_mosquitto(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    address = BrokerAddress.parse(MOSQUITTO)
    if not _reachable(address):
        pytest.skip(f"no MQTT broker at {MOSQUITTO} (set EXOSHARE_TEST_MQTT_URL)")
    env = make_env(session_factory, tmp_path)
    # A unique client id: the broker keeps a persistent session per id across test runs.
    receipts = asyncio.run(_stream_session(env, address, f"test-{os.urandom(4).hex()}"))
    _check_streamed(env, receipts)


def test_the_storage_process_sends_the_receipts_itself(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    address = BrokerAddress.parse(MOSQUITTO)
    if not _reachable(address):
        pytest.skip(f"no MQTT broker at {MOSQUITTO} (set EXOSHARE_TEST_MQTT_URL)")
    env = make_env(session_factory, tmp_path)
    env.store = RawStore(settings.resolved_telemetry_url())
    storage = IngestProcess(settings, Ingestor(session_factory, env.store), address)
    assert storage.answers_devices
    try:
        receipts = asyncio.run(
            _stream_session(env, address, f"test-{os.urandom(4).hex()}", storage)
        )
    finally:
        storage.close()
    _check_streamed(env, receipts, file_per_batch=False)


def test_mqtt_ingestion_through_the_embedded_broker(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)

    async def run() -> list[dict]:
        trust = DeviceTrust(session_factory, server_password("test-secret-key"))
        async with embedded_broker(trust, "127.0.0.1", 18830) as address:
            return await _stream_session(env, address, "test-embedded")

    _check_streamed(env, asyncio.run(run()))


def test_lifespan_runs_embedded_broker_and_worker(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    from exoshare.app import create_app

    env = make_env(session_factory, tmp_path)
    app = create_app(settings.model_copy(update={"mqtt_ingest": True, "mqtt_embedded_port": 18850}))
    runtime_of(app).telemetry.store = env.store

    async def publish(address: BrokerAddress) -> dict:
        device_login = BrokerAddress(address.host, address.port, SERIAL, env.secret)
        async with device_login.client("device-lifespan") as device:
            await device.subscribe(topic(ORG, SERIAL, "receipts"), qos=1)
            wire = announce(env).to_wire()  # type: ignore[arg-type]
            await device.publish(topic(ORG, SERIAL, "session"), encode(wire), qos=1)
            async with asyncio.timeout(20):
                async for incoming in device.messages:
                    (receipt,) = decode_receipts(incoming.payload)  # type: ignore[arg-type]
                    return receipt
        raise AssertionError("no receipt")

    with TestClient(app) as client:
        worker = runtime_of(app).telemetry.worker
        client.portal.call(lambda: asyncio.wait_for(worker.subscribed.wait(), 10))  # type: ignore[union-attr]
        receipt = client.portal.call(publish, runtime_of(app).telemetry.broker)  # type: ignore[union-attr]
        address = runtime_of(app).telemetry.broker
    runtime_of(app).engine.dispose()
    assert receipt["status"] == "stored"
    assert counts(env)[0] == 1
    # Loopback by default, and the server speaks to it as its own identity.
    assert (address.host, address.username) == ("127.0.0.1", SERVER_USERNAME)
    assert address.password == installation_server_password(settings)


def test_websocket_ingestion_with_header_and_hello(client: TestClient, settings: Settings) -> None:
    from exoshare.db import make_engine, make_sessionmaker

    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])

    class _Env:
        patient_id = world.ids["patient_carlos"]

    headers = {"Authorization": f"Device {secret}"}
    with client.websocket_connect("/api/v1/telemetry/ws", headers=headers) as ws:
        assert decode(ws.receive_bytes())["device"] == SERIAL
        ws.send_bytes(encode(announce(_Env).to_wire()))  # type: ignore[arg-type]
        assert decode(ws.receive_bytes())["status"] == "stored"
        for seq in (1, 0, 1):
            ws.send_bytes(encode(batch(seq).to_wire()))
        answers = [decode(ws.receive_bytes()) for _ in range(3)]
        assert [(a["seq"], a["status"]) for a in answers] == [
            (1, "stored"),
            (0, "stored"),
            (1, "duplicate"),
        ]
    # A device that cannot set headers says hello first, and may speak JSON.
    with client.websocket_connect("/api/v1/telemetry/ws") as ws:
        ws.send_text(encode_json({"v": 1, "type": "hello", "auth": secret}).decode())
        assert decode(ws.receive_text())["type"] == "welcome"
        ws.send_text(encode_json(batch(2).to_wire(binary=False)).decode())
        assert decode(ws.receive_text())["status"] == "stored"
        bad = batch(3).to_wire(binary=False)
        bad["values"]["knee_angle_left_deg"][5] = 400.0
        ws.send_text(encode_json(bad).decode())
        answer = decode(ws.receive_text())
        assert answer["status"] == "rejected" and answer["code"] == "out-of-range"
    with session_scope(factory) as s:
        record = s.scalars(select(TelemetrySession)).one()
        assert record.n_batches == 3 and record.n_samples == 300
    factory.kw["bind"].dispose()


def test_websocket_refuses_a_bad_credential(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(
            "/api/v1/telemetry/ws", headers={"Authorization": "Device exodev_nope"}
        ) as ws,
    ):
        ws.receive_bytes()
    assert closed.value.code == 4401


def test_upload_of_a_csv_recording(client: TestClient, settings: Settings) -> None:
    from exoshare.db import make_engine, make_sessionmaker

    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])
    angles = simulated_angles(3000)
    left, right = angles["knee_angle_left_deg"], angles["knee_angle_right_deg"]
    rows = ["time,Knee L,Knee R"] + [
        f"{k / 100:.2f},{left[k]:.3f},{right[k]:.3f}" for k in range(3000)
    ]
    response = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": f"Device {secret}"},
        data={
            "patient_id": world.ids["patient_carlos"],
            "mapping": "Knee L=knee_angle_left_deg\nKnee R=knee_angle_right_deg",
        },
        files={"file": ("walk.csv", "\n".join(rows).encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["n_samples"] == 3000 and body["status"] == "ended"
    assert body["channels"] == {"knee_angle_left_deg": "deg", "knee_angle_right_deg": "deg"}
    assert body["cadence_steps_per_min"] == pytest.approx(110.0, abs=8.0)
    refused = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": "Device exodev_nope"},
        data={
            "patient_id": world.ids["patient_carlos"],
            "mapping": "Knee L=knee_angle_left_deg\nKnee R=-",
        },
        files={"file": ("walk.csv", "\n".join(rows).encode(), "text/csv")},
    )
    assert refused.status_code == 401
    factory.kw["bind"].dispose()
