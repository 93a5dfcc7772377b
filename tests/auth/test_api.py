"""Identity through the HTTP API: tokens, grants no wider than the granter's, CSRF on cookies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import Credential, Invitation, RoleGrant, User
from exoshare.demo.mail_sink import MailSink
from tests.auth.conftest import inbox, link_token
from tests.world import PASSWORD, World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _new_user(org_unit_id: str, role: str, email: str = "new.person@test.exoshare.org") -> dict:
    return {"email": email, "role": role, "org_unit_id": org_unit_id}


def test_wrong_password_and_unknown_user_answer_the_same(client: TestClient, world: World) -> None:
    wrong = client.post(
        "/api/v1/auth/token", json={"email": world.emails["operator"], "password": "nope"}
    )
    unknown = client.post(
        "/api/v1/auth/token", json={"email": "nobody@test.exoshare.org", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_me_lists_grants(client: TestClient, world: World) -> None:
    me = client.get("/api/v1/me", headers=token(client, world, "therapist_madrid")).json()
    assert me["email"] == world.emails["therapist_madrid"]
    assert me["grants"] == [{"role": "therapist", "org_unit_id": world.ids["madrid"]}]


def test_clinic_admin_invites_a_therapist_to_own_clinic(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "admin_madrid")
    response = client.post(
        "/api/v1/users", json=_new_user(world.ids["madrid"], "therapist"), headers=headers
    )
    assert response.status_code == 202, response.text
    body = response.json()
    with session_factory() as s:
        # Nothing exists for the person until they accept.
        assert s.scalar(select(User).where(User.email == "new.person@test.exoshare.org")) is None
        invitation = s.get(Invitation, body["id"])
        assert invitation is not None
        assert (invitation.email, invitation.role.value, invitation.org_unit_id) == (
            "new.person@test.exoshare.org",
            "therapist",
            world.ids["madrid"],
        )
        assert datetime.fromisoformat(body["expires_at"]) == invitation.expires_at.replace(
            tzinfo=UTC
        )
    assert (body["email"], body["role"], body["org_unit_id"]) == (
        "new.person@test.exoshare.org",
        "therapist",
        world.ids["madrid"],
    )
    [message] = inbox(mail_sink)
    accepted = client.post(
        "/api/v1/invitations/accept",
        json={
            "token": link_token(message, "/invitation"),
            "password": "chosen-by-the-person",
            "display_name": "New Person",
        },
    )
    assert accepted.status_code == 201, accepted.text
    with session_factory() as s:
        user = s.scalars(select(User).where(User.email == "new.person@test.exoshare.org")).one()
        assert user.display_name == "New Person"
        grant = s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).one()
        assert (grant.role.value, grant.org_unit_id) == ("therapist", world.ids["madrid"])
    signed_in = client.post(
        "/api/v1/auth/token",
        json={"email": "new.person@test.exoshare.org", "password": "chosen-by-the-person"},
    )
    assert signed_in.status_code == 201


def test_the_admin_never_sets_a_password(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    response = client.post(
        "/api/v1/users",
        json={**_new_user(world.ids["madrid"], "therapist"), "password": "chosen-by-the-admin"},
        headers=token(client, world, "admin_madrid"),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "password",
            "reason": "Value error, leave this field out: the invited person chooses their own "
            "password when accepting the invitation",
        }
    ]
    with session_factory() as s:
        assert s.scalars(select(Invitation)).all() == []


@pytest.mark.parametrize(
    ("role", "where"),
    [
        ("consortium_operator", "madrid"),  # a wider role than the admin's own
        ("researcher", "madrid"),  # a role clinic admins cannot hand out
        ("therapist", "barcelona"),  # a subtree outside the admin's
        ("clinic_admin", "spain"),  # a wider subtree
    ],
)
def test_clinic_admin_cannot_grant_wider_than_own(
    client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    role: str,
    where: str,
) -> None:
    headers = token(client, world, "admin_madrid")
    response = client.post("/api/v1/users", json=_new_user(world.ids[where], role), headers=headers)
    assert response.status_code in {403, 404}
    with session_factory() as s:
        # The failed request left no account or invitation behind.
        assert s.scalar(select(User).where(User.email == "new.person@test.exoshare.org")) is None
        assert s.scalars(select(Invitation)).all() == []


def test_therapist_cannot_create_users(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    response = client.post(
        "/api/v1/users", json=_new_user(world.ids["madrid"], "therapist"), headers=headers
    )
    assert response.status_code == 403


def test_operator_may_grant_any_role(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "operator")
    response = client.post(
        "/api/v1/users", json=_new_user(world.ids["root"], "researcher"), headers=headers
    )
    assert response.status_code == 202, response.text
    with session_factory() as s:
        invitation = s.get(Invitation, response.json()["id"])
        assert invitation is not None
        assert (invitation.role.value, invitation.org_unit_id) == ("researcher", world.ids["root"])


def test_expired_and_revoked_tokens_are_refused(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "operator")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with session_factory() as s:
        s.execute(update(Credential).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401

    fresh = token(client, world, "operator")
    assert client.delete("/api/v1/auth/token", headers=fresh).status_code == 204
    assert client.get("/api/v1/me", headers=fresh).status_code == 401


def test_stored_token_is_a_hash(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    secret = token(client, world, "operator")["Authorization"].split()[1]
    with session_factory() as s:
        stored = s.scalars(select(Credential.secret_sha256)).all()
    assert secret not in stored and all(len(h) == 64 for h in stored)


def _browser_login(client: TestClient, email: str) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": login_csrf, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_cookie_session_needs_csrf_token_for_changes(client: TestClient, world: World) -> None:
    _browser_login(client, world.emails["therapist_madrid"])
    cookie = client.cookies.get("exoshare_session")
    assert cookie
    patient_id = world.ids["patient_lucia"]
    assert client.get(f"/api/v1/patients/{patient_id}").status_code == 200
    forged = client.post(f"/api/v1/patients/{patient_id}/void", json={"reason": "forged"})
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    home = client.get("/")
    csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post(
        f"/api/v1/patients/{patient_id}/void",
        json={"reason": "merged"},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 200


def test_session_cookie_flags(client: TestClient, world: World) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={
            "email": world.emails["operator"],
            "password": PASSWORD,
            "login_csrf": login_csrf,
        },
        follow_redirects=False,
    )
    set_cookie = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in set_cookie if c.startswith("exoshare_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie


def test_login_without_form_token_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/login",
        data={"email": world.emails["operator"], "password": PASSWORD, "login_csrf": "x"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "exoshare_session" not in response.cookies


def test_logout_revokes_the_session(client: TestClient, world: World) -> None:
    _browser_login(client, world.emails["operator"])
    home = client.get("/")
    assert home.status_code == 200
    csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
    stolen = client.cookies.get("exoshare_session")
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    client.cookies.set("exoshare_session", stolen or "")
    again = client.get("/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_open_redirect_after_login_is_neutralised(client: TestClient, world: World) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={
            "email": world.emails["operator"],
            "password": PASSWORD,
            "login_csrf": login_csrf,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
