"""Consent per purpose: recording and withdrawing, and the cross-clinic read it gates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.network import service as network
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.waitlist import add_to_waitlist
from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        # The Barcelona therapist also covers Madrid (a later grant than her own clinic's).
        user = auth.visible_user(s, SYSTEM_SEEDING, world.ids["therapist_barcelona"])
        madrid = network.find_org_unit(s, world.ids["madrid"])
        assert madrid is not None
        grant = auth.add_grant(s, user, Role.therapist, madrid)
        grant.granted_at = datetime.now(UTC) + timedelta(seconds=1)
        for key, priority in (("carlos", Priority.urgent), ("lucia", Priority.routine)):
            add_to_waitlist(
                s, SYSTEM_SEEDING, world.ids[f"patient_{key}"], date(2026, 11, 2), priority,
                "referral", 3, 20, 40.42, -3.70,
            )  # fmt: skip
    return world


def _waitlist(client: TestClient, world: World, headers: dict[str, str]) -> list[tuple]:
    response = client.get(f"/api/v1/clinics/{world.ids['madrid']}/waitlist", headers=headers)
    assert response.status_code == 200
    return [(row["entry"]["patient_id"], row["position"]) for row in response.json()]


def _names(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/api/v1/patients", headers=headers)
    assert response.status_code == 200
    return {p["given_name"] for p in response.json()["items"]}


def test_cover_reads_need_remote_care_consent_and_stop_at_withdrawal(
    client: TestClient, world: World
) -> None:
    lucia = world.ids["patient_lucia"]
    cover = token(client, world, "therapist_barcelona")
    admin = token(client, world, "admin_madrid")
    # Without consent, a Madrid record is hidden from the cover exactly like a missing one.
    assert _names(client, cover) == {"Jordi"}
    assert _waitlist(client, world, cover) == []
    refused = client.get(f"/api/v1/patients/{lucia}", headers=cover)
    missing = client.get("/api/v1/patients/0123456789abcdef0123456789abcdef", headers=cover)
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["title"] == missing.json()["title"]
    # Lucia agrees to remote care by Barcelona, recorded by her clinic.
    granted = client.post(
        f"/api/v1/patients/{lucia}/consents",
        json={
            "purpose": "remote_care",
            "decision": "permit",
            "partner_clinic_id": world.ids["barcelona"],
            "language": "es",
        },
        headers=admin,
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["in_force"] is True
    assert granted.json()["recorded_by_id"] == world.ids["admin_madrid"]
    assert _names(client, cover) == {"Jordi", "Lucia"}
    assert client.get(f"/api/v1/patients/{lucia}", headers=cover).status_code == 200
    # The cover reads her consents but does not record them for her.
    by_cover = client.post(
        f"/api/v1/patients/{lucia}/consents",
        json={"purpose": "research", "decision": "permit"},
        headers=cover,
    )
    assert by_cover.status_code == 403
    # On the clinic's waitlist the cover sees Lucia only, at her place in the whole queue.
    assert _waitlist(client, world, cover) == [(lucia, 2)]
    # Consent naming another clinic does not open Carlos's record to Barcelona.
    assert (
        client.get(f"/api/v1/patients/{world.ids['patient_carlos']}", headers=cover).status_code
        == 404
    )
    # The Madrid therapist (her own clinic) never needed it.
    assert _names(client, token(client, world, "therapist_madrid")) == {"Carlos", "Lucia"}
    # Withdrawal closes the record again from the next request on.
    withdrawn = client.post(
        f"/api/v1/patients/{lucia}/consents/{granted.json()['id']}/withdraw",
        json={"reason": "changed my mind"},
        headers=admin,
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["in_force"] is False
    assert withdrawn.json()["withdrawal_reason"] == "changed my mind"
    assert client.get(f"/api/v1/patients/{lucia}", headers=cover).status_code == 404
    # The clinic's page of her consents records a new grant from a signed form.
    page = client.post(
        f"/patients/{lucia}/consents",
        data={"purpose": "research", "decision": "permit"},
        headers=admin,
        follow_redirects=False,
    )
    assert page.status_code == 303
    shown = client.get(f"/patients/{lucia}/consents", headers=admin)
    assert shown.status_code == 200 and "Withdraw" in shown.text
    history = client.get(f"/api/v1/patients/{lucia}/consents", headers=admin).json()
    assert [(c["purpose"], c["decision"], c["in_force"]) for c in history] == [
        ("research", "permit", True),
        ("remote_care", "permit", False),
    ]


def test_patient_changes_own_consent_on_api_and_page(client: TestClient, world: World) -> None:
    carlos = world.ids["patient_carlos"]
    own = token(client, world, "carlos")
    url = f"/api/v1/patients/{carlos}/consents"
    first = client.post(url, json={"purpose": "research", "decision": "permit"}, headers=own)
    assert first.status_code == 201
    second = client.post(url, json={"purpose": "research", "decision": "deny"}, headers=own)
    assert second.status_code == 201
    rows = client.get(url, headers=own).json()
    # Newest first: the refusal, then the permit it withdrew.
    assert [(r["decision"], r["in_force"], r["withdrawal_reason"]) for r in rows] == [
        ("deny", False, None),
        ("permit", False, "replaced by a refusal"),
    ]
    bad = client.post(
        url,
        json={"purpose": "remote_care", "decision": "permit", "partner_clinic_id": "nope"},
        headers=own,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "partner_clinic_id"
    assert "does not exist" in bad.json()["detail"]
    stray = client.post(
        url,
        json={
            "purpose": "research",
            "decision": "permit",
            "partner_clinic_id": world.ids["barcelona"],
        },
        headers=own,
    )
    assert stray.status_code == 422 and "only to remote_care" in stray.json()["detail"]
    # Nothing was stored by the refused requests.
    assert len(client.get(url, headers=own).json()) == 2
    # Another patient's consents are hidden like a missing record.
    other = client.get(f"/api/v1/patients/{world.ids['patient_lucia']}/consents", headers=own)
    assert other.status_code == 404
    # The patient's own page, in Spanish.
    page = client.get("/my/consents?lang=es", headers=own)
    assert page.status_code == 200
    assert "Investigación" in page.text
    assert "Sí, estoy de acuerdo" in page.text
