"""Password reset by e-mail: no enumeration, single use, expiry, and every session ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import Credential, PasswordReset
from exoshare.auth.tokens import token_hash
from exoshare.demo.mail_sink import MailSink
from tests.auth.conftest import inbox, link_token
from tests.world import PASSWORD, World, token

NEW_PASSWORD = "a-brand-new-password"


def _request(client: TestClient, email: str):
    return client.post("/api/v1/auth/password-reset", json={"email": email})


def test_known_and_unknown_addresses_answer_alike_and_only_one_gets_mail(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    unknown = _request(client, "nobody@test.exoshare.org")
    assert inbox(mail_sink) == []
    known = _request(client, world.emails["therapist_madrid"].upper())
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert unknown.headers["content-length"] == known.headers["content-length"]
    [message] = inbox(mail_sink)
    assert message.to == world.emails["therapist_madrid"]
    secret = link_token(message, "/reset-password")
    with session_factory() as s:
        [reset] = s.scalars(select(PasswordReset)).all()
        assert reset.user_id == world.ids["therapist_madrid"]
        assert reset.token_sha256 == token_hash(secret) and reset.used_at is None


def test_reset_sets_the_password_once_and_ends_every_session(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["therapist_madrid"]
    old_tokens = [token(client, world, "therapist_madrid") for _ in range(2)]
    _request(client, email)
    _request(client, email)  # two links out; using one spends both
    first, second = (link_token(m, "/reset-password") for m in inbox(mail_sink))

    short = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "password": "short"}
    )
    assert short.status_code == 422 and short.json()["field"] == "password"
    done = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text

    for headers in old_tokens:
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    old = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD})
    assert new.status_code == 201
    for spent in (first, second):
        again = client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": spent, "password": "yet-another-password"},
        )
        assert again.status_code == 404 and again.json()["field"] == "token"
    with session_factory() as s:
        assert all(r.used_at is not None for r in s.scalars(select(PasswordReset)))
        states = (
            s.execute(
                select(Credential.revoked_at).where(
                    Credential.user_id == world.ids["therapist_madrid"]
                )
            )
            .scalars()
            .all()
        )
    # The two old tokens are revoked; the one made with the new password is not.
    assert sorted(state is None for state in states) == [False, False, True]


def test_expired_link_is_refused(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    _request(client, world.emails["operator"])
    secret = link_token(inbox(mail_sink)[0], "/reset-password")
    with session_factory() as s:
        s.execute(update(PasswordReset).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    late = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": secret, "password": NEW_PASSWORD}
    )
    assert late.status_code == 404
    assert client.get(f"/reset-password?token={secret}").status_code == 404
    ok = client.post(
        "/api/v1/auth/token", json={"email": world.emails["operator"], "password": PASSWORD}
    )
    assert ok.status_code == 201


def test_forgot_and_reset_pages(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    assert 'href="/forgot-password"' in client.get("/login").text
    unknown = client.post("/forgot-password", data={"email": "nobody@test.exoshare.org"})
    known = client.post("/forgot-password", data={"email": world.emails["operator"]})
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    [message] = inbox(mail_sink)
    secret = link_token(message, "/reset-password")
    form = client.get(f"/reset-password?token={secret}&lang=es")
    assert form.status_code == 200 and "Elija una nueva contraseña" in form.text
    assert form.headers["referrer-policy"] == "no-referrer"
    done = client.post("/reset-password", data={"token": secret, "password": NEW_PASSWORD})
    assert done.status_code == 200 and 'href="/login"' in done.text
    signed_in = client.post(
        "/api/v1/auth/token", json={"email": world.emails["operator"], "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 201


def test_requests_cannot_flood_an_inbox(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    answers = [_request(client, world.emails["operator"]) for _ in range(5)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1
    assert len(inbox(mail_sink)) == 3
    with session_factory() as s:
        assert len(s.scalars(select(PasswordReset)).all()) == 3
