"""Two real `exoshare serve` processes on one PostgreSQL database and the local Mosquitto."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from exoshare.health import wait_until_healthy

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
REDIS_URL = os.environ.get("EXOSHARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT_S = 240.0


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def require_services() -> None:
    """Skip, saying what is missing, unless the local Mosquitto and Redis answer."""
    if not _listening(BROKER_HOST, BROKER_PORT):
        pytest.skip(f"no MQTT broker at {BROKER_HOST}:{BROKER_PORT} (start Mosquitto 2)")
    host, _, port = REDIS_URL.removeprefix("redis://").partition("/")[0].partition(":")
    if not _listening(host, int(port or 6379)):
        pytest.skip(f"no Redis at {REDIS_URL} (set EXOSHARE_TEST_REDIS_URL)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ObjectStore:
    """An S3 API server (moto) on loopback with one bucket: what processes need to reach it."""

    url: str
    env: dict[str, str]


@contextmanager
def object_store() -> Iterator[ObjectStore]:
    """A real S3 API over HTTP (moto's server, in a thread of the test process)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "scale-test",
        "AWS_SECRET_ACCESS_KEY": "scale-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        # fsspec's configuration from the environment: s3fs's endpoint_url.
        "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import fsspec.config

        fsspec.config.set_conf_env(fsspec.config.conf)
        bucket = f"exoshare-{uuid.uuid4().hex[:8]}"
        fs, _ = fsspec.core.url_to_fs(f"s3://{bucket}")
        fs.mkdir(bucket)
        yield ObjectStore(f"s3://{bucket}/telemetry", env)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        fsspec.config.conf.pop("s3", None)
        server.stop()


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def servers(
    database_url: str, directory: Path, telemetry: ObjectStore, count: int = 2
) -> Iterator[list[Server]]:
    """``count`` server processes sharing one database, telemetry store (S3), broker share
    group (unique to this call, so other servers on the shared broker are not members) and
    relay."""
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "EXOSHARE_DATABASE_URL": database_url,
        "EXOSHARE_SECRET_KEY": f"scale-test-{tag}",
        **telemetry.env,
        "EXOSHARE_TELEMETRY_URL": telemetry.url,
        "EXOSHARE_MQTT_URL": f"mqtt://{BROKER_HOST}:{BROKER_PORT}",
        "EXOSHARE_MQTT_SHARE_GROUP": f"exoshare-test-{tag}",
        "EXOSHARE_LIVE_RELAY_URL": REDIS_URL,
        "EXOSHARE_LIVE_RELAY_CHANNEL": f"exoshare-test-{tag}",
    }
    exoshare = str(Path(sys.executable).with_name("exoshare"))
    started: list[Server] = []
    try:
        for k in range(count):
            port = free_port()
            log = directory / f"server-{k}.log"
            env_k = {**env, "EXOSHARE_DATA_DIR": str(directory / f"data-{k}")}
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [exoshare, "serve", "--port", str(port)],
                    env=env_k,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in started:
            if not wait_until_healthy(server.url, timeout_s=START_TIMEOUT_S):
                raise RuntimeError(f"{server.url} did not start:\n{server.log.read_text()}")
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(5)
