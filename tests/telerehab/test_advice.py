"""Assist-as-needed advice: the rule on hand-made sessions, and the therapist's decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices.envelope import SettingLimit, breach
from exoshare.devices.models import DeviceUnit
from exoshare.patients.models import Patient
from exoshare.telemetry.models import SessionStatus, TelemetrySession
from exoshare.telerehab import sessions
from exoshare.telerehab.advice import guidance_time_s, reason_text
from exoshare.telerehab.assistance import (
    GUIDANCE,
    MODE,
    SessionPerformance,
    recommend,
    time_weighted_guidance_pct,
)
from exoshare.telerehab.models import AssistanceAdvice, SettingChange, TherapySession
from exoshare.telerehab.schemas import ChangeStatus
from tests.telerehab.helpers import plan, ready_world
from tests.world import World, token

API = "/api/v1/telerehab"
ENVELOPE = {
    GUIDANCE: SettingLimit(GUIDANCE, "%", 0, 100, 10, 100),
    MODE: SettingLimit(MODE, "mode", 0, 2, 1, 0),
}


def _performance(knee_deg: float, si_pct: float, used: dict[float, float]) -> SessionPerformance:
    return SessionPerformance(80, {"left": knee_deg, "right": 55.0}, si_pct, used)


def test_a_hand_made_session_gets_the_rule_value_and_its_reasons() -> None:
    # 60 s at 80 % and 60 s at 60 %: 70 % used. Weaker knee 48° of 60°: error 0.20 (the step
    # asymmetry, 0.04, is smaller). 0.9 × 70 + 30 × 0.20 = 69 %, one step (10) from 60 %.
    advice = recommend(
        ENVELOPE, {GUIDANCE: 60.0, MODE: 0.0}, _performance(48.0, 4.0, {80.0: 60.0, 60.0: 60.0})
    )
    assert advice.values == {GUIDANCE: 69.0, MODE: 1.0}
    assert advice.guidance_used_pct == 70.0 and advice.error == pytest.approx(0.2)
    assert [r.code for r in advice.reasons] == [
        "knee_rom_deficit",
        "step_asymmetry",
        "error_based_update",
        "mode_change",
    ]
    assert reason_text(advice.reasons[2]) == (
        "Error-based adaptation (Emken et al. 2007): 0.9 × 70 % guidance used + 30 % × gait "
        "error 0.20 = 69 %."
    )
    assert reason_text(advice.reasons[3]) == (
        "The gait allows a change of mode from position control to assist-as-needed."
    )


def test_a_big_change_is_clamped_to_the_step_and_a_value_beyond_the_bound_to_the_bound() -> None:
    # Knee 12° of 60°: error 0.8; 0.9 × 40 + 30 × 0.8 = 60 %, but one change moves 10 at most.
    stepped = recommend(ENVELOPE, {GUIDANCE: 40.0}, _performance(12.0, 0.0, {40.0: 120.0}))
    assert stepped.rule_guidance_pct == 60.0 and stepped.values[GUIDANCE] == 50.0
    assert stepped.values[MODE] == 0.0  # position control: the error is far too large
    assert [(r.code, r.params["value"]) for r in stepped.reasons if r.code == "step_limited"] == [
        ("step_limited", 50.0)
    ]
    # Knee 30°: error 0.5; 0.9 × 95 + 15 = 100.5 %: within a step, but above the 100 % bound.
    bound = recommend(ENVELOPE, {GUIDANCE: 95.0}, _performance(30.0, 0.0, {95.0: 120.0}))
    assert bound.values[GUIDANCE] == 100.0
    assert [r.code for r in bound.reasons][-1] == "envelope_bound"
    # Too few steps, or a safety flag: the guidance is not lowered.
    few = SessionPerformance(12, {"left": 58.0}, 1.0, {70.0: 120.0})
    assert recommend(ENVELOPE, {GUIDANCE: 70.0}, few).values[GUIDANCE] == 70.0
    flagged = SessionPerformance(90, {"left": 58.0}, 1.0, {70.0: 120.0}, safety_flags=1)
    held = recommend(ENVELOPE, {GUIDANCE: 70.0}, flagged)
    assert held.values[GUIDANCE] == 70.0 and "safety_flags_hold" in [r.code for r in held.reasons]


@settings(max_examples=200, deadline=None)
@given(
    last=st.floats(0, 100),
    mode=st.sampled_from([0.0, 1.0, 2.0]),
    used=st.floats(0, 100),
    knee=st.floats(0, 90),
    si=st.floats(-150, 150),
    steps=st.integers(0, 300),
    flags=st.integers(0, 2),
)
def test_every_advice_is_a_safe_next_value(
    last: float, mode: float, used: float, knee: float, si: float, steps: int, flags: int
) -> None:
    performance = SessionPerformance(steps, {"left": knee}, si, {used: 60.0}, flags)
    advice = recommend(ENVELOPE, {GUIDANCE: last, MODE: mode}, performance)
    for name, value in advice.values.items():
        now = {GUIDANCE: last, MODE: mode}[name]
        assert breach(ENVELOPE, name, now, value) is None, (name, now, value)


def test_time_at_each_guidance_level_comes_from_the_changes_the_device_applied() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    record = TherapySession(
        live_at=start, ended_at=start + timedelta(minutes=10), settings_at_start={GUIDANCE: 80.0}
    )

    def change(minute: int, value: float, status: ChangeStatus) -> SettingChange:
        at = start + timedelta(minutes=minute)
        return SettingChange(setting=GUIDANCE, proposed_value=value, status=status, answered_at=at)

    changes = [
        change(8, 60.0, ChangeStatus.applied),
        change(4, 70.0, ChangeStatus.applied),
        change(6, 10.0, ChangeStatus.rejected),  # the device said no: it stayed at 70
    ]
    levels = guidance_time_s(record, changes)
    assert levels == {80.0: 240.0, 70.0: 240.0, 60.0: 120.0}
    assert time_weighted_guidance_pct(levels) == 72.0  # (80·4 + 70·4 + 60·2) / 10


SUMMARY: dict[str, Any] = {
    "step_count": 80,
    "rom_deg": {"knee": {"left": 42.0, "right": 50.0}},
    "symmetry": {"step_time_s": {"si_pct": 6.0, "ratio": 1.06}},
    "speed_mps": 0.4,
    "safety_flags": [],
}
"""Weaker knee 42° of 60°: error 0.30; at 60 % guidance the rule says 0.9 × 60 + 30 × 0.3 = 63."""


def _completed(factory: sessionmaker[Session], world: World, n: int) -> str:
    """A completed, analysed session of Carlos on the Madrid unit at 60 % guidance."""
    started = datetime.now(UTC) - timedelta(days=7 * (4 - n))
    with session_scope(factory) as s:
        recording = TelemetrySession(
            device_unit_id=world.ids["unit_madrid"],
            device_session_id=f"past-{n}",
            patient_id=world.ids["patient_carlos"],
            source="test",
            started_at=started,
            start_time_s=started.timestamp(),
            sampling_rate_hz=100.0,
            channels={},
            settings={GUIDANCE: 60.0},
            status=SessionStatus.ended,
            summary=SUMMARY,
        )
        s.add(recording)
        s.flush()
        record = sessions.record_completed_session(
            s,
            SYSTEM_SEEDING,
            s.get_one(Patient, world.ids["patient_carlos"]),
            s.get_one(DeviceUnit, world.ids["unit_madrid"]),
            world.ids["therapist_madrid"],
            started_at=started,
            ended_at=started + timedelta(seconds=120),
            telemetry_session_id=recording.id,
            settings={GUIDANCE: 60.0},
        )
        s.flush()
        return record.id


def test_accept_edit_decline_are_checked_audited_and_become_the_next_plan(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    first, second, third = (_completed(session_factory, world, n) for n in (1, 2, 3))
    maria = token(client, world, "therapist_madrid")
    shown = client.get(f"{API}/sessions/{first}/advice", headers=maria).json()
    assert shown["recommended"] == {GUIDANCE: 63.0} and shown["error"] == pytest.approx(0.3)
    assert shown["reasons"][-1]["text"].endswith("= 63 %.") and shown["decision"] is None
    # The patient reads his advice but does not decide; another clinic does not see it.
    carlos = token(client, world, "carlos")
    assert client.get(f"{API}/sessions/{first}/advice", headers=carlos).status_code == 200
    accept = {"decision": "accepted"}
    assert (
        client.post(f"{API}/sessions/{first}/advice", json=accept, headers=carlos).status_code
        == 403
    )
    barcelona = token(client, world, "therapist_barcelona")
    foreign = client.post(f"{API}/sessions/{first}/advice", json=accept, headers=barcelona)
    missing = client.post(f"{API}/sessions/nope/advice", json=accept, headers=barcelona)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(first, "nope") == missing.json()["detail"]

    # An edit outside the envelope or beyond one step from the confirmed 60 % is refused.
    for value, words in ((120, "outside the model's range 0–100"), (75, "maximum step of 10")):
        edit = {"decision": "edited", "values": {GUIDANCE: value}}
        refused = client.post(f"{API}/sessions/{first}/advice", json=edit, headers=maria)
        assert refused.status_code == 422 and words in refused.json()["detail"]
        assert refused.json()["errors"][0]["field"] == f"values.{GUIDANCE}"
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(AssistanceAdvice)) == 0

    # Accepted before any session is planned: the next one planned starts with it.
    accepted = client.post(f"{API}/sessions/{first}/advice", json=accept, headers=maria).json()
    assert accepted["decision"] == "accepted" and accepted["decided_values"] == {GUIDANCE: 63.0}
    assert accepted["applied_to_session_id"] is None
    planned = plan(client, maria, world)
    assert planned["planned_settings"] == {GUIDANCE: 63.0}
    again = client.post(f"{API}/sessions/{first}/advice", json=accept, headers=maria)
    assert again.status_code == 409 and again.json()["type"].endswith("advice-already-decided")

    # Edited: the session already planned takes the therapist's value (newer advice wins).
    edit = {"decision": "edited", "values": {GUIDANCE: 55}, "note": "tired today"}
    edited = client.post(f"{API}/sessions/{second}/advice", json=edit, headers=maria).json()
    assert edited["decided_values"] == {GUIDANCE: 55.0}
    assert edited["applied_to_session_id"] == planned["id"]
    now_planned = client.get(f"{API}/sessions/{planned['id']}", headers=maria).json()
    assert now_planned["planned_settings"] == {GUIDANCE: 55.0}

    # The progress page shows the latest session's advice with the form; declining it there
    # leaves the next plan without advised settings.
    page = client.get(f"/patients/{world.ids['patient_carlos']}/progress", headers=maria).text
    assert 'id="advice"' in page and f'action="/telerehab/sessions/{third}/advice"' in page
    # Numbers on pages are written the reader's way (Babel): 63.0 reads "63".
    assert f'data-advised="{GUIDANCE}">63 %' in page
    declined = client.post(
        f"/telerehab/sessions/{third}/advice",
        data={"decision": "declined", "note": "keep as is"},
        headers=maria,
        follow_redirects=False,
    )
    assert declined.status_code == 303
    live_page = client.get(f"/telerehab/sessions/{third}", headers=maria).text
    assert 'id="advice"' in live_page and 'data-decision="declined"' in live_page
    assert plan(client, maria, world)["planned_settings"] is None

    with session_scope(session_factory) as s:
        actions = s.execute(
            select(AuditEvent.action, AuditEvent.entity_id)
            .where(AuditEvent.entity == "assistance_advice", AuditEvent.action != "read")
            .order_by(AuditEvent.id)
        ).all()
        rows = {r.id: r.therapy_session_id for r in s.scalars(select(AssistanceAdvice))}
    assert [(action, rows[entity]) for action, entity in actions] == [
        ("advice_accepted", first),
        ("advice_edited", second),
        ("advice_declined", third),
    ]
