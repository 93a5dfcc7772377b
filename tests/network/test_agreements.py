"""Agreements between partners: a tele-supervision agreement is what gives remote cover."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent, RoleGrant
from exoshare.auth.scope import SYSTEM_CLI
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.db import session_scope
from exoshare.network import agreements
from exoshare.sharing import consent
from exoshare.sharing.schemas import ConsentCreate
from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _cover(client: TestClient, world: World, **extra: object) -> dict:
    """Madrid's therapist covers Nairobi: a draft, made by the operator for both clinics."""
    body = {
        "kind": "tele_supervision",
        "title": "Madrid supervises Nairobi",
        "provider_id": world.ids["partner_madrid"],
        "recipient_id": world.ids["partner_nairobi"],
        "starts_on": str(date.today() - timedelta(days=1)),
        "cover_user_ids": [world.ids["therapist_madrid"]],
        **extra,
    }
    made = client.post("/api/v1/agreements", json=body, headers=token(client, world, "operator"))
    assert made.status_code == 201, made.text
    return made.json()


def test_an_active_agreement_gives_remote_cover_and_its_end_takes_it_away(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    operator = token(client, world, "operator")
    therapist = token(client, world, "therapist_madrid")
    nairobi_patient = f"/api/v1/patients/{world.ids['patient_amani']}"
    # Amani agrees to remote care by Madrid: the agreement is the other half of the cover.
    with session_scope(session_factory) as s:
        consent.record_consent(
            s,
            SYSTEM_CLI,
            world.ids["patient_amani"],
            ConsentCreate(
                purpose=ConsentPurpose.remote_care,
                decision=ConsentDecision.permit,
                partner_clinic_id=world.ids["madrid"],
            ),
        )
    assert client.get(nairobi_patient, headers=therapist).status_code == 404

    draft = _cover(client, world)
    assert draft["status"] == "draft"
    assert client.get(nairobi_patient, headers=therapist).status_code == 404  # not yet

    active = client.post(f"/api/v1/agreements/{draft['id']}/activate", headers=operator)
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active"
    grant_id = active.json()["covers"][0]["grant_id"]
    assert client.get(nairobi_patient, headers=therapist).json()["given_name"] == "Amani"

    ended = client.post(
        f"/api/v1/agreements/{draft['id']}/end",
        json={"status": "terminated", "reason": "Nairobi hired its own therapist"},
        headers=operator,
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["end_reason"]) == (
        "terminated",
        "Nairobi hired its own therapist",
    )
    assert client.get(nairobi_patient, headers=therapist).status_code == 404
    with session_scope(session_factory) as s:
        grant = s.get(RoleGrant, grant_id)
        assert grant is not None and grant.revoked_at is not None  # revoked, never deleted
        rules = [
            (e.action, (e.detail or {}).get("rule"))
            for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_id == grant_id))
        ]
        assert rules == [
            ("grant", f"agreement:{draft['id']}"),
            ("revoke", f"agreement:{draft['id']}"),
        ]
    again = client.post(f"/api/v1/agreements/{draft['id']}/activate", headers=operator)
    assert again.status_code == 409 and "terminated" in again.json()["detail"]

    # A second cover ends with its end date (the daily `exoshare agreements end-lapsed`).
    second = _cover(client, world, ends_on=str(date.today()))
    assert client.post(f"/api/v1/agreements/{second['id']}/activate", headers=operator).is_success
    assert client.get(nairobi_patient, headers=therapist).status_code == 200
    with session_scope(session_factory) as s:
        assert agreements.end_lapsed(s, SYSTEM_CLI, date.today()) == []  # still its last day
        lapsed = agreements.end_lapsed(s, SYSTEM_CLI, date.today() + timedelta(days=1))
        assert [(e.agreement.id, e.user_ids) for e in lapsed] == [
            (second["id"], [world.ids["therapist_madrid"]])
        ]
    assert client.get(nairobi_patient, headers=therapist).status_code == 404

    # Madrid's admin sees Madrid's agreements, may end one but not activate one (that speaks
    # for Nairobi too); Barcelona sees none of them.
    third = _cover(client, world)
    admin = token(client, world, "admin_madrid")
    listed = client.get("/api/v1/agreements", params={"status": "draft"}, headers=admin)
    assert [a["id"] for a in listed.json()] == [third["id"]]
    barcelona = token(client, world, "therapist_barcelona")
    assert client.get("/api/v1/agreements", headers=barcelona).json() == []
    assert client.get(f"/api/v1/agreements/{third['id']}", headers=barcelona).status_code == 404
    assert (
        client.post(f"/api/v1/agreements/{third['id']}/activate", headers=admin).status_code == 403
    )
    closed = client.post(
        f"/api/v1/agreements/{third['id']}/end", json={"reason": "not needed"}, headers=admin
    )
    assert closed.status_code == 200 and closed.json()["status"] == "ended"


def test_bad_agreements_are_refused_naming_the_field(client: TestClient, world: World) -> None:
    operator = token(client, world, "operator")
    base = {
        "kind": "tele_supervision",
        "title": "Cover",
        "provider_id": world.ids["partner_madrid"],
        "recipient_id": world.ids["partner_nairobi"],
        "starts_on": "2026-01-01",
    }
    cases = [
        ({"cover_user_ids": [world.ids["admin_madrid"]]}, "cover_user_ids", "not a therapist"),
        ({"cover_user_ids": []}, "cover_user_ids", "name the provider's therapists"),
        ({"recipient_id": world.ids["maker"], "cover_user_ids": [world.ids["therapist_madrid"]]},
         "recipient_id", "runs none in the network"),
        ({"ends_on": "2025-12-31", "cover_user_ids": [world.ids["therapist_madrid"]]},
         "ends_on", "before starts_on"),
        ({"recipient_id": world.ids["partner_madrid"]}, "recipient_id", "itself"),
    ]  # fmt: skip
    for change, field, words in cases:
        answer = client.post("/api/v1/agreements", json={**base, **change}, headers=operator)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["field"] == field and words in answer.json()["detail"]
    listed = client.get("/api/v1/agreements", headers=operator).json()
    assert listed == []  # nothing half-made was stored
