"""Inviting a person never tells a clinic admin which e-mail addresses exist elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import Invitation, RoleGrant, User
from exoshare.config import Settings
from tests.world import PASSWORD, World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


NEW = "brand.new@test.exoshare.org"
# What differs between any two invitations whatever the address: it is no tell.
PER_INVITATION = {"id", "email", "created_at", "expires_at"}


def _request(email: str, org_unit_id: str) -> dict[str, str]:
    return {"email": email, "role": "therapist", "org_unit_id": org_unit_id}


def _state(factory: sessionmaker[Session], email: str) -> tuple[int, list[tuple[str, str]], str]:
    with factory() as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        grants = s.execute(
            select(RoleGrant.role, RoleGrant.org_unit_id).where(RoleGrant.user_id == user.id)
        ).all()
        users = s.scalar(select(func.count()).select_from(User)) or 0
        return users, sorted((str(r), o) for r, o in grants), user.password_hash


def _listing(client: TestClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    listed = client.get(path, headers=headers, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    body: dict[str, Any] = listed.json()
    return body


def _without(item: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in keys}


def test_an_address_registered_in_another_clinic_answers_like_a_new_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    taken = world.emails["therapist_barcelona"]
    before = _state(session_factory, taken)
    foreign = client.post("/api/v1/users", json=_request(taken, world.ids["madrid"]), headers=admin)
    fresh = client.post("/api/v1/users", json=_request(NEW, world.ids["madrid"]), headers=admin)
    assert foreign.status_code == fresh.status_code == 202
    assert foreign.json().keys() == fresh.json().keys()
    assert _without(foreign.json(), PER_INVITATION) == _without(fresh.json(), PER_INVITATION)
    assert (foreign.json()["email"], fresh.json()["email"]) == (taken, NEW)
    # Until someone accepts, no account is created and none changes: the Barcelona therapist
    # has no Madrid grant and the same password, and the new address has no account yet.
    assert _state(session_factory, taken) == before
    with session_factory() as s:
        assert s.scalar(select(User.id).where(User.email == NEW)) is None
        invited = s.execute(select(Invitation.email, Invitation.accepted_at)).all()
        assert sorted(invited) == sorted([(taken, None), (NEW, None)])
    assert (
        client.post("/api/v1/auth/token", json={"email": taken, "password": PASSWORD}).status_code
        == 201
    )


def test_a_new_and_a_registered_address_look_the_same_in_every_listing(
    client: TestClient, world: World, settings: Settings
) -> None:
    """After inviting both, the admin's listings change the same way for each: /users not at
    all, /invitations by one pending row of the same shape and content."""
    admin = token(client, world, "admin_madrid")
    taken = world.emails["therapist_barcelona"]
    users_before = _listing(client, "/api/v1/users", admin)
    assert _listing(client, "/api/v1/invitations", admin)["total"] == 0

    answers = {
        email: client.post(
            "/api/v1/users", json=_request(email, world.ids["madrid"]), headers=admin
        )
        for email in (taken, NEW)
    }
    assert [answer.status_code for answer in answers.values()] == [202, 202]

    assert _listing(client, "/api/v1/users", admin) == users_before
    invitations = _listing(client, "/api/v1/invitations", admin)
    assert invitations["total"] == 2
    by_email = {item["email"]: item for item in invitations["items"]}
    assert by_email.keys() == {taken, NEW}
    assert by_email[taken].keys() == by_email[NEW].keys()
    assert _without(by_email[taken], PER_INVITATION) == _without(by_email[NEW], PER_INVITATION)
    assert _without(by_email[NEW], PER_INVITATION) == {
        "role": "therapist",
        "org_unit_id": world.ids["madrid"],
        "accepted_at": None,
        "withdrawn_at": None,
    }
    for email, answer in answers.items():
        assert by_email[email]["id"] == answer.json()["id"]
        assert by_email[email]["expires_at"] == answer.json()["expires_at"]
    # Both are valid for the full time (to the second: the two stamps are taken apart).
    validity = {
        email: round(
            (
                datetime.fromisoformat(item["expires_at"])
                - datetime.fromisoformat(item["created_at"])
            ).total_seconds()
        )
        for email, item in by_email.items()
    }
    full = timedelta(hours=settings.invitation_ttl_hours).total_seconds()
    assert validity[taken] == validity[NEW] == full


def test_an_address_the_admin_manages_is_a_plain_conflict(client: TestClient, world: World) -> None:
    admin = token(client, world, "admin_madrid")
    response = client.post(
        "/api/v1/users",
        json=_request(world.emails["therapist_madrid"], world.ids["madrid"]),
        headers=admin,
    )
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": "email",
            "reason": f"a user with e-mail {world.emails['therapist_madrid']} already exists",
        }
    ]


def test_checks_that_do_not_depend_on_the_address_answer_the_same_for_both(
    client: TestClient, world: World
) -> None:
    """A grant the admin may not give is refused before the address is looked at."""
    admin = token(client, world, "admin_madrid")
    for email in (world.emails["therapist_barcelona"], NEW):
        response = client.post(
            "/api/v1/users", json=_request(email, world.ids["barcelona"]), headers=admin
        )
        assert response.status_code == 404
        assert response.json()["errors"] == [
            {"field": "org_unit_id", "reason": f"org unit {world.ids['barcelona']} not found"}
        ]
