"""One sampling-rate rule (1–10,000 Hz) on every path: MQTT announce, WebSocket, upload, file
import in code and through the CLI, and the session record each of them ends in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.cli import app as cli_app
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.errors import TelemetryRejected
from exoshare.gait.recording import Recording
from exoshare.telemetry import credentials, imports, reads
from exoshare.telemetry.files import FileImportError, read_recording
from exoshare.telemetry.protocol import decode, encode
from exoshare.telemetry.validation import (
    MAX_SAMPLING_RATE_HZ,
    MIN_SAMPLING_RATE_HZ,
    check_sampling_rate,
)
from tests.telemetry.helpers import announce, counts, make_env, send
from tests.world import build_world

REFUSED = [0.0, -5.0, 0.5, 0.999, 10_000.001, 20_000.0, float("inf"), float("nan")]
ACCEPTED = [1.0, 50.0, 10_000.0]
RANGE_TEXT = "a sampling rate lies between 1 and 10000 Hz"


def test_the_rule_itself() -> None:
    assert (MIN_SAMPLING_RATE_HZ, MAX_SAMPLING_RATE_HZ) == (1.0, 10_000.0)
    for rate in ACCEPTED:
        assert check_sampling_rate(rate) == rate
    for rate in REFUSED:
        with pytest.raises(TelemetryRejected) as refused:
            check_sampling_rate(rate)
        assert refused.value.code == "wrong-sampling-rate"
        assert RANGE_TEXT in refused.value.detail


@pytest.mark.parametrize("rate", [0.5, 0.0, 10_000.5])
def test_a_live_announce_outside_the_range_is_rejected_and_stores_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path, rate: float
) -> None:
    # The MQTT worker hands each payload to the ingestor exactly like this.
    env = make_env(session_factory, tmp_path)
    wrong = dataclasses.replace(announce(env), sampling_rate_hz=rate)
    assert send(env, wrong) == "rejected:wrong-sampling-rate"
    assert counts(env) == (0, 0, 0, 0)
    assert send(env, dataclasses.replace(wrong, sampling_rate_hz=1.0)) == "stored"
    assert counts(env)[0] == 1


def test_the_websocket_rejects_a_slow_announce(client: TestClient, settings: Settings) -> None:
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])

    class _Env:
        patient_id = world.ids["patient_carlos"]

    wire = announce(_Env).to_wire()  # type: ignore[arg-type]
    wire["sampling_rate_hz"] = 0.5
    headers = {"Authorization": f"Device {secret}"}
    with client.websocket_connect("/api/v1/telemetry/ws", headers=headers) as ws:
        decode(ws.receive_bytes())  # the welcome
        ws.send_bytes(encode(wire))
        answer = decode(ws.receive_bytes())
    assert (answer["status"], answer["code"]) == ("rejected", "wrong-sampling-rate")
    assert answer["detail"] == f"sampling_rate_hz is 0.5 Hz; {RANGE_TEXT}"
    with session_scope(factory) as s:
        assert reads.sessions_of_patient(s, SYSTEM_SEEDING, world.ids["patient_carlos"]) == []
    factory.kw["bind"].dispose()


def _rows(times: bool, n: int = 40) -> bytes:
    values = 30 + 10 * np.sin(np.arange(n) / 3)
    if times:
        return (
            "time,Knee L\n" + "".join(f"{2 * k},{v:.3f}\n" for k, v in enumerate(values))
        ).encode()
    return ("Knee L\n" + "".join(f"{v:.3f}\n" for v in values)).encode()


def test_an_upload_at_half_a_hertz_is_refused_from_the_form_and_from_the_time_column(
    client: TestClient, settings: Settings
) -> None:
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])
    form = {"patient_id": world.ids["patient_carlos"], "mapping": "Knee L=knee_angle_left_deg"}
    headers = {"Authorization": f"Device {secret}"}
    given = client.post(
        "/api/v1/telemetry/recordings",
        headers=headers,
        data={**form, "sampling_rate_hz": "0.5"},
        files={"file": ("walk.csv", _rows(times=False), "text/csv")},
    )
    timed = client.post(
        "/api/v1/telemetry/recordings",
        headers=headers,
        data=form,
        files={"file": ("walk.csv", _rows(times=True), "text/csv")},
    )
    for response, source in ((given, "the given sampling rate"), (timed, "the time column's rate")):
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "wrong-sampling-rate"
        assert problem["detail"] == f"walk.csv: {source} is 0.5 Hz; {RANGE_TEXT}"
    with session_scope(factory) as s:
        assert reads.sessions_of_patient(s, SYSTEM_SEEDING, world.ids["patient_carlos"]) == []
    factory.kw["bind"].dispose()


def test_the_cli_refuses_a_rate_outside_the_range(tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    path.write_bytes(_rows(times=False))
    args = ["analyse", str(path), "--map", "Knee L=knee_angle_left_deg", "--rate"]
    refused = CliRunner().invoke(cli_app, [*args, "20000"])
    assert refused.exit_code == 2, refused.output
    assert f"walk.csv: the given sampling rate is 20000 Hz; {RANGE_TEXT}" in refused.output
    with pytest.raises(FileImportError, match=r"is 0\.5 Hz"):
        read_recording(path, {"Knee L": "knee_angle_left_deg"}, sampling_rate_hz=0.5)


def test_a_recording_built_in_code_is_checked_where_every_session_starts(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    slow = Recording(0.5, {"knee_angle_left_deg": np.full(20, 30.0)}, start_time_s=1.7e9)
    with session_scope(session_factory) as s, pytest.raises(TelemetryRejected) as refused:
        unit = credentials.unit_by_serial(s, "SX2-0001")
        imports.import_recording(s, env.store, unit, env.patient_id, slow, source="import")
    assert refused.value.code == "wrong-sampling-rate"
    assert counts(env) == (0, 0, 0, 0)
