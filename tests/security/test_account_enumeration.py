"""Opening an account never tells a clinic admin which e-mail addresses exist elsewhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import RoleGrant, User
from tests.world import PASSWORD, World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _request(email: str, org_unit_id: str) -> dict[str, str]:
    return {
        "email": email,
        "display_name": "Someone",
        "password": "a-long-enough-password",
        "role": "therapist",
        "org_unit_id": org_unit_id,
    }


def _state(factory: sessionmaker[Session], email: str) -> tuple[int, list[tuple[str, str]], str]:
    with factory() as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        grants = s.execute(
            select(RoleGrant.role, RoleGrant.org_unit_id).where(RoleGrant.user_id == user.id)
        ).all()
        users = s.scalar(select(func.count()).select_from(User)) or 0
        return users, sorted((str(r), o) for r, o in grants), user.password_hash


def test_an_address_registered_in_another_clinic_answers_like_a_new_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    taken = world.emails["therapist_barcelona"]
    before = _state(session_factory, taken)
    foreign = client.post("/api/v1/users", json=_request(taken, world.ids["madrid"]), headers=admin)
    fresh = client.post(
        "/api/v1/users",
        json=_request("brand.new@test.exoshare.org", world.ids["madrid"]),
        headers=admin,
    )
    assert foreign.status_code == fresh.status_code == 202
    assert {**foreign.json(), "email": "-"} == {**fresh.json(), "email": "-"}
    assert foreign.json()["email"] == taken
    # Nothing changed for the Barcelona therapist: no Madrid grant, the same password; the new
    # address got its account and role.
    users_after, grants_after, hash_after = _state(session_factory, taken)
    assert (users_after, grants_after, hash_after) == (before[0] + 1, before[1], before[2])
    assert (
        client.post("/api/v1/auth/token", json={"email": taken, "password": PASSWORD}).status_code
        == 201
    )
    _, new_grants, _ = _state(session_factory, "brand.new@test.exoshare.org")
    assert new_grants == [("therapist", world.ids["madrid"])]


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
    for email in (world.emails["therapist_barcelona"], "brand.new@test.exoshare.org"):
        response = client.post(
            "/api/v1/users", json=_request(email, world.ids["barcelona"]), headers=admin
        )
        assert response.status_code == 404
        assert response.json()["errors"] == [
            {"field": "org_unit_id", "reason": f"org unit {world.ids['barcelona']} not found"}
        ]
