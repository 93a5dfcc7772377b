"""The session lifecycle and the server-side refusals of setting changes, through the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.db import session_scope
from exoshare.fleet.models import UsageEvent
from exoshare.telerehab.models import SettingChange, TherapySession
from exoshare.telerehab.schemas import ChangeStatus
from tests.telerehab.helpers import announce, certify, device_secret, plan, ready_world
from tests.world import token

API = "/api/v1/telerehab"


def test_lifecycle_follows_the_device_and_refuses_impossible_moves(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    planned = plan(client, maria, world, location="home")
    sid = planned["id"]
    assert planned["status"] == "planned" and planned["location"] == "home"
    assert client.post(f"{API}/sessions/{sid}/resume", headers=maria).status_code == 409

    started = client.post(f"{API}/sessions/{sid}/start", headers=maria).json()
    assert started["status"] == "started" and started["started_at"] is not None
    # The unit is now in use: a second session on it cannot start.
    other = plan(client, maria, world)
    busy = client.post(f"{API}/sessions/{other['id']}/start", headers=maria)
    assert busy.status_code == 409 and "in use" in busy.json()["detail"]

    # The device announces its recording: the session is live with the device's settings.
    assert announce(client, device_secret(session_factory, world), world) == "stored"
    live = client.get(f"{API}/sessions/{sid}", headers=maria).json()
    assert live["status"] == "live"
    assert live["settings_at_start"] == {"guidance_force_pct": 50.0}
    assert live["current_settings"] == {"guidance_force_pct": 50.0}
    assert live["telemetry_session_id"] is not None

    assert client.post(f"{API}/sessions/{sid}/pause", headers=maria).json()["status"] == "paused"
    assert client.post(f"{API}/sessions/{sid}/resume", headers=maria).json()["status"] == "live"
    done = client.post(
        f"{API}/sessions/{sid}/complete", json={"reason": "goal reached"}, headers=maria
    )
    assert done.json()["status"] == "completed" and done.json()["end_reason"] == "goal reached"
    again = client.post(f"{API}/sessions/{sid}/start", headers=maria)
    assert again.status_code == 409
    assert again.json()["detail"].startswith("a completed session cannot start")
    assert client.post(f"{API}/sessions/{sid}/abort", headers=maria).status_code == 409
    assert client.post(f"{API}/sessions/{sid}/fly", headers=maria).status_code == 404

    # Outside the scope: another clinic's therapist does not learn the session exists.
    jordi_therapist = token(client, world, "therapist_barcelona")
    assert client.get(f"{API}/sessions/{sid}", headers=jordi_therapist).status_code == 404
    # The patient may look at his own session but not run it.
    carlos = token(client, world, "carlos")
    assert client.get(f"{API}/sessions/{sid}", headers=carlos).status_code == 200
    assert client.post(f"{API}/sessions/{other['id']}/abort", headers=carlos).status_code == 403
    with session_scope(session_factory) as s:
        statuses = dict(s.execute(select(TherapySession.id, TherapySession.status)).all())
        # The completed session was metered once for billing; the never-run one was not.
        usage = s.execute(
            select(UsageEvent.unit_id, UsageEvent.patient_id, UsageEvent.source)
        ).all()
    assert statuses == {sid: "completed", other["id"]: "planned"}
    assert usage == [(world.ids["unit_madrid"], world.ids["patient_carlos"], "telerehab")]


def _running(client: TestClient, factory: sessionmaker[Session]) -> tuple[object, dict, str]:
    world = ready_world(factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    client.post(f"{API}/sessions/{sid}/start", headers=maria)
    assert announce(client, device_secret(factory, world), world) == "stored"
    return world, maria, sid


def _changes(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with session_scope(factory) as s:
        rows = s.scalars(select(SettingChange).order_by(SettingChange.proposed_at)).all()
        return [(r.status.value, r.check_result, r.reason or "") for r in rows]


def test_setting_changes_are_refused_with_a_reason_and_nothing_changes(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, maria, sid = _running(client, session_factory)
    url = f"{API}/sessions/{sid}/settings"
    # Her certificate ran out after the session started: she may no longer adjust the device.
    certify(session_factory, world, "therapist_madrid", expired=True)

    not_certified = client.post(
        url, json={"setting": "guidance_force_pct", "value": 45}, headers=maria
    )
    assert not_certified.status_code == 403
    assert not_certified.json()["detail"].startswith("you hold no valid certificate for Strider X2")

    certify(session_factory, world, "therapist_madrid")
    too_big = client.post(url, json={"setting": "guidance_force_pct", "value": 80}, headers=maria)
    assert too_big.status_code == 422
    assert too_big.json()["detail"] == (
        "guidance_force_pct: a change from 50 to 80 % is 30 %, more than the model's maximum "
        "step of 10 %; change it in steps"
    )
    assert too_big.json()["field"] == "value"
    out_of_range = client.post(
        url, json={"setting": "guidance_force_pct", "value": 120}, headers=maria
    )
    assert out_of_range.status_code == 422
    assert "outside the model's range 0–100 %" in out_of_range.json()["detail"]
    unknown = client.post(url, json={"setting": "treadmill_speed_mps", "value": 1}, headers=maria)
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("/unknown-setting")

    # A certified clinic admin without... the patient may not change settings at all.
    carlos = token(client, world, "carlos")
    assert (
        client.post(
            url, json={"setting": "guidance_force_pct", "value": 45}, headers=carlos
        ).status_code
        == 403
    )
    outsider = token(client, world, "therapist_barcelona")
    assert (
        client.post(
            url, json={"setting": "guidance_force_pct", "value": 45}, headers=outsider
        ).status_code
        == 404
    )

    session = client.get(f"{API}/sessions/{sid}", headers=maria).json()
    assert session["current_settings"] == {"guidance_force_pct": 50.0}
    # Only a certified therapist's clinical refusals are kept: the uncertified attempt and the
    # patient's were refused before anything was stored.
    assert _changes(session_factory) == [
        ("refused", "setting-outside-envelope", too_big.json()["detail"]),
        ("refused", "setting-outside-envelope", out_of_range.json()["detail"]),
        ("refused", "unknown-setting", unknown.json()["detail"]),
    ]
    with session_scope(session_factory) as s:
        refusals = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "refuse_setting")
        )
    assert refusals == 3

    # A change that passes every check but has no command channel is reported as not applied.
    sent = client.post(url, json={"setting": "guidance_force_pct", "value": 42}, headers=maria)
    assert sent.status_code == 200
    body = sent.json()
    assert (body["status"], body["applied"], body["check_result"]) == ("timed_out", False, "passed")
    assert "not applied" in body["reason"]
    assert client.get(f"{API}/sessions/{sid}", headers=maria).json()["current_settings"] == {
        "guidance_force_pct": 50.0
    }

    # Once the session is over, nothing more can be sent.
    client.post(f"{API}/sessions/{sid}/complete", headers=maria)
    late = client.post(url, json={"setting": "guidance_force_pct", "value": 45}, headers=maria)
    assert late.status_code == 409 and late.json()["detail"].startswith("the session is completed")
    assert _changes(session_factory)[-1][:2] == (ChangeStatus.refused.value, "session-not-live")


def test_device_ending_its_recording_completes_and_meters_the_session_once(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from exoshare.telerehab import sessions

    _world, maria, sid = _running(client, session_factory)
    with session_scope(session_factory) as s:
        telemetry_id = s.get(TherapySession, sid).telemetry_session_id  # type: ignore[union-attr]
    for _ in range(2):  # the device's SessionEnd may arrive twice
        with session_scope(session_factory) as s:
            sessions.complete_from_device(s, telemetry_id)
    done = client.get(f"{API}/sessions/{sid}", headers=maria).json()
    assert done["status"] == "completed"
    assert done["end_reason"] == "the device ended the session"
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 1
