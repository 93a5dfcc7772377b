"""The recording upload limit (``telemetry_max_upload_mb``): refused with 413 while the body
arrives, whether Content-Length tells the truth, lies or is absent; a file within the limit is
stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from exoshare.app import create_app
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from exoshare.telemetry import credentials
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.upload_limit import FORM_ALLOWANCE_BYTES
from tests.telemetry.helpers import simulated_angles
from tests.world import World, build_world

LIMIT = 1024 * 1024  # telemetry_max_upload_mb=1
CHUNK = 64 * 1024
BOUNDARY = "exoshare-test-boundary"


@pytest.fixture
def small(settings: Settings, tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient, World, str]]:
    app = create_app(settings.model_copy(update={"telemetry_max_upload_mb": 1}))
    with TestClient(app) as client:
        world = build_world(runtime_of(app).sessionmaker)
        with session_scope(runtime_of(app).sessionmaker) as s:
            secret, _ = credentials.issue_device_credential(
                s, SYSTEM_SEEDING, world.ids["unit_madrid"]
            )
        yield app, client, world, secret
    runtime_of(app).engine.dispose()


def _csv_of(size: int) -> bytes:
    """A valid 30 s recording padded with blank lines (which readers skip) to ``size`` bytes."""
    knee = simulated_angles(3000)["knee_angle_left_deg"]
    text = "time,Knee L\n" + "".join(f"{k / 100:.2f},{knee[k]:.3f}\n" for k in range(3000))
    assert len(text) <= size
    return text.encode() + b"\n" * (size - len(text))


def _upload(client: TestClient, world: World, secret: str, content: bytes) -> Response:
    return client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": f"Device {secret}"},
        data={"patient_id": world.ids["patient_carlos"], "mapping": "Knee L=knee_angle_left_deg"},
        files={"file": ("walk.csv", content, "text/csv")},
    )


def _sessions(app: FastAPI) -> int:
    with session_scope(runtime_of(app).sessionmaker) as s:
        return s.scalar(select(func.count()).select_from(TelemetrySession)) or 0


def test_a_file_of_exactly_the_limit_is_stored_one_byte_more_is_413(
    small: tuple[FastAPI, TestClient, World, str],
) -> None:
    app, client, world, secret = small
    stored = _upload(client, world, secret, _csv_of(LIMIT))
    assert stored.status_code == 201, stored.text
    assert stored.json()["n_samples"] == 3000
    refused = _upload(client, world, secret, _csv_of(LIMIT + 1))
    assert refused.status_code == 413, refused.text
    assert refused.json() == {
        "type": "https://exoshare.org/problems/upload-too-large",
        "title": "Upload too large",
        "status": 413,
        "detail": "the upload exceeds 1 MB (telemetry_max_upload_mb)",
        "instance": "/api/v1/telemetry/recordings",
        "errors": [
            {"field": "file", "reason": "the upload exceeds 1 MB (telemetry_max_upload_mb)"}
        ],
        "field": "file",
    }
    assert _sessions(app) == 1


class _Sender:
    """An ASGI client that streams a multipart body in chunks and counts what the app read."""

    def __init__(self, secret: str, patient_id: str, file_size: int, content_length: int | None):
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="patient_id"\r\n\r\n'
            f'{patient_id}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="walk.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        body = head + b"1" * file_size + tail
        self.chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
        self.total = len(body)
        self.read = 0
        self.messages: list[dict] = []
        headers = [
            (b"authorization", f"Device {secret}".encode()),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        ]
        if content_length is not None:
            headers.append((b"content-length", str(content_length).encode()))
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/telemetry/recordings",
            "raw_path": b"/api/v1/telemetry/recordings",
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }

    async def receive(self) -> dict:
        if not self.chunks:
            await asyncio.sleep(3600)  # a client that sent everything then waits for the answer
        chunk = self.chunks.pop(0)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: dict) -> None:
        self.messages.append(message)

    def run(self, app: FastAPI) -> tuple[int, dict]:
        asyncio.run(asyncio.wait_for(app(self.scope, self.receive, self.send), 30))
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        return start["status"], json.loads(body)


@pytest.mark.parametrize(
    ("declared", "what"),
    [(None, "no Content-Length (chunked)"), (1000, "a Content-Length that lies")],
)
def test_an_oversize_body_is_refused_while_it_streams(
    small: tuple[FastAPI, TestClient, World, str], declared: int | None, what: str
) -> None:
    app, _, world, secret = small
    sender = _Sender(secret, world.ids["patient_carlos"], 8 * LIMIT, declared)
    status, problem = sender.run(app)
    assert status == 413, (what, problem)
    assert problem["type"].endswith("/upload-too-large") and problem["field"] == "file"
    # The app stopped reading one chunk past the limit: not the 8 MB the client had to send.
    assert LIMIT + FORM_ALLOWANCE_BYTES < sender.read <= LIMIT + FORM_ALLOWANCE_BYTES + CHUNK
    assert sender.total > 8 * LIMIT
    assert _sessions(app) == 0


def test_an_honest_oversize_content_length_is_refused_before_reading(
    small: tuple[FastAPI, TestClient, World, str],
) -> None:
    app, _, world, secret = small
    sender = _Sender(secret, world.ids["patient_carlos"], 8 * LIMIT, None)
    sender.scope["headers"].append((b"content-length", str(sender.total).encode()))
    status, problem = sender.run(app)
    assert status == 413 and problem["detail"].startswith("the upload exceeds 1 MB")
    assert sender.read == 0
    assert _sessions(app) == 0


def test_other_routes_are_not_limited(small: tuple[FastAPI, TestClient, World, str]) -> None:
    _, client, _, _ = small
    # A 2 MB body elsewhere meets that route's own checks, not the upload limit.
    answer = client.post(
        "/api/v1/auth/token",
        content=b"{" + b" " * (2 * LIMIT) + b"}",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
