"""Taking grants back: by whom, with what effect on the next request, and what stays hidden."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent, RoleGrant
from exoshare.auth.schemas import Role as RoleEnum
from exoshare.db import session_scope
from tests.world import World, token


def _grant_id(factory: sessionmaker[Session], user_id: str) -> str:
    with factory() as s:
        grant_id = s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == user_id))
    assert grant_id
    return grant_id


def test_clinic_admin_revokes_a_therapist_grant_and_it_stops_counting_at_once(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    therapist = token(client, world, "therapist_madrid")
    therapist_id = world.ids["therapist_madrid"]
    patient = f"/api/v1/patients/{world.ids['patient_lucia']}"
    assert client.get(patient, headers=therapist).status_code == 200

    listed = client.get(f"/api/v1/users/{therapist_id}/grants", headers=admin)
    assert listed.status_code == 200
    [grant] = listed.json()
    assert (grant["role"], grant["org_unit_id"], grant["revoked_at"]) == (
        "therapist",
        world.ids["madrid"],
        None,
    )

    revoked = client.delete(f"/api/v1/users/{therapist_id}/grants/{grant['id']}", headers=admin)
    assert revoked.status_code == 204, revoked.text

    # The same token, the next request: no grant any more, so the patient is out of sight.
    assert client.get("/api/v1/me", headers=therapist).json()["grants"] == []
    assert client.get(patient, headers=therapist).status_code == 404
    with session_factory() as s:
        row = s.get(RoleGrant, grant["id"])
        assert row is not None and row.revoked_at is not None
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == grant["id"]))
        assert event is not None
        assert (event.action, event.entity, event.user_id) == (
            "revoke",
            "role_grant",
            world.ids["admin_madrid"],
        )
        assert event.detail == {
            "user_id": therapist_id,
            "role": "therapist",
            "org_unit_id": world.ids["madrid"],
        }
    # Revoked grants stay listed for the record; revoking again finds nothing to revoke.
    again = client.get(f"/api/v1/users/{therapist_id}/grants", headers=admin).json()
    assert again[0]["revoked_at"] is not None
    twice = client.delete(f"/api/v1/users/{therapist_id}/grants/{grant['id']}", headers=admin)
    assert twice.status_code == 404


def test_a_foreign_grant_answers_exactly_like_a_missing_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    barcelona_id = world.ids["therapist_barcelona"]
    foreign = _grant_id(session_factory, barcelona_id)
    missing_id = "0" * 32
    answers = [
        client.delete(f"/api/v1/users/{barcelona_id}/grants/{foreign}", headers=admin),
        client.delete(f"/api/v1/users/{barcelona_id}/grants/{missing_id}", headers=admin),
    ]
    assert [a.status_code for a in answers] == [404, 404]
    bodies = [a.json() for a in answers]
    for body in bodies:
        body["detail"] = body["detail"].replace(foreign, "ID").replace(missing_id, "ID")
        body["instance"] = body["instance"].replace(foreign, "ID").replace(missing_id, "ID")
    assert bodies[0] == bodies[1]
    # A grant id under another user's path is not that user's grant.
    madrid_grant = _grant_id(session_factory, world.ids["therapist_madrid"])
    wrong_user = client.delete(
        f"/api/v1/users/{world.ids['admin_madrid']}/grants/{madrid_grant}", headers=admin
    )
    assert wrong_user.status_code == 404
    with session_factory() as s:
        assert s.scalar(select(RoleGrant.revoked_at).where(RoleGrant.id == foreign)) is None
        assert s.scalar(select(RoleGrant.revoked_at).where(RoleGrant.id == madrid_grant)) is None
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "revoke")) is None


def test_a_grant_wider_than_the_callers_cannot_be_revoked(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    from exoshare.auth import service
    from exoshare.network.models import OrgUnit

    # A researcher grant on the admin's own clinic: visible to the admin, not theirs to hand out.
    with session_scope(session_factory) as s:
        user = service.create_user(s, "res.madrid@test.exoshare.org", "Res", "long-password-1")
        madrid = s.get(OrgUnit, world.ids["madrid"])
        assert madrid is not None
        grant_id = service.add_grant(s, user, RoleEnum.researcher, madrid).id
        user_id = user.id
    admin = token(client, world, "admin_madrid")
    refused = client.delete(f"/api/v1/users/{user_id}/grants/{grant_id}", headers=admin)
    assert refused.status_code == 403
    assert "could not have granted" in refused.json()["detail"]
    operator = token(client, world, "operator")
    assert (
        client.delete(f"/api/v1/users/{user_id}/grants/{grant_id}", headers=operator).status_code
        == 204
    )


def test_own_grant_and_callers_without_users_manage(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    own = _grant_id(session_factory, world.ids["admin_madrid"])
    refused = client.delete(
        f"/api/v1/users/{world.ids['admin_madrid']}/grants/{own}", headers=admin
    )
    assert refused.status_code == 409
    therapist = token(client, world, "therapist_madrid")
    target = _grant_id(session_factory, world.ids["carlos"])
    assert (
        client.delete(f"/api/v1/users/{world.ids['carlos']}/grants/{target}", headers=therapist)
    ).status_code == 404
    assert (
        client.get(f"/api/v1/users/{world.ids['carlos']}/grants", headers=therapist).status_code
        == 404
    )
    with session_factory() as s:
        assert s.scalars(select(RoleGrant).where(RoleGrant.revoked_at.is_not(None))).all() == []
