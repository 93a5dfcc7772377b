"""Helpers of the tele-rehabilitation tests: a certified therapist, a device, a running session."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import certificates
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.devices.approvals.service import record_approval
from exoshare.telemetry import credentials
from exoshare.telemetry.protocol import SessionAnnounce, encode
from exoshare.telemetry.runtime import ingestor
from tests.world import World, build_world

START_S = 1_767_225_600.0
SERIAL = "SX2-0001"
ORG = "ES-MAD-01"


def certify(
    factory: sessionmaker[Session],
    world: World,
    key: str,
    model: str = "model",
    expired: bool = False,
) -> None:
    """A certificate valid today, or (``expired``) one that ran out yesterday."""
    today = date.today()
    first, last = (today - timedelta(days=30), today + timedelta(days=335))
    if expired:
        first, last = today - timedelta(days=400), today - timedelta(days=1)
    with session_scope(factory) as s:
        certificates.issue(s, SYSTEM_SEEDING, world.ids[key], world.ids[model], first, last)


def approve_in_eu(factory: sessionmaker[Session], model_id: str) -> None:
    """A CE mark for the model, so it may be used at the Spanish clinics."""
    with session_scope(factory) as s:
        record_approval(
            s,
            SYSTEM_SEEDING,
            model_id,
            "CE",
            ApprovalStatus.approved,
            date(2020, 1, 1),
            "Gait training.",
        )


def ready_world(factory: sessionmaker[Session]) -> World:
    """The test world where Maria may run Carlos on the Madrid unit: the Strider X2 is CE
    marked and she is certified for it (the clinical-safety rules of planning and starting)."""
    world = build_world(factory)
    approve_in_eu(factory, world.ids["model"])
    certify(factory, world, "therapist_madrid")
    return world


def device_secret(factory: sessionmaker[Session], world: World, unit: str = "unit_madrid") -> str:
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids[unit])
    return secret


def plan(client: TestClient, headers: dict[str, str], world: World, **extra: object) -> dict:
    body = {"patient_id": world.ids["patient_carlos"], "device_unit_id": world.ids["unit_madrid"]}
    response = client.post("/api/v1/telerehab/sessions", json={**body, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def announce(
    client: TestClient,
    secret: str,
    world: World,
    session_id: str = "dev-1",
    settings: dict[str, float] | None = None,
    channels: dict[str, str] | None = None,
) -> str:
    """The device announces a recording through the app's own ingestion; returns the status."""
    message = SessionAnnounce(
        session_id,
        SERIAL,
        world.ids["patient_carlos"],
        START_S,
        100.0,
        channels or {"knee_angle_left_deg": "deg", "knee_angle_right_deg": "deg"},
        settings={"guidance_force_pct": 50.0} if settings is None else settings,
    )
    wire = message.to_wire()
    wire["auth"] = secret
    return ingestor(client.app).handle(encode(wire)).status  # type: ignore[arg-type]
