"""Setting changes and sessions by every kind of caller: who may not change settings is refused
before anything is stored; a foreign session, patient or unit answers like a missing one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.db import session_scope
from exoshare.telemetry.protocol import CommandAck, encode
from exoshare.telemetry.runtime import ingestor
from exoshare.telerehab.models import SettingChange, TherapySession
from tests.scope_checks import missing_id, same_refusal
from tests.telerehab.helpers import START_S, announce, certify, device_secret, plan, ready_world
from tests.world import World, build_world, token

API = "/api/v1/telerehab"
CHANGE = {"setting": "guidance_force_pct", "value": 45}


def _rows(factory: sessionmaker[Session]) -> tuple[int, int]:
    """(setting changes stored, audit rows about setting changes)."""
    with session_scope(factory) as s:
        changes = s.scalar(select(func.count()).select_from(SettingChange)) or 0
        audited = (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.entity == "therapy_setting_change")
            )
            or 0
        )
    return changes, audited


def _running(client: TestClient, factory: sessionmaker[Session]) -> tuple[World, str]:
    """A live session of Carlos on the Madrid unit, run by Maria (certified for its model)."""
    world = ready_world(factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    assert client.post(f"{API}/sessions/{sid}/start", headers=maria).status_code == 200
    assert announce(client, device_secret(factory, world), world) == "stored"
    return world, sid


def test_a_patient_is_refused_before_anything_is_stored(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running(client, session_factory)
    carlos = token(client, world, "carlos")
    # The patient sees his own session...
    assert client.get(f"{API}/sessions/{sid}", headers=carlos).status_code == 200
    for _ in range(3):  # ... and however often he tries, no row lands under it.
        refused = client.post(f"{API}/sessions/{sid}/settings", json=CHANGE, headers=carlos)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "you may follow this session but not change its settings"
        )
    assert _rows(session_factory) == (0, 0)


def test_an_uncertified_caller_is_refused_before_anything_is_stored(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running(client, session_factory)
    # The clinic admin may run the clinic's sessions but holds no certificate for the model.
    admin = token(client, world, "admin_madrid")
    refused = client.post(f"{API}/sessions/{sid}/settings", json=CHANGE, headers=admin)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/not-certified")
    assert _rows(session_factory) == (0, 0)
    # A certified therapist's clinical refusal is kept with its reason, and audited.
    maria = token(client, world, "therapist_madrid")
    too_big = client.post(
        f"{API}/sessions/{sid}/settings", json={**CHANGE, "value": 90}, headers=maria
    )
    assert too_big.status_code == 422
    assert _rows(session_factory) == (1, 1)


def test_a_foreign_therapist_gets_the_answer_of_a_missing_session(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running(client, session_factory)
    certify(session_factory, world, "therapist_barcelona")
    outsider = token(client, world, "therapist_barcelona")
    nowhere = missing_id()
    foreign = client.post(f"{API}/sessions/{sid}/settings", json=CHANGE, headers=outsider)
    missing = client.post(f"{API}/sessions/{nowhere}/settings", json=CHANGE, headers=outsider)
    assert same_refusal(foreign, sid, missing, nowhere)["status"] == 404
    for action in ("pause", "complete", "abort"):
        foreign = client.post(f"{API}/sessions/{sid}/{action}", headers=outsider)
        missing = client.post(f"{API}/sessions/{nowhere}/{action}", headers=outsider)
        assert same_refusal(foreign, sid, missing, nowhere)["status"] == 404
    assert _rows(session_factory) == (0, 0)
    with session_scope(session_factory) as s:
        assert s.scalars(select(TherapySession.status)).all() == ["live"]


def test_a_session_is_planned_only_for_own_patients_on_units_their_clinic_holds(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    nowhere = missing_id()

    def attempt(patient_key: str | None, unit_key: str | None) -> object:
        body = {
            "patient_id": world.ids[patient_key] if patient_key else nowhere,
            "device_unit_id": world.ids[unit_key] if unit_key else nowhere,
        }
        return client.post(f"{API}/sessions", json=body, headers=maria)

    foreign = attempt("patient_jordi", "unit_madrid")
    missing = attempt(None, "unit_madrid")
    assert same_refusal(foreign, world.ids["patient_jordi"], missing, nowhere)["status"] == 404
    foreign = attempt("patient_carlos", "unit_barcelona")
    missing = attempt("patient_carlos", None)
    body = same_refusal(foreign, world.ids["unit_barcelona"], missing, nowhere)
    assert body["field"] == "device_unit_id"
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(TherapySession)) == 0


def _ack(client: TestClient, secret: str, command_id: str) -> str:
    wire = CommandAck(command_id, "applied", START_S + 5).to_wire()
    wire["auth"] = secret
    return ingestor(client.app).handle(encode(wire)).status  # type: ignore[arg-type]


def test_a_device_settles_only_commands_sent_to_it(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running(client, session_factory)
    certify(session_factory, world, "therapist_madrid")
    maria = token(client, world, "therapist_madrid")
    # No command channel in tests: the change is sent as far as it goes and times out.
    sent = client.post(f"{API}/sessions/{sid}/settings", json=CHANGE, headers=maria).json()
    assert sent["status"] == "timed_out"
    with session_scope(session_factory) as s:
        command_id = s.scalars(select(SettingChange.command_id)).one()
    assert command_id is not None
    # Barcelona's device answers Madrid's command: stored as its own message, settles nothing.
    assert _ack(client, device_secret(session_factory, world, "unit_barcelona"), command_id) == (
        "stored"
    )
    with session_scope(session_factory) as s:
        change = s.scalars(select(SettingChange)).one()
        assert (change.status.value, change.late_ack) == ("timed_out", False)
    # The device the command went to: its late answer is the truth.
    assert _ack(client, device_secret(session_factory, world), command_id) == "stored"
    with session_scope(session_factory) as s:
        change = s.scalars(select(SettingChange)).one()
        record = s.get(TherapySession, sid)
        assert record is not None
        assert (change.status.value, change.late_ack) == ("applied", True)
        assert record.current_settings == {"guidance_force_pct": 45.0}
