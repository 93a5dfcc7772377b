"""The simulated device against Mosquitto and the real MQTT ingestion: exactly-once storage over a
flaky link, setting commands answered with acks, and a flaky link that is deterministic per seed.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import aiomqtt
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.demo.device_client import SimulatedDevice
from exoshare.demo.flaky_link import FlakyConfig, FlakyLink
from exoshare.demo.gait_profiles import profile_for
from exoshare.demo.gait_simulator import simulate
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry import credentials, summaries
from exoshare.telemetry import mqtt as telemetry_mqtt
from exoshare.telemetry.models import (
    SessionStatus,
    TelemetryBatch,
    TelemetryEvent,
    TelemetrySession,
)
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
from exoshare.telemetry.protocol import SettingCommand, encode, topic
from tests.telemetry.helpers import ORG, START_S, Env, make_env

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
BROKER_URL = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"


def _broker_reason() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((BROKER_HOST, BROKER_PORT)) != 0:
            return f"no MQTT broker (Mosquitto) answers at {BROKER_URL}"
    return None


needs_broker = pytest.mark.skipif(_broker_reason() is not None, reason=_broker_reason() or "")


def _profile(seed: int) -> object:
    return profile_for("stroke", "moderate", 1.72, 75.0, np.random.default_rng(seed))


def _own_device(env: Env) -> tuple[str, str]:
    """A device unit with a serial no other test uses, so nothing else on the shared broker
    talks on its topics; returns (serial, credential)."""
    serial = f"SIM-{uuid.uuid4().hex[:10]}"
    with session_scope(env.factory) as s:
        template = s.get(DeviceUnit, env.world.ids["unit_madrid"])
        assert template is not None
        unit = DeviceUnit(
            serial_number=serial, model_id=template.model_id, org_unit_id=template.org_unit_id
        )
        s.add(unit)
        s.flush()
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, unit.id)
    return serial, secret


async def _worker(
    env: Env, serial: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[MqttIngestWorker, asyncio.Task[None]]:
    # Only this device's topics: other test runs may share the broker.
    monkeypatch.setattr(telemetry_mqtt, "SUBSCRIPTION", f"exoshare/v1/{ORG}/{serial}/+")
    worker = MqttIngestWorker(
        env.ingestor,
        BrokerAddress(BROKER_HOST, BROKER_PORT),
        client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
        reconnect_s=0.2,
    )
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.subscribed.wait(), 10)
    return worker, task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@needs_broker
def test_flaky_link_session_stores_every_sample_exactly_once(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(session_factory, tmp_path)
    serial, secret = _own_device(env)
    duration_s, seed = 20.0, 4
    flaky = FlakyConfig(
        drop=1 / 3, duplicate=0.15, delay=0.3, max_delay_s=0.05, disconnect=0.03, seed=11
    )  # a send's fate depends on its timing; at 1 % about one run in 30 had no disconnect

    async def scenario() -> SimulatedDevice:
        _, task = await _worker(env, serial, monkeypatch)
        device = SimulatedDevice(
            BROKER_URL, serial, ORG, secret, env.patient_id, _profile(seed), seed,  # type: ignore[arg-type]
            duration_s=duration_s, speed=20.0, flaky=flaky, start_time_s=START_S,
            session_id="flaky-1", resend_after_s=0.5, drain_timeout_s=60.0, reconnect_s=0.05,
        )  # fmt: skip
        try:
            await device.run()
        finally:
            await _stop(task)
        return device

    device = asyncio.run(scenario())
    report = device.report
    link = report.link
    assert link is not None
    print(f"\nflaky link: {link}; published {report.published}, resends {report.resends}, "
          f"reconnects {report.reconnects}, receipts {dict(report.receipts)}")  # fmt: skip

    # The link was as bad as asked: a third dropped, duplicates, reordering, disconnects.
    assert link["dropped"] / link["attempted"] >= 0.25
    assert link["duplicated"] > 0 and link["reordered"] > 0
    assert link["disconnects"] >= 1 and report.reconnects >= 1
    assert report.resends > 0 and report.receipts["duplicate"] > 0
    assert report.complete, (report.unconfirmed, report.rejected)

    # Every sample stored once, in 200 batches of 10, and the session ended.
    assert report.n_batches == 200 and report.n_samples == 2000
    with session_scope(env.factory) as s:
        record = s.scalars(select(TelemetrySession)).one()
        assert record.device_session_id == "flaky-1"
        assert record.status is SessionStatus.ended
        assert (record.n_batches, record.n_samples) == (200, 2000)
        seqs = s.scalars(select(TelemetryBatch.seq).order_by(TelemetryBatch.seq)).all()
        assert list(seqs) == list(range(200))
        recording = summaries.read_recording(s, env.store, record)
    assert len(env.store.files()) == 200

    # ... and they are the simulator's own output for the same seed (float32 on the wire).
    expected, _ = simulate(_profile(seed), duration_s, seed=seed)  # type: ignore[arg-type]
    assert recording.n_samples == 2000
    assert set(recording.channels) == set(expected.channels)
    for name, values in expected.channels.items():
        np.testing.assert_array_equal(
            recording.channels[name], values.astype(np.float32).astype(np.float64), err_msg=name
        )


@needs_broker
def test_setting_commands_are_applied_or_rejected_with_the_reason(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(session_factory, tmp_path)
    serial, secret = _own_device(env)
    commands = topic(ORG, serial, "commands")

    async def scenario() -> SimulatedDevice:
        _, task = await _worker(env, serial, monkeypatch)
        device = SimulatedDevice(
            BROKER_URL, serial, ORG, secret, env.patient_id, _profile(1), 1,  # type: ignore[arg-type]
            duration_s=10.0, speed=4.0, start_time_s=START_S, session_id="cmd-1",
            resend_after_s=0.5,
        )  # fmt: skip
        running = asyncio.create_task(device.run())
        try:
            while device.report.n_batches < 5:
                await asyncio.sleep(0.02)
            async with aiomqtt.Client(BROKER_HOST, BROKER_PORT) as server:
                for command in (
                    SettingCommand("c-ok", "assistance_pct", 60.0, "%", START_S, "cmd-1"),
                    SettingCommand("c-high", "assistance_pct", 150.0, "%", START_S, "cmd-1"),
                    SettingCommand("c-unit", "torque_limit_nm", 90.0, "lbf*ft", START_S),
                ):
                    await server.publish(commands, encode(command.to_wire()), qos=1)
            await running
        finally:
            await _stop(task)
        return device

    device = asyncio.run(scenario())
    acks = {ack.command_id: ack for ack in device.report.acks}
    assert acks["c-ok"].status == "applied" and acks["c-ok"].reason is None
    assert acks["c-high"].status == "rejected"
    assert acks["c-high"].reason == "assistance_pct=150 is outside the device limits [0, 100] %"
    assert acks["c-unit"].status == "rejected"
    assert acks["c-unit"].reason == "torque_limit_nm is set in N*m, the command says lbf*ft"
    assert device.exo.settings["assistance_pct"] == 60.0
    assert device.exo.settings["torque_limit_nm"] == 80.0
    # The server kept each answer once, with the device's reason.
    with session_scope(env.factory) as s:
        rows = s.execute(
            select(TelemetryEvent.kind, TelemetryEvent.detail).where(
                TelemetryEvent.kind.in_(["command_applied", "command_rejected"])
            )
        ).all()
        n_batches = s.scalar(select(func.count()).select_from(TelemetryBatch))
    answers = {detail["command_id"]: (kind, detail["reason"]) for kind, detail in rows}
    assert len(rows) == 3
    assert answers["c-ok"] == ("command_applied", None)
    assert answers["c-high"] == ("command_rejected", acks["c-high"].reason)
    assert n_batches == 100


class _Recorder:
    """A perfect in-memory transport that remembers what reached it, in order."""

    def __init__(self) -> None:
        self.delivered: list[bytes] = []

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def subscribe(self, topic: str) -> None:
        return None

    async def publish(self, topic: str, payload: bytes) -> bool:
        self.delivered.append(payload)
        return True

    async def incoming(self):  # type: ignore[no-untyped-def]
        return
        yield


def _through_flaky_link(seed: int) -> tuple[dict[str, int], list[bytes]]:
    async def scenario() -> tuple[dict[str, int], list[bytes]]:
        recorder = _Recorder()
        link = FlakyLink(
            recorder, FlakyConfig(drop=1 / 3, duplicate=0.2, disconnect=0.02, seed=seed)
        )
        await link.connect()
        for i in range(300):
            payload = b"batch-%d" % i
            await link.publish("t", payload)
            if i % 3 == 0:
                await link.publish("t", payload)  # a resend is a new attempt with its own fate
        await link.drain()
        return link.stats.as_dict(), recorder.delivered

    return asyncio.run(scenario())


def test_flaky_link_is_deterministic_for_a_seed() -> None:
    stats, delivered = _through_flaky_link(5)
    again_stats, again_delivered = _through_flaky_link(5)
    _, other_delivered = _through_flaky_link(6)
    assert stats == again_stats
    assert sorted(delivered) == sorted(again_delivered)
    assert sorted(delivered) != sorted(other_delivered)
    assert stats["attempted"] == 400
    assert 0.25 <= stats["dropped"] / stats["attempted"] <= 0.42
    assert stats["duplicated"] > 0 and stats["delayed"] > 0 and stats["disconnects"] > 0
    # Dropped and lost messages never arrive; duplicates arrive twice.
    arrived = (
        stats["attempted"] - stats["dropped"] + stats["duplicated"] - stats["lost_in_disconnect"]
    )
    assert len(delivered) == arrived
