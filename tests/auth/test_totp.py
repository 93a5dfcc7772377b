"""The TOTP second factor: enrolment, sign-in with a code, replay refused, recovery codes,
disabling, and the setting that makes it compulsory for operators and clinic admins."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import RecoveryCode, TotpEnrolment
from exoshare.auth.tokens import token_hash
from tests.world import PASSWORD, World, token

TOKEN = "/api/v1/auth/token"


def _enrol(client: TestClient, headers: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    started = client.post("/api/v1/auth/totp", headers=headers)
    assert started.status_code == 201, started.text
    body = started.json()
    uri = urlsplit(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["exoshare"]
    totp = pyotp.TOTP(body["secret"])
    wrong = client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=headers)
    if totp.now() != "000000":
        assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": totp.now()}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def _sign_in(client: TestClient, email: str, code: str | None = None):
    return client.post(TOKEN, json={"email": email, "password": PASSWORD, "totp_code": code})


def _next_code(totp: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted (one step of clock drift) and unused."""
    return totp.at(time.time() + totp.interval)


def test_enrol_then_sign_in_needs_a_fresh_code(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["therapist_madrid"]
    headers = token(client, world, "therapist_madrid")
    totp, recovery = _enrol(client, headers)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    with session_factory() as s:
        enrolment = s.get(TotpEnrolment, world.ids["therapist_madrid"])
        assert enrolment is not None and enrolment.confirmed_at is not None
        stored = set(s.scalars(select(RecoveryCode.code_sha256)))
    assert stored == {token_hash(c) for c in recovery}  # only hashes are kept

    without = _sign_in(client, email)
    assert without.status_code == 401
    assert without.json()["type"].endswith("/second-factor-required")
    code = _next_code(totp)
    assert _sign_in(client, email, code).status_code == 201
    replay = _sign_in(client, email, code)
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    # The code the enrolment was confirmed with is spent as well.
    assert _sign_in(client, email, totp.now()).status_code == 401
    status = client.get("/api/v1/auth/totp", headers=headers).json()
    assert status == {"enabled": True, "required": False, "unused_recovery_codes": 10}


def test_a_recovery_code_works_once(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["operator"]
    _, recovery = _enrol(client, token(client, world, "operator"))
    assert _sign_in(client, email, recovery[0].upper()).status_code == 201
    assert _sign_in(client, email, recovery[0]).status_code == 401
    with session_factory() as s:
        used = s.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()
    assert [u.code_sha256 for u in used] == [token_hash(recovery[0])]


def test_disable_needs_a_code_and_removes_everything(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    totp, _ = _enrol(client, headers)
    refused = client.post("/api/v1/auth/totp/disable", json={"code": "123456"}, headers=headers)
    assert refused.status_code == 422
    done = client.post(
        "/api/v1/auth/totp/disable", json={"code": _next_code(totp)}, headers=headers
    )
    assert done.status_code == 204
    with session_factory() as s:
        assert s.get(TotpEnrolment, world.ids["therapist_madrid"]) is None
        assert s.scalars(select(RecoveryCode)).all() == []
    assert _sign_in(client, world.emails["therapist_madrid"]).status_code == 201


def test_an_unconfirmed_enrolment_does_not_guard_sign_in(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    assert client.post("/api/v1/auth/totp", headers=headers).status_code == 201
    assert _sign_in(client, world.emails["therapist_madrid"]).status_code == 201


def test_browser_sign_in_asks_for_the_code(client: TestClient, world: World) -> None:
    totp, _ = _enrol(client, token(client, world, "therapist_madrid"))

    def attempt(code: str) -> int:
        page = client.get("/login")
        login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={
                "email": world.emails["therapist_madrid"],
                "password": PASSWORD,
                "login_csrf": login_csrf,
                "totp_code": code,
            },
            follow_redirects=False,
        )
        return response.status_code

    assert attempt("") == 401
    assert "exoshare_session" not in client.cookies
    assert attempt(_next_code(totp)) == 303
    assert client.cookies.get("exoshare_session")
