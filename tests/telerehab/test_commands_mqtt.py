"""Remote setting changes and reliability against Mosquitto with the simulated device: applied,
rejected by the device with its reason, not confirmed in time; a flaky link and a server restart
lose no sample while the live view recovers."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy.certificates import issue as certify
from exoshare.auth import service as auth_service
from exoshare.auth.models import User
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.demo.device_client import SimulatedDevice
from exoshare.demo.flaky_link import FlakyConfig
from exoshare.demo.gait_profiles import profile_for
from exoshare.devices import service as devices
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.devices.approvals.service import record_approval
from exoshare.devices.envelope import SettingLimit
from exoshare.devices.models import DeviceUnit
from exoshare.devices.schemas import DeviceType
from exoshare.telemetry import credentials
from exoshare.telemetry import mqtt as telemetry_mqtt
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.models import TelemetryBatch, TelemetrySession
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
from exoshare.telemetry.store import RawStore
from exoshare.telerehab import sessions, settings
from exoshare.telerehab.models import TherapySession
from exoshare.telerehab.runtime import TelerehabRuntime
from exoshare.telerehab.schemas import ChangeStatus, TherapyLocation
from tests.world import World, build_world

BROKER = BrokerAddress("127.0.0.1", 1883)
ORG = "ES-MAD-01"


def _broker_reason() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((BROKER.host, BROKER.port)) != 0:
            return f"no MQTT broker (Mosquitto) answers at {BROKER.url}"
    return None


pytestmark = pytest.mark.skipif(_broker_reason() is not None, reason=_broker_reason() or "")


class Setup:
    def __init__(self, factory: sessionmaker[Session], tmp_path: Path) -> None:
        self.factory = factory
        self.world: World = build_world(factory)
        self.serial = f"SIM-{uuid.uuid4().hex[:10]}"
        today = date.today()
        with session_scope(factory) as s:
            # The server allows steps of 30 %, the device's own firmware only 20 %.
            model = devices.create_model(
                s, SYSTEM_SEEDING, f"Strider X3 {self.serial}", self.world.ids["maker"],
                DeviceType.overground_exoskeleton, 1.5, 1.95, 110, "battery",
                [SettingLimit("assistance_pct", "%", 0, 100, 30, 50)],
            )  # fmt: skip
            unit = DeviceUnit(
                serial_number=self.serial, model_id=model.id, org_unit_id=self.world.ids["madrid"]
            )
            s.add(unit)
            s.flush()
            self.secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, unit.id)
            therapist = self.world.ids["therapist_madrid"]
            certify(
                s,
                SYSTEM_SEEDING,
                therapist,
                model.id,
                today - timedelta(days=1),
                today + timedelta(days=90),
            )
            record_approval(
                s,
                SYSTEM_SEEDING,
                model.id,
                "CE",
                ApprovalStatus.approved,
                date(2020, 1, 1),
                "Gait training.",
            )
            user = s.get(User, therapist)
            assert user is not None
            self.principal = auth_service.principal_for(s, user)
            record = sessions.plan_session(
                s, self.principal, self.world.ids["patient_carlos"], unit.id,
                TherapyLocation.home,
            )  # fmt: skip
            sessions.transition(s, self.principal, record.id, "start")
            self.session_id = record.id
        self.store = RawStore(str(tmp_path / "telemetry"))

    def runtime(self, ack_timeout_s: float = 10.0) -> tuple[TelerehabRuntime, Ingestor]:
        ingestor = Ingestor(self.factory, self.store)
        runtime = TelerehabRuntime(self.factory, BROKER, ack_timeout_s=ack_timeout_s)
        runtime.attach(ingestor)
        runtime.restore()
        return runtime, ingestor

    def device(self, **options: object) -> SimulatedDevice:
        profile = profile_for("stroke", "moderate", 1.75, 78.0, np.random.default_rng(3))
        return SimulatedDevice(
            BROKER.url, self.serial, ORG, self.secret, self.world.ids["patient_carlos"],
            profile, 3, resend_after_s=0.5, reconnect_s=0.05, drain_timeout_s=60.0,
            **options,  # type: ignore[arg-type]
        )  # fmt: skip

    def stored(self) -> tuple[int, int]:
        with session_scope(self.factory) as s:
            record = s.scalars(select(TelemetrySession)).one()
            seqs = s.scalars(
                select(TelemetryBatch.seq).where(TelemetryBatch.session_id == record.id)
            ).all()
            assert len(seqs) == len(set(seqs))
            return record.n_samples, len(seqs)


async def _worker(
    ingestor: Ingestor, serial: str, monkeypatch: pytest.MonkeyPatch
) -> asyncio.Task[None]:
    monkeypatch.setattr(telemetry_mqtt, "SUBSCRIPTION", f"exoshare/v1/{ORG}/{serial}/+")
    worker = MqttIngestWorker(
        ingestor, BROKER, client_id=f"test-telerehab-{uuid.uuid4().hex[:8]}", reconnect_s=0.2
    )
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.subscribed.wait(), 10)
    return task


async def _until(predicate: object, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def _stop(*tasks: asyncio.Task[object]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_setting_change_applied_rejected_by_the_device_and_timed_out(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = Setup(session_factory, tmp_path)

    async def scenario() -> list[tuple[str, str | None, bool]]:
        # Generous: under load the ack queues behind sample batches; a timeout is tested below.
        runtime, ingestor = setup.runtime(ack_timeout_s=20.0)
        worker = await _worker(ingestor, setup.serial, monkeypatch)
        device = setup.device(duration_s=40.0, speed=4.0)
        running = asyncio.create_task(device.run())
        try:
            await _until(lambda: runtime.hub.session(setup.session_id) is not None)
            outcomes = []
            for value in (60.0, 85.0):
                change = await runtime.change_setting(
                    setup.principal, setup.session_id, "assistance_pct", value
                )
                outcomes.append((change.status.value, change.reason, change.late_ack))
            # The device loses power mid-session: no session end, no more answers.
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            runtime.ack_timeout_s = 1.0
            gone = await runtime.change_setting(
                setup.principal, setup.session_id, "assistance_pct", 70.0
            )
            outcomes.append((gone.status.value, gone.reason, gone.late_ack))
            return outcomes
        finally:
            await _stop(running, worker)
            await runtime.close()

    outcomes = asyncio.run(scenario())
    assert outcomes[0] == ("applied", None, False)
    assert outcomes[1][0] == "rejected"
    assert (
        outcomes[1][1] == "assistance_pct change of 25 % exceeds the device's largest step of 20 %"
    )
    assert outcomes[2] == ("timed_out", "the device did not confirm within 1 s; not applied", False)
    with session_scope(session_factory) as s:
        record = s.get(TherapySession, setup.session_id)
        assert record is not None
        assert record.settings_at_start is not None
        assert record.settings_at_start["assistance_pct"] == 50.0
        assert record.current_settings["assistance_pct"] == 60.0
        statuses = [c.status for c in settings.setting_changes(s, setup.session_id)]
    assert statuses == [ChangeStatus.timed_out, ChangeStatus.rejected, ChangeStatus.applied]


def test_flaky_link_and_server_restart_lose_nothing_and_the_live_view_recovers(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = Setup(session_factory, tmp_path)
    flaky = FlakyConfig(
        drop=1 / 3, duplicate=0.15, delay=0.3, max_delay_s=0.05, disconnect=0.02, seed=7
    )

    async def scenario() -> tuple[SimulatedDevice, list[int], list[int]]:
        runtime, ingestor = setup.runtime()
        worker = await _worker(ingestor, setup.serial, monkeypatch)
        device = setup.device(duration_s=30.0, speed=5.0, flaky=flaky)
        running = asyncio.create_task(device.run())
        loop = asyncio.get_running_loop()
        seen_before: list[int] = []
        seen_after: list[int] = []
        try:
            await _until(lambda: runtime.hub.session(setup.session_id) is not None)
            viewer = runtime.hub.subscribe(setup.session_id)
            await asyncio.sleep(2.0)
            while not viewer.queue.empty():
                seen_before.append(len(viewer.queue.get_nowait()))
            # The server goes away mid-session: worker, hub and all, as in a crash.
            await _stop(worker)
            await runtime.close()
            await asyncio.sleep(1.0)
            runtime, ingestor = setup.runtime()
            assert runtime.hub.session(setup.session_id) is not None  # followed from the DB
            worker = await _worker(ingestor, setup.serial, monkeypatch)
            viewer = runtime.hub.subscribe(setup.session_id)
            # The resent backlog arrives first; wait (bounded) for the live view to flow again.
            await _until(lambda: not viewer.queue.empty(), timeout_s=30.0)
            while not viewer.queue.empty():
                seen_after.append(len(viewer.queue.get_nowait()))
            await running
            assert loop.is_running()
            return device, seen_before, seen_after
        finally:
            await _stop(running, worker)
            await runtime.close()

    device, before, after = asyncio.run(scenario())
    report = device.report
    assert report.complete, report
    assert report.link is not None and report.link["dropped"] >= report.published // 4
    assert report.reconnects >= 1
    assert setup.stored() == (3000, report.n_batches)
    assert before and after  # frames flowed before the restart and again after it
