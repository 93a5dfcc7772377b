"""A device writes only for patients of the clinic holding it, on every ingestion path (MQTT
handler, WebSocket, file upload): another clinic's patient is refused exactly like an unknown
one, and nothing is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.fleet import transfers
from exoshare.telemetry import credentials
from exoshare.telemetry.models import DeviceCredential, TelemetryBatch, TelemetrySession
from exoshare.telemetry.protocol import decode, encode
from tests.scope_checks import missing_id, same_refusal
from tests.telemetry.helpers import START_S, announce, batch, counts, make_env, send
from tests.world import build_world, token


def _receipt(env: object, message: object) -> dict:
    wire = message.to_wire()
    wire["auth"] = env.secret
    return env.ingestor.handle(encode(wire)).to_wire()


def test_the_ingestion_handler_refuses_another_clinics_patient_like_an_unknown_one(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    nowhere = missing_id()
    for foreign_key in ("patient_jordi", "patient_amani"):  # Barcelona, Nairobi
        foreign_id = env.world.ids[foreign_key]
        foreign = _receipt(env, replace(announce(env), patient_id=foreign_id))
        missing = _receipt(env, replace(announce(env), patient_id=nowhere))
        assert str(foreign).replace(foreign_id, "<id>") == str(missing).replace(nowhere, "<id>")
        assert (foreign["status"], foreign["code"]) == ("rejected", "unknown-patient")
    # With no session, every later message of the device has nothing to attach to.
    assert send(env, batch(0)) == "rejected:unknown-session"
    assert counts(env) == (0, 0, 0, 0)
    # The device's own clinic's patient is recorded.
    assert send(env, announce(env)) == "stored"
    assert send(env, batch(0)) == "stored"


def test_a_moved_device_records_the_new_holders_patients_only(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    with session_scope(session_factory) as s:
        transfers.transfer_unit(
            s,
            SYSTEM_SEEDING,
            env.world.ids["unit_madrid"],
            env.world.ids["barcelona"],
            "loan to Barcelona",
            at=datetime.fromtimestamp(START_S - 86_400, UTC),
        )
    madrid = _receipt(env, announce(env, "s-madrid"))
    assert (madrid["status"], madrid["code"]) == ("rejected", "unknown-patient")
    barcelona = replace(announce(env, "s-bcn"), patient_id=env.world.ids["patient_jordi"])
    assert send(env, barcelona) == "stored"
    with session_scope(session_factory) as s:
        assert s.scalars(select(TelemetrySession.patient_id)).all() == [
            env.world.ids["patient_jordi"]
        ]


def test_the_websocket_refuses_another_clinics_patient_like_an_unknown_one(
    client: TestClient, settings: Settings
) -> None:
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])

    class _Env:
        patient_id = world.ids["patient_amani"]

    nowhere = missing_id()
    foreign_announce = announce(_Env)
    missing_announce = replace(foreign_announce, patient_id=nowhere)
    with client.websocket_connect(
        "/api/v1/telemetry/ws", headers={"Authorization": f"Device {secret}"}
    ) as ws:
        decode(ws.receive_bytes())
        ws.send_bytes(encode(foreign_announce.to_wire()))
        foreign = decode(ws.receive_bytes())
        ws.send_bytes(encode(missing_announce.to_wire()))
        missing = decode(ws.receive_bytes())
        ws.send_bytes(encode(batch(0).to_wire()))
        orphan = decode(ws.receive_bytes())
    assert (foreign["status"], foreign["code"]) == ("rejected", "unknown-patient")
    assert str(foreign).replace(world.ids["patient_amani"], "<id>") == str(missing).replace(
        nowhere, "<id>"
    )
    assert (orphan["status"], orphan["code"]) == ("rejected", "unknown-session")
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(TelemetrySession)) == 0
        assert s.scalar(select(func.count()).select_from(TelemetryBatch)) == 0
    factory.kw["bind"].dispose()


def test_an_upload_for_another_clinics_patient_answers_like_an_unknown_patient(
    client: TestClient, settings: Settings
) -> None:
    """The Bangalore case: a device credential uploading a recording of a far clinic's patient."""
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(
            s, SYSTEM_SEEDING, world.ids["unit_barcelona"]
        )
    rows = ["time,Knee L"] + [f"{k / 100:.2f},{30 + (k % 100) / 10:.2f}" for k in range(500)]

    def upload(patient_id: str) -> Response:
        return client.post(
            "/api/v1/telemetry/recordings",
            headers={"Authorization": f"Device {secret}"},
            data={"patient_id": patient_id, "mapping": "Knee L=knee_angle_left_deg"},
            files={"file": ("walk.csv", "\n".join(rows).encode(), "text/csv")},
        )

    nowhere = missing_id()
    foreign = upload(world.ids["patient_carlos"])  # a Madrid patient, a Barcelona device
    missing = upload(nowhere)
    body = same_refusal(foreign, world.ids["patient_carlos"], missing, nowhere)
    assert (foreign.status_code, body["field"]) == (422, "patient_id")
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(TelemetrySession)) == 0
    own = upload(world.ids["patient_jordi"])
    assert own.status_code == 201, own.text
    factory.kw["bind"].dispose()


def test_credentials_of_another_clinics_device_answer_like_missing_ones(
    client: TestClient, settings: Settings
) -> None:
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    with session_scope(factory) as s:
        _, credential = credentials.issue_device_credential(
            s, SYSTEM_SEEDING, world.ids["unit_barcelona"]
        )
        foreign_credential = credential.id
    admin = token(client, world, "admin_madrid")
    nowhere = missing_id()
    foreign = client.post(
        "/api/v1/telemetry/credentials",
        json={"device_unit_id": world.ids["unit_barcelona"]},
        headers=admin,
    )
    missing = client.post(
        "/api/v1/telemetry/credentials", json={"device_unit_id": nowhere}, headers=admin
    )
    assert same_refusal(foreign, world.ids["unit_barcelona"], missing, nowhere)["status"] == 404
    foreign = client.post(
        f"/api/v1/telemetry/credentials/{foreign_credential}/revoke", headers=admin
    )
    missing = client.post(f"/api/v1/telemetry/credentials/{nowhere}/revoke", headers=admin)
    assert same_refusal(foreign, foreign_credential, missing, nowhere)["status"] == 404
    with session_scope(factory) as s:
        rows = s.execute(select(DeviceCredential.id, DeviceCredential.revoked_at)).all()
    assert rows == [(foreign_credential, None)]
    factory.kw["bind"].dispose()
