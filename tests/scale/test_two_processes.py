"""Two `exoshare serve` processes on PostgreSQL, Mosquitto, Redis and an S3 API (moto): each
message stored once, every browser sees every session, whichever process ingests."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import aiomqtt
import httpx
import numpy as np
import pytest
import websockets
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry.models import TelemetryBatch, TelemetrySession
from exoshare.telemetry.protocol import (
    CommandAck,
    SampleBatch,
    SessionAnnounce,
    decode,
    decode_receipts,
    encode,
    topic,
)
from exoshare.telemetry.store import RawStore
from exoshare.telerehab.models import TherapySession
from tests.conftest import fresh_database
from tests.scale.servers import (
    BROKER_HOST,
    BROKER_PORT,
    Server,
    object_store,
    require_services,
    servers,
)
from tests.telemetry.helpers import FS_HZ, ORG, Env, announce, batch, make_env, walking
from tests.telerehab.helpers import approve_in_eu, certify
from tests.world import PASSWORD

N_BATCHES = 40
SAMPLES_PER_BATCH = 10
N_LIVE = 20
MAX_TRIES = 8


@dataclass
class Deployment:
    env: Env
    factory: sessionmaker[Session]
    serial: str
    servers: list[Server]
    telemetry: RawStore
    """The S3 store both processes write the samples to."""


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
        # Maria may run Carlos on the Madrid unit (the live test): CE mark, certificate.
        approve_in_eu(factory, env.world.ids["model"])
        certify(factory, env.world, "therapist_madrid")
        # A serial of this run alone: other tests may use the shared broker at the same time.
        serial = f"SX2-{uuid.uuid4().hex[:8].upper()}"
        with session_scope(factory) as s:
            s.execute(
                update(DeviceUnit)
                .where(DeviceUnit.id == env.world.ids["unit_madrid"])
                .values(serial_number=serial)
            )
        try:
            with object_store() as telemetry, servers(url, directory, telemetry) as started:
                yield Deployment(env, factory, serial, started, RawStore(telemetry.url))
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
    refused = [(r.get("ref"), r.get("seq"), r.get("code"), r.get("detail")) for r in ours]
    assert sorted(r["status"] for r in ours) == ["stored"] * (1 + N_BATCHES), [
        answer for answer, r in zip(refused, ours, strict=True) if r["status"] != "stored"
    ]
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
        files = s.scalars(
            select(TelemetryBatch.file)
            .where(TelemetryBatch.session_id == sessions[0].id)
            .order_by(TelemetryBatch.seq)
        ).all()
    # Every batch reads back from the object store: its 10 samples, the walking signal sent.
    read = [deployment.telemetry.read_batch(name) for name in files]
    assert [len(b.time_s) for b in read] == [SAMPLES_PER_BATCH] * N_BATCHES
    sent = walking(N_BATCHES * SAMPLES_PER_BATCH)["knee_angle_left_deg"]
    got = np.concatenate([b.values["knee_angle_left_deg"] for b in read])
    assert np.allclose(got, sent)
    # Both processes took part: the broker spread the messages over the group.
    after = [int(_health(s)["mqtt_messages"]) for s in deployment.servers]  # type: ignore[call-overload]
    received = [a - b for a, b in zip(after, before, strict=True)]
    assert all(r > 0 for r in received), received
    assert sum(received) >= 1 + N_BATCHES
    for server in deployment.servers:
        log = server.log.read_text()
        assert "Traceback" not in log, log
        assert "IntegrityError" not in log and "UniqueViolation" not in log, log


# ------------------------------------------------------------------------ live views


def _frames(text: str) -> list[dict[str, object]]:
    """The frames of one WebSocket message (a frame, or an array of coalesced frames)."""
    parsed = json.loads(text)
    return parsed if isinstance(parsed, list) else [parsed]


async def _live_scenario(deployment: Deployment) -> dict[str, object]:
    """Maria plans and starts a session on A and watches it on B; the device streams through
    the shared subscription; then she changes a setting through A until the device's answer
    was ingested by B. Returns what the browser on B saw and how the changes ended."""
    env, serial = deployment.env, deployment.serial
    a, b = deployment.servers
    world = env.world
    async with httpx.AsyncClient(timeout=60) as http:
        login = await http.post(
            f"{a.url}/api/v1/auth/token",
            json={"email": world.emails["therapist_madrid"], "password": PASSWORD},
        )
        assert login.status_code == 201, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        planned = await http.post(
            f"{a.url}/api/v1/telerehab/sessions",
            json={"patient_id": env.patient_id, "device_unit_id": world.ids["unit_madrid"]},
            headers=auth,
        )
        assert planned.status_code == 201, planned.text
        therapy_id = planned.json()["id"]
        started = await http.post(
            f"{a.url}/api/v1/telerehab/sessions/{therapy_id}/start", headers=auth
        )
        assert started.status_code == 200, started.text

        seen: list[dict[str, object]] = []
        live_url = (
            b.url.replace("http://", "ws://") + f"/api/v1/telerehab/sessions/{therapy_id}/live"
        )
        async with (
            websockets.connect(live_url, additional_headers=auth) as browser,
            aiomqtt.Client(
                BROKER_HOST, BROKER_PORT, identifier=f"dev-{uuid.uuid4().hex[:8]}"
            ) as device,
        ):

            async def watch() -> None:
                async for text in browser:
                    seen.extend(_frames(str(text)))

            watching = asyncio.create_task(watch())
            await device.subscribe(topic(ORG, serial, "commands"), qos=1)
            start_s = time.time()
            hello = SessionAnnounce(
                "live-1",
                serial,
                env.patient_id,
                start_s,
                FS_HZ,
                {"knee_angle_left_deg": "deg", "knee_angle_right_deg": "deg"},
                settings={"guidance_force_pct": 50.0},
            )
            await device.publish(topic(ORG, serial, "session"), _wire(env, hello, serial), qos=1)
            # B follows the session once it hears (from whichever process stored the
            # announce) that the recording belongs to it: it tells its viewers "live".
            async with asyncio.timeout(30):
                while not any(f.get("status") == "live" for f in seen):
                    await asyncio.sleep(0.05)
            for seq in range(N_LIVE):
                values = walking(SAMPLES_PER_BATCH, seq * SAMPLES_PER_BATCH)
                sample = SampleBatch(
                    "live-1",
                    seq,
                    start_s + seq * SAMPLES_PER_BATCH / FS_HZ,
                    SAMPLES_PER_BATCH,
                    {k: values[k] for k in ("knee_angle_left_deg", "knee_angle_right_deg")},
                )
                await device.publish(
                    topic(ORG, serial, "samples"), _wire(env, sample, serial), qos=1
                )
            async with asyncio.timeout(30):
                while {f.get("seq") for f in seen if f.get("type") == "batch"} < set(range(N_LIVE)):
                    await asyncio.sleep(0.05)

            async def answer() -> None:
                async for message in device.messages:
                    command = decode(bytes(message.payload))  # type: ignore[arg-type]
                    ack = CommandAck(
                        command["command_id"], "applied", time.time(), session_id="live-1"
                    )
                    await device.publish(topic(ORG, serial, "acks"), _wire(env, ack, serial), qos=1)

            answering = asyncio.create_task(answer())
            changes: list[tuple[float, str, bool, bool]] = []
            value = 50.0
            try:
                # The broker hands the answer to A or B; try until B got one (each try is a
                # real change through A, so each must be applied whoever got its answer).
                for _ in range(MAX_TRIES):
                    value += 5.0
                    before = [int(_health(s)["mqtt_messages"]) for s in (a, b)]  # type: ignore[call-overload]
                    reply = await http.post(
                        f"{a.url}/api/v1/telerehab/sessions/{therapy_id}/settings",
                        json={"setting": "guidance_force_pct", "value": value},
                        headers=auth,
                    )
                    assert reply.status_code == 200, reply.text
                    after = [int(_health(s)["mqtt_messages"]) for s in (a, b)]  # type: ignore[call-overload]
                    at_b = after[1] > before[1] and after[0] == before[0]
                    changes.append(
                        (value, reply.json()["status"], bool(reply.json()["late_ack"]), at_b)
                    )
                    if at_b:
                        break
                async with asyncio.timeout(10):
                    while not any(
                        f.get("type") == "setting"
                        and dict(f["change"]).get("value") == value  # type: ignore[call-overload]
                        and dict(f["change"]).get("status") == "applied"  # type: ignore[call-overload]
                        for f in seen
                    ):
                        await asyncio.sleep(0.05)
            finally:
                answering.cancel()
                watching.cancel()
                await asyncio.gather(answering, watching, return_exceptions=True)
    return {"seen": seen, "changes": changes}


def test_a_browser_on_one_process_sees_what_the_other_ingested_and_decided(
    deployment: Deployment,
) -> None:
    before = [int(_health(s)["mqtt_messages"]) for s in deployment.servers]  # type: ignore[call-overload]
    outcome = asyncio.run(_live_scenario(deployment))
    seen: list[dict[str, object]] = outcome["seen"]  # type: ignore[assignment]
    changes: list[tuple[float, str, bool, bool]] = outcome["changes"]  # type: ignore[assignment]
    after = [int(_health(s)["mqtt_messages"]) for s in deployment.servers]  # type: ignore[call-overload]
    # A ingested part of the stream, and B's browser still got every batch, each once.
    assert after[0] > before[0]
    shown = sorted(int(f["seq"]) for f in seen if f.get("type") == "batch")  # type: ignore[call-overload]
    assert shown == list(range(N_LIVE))
    # Every change through A was applied, none late, and one's answer was ingested by B.
    assert [(status, late) for _, status, late, _ in changes] == [("applied", False)] * len(changes)
    assert changes[-1][3], changes
    with session_scope(deployment.factory) as s:
        current = s.scalar(
            select(TherapySession.current_settings).where(
                TherapySession.device_unit_id == deployment.env.world.ids["unit_madrid"]
            )
        )
    assert current == {"guidance_force_pct": changes[-1][0]}
