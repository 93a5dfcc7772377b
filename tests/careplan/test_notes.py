"""SOAP notes: the objective starts from the session's gait summary; a signed note is never
edited, only amended, and the amendment is audited with the text before and after."""

from __future__ import annotations

from sqlalchemy import select

from exoshare.auth.models import AuditEvent
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from tests.careplan.conftest import CareEnv
from tests.world import token


def test_a_signed_note_is_amended_never_edited(care: CareEnv) -> None:
    client, world, maria = care.client, care.world, care.maria
    started = client.post(
        "/api/v1/careplan/notes",
        json={"therapy_session_id": world.ids["therapy_carlos"]},
        headers=maria,
    )
    assert started.status_code == 201, started.text
    note = started.json()
    assert note["status"] == "draft"
    # The objective is the recording's own summary, in words.
    cadence = care.recording["cadence_steps_per_min"]
    assert f"cadence {cadence:.1f} steps/min" in note["objective"]
    assert f"{care.recording['step_count']} steps" in note["objective"]

    url = f"/api/v1/careplan/notes/{note['id']}"
    saved = client.patch(
        url,
        json={"subjective": "Knee felt stiff", "assessment": "Cadence up", "plan": "Same"},
        headers=maria,
    )
    assert saved.status_code == 200 and saved.json()["subjective"] == "Knee felt stiff"

    colleague = token(client, world, "admin_madrid")
    assert client.post(f"{url}/sign", headers=colleague).status_code == 403
    signed = client.post(f"{url}/sign", headers=maria)
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    assert signed.json()["signed_by_id"] == world.ids["therapist_madrid"]

    edit = client.patch(url, json={"assessment": "Cadence down"}, headers=maria)
    assert edit.status_code == 409
    assert edit.json()["type"].endswith("note-signed")
    assert "never edited; add an amendment" in edit.json()["detail"]

    amended = client.post(
        f"{url}/amendments",
        json={"section": "assessment", "text": "Cadence up 4 steps/min", "reason": "exact figure"},
        headers=colleague,
    )
    assert amended.status_code == 200, amended.text
    body = amended.json()
    assert body["assessment"] == "Cadence up"  # the signed text stays as signed
    assert [(a["section"], a["text"], a["reason"], a["author_id"]) for a in body["amendments"]] == [
        ("assessment", "Cadence up 4 steps/min", "exact figure", world.ids["admin_madrid"])
    ]
    with session_scope(runtime_of(client.app).sessionmaker) as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_id == note["id"], AuditEvent.action == "amend"
            )
        ).all()
        assert [(e.user_id, e.patient_id, e.detail) for e in events] == [
            (
                world.ids["admin_madrid"],
                world.ids["patient_carlos"],
                {
                    "amendment": body["amendments"][0]["id"],
                    "section": "assessment",
                    "reason": "exact figure",
                    "before": "Cadence up",
                    "after": "Cadence up 4 steps/min",
                },
            )
        ]
    page = client.get(f"/careplan/notes/{note['id']}", headers=maria)
    assert "Cadence up 4 steps/min" in page.text and "exact figure" in page.text
