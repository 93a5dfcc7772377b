"""Agreements between partners: a tele-supervision agreement is what gives remote cover."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent, RoleGrant
from exoshare.auth.scope import SYSTEM_CLI
from exoshare.db import session_scope
from exoshare.network import agreements
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


def test_the_end_date_ends_the_cover(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    yesterday = date.today() - timedelta(days=1)
    draft = _cover(client, world, ends_on=str(date.today()))
    operator = token(client, world, "operator")
    assert client.post(f"/api/v1/agreements/{draft['id']}/activate", headers=operator).is_success
    with session_scope(session_factory) as s:
        assert agreements.end_lapsed(s, SYSTEM_CLI, date.today()) == []  # still its last day
        ended = agreements.end_lapsed(s, SYSTEM_CLI, date.today() + timedelta(days=1))
        assert [(e.agreement.id, e.user_ids) for e in ended] == [
            (draft["id"], [world.ids["therapist_madrid"]])
        ]
    therapist = token(client, world, "therapist_madrid")
    assert (
        client.get(f"/api/v1/patients/{world.ids['patient_amani']}", headers=therapist).status_code
        == 404
    )
    assert yesterday < date.today()


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


def test_madrid_sees_its_own_agreements_only_and_may_end_but_not_activate(
    client: TestClient, world: World
) -> None:
    draft = _cover(client, world)
    admin = token(client, world, "admin_madrid")
    assert [a["id"] for a in client.get("/api/v1/agreements", headers=admin).json()] == [
        draft["id"]
    ]
    barcelona = token(client, world, "therapist_barcelona")
    assert client.get("/api/v1/agreements", headers=barcelona).json() == []
    assert client.get(f"/api/v1/agreements/{draft['id']}", headers=barcelona).status_code == 404
    # Activating speaks for Nairobi too; ending is open to either party.
    assert (
        client.post(f"/api/v1/agreements/{draft['id']}/activate", headers=admin).status_code == 403
    )
    ended = client.post(
        f"/api/v1/agreements/{draft['id']}/end", json={"reason": "not needed"}, headers=admin
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
