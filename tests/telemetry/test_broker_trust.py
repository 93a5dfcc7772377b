"""Device trust at the broker, on the embedded amqtt broker and on a private Mosquitto.

Every test runs against both brokers: a real amqtt broker with exoshare's plugins, and a
Mosquitto process started here with the configuration, password and ACL files exoshare
generates (never the shared one on port 1883, which lets anyone in).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.demo.device_client import SimulatedDevice
from exoshare.demo.gait_profiles import healthy_profile
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry import credentials
from exoshare.telemetry.broker_acl import (
    SERVER_USERNAME,
    installation_server_password,
    server_password,
)
from exoshare.telemetry.broker_trust import DeviceTrust
from exoshare.telemetry.ingest import Inbound
from exoshare.telemetry.models import DeviceCredential, SessionStatus
from exoshare.telemetry.mosquitto import (
    MosquittoSync,
    acl_file,
    broker_users,
    config_file,
    password_file,
    write_files,
)
from exoshare.telemetry.mosquitto_hash import verify
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker, embedded_broker
from exoshare.telemetry.protocol import decode, decode_receipts, encode, topic
from tests.telemetry.helpers import ORG, SERIAL, Env, announce, batch, make_env, only_session

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
SERVER_PASSWORD = server_password("broker-trust-test-key")
SETTLE_S = 0.5
"""How long to keep listening for a message that must not come, after one that had to."""

BROKERS = [
    "embedded",
    pytest.param(
        "mosquitto",
        marks=pytest.mark.skipif(MOSQUITTO is None, reason="the mosquitto binary is not installed"),
    ),
]


@dataclass(frozen=True)
class Device:
    serial: str
    org: str
    secret: str
    credential_id: str

    def login(self, server: BrokerAddress, secret: str | None = None) -> BrokerAddress:
        return BrokerAddress(server.host, server.port, self.serial, secret or self.secret)

    def topic(self, kind: str) -> str:
        return topic(self.org, self.serial, kind)


def _devices(env: Env) -> tuple[Device, Device]:
    """Device A (SX2-0001, Madrid: the env's credential) and B (LT1-0001, Barcelona)."""
    with session_scope(env.factory) as s:
        a_cred = s.query(DeviceCredential).one()
        b_unit = s.get(DeviceUnit, env.world.ids["unit_barcelona"])
        assert b_unit is not None
        b_secret, b_cred = credentials.issue_device_credential(s, SYSTEM_SEEDING, b_unit.id)
        a = Device(SERIAL, ORG, env.secret, a_cred.id)
        b = Device(b_unit.serial_number, b_unit.org_unit.code, b_secret, b_cred.id)
    assert a.org != b.org
    return a, b


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited: {process.stderr.read() if process.stderr else ''}"
            )
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError("mosquitto did not listen within 10 s")


@contextlib.asynccontextmanager
async def trusted_broker(
    kind: str, factory: sessionmaker[Session], tmp_path: Path, *, sweep_s: float = 5.0
) -> AsyncIterator[BrokerAddress]:
    """The broker under test; yields its address as the server identity."""
    if kind == "embedded":
        trust = DeviceTrust(factory, SERVER_PASSWORD, sweep_s=sweep_s)
        async with embedded_broker(trust, "127.0.0.1", _free_port()) as address:
            yield address
        return
    assert MOSQUITTO is not None
    directory = tmp_path / "mosquitto"
    port = _free_port()
    pid_file = directory / "mosquitto.pid"
    sync = MosquittoSync(factory, directory, SERVER_PASSWORD, pid_file)
    with session_scope(factory) as s:
        write_files(s, directory, SERVER_PASSWORD)
    conf = directory / "mosquitto.conf"
    # Started as root, Mosquitto would drop to the `mosquitto` user, who cannot read the
    # files in pytest's private temporary directory at a reload.
    conf.write_text(config_file(directory, port, run_as=getpass.getuser()))
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    pid_file.write_text(str(process.pid))
    remove = credentials.add_credential_listener(sync.on_credential_change)
    try:
        await _wait_for_port(port, process)
        yield BrokerAddress("127.0.0.1", port, SERVER_USERNAME, SERVER_PASSWORD)
    finally:
        remove()
        process.terminate()
        process.wait(10)


def _client(address: BrokerAddress, name: str) -> aiomqtt.Client:
    return address.client(f"{name}-{uuid.uuid4().hex[:8]}", timeout=5)


async def _until(
    client: aiomqtt.Client, done: Callable[[list[tuple[str, bytes]]], bool]
) -> list[tuple[str, bytes]]:
    """(topic, payload) received until ``done`` says so, then everything else that comes
    within SETTLE_S."""
    heard: list[tuple[str, bytes]] = []
    async with asyncio.timeout(10):
        async for message in client.messages:
            heard.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
            if done(heard):
                break
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_S):
            async for message in client.messages:
                heard.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
    return heard


def _has(payload: bytes) -> Callable[[list[tuple[str, bytes]]], bool]:
    return lambda heard: any(p == payload for _, p in heard)


def _revoke(factory: sessionmaker[Session], credential_id: str) -> None:
    with session_scope(factory) as s:
        credentials.revoke_device_credential(s, SYSTEM_SEEDING, credential_id)


# ------------------------------------------------------------------------ connecting


@pytest.mark.parametrize("kind", BROKERS)
def test_only_known_identities_connect(
    kind: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)

    async def run() -> list[str]:
        refused: list[str] = []
        async with trusted_broker(kind, session_factory, tmp_path) as server:
            probes = {
                "anonymous": BrokerAddress(server.host, server.port),
                "wrong password": a.login(server, "exodev_wrong"),
                "another device's secret": a.login(server, b.secret),
                "unknown serial": BrokerAddress(server.host, server.port, "XX-9999", a.secret),
                "server name, wrong password": BrokerAddress(
                    server.host, server.port, SERVER_USERNAME, a.secret
                ),
            }
            for name, login in probes.items():
                try:
                    async with _client(login, "probe"):
                        pass
                except aiomqtt.MqttError:
                    refused.append(name)
            for login in (a.login(server), b.login(server), server):
                async with _client(login, "welcome"):
                    pass  # the real identities get in
        return refused

    assert asyncio.run(run()) == [
        "anonymous",
        "wrong password",
        "another device's secret",
        "unknown serial",
        "server name, wrong password",
    ]


# ------------------------------------------------------------------------ topics


@pytest.mark.parametrize("kind", BROKERS)
def test_a_device_publishes_only_its_own_telemetry(
    kind: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)

    async def run() -> list[tuple[str, bytes]]:
        async with (
            trusted_broker(kind, session_factory, tmp_path) as server,
            _client(server, "ingest") as ingest,
            _client(a.login(server), "device-a") as device,
        ):
            await ingest.subscribe("exoshare/v1/+/+/+", qos=1)
            await device.publish(b.topic("samples"), b"as-b", qos=1)
            await device.publish(b.topic("session"), b"as-b-announce", qos=1)
            # Its own serial under another clinic's code.
            await device.publish(topic(b.org, a.serial, "samples"), b"wrong-clinic", qos=1)
            await device.publish(a.topic("samples"), b"own", qos=1)
            return await _until(ingest, _has(b"own"))

    assert asyncio.run(run()) == [(a.topic("samples"), b"own")]


@pytest.mark.parametrize("kind", BROKERS)
def test_a_device_reads_only_its_own_commands_and_cannot_send_any(
    kind: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)

    async def run() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        async with (
            trusted_broker(kind, session_factory, tmp_path) as server,
            _client(server, "commands") as sender,
            _client(a.login(server), "device-a") as device_a,
            _client(b.login(server), "device-b") as device_b,
        ):
            # A tries to listen to B (by name and by wildcard) and subscribes to its own.
            await device_a.subscribe(b.topic("commands"), qos=1)
            await device_a.subscribe(b.topic("receipts"), qos=1)
            await device_a.subscribe("exoshare/v1/#", qos=1)
            await device_a.subscribe(a.topic("commands"), qos=1)
            await device_b.subscribe(b.topic("commands"), qos=1)
            await device_b.subscribe(b.topic("receipts"), qos=1)
            # A tries to command B, and itself, and to forge B's receipts.
            await device_a.publish(b.topic("commands"), b"from-a", qos=1)
            await device_a.publish(a.topic("commands"), b"from-a-to-itself", qos=1)
            await device_a.publish(b.topic("receipts"), b"forged-receipt", qos=1)
            await sender.publish(b.topic("commands"), b"for-b", qos=1)
            await sender.publish(a.topic("commands"), b"for-a", qos=1)
            heard_b = await _until(device_b, _has(b"for-b"))
            heard_a = await _until(device_a, _has(b"for-a"))
            return heard_a, heard_b

    heard_a, heard_b = asyncio.run(run())
    assert heard_a == [(a.topic("commands"), b"for-a")]
    assert heard_b == [(b.topic("commands"), b"for-b")]


# ------------------------------------------------------------------------ revocation


@pytest.mark.parametrize("kind", BROKERS)
def test_a_revoked_device_is_cut_off_and_cannot_come_back(
    kind: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)

    async def run() -> tuple[float, bool, bool]:
        async with trusted_broker(kind, session_factory, tmp_path) as server:
            device = _client(a.login(server), "device-a")
            other = _client(b.login(server), "device-b")
            await device.__aenter__()
            await other.__aenter__()
            await device.subscribe(a.topic("commands"), qos=1)
            started = time.monotonic()
            await asyncio.to_thread(_revoke, session_factory, a.credential_id)
            cut = False
            try:
                async with asyncio.timeout(10):
                    async for _ in device.messages:
                        pass
            except aiomqtt.MqttError:
                cut = True
            cut_after_s = time.monotonic() - started
            with contextlib.suppress(Exception):
                await device.__aexit__(None, None, None)
            came_back = True
            try:
                async with _client(a.login(server), "device-a-again"):
                    pass
            except aiomqtt.MqttError:
                came_back = False
            # B, whose credential stands, is still connected and still served.
            await other.subscribe(b.topic("commands"), qos=1)
            async with _client(server, "commands") as sender:
                await sender.publish(b.topic("commands"), b"for-b", qos=1)
            heard = await _until(other, _has(b"for-b"))
            await other.__aexit__(None, None, None)
            assert heard == [(b.topic("commands"), b"for-b")]
            return cut_after_s if cut else float("inf"), came_back, True

    cut_after_s, came_back, _ = asyncio.run(run())
    assert cut_after_s < 5.0  # at once in practice; well before any session could go on
    assert not came_back


def test_a_revocation_made_by_another_process_cuts_the_device_off_within_the_sweep(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The embedded broker hears of revocations in its own process at once; one made
    elsewhere (the CLI) it finds by its sweep over the connected devices' credentials."""
    env = make_env(session_factory, tmp_path)
    a, _ = _devices(env)

    async def run() -> float:
        async with (
            trusted_broker("embedded", session_factory, tmp_path, sweep_s=0.3) as server,
            _client(a.login(server), "device-a") as device,
        ):
            await device.subscribe(a.topic("commands"), qos=1)
            with session_scope(session_factory) as s:  # no listener is told of this one
                s.execute(
                    update(DeviceCredential)
                    .where(DeviceCredential.id == a.credential_id)
                    .values(revoked_at=datetime.now(UTC))
                )
            started = time.monotonic()
            with pytest.raises(aiomqtt.MqttError):
                async with asyncio.timeout(10):
                    async for _ in device.messages:
                        pass
            return time.monotonic() - started

    assert asyncio.run(run()) < 2.0


# ------------------------------------------------------------------------ payloads


@pytest.mark.parametrize("kind", BROKERS)
def test_nothing_a_subscriber_reads_over_a_whole_session_holds_a_secret(
    kind: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, _ = _devices(env)
    secrets = [
        a.secret.encode(),
        hashlib.sha256(a.secret.encode()).hexdigest().encode(),
        SERVER_PASSWORD.encode(),
    ]

    async def run() -> tuple[list[tuple[str, bytes]], bool]:
        async with (
            trusted_broker(kind, session_factory, tmp_path) as server,
            _client(server, "eavesdropper") as spy,
        ):
            await spy.subscribe("exoshare/v1/#", qos=1)
            worker = MqttIngestWorker(env.ingestor, server, client_id=f"ingest-{kind}")
            task = asyncio.create_task(worker.run())
            await asyncio.wait_for(worker.subscribed.wait(), 10)
            device = SimulatedDevice(
                f"mqtt://{server.host}:{server.port}",
                a.serial,
                a.org,
                a.secret,
                env.patient_id,
                healthy_profile(),
                duration_s=2.0,
                speed=0.0,
                keep_recording=False,
                drain_timeout_s=20.0,
            )
            report = await device.run()
            heard = await _until(spy, lambda got: any(t.endswith("/receipts") for t, _ in got[-1:]))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return heard, report.complete

    heard, complete = asyncio.run(run())
    assert complete
    kinds = {name.rsplit("/", 1)[1] for name, _ in heard}
    assert {"session", "samples", "receipts"} <= kinds
    for name, payload in heard:
        assert not any(secret in payload for secret in secrets), name
        maps = decode_receipts(payload) if name.endswith("/receipts") else [decode(payload)]
        assert all("auth" not in m for m in maps), name
    assert only_session(env).status is SessionStatus.ended


# ------------------------------------------------------------------------ ingestion


def test_mqtt_ingestion_names_the_device_by_its_topic_and_still_wants_a_live_credential(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Defence in depth behind the broker: a topic serial without a valid credential is refused,
    and a secret someone still puts in a payload is not what decides."""
    env = make_env(session_factory, tmp_path)

    def mqtt(message: object, serial: str = SERIAL, **extra: object) -> str:
        wire = {**message.to_wire(), **extra}  # type: ignore[attr-defined]
        (receipt,) = env.ingestor.handle_many(
            [Inbound(encode(wire), topic_serial=serial, topic_org=ORG)]
        )
        assert receipt is not None
        return receipt.status if receipt.code is None else f"{receipt.status}:{receipt.code}"

    assert mqtt(announce(env), auth="exodev_not-a-credential") == "stored"
    assert mqtt(batch(0)) == "stored"
    # LT1-0001 exists but holds no credential: the broker should never have let it in.
    assert mqtt(batch(1), serial="LT1-0001") == "rejected:not-authenticated"
    with session_scope(env.factory) as s:
        credential = s.query(DeviceCredential).one()
        credentials.revoke_device_credential(s, SYSTEM_SEEDING, credential.id)
    assert mqtt(batch(1), auth=env.secret) == "rejected:not-authenticated"


# ------------------------------------------------------------------------ Mosquitto's files


def test_mosquitto_files_follow_the_credentials(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)
    with session_scope(session_factory) as s:
        newer, _ = credentials.issue_device_credential(
            s, SYSTEM_SEEDING, env.world.ids["unit_madrid"]
        )
    _revoke(session_factory, b.credential_id)
    with session_scope(session_factory) as s:
        users = broker_users(s)
    # B is revoked; A is known by its newest credential (Mosquitto keeps one per username).
    assert [(u.serial, u.org_unit_code) for u in users] == [(a.serial, a.org)]
    assert verify(newer, users[0].password_hash) and not verify(a.secret, users[0].password_hash)
    passwd = password_file(users, SERVER_PASSWORD).splitlines()
    assert [line.split(":", 1)[0] for line in passwd] == [SERVER_USERNAME, a.serial]
    assert verify(SERVER_PASSWORD, passwd[0].split(":", 1)[1])
    acl = acl_file(users)
    assert f"topic write {a.topic('samples')}" in acl
    assert f"topic read {a.topic('commands')}" in acl
    assert b.serial not in acl and a.secret not in acl and newer not in acl


# ------------------------------------------------------------------------ the CLI


@pytest.mark.skipif(MOSQUITTO is None, reason="the mosquitto binary is not installed")
def test_the_cli_keeps_a_mosquitto_in_step_with_issued_and_revoked_credentials(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from exoshare.cli import app as cli_app
    from exoshare.config import get_settings
    from exoshare.db import make_engine, make_sessionmaker
    from tests.world import build_world

    engine = make_engine(settings.resolved_database_url())
    factory = make_sessionmaker(engine)
    build_world(factory)
    directory = tmp_path / "mosquitto"
    pid_file = tmp_path / "mosquitto.pid"
    for name, value in {
        "DATABASE_URL": settings.resolved_database_url(),
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": "cli-broker-test-key",
        "MOSQUITTO_DIR": str(directory),
        "MOSQUITTO_PID_FILE": str(pid_file),
    }.items():
        monkeypatch.setenv(f"EXOSHARE_{name}", value)
    get_settings.cache_clear()
    runner = CliRunner()
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None

    def cli(*args: str) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    async def connects(login: BrokerAddress) -> bool:
        try:
            async with _client(login, "cli-probe"):
                return True
        except aiomqtt.MqttError:
            return False

    async def eventually_connects(login: BrokerAddress) -> bool:
        # Mosquitto reloads its files right after the SIGHUP, not before the signal returns.
        for _ in range(50):
            if await connects(login):
                return True
            await asyncio.sleep(0.1)
        return False

    async def cut_off_by_revocation(login: BrokerAddress, credential_id: str) -> bool:
        async with _client(login, "cli-device") as device:
            await device.subscribe(topic(ORG, SERIAL, "commands"), qos=1)
            await asyncio.to_thread(cli, "revoke-device-credential", credential_id)
            try:
                async with asyncio.timeout(10):
                    async for _ in device.messages:
                        pass
            except aiomqtt.MqttError:
                return True
        return False

    try:
        assert "(0 devices)" in cli(
            "broker", "config", "--port", str(port), "--user", getpass.getuser()
        )
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        pid_file.write_text(str(process.pid))
        asyncio.run(_wait_for_port(port, process))
        server = BrokerAddress(
            "127.0.0.1", port, SERVER_USERNAME, installation_server_password(get_settings())
        )
        assert asyncio.run(connects(server))

        secret = cli("device-credential", SERIAL).strip().splitlines()[-1]
        device = BrokerAddress("127.0.0.1", port, SERIAL, secret)
        assert asyncio.run(eventually_connects(device))
        with session_scope(factory) as s:
            credential_id = s.query(DeviceCredential).one().id
        assert asyncio.run(cut_off_by_revocation(device, credential_id))
        assert not asyncio.run(connects(device))
        assert "0 devices" in cli("broker", "sync")
    finally:
        get_settings.cache_clear()
        engine.dispose()
        if process is not None:
            process.terminate()
            process.wait(10)


def test_the_embedded_broker_forgets_a_client_when_it_leaves(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    a, b = _devices(env)
    trust = DeviceTrust(session_factory, SERVER_PASSWORD)

    async def run() -> list[int]:
        seen: list[int] = []
        async with embedded_broker(trust, "127.0.0.1", _free_port()) as server:
            async with _client(a.login(server), "a"), _client(b.login(server), "b"):
                seen.append(trust.connected)
            with contextlib.suppress(aiomqtt.MqttError):
                async with _client(a.login(server, "exodev_wrong"), "a"):
                    pass
            for _ in range(50):  # amqtt tells its plugins of a disconnect in a task of its own
                if trust.connected == 0:
                    break
                await asyncio.sleep(0.05)
            seen.append(trust.connected)
        return seen

    assert asyncio.run(run()) == [2, 0]
    assert trust.refused == 1


def test_the_topic_plugin_and_the_brokers_direct_check_agree() -> None:
    """A stock amqtt broker with exoshare's plugins decides as the embedded broker's shortcut."""
    from amqtt.broker import Broker
    from amqtt.contexts import Action
    from amqtt.session import Session as MqttSession

    from exoshare.telemetry.broker_acl import device_grant
    from exoshare.telemetry.broker_trust import TrustingBroker, _Client, plugin_config

    trust = DeviceTrust(None, SERVER_PASSWORD)  # type: ignore[arg-type]  # no login here
    device, server, stranger = MqttSession(), MqttSession(), MqttSession()
    device.client_id, server.client_id, stranger.client_id = "dev", "srv", "who"
    trust._clients["dev"] = _Client(device, device_grant(ORG, SERIAL), "credential")
    trust._clients["srv"] = _Client(server, None)
    config = {"listeners": {"default": {"type": "tcp", "bind": "127.0.0.1:0"}}}
    own, other = topic(ORG, SERIAL, "samples"), topic(ORG, "LT1-0001", "samples")
    cases = [
        (device, own, Action.PUBLISH),
        (device, other, Action.PUBLISH),
        (device, topic(ORG, SERIAL, "commands"), Action.PUBLISH),
        (device, topic(ORG, SERIAL, "commands"), Action.SUBSCRIBE),
        (device, "exoshare/v1/#", Action.SUBSCRIBE),
        (server, topic(ORG, SERIAL, "commands"), Action.PUBLISH),
        (server, own, Action.PUBLISH),
        (server, "exoshare/v1/+/+/+", Action.SUBSCRIBE),
        (stranger, own, Action.PUBLISH),
    ]

    async def decide(broker: Broker) -> list[bool]:
        return [await broker._topic_filtering(s, name, action) for s, name, action in cases]

    async def run() -> tuple[list[bool], list[bool]]:
        stock = Broker({**config, "plugins": plugin_config(trust)})
        direct = TrustingBroker({**config, "plugins": plugin_config(trust)}, trust)
        return await decide(stock), await decide(direct)

    stock, direct = asyncio.run(run())
    assert stock == direct == [True, False, False, True, False, True, False, True, False]
