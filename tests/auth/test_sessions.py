"""Own sessions and API tokens: listed with where they come from, revoked one or all others."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import QueuePool

from exoshare.auth.models import Credential
from exoshare.auth.service import credential_for_request, note_credential_use
from exoshare.db import make_sessionmaker
from tests.world import PASSWORD, World, token


def _token(client: TestClient, email: str, agent: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token",
        json={"email": email, "password": PASSWORD, "label": agent},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_list_shows_own_credentials_with_their_origin(client: TestClient, world: World) -> None:
    email = world.emails["therapist_madrid"]
    laptop = _token(client, email, "laptop-script/1.0")
    _token(client, email, "tablet-app/2.3")
    token(client, world, "therapist_barcelona")  # someone else's: never listed
    listed = client.get("/api/v1/auth/sessions", headers=laptop)
    assert listed.status_code == 200
    rows = listed.json()
    assert sorted(r["user_agent"] for r in rows) == ["laptop-script/1.0", "tablet-app/2.3"]
    assert {r["client_address"] for r in rows} == {"testclient"}
    assert {r["kind"] for r in rows} == {"api_token"}
    [current] = [r for r in rows if r["current"]]
    assert current["label"] == "laptop-script/1.0" and current["last_used_at"] is not None


def test_revoke_one_and_a_foreign_id_answers_like_a_missing_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["therapist_madrid"]
    mine = _token(client, email, "a")
    other = _token(client, email, "b")
    _token(client, world.emails["therapist_barcelona"], "theirs")
    with session_factory() as s:
        other_id = s.scalar(select(Credential.id).where(Credential.label == "b"))
        foreign_id = s.scalar(select(Credential.id).where(Credential.label == "theirs"))
    missing_id = "f" * 32
    foreign = client.delete(f"/api/v1/auth/sessions/{foreign_id}", headers=mine)
    missing = client.delete(f"/api/v1/auth/sessions/{missing_id}", headers=mine)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(str(foreign_id), "X") == missing.json()[
        "detail"
    ].replace(missing_id, "X")
    assert client.delete(f"/api/v1/auth/sessions/{other_id}", headers=mine).status_code == 204
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    with session_factory() as s:
        assert s.scalar(select(Credential.revoked_at).where(Credential.id == foreign_id)) is None
        assert s.scalar(select(Credential.revoked_at).where(Credential.id == other_id)) is not None


def test_revoke_all_others_keeps_only_this_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["operator"]
    keep = _token(client, email, "keep")
    others = [_token(client, email, f"other-{n}") for n in range(3)]
    bystander = token(client, world, "therapist_madrid")
    response = client.post("/api/v1/auth/sessions/revoke-others", headers=keep)
    assert response.status_code == 200 and response.json() == {"revoked": 3}
    for headers in others:
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=keep).status_code == 200
    assert client.get("/api/v1/me", headers=bystander).status_code == 200
    with session_factory() as s:
        active = s.scalars(
            select(Credential.label).where(
                Credential.user_id == world.ids["operator"], Credential.revoked_at.is_(None)
            )
        ).all()
    assert active == ["keep"]


def test_security_page_lists_and_ends_browser_sessions(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    api = _token(client, world.emails["operator"], "cli")
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"email": world.emails["operator"], "password": PASSWORD, "login_csrf": login_csrf},
        headers={"User-Agent": "Firefox/140"},
        follow_redirects=False,
    )
    security = client.get("/account/security?lang=es")
    assert security.status_code == 200
    assert "Esta sesión" in security.text and "Firefox/140" in security.text
    assert "Token de API" in security.text
    csrf = security.text.split('name="csrf_token" value="')[1].split('"')[0]
    forged = client.post("/account/security/sessions/revoke-others", data={})
    assert forged.status_code == 403
    assert client.get("/api/v1/me", headers=api).status_code == 200
    ended = client.post(
        "/account/security/sessions/revoke-others",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert client.get("/api/v1/me", headers=api).status_code == 401
    assert client.get("/account/security").status_code == 200


def test_noting_a_credential_use_needs_no_second_connection(
    database_url: str, world: World, client: TestClient
) -> None:
    """A request that notes its credential's use hands its connection back first: with a pool of
    one connection (a burst of requests that took them all), the note still gets written."""
    headers = _token(client, world.emails["therapist_madrid"], "pool-check/1.0")
    secret = headers["Authorization"].removeprefix("Bearer ")
    engine = create_engine(database_url, poolclass=QueuePool, pool_size=1, max_overflow=0,
                           pool_timeout=2)  # fmt: skip
    factory = make_sessionmaker(engine)
    try:
        with factory() as request_session:
            credential = credential_for_request(request_session, f"Bearer {secret}", None)
            assert credential is not None
            credential.last_used_at = None  # due: the note is written now
            set_committed_value(credential, "last_used_at", None)
            note_credential_use(factory, credential, request_session)
            assert credential.last_used_at is not None
        with factory() as check:
            stored = check.get(Credential, credential.id)
            assert stored is not None and stored.last_used_at is not None
    finally:
        engine.dispose()
