"""Verifying a certificate: the public page and status by code, and the Open Badges 3.0
credential checked offline with the public key (valid, tampered, expired, revoked)."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from exoshare.academy import badges
from exoshare.cli import app as cli_app
from exoshare.config import get_settings
from exoshare.runtime import runtime_of
from tests.academy.helpers import academy_world
from tests.world import World, token


def _issue(client: TestClient, world: World, expires_on: str = "2031-06-30") -> dict:
    trainer = token(client, world, "trainer_spain")
    issued = client.post(
        "/api/v1/academy/certificates",
        json={
            "therapist_id": world.ids["therapist_madrid"],
            "model_id": world.ids["model"],
            "issued_on": "2026-07-01",
            "expires_on": expires_on,
        },
        headers=trainer,
    )
    assert issued.status_code == 201, issued.text
    return issued.json()


def _verify(tmp_path: Path, credential: str, keys: dict, *extra: str) -> tuple[int, str]:
    (tmp_path / "credential.json").write_text(credential)
    (tmp_path / "jwks.json").write_text(json.dumps(keys))
    result = CliRunner().invoke(
        cli_app,
        [
            "academy",
            "verify",
            str(tmp_path / "credential.json"),
            "--keys",
            str(tmp_path / "jwks.json"),
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_the_credential_verifies_offline_and_tampering_expiry_and_revocation_show(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = academy_world(runtime_of(client.app).sessionmaker)
    certificate = _issue(client, world)
    maria = token(client, world, "therapist_madrid")
    answer = client.get(
        f"/api/v1/academy/certificates/{certificate['id']}/credential", headers=maria
    )
    assert answer.status_code == 200
    credential = answer.json()
    document = credential["credential"]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"urn:uuid:{certificate['id']}"
    assert document["validUntil"] == "2031-06-30T23:59:59+00:00"
    assert document["credentialSubject"]["achievement"]["name"] == "Strider X2 operator"
    # Minimal personal data: the address only as a salted hash.
    assert "therapist_madrid@" not in json.dumps(document)
    keys = client.get("/.well-known/jwks.json").json()
    assert [(k["kty"], k["crv"], k["alg"]) for k in keys["keys"]] == [("OKP", "Ed25519", "Ed25519")]
    header = json.loads(base64.urlsafe_b64decode(credential["jwt"].split(".")[0] + "=="))
    assert header == {"alg": "Ed25519", "typ": "vc+jwt", "kid": keys["keys"][0]["kid"]}

    text = json.dumps(credential)
    code, output = _verify(tmp_path, text, keys, "--on", "2027-01-15")
    assert code == 0 and "status: valid" in output and "valid until 2031-06-30" in output
    # The JWT alone verifies too.
    assert _verify(tmp_path, credential["jwt"], keys, "--on", "2027-01-15")[0] == 0

    # Tampered: a later expiry written into the signed payload without the issuer's key.
    head, payload, signature = credential["jwt"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"]["validUntil"] = "2040-06-30T23:59:59+00:00"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    code, output = _verify(tmp_path, f"{head}.{forged}.{signature}", keys)
    assert code == 1 and "status: invalid" in output and "signature does not verify" in output
    # Tampered: only the readable copy changed.
    altered = {**credential, "credential": {**document, "validUntil": "2040-06-30T23:59:59+00:00"}}
    code, output = _verify(tmp_path, json.dumps(altered), keys)
    assert code == 1 and "readable 'credential' differs from the signed one" in output
    # Another installation's key does not verify it.
    stranger = badges.public_jwks(["some-other-installation-secret"])
    assert _verify(tmp_path, text, stranger)[0] == 1
    # Expired: checked on a day after the expiry date.
    code, output = _verify(tmp_path, text, keys, "--on", "2031-07-01")
    assert code == 1 and "status: expired" in output and "expired on 2031-06-30" in output

    # Revoked: the trainer revokes; the downloaded, signed revocation list says so offline.
    trainer = token(client, world, "trainer_spain")
    revoked = client.post(
        f"/api/v1/academy/certificates/{certificate['id']}/revocation",
        json={"reason": "left the clinic's training programme"},
        headers=trainer,
    )
    assert (
        revoked.status_code == 200
        and revoked.json()["revocation_reason"] == "left the clinic's training programme"
    )
    revocations = client.get("/api/v1/academy/revocations")
    assert revocations.headers["content-type"] == "application/jwt"
    (tmp_path / "revocations.jwt").write_text(revocations.text)
    code, output = _verify(
        tmp_path,
        text,
        keys,
        "--on",
        "2027-01-15",
        "--revocations",
        str(tmp_path / "revocations.jwt"),
    )
    assert code == 1 and "status: revoked" in output
    # On a verifier's machine the keys must be given: none are made up.
    monkeypatch.setenv("EXOSHARE_DATA_DIR", str(tmp_path / "no-installation"))
    monkeypatch.delenv("EXOSHARE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    alone = CliRunner().invoke(cli_app, ["academy", "verify", str(tmp_path / "credential.json")])
    get_settings.cache_clear()
    assert alone.exit_code == 2 and "give the issuer's keys with --keys" in alone.output
    assert not (tmp_path / "no-installation" / "secret_key").exists()
    # A revoked certificate hands out no new credential.
    assert (
        client.get(
            f"/api/v1/academy/certificates/{certificate['id']}/credential", headers=maria
        ).status_code
        == 404
    )


def test_the_public_verification_page_needs_no_login_and_shows_little(client: TestClient) -> None:
    world = academy_world(runtime_of(client.app).sessionmaker)
    certificate = _issue(client, world, expires_on="2099-12-31")
    code = certificate["verification_code"]
    status = client.get(f"/api/v1/academy/verifications/{code}")
    assert status.status_code == 200
    body = status.json()
    assert {
        k: body[k]
        for k in ("status", "holder_name", "device_model", "issued_on", "expires_on", "revoked_on")
    } == {
        "status": "valid",
        "holder_name": "Therapist Madrid",
        "device_model": "Strider X2",
        "issued_on": "2026-07-01",
        "expires_on": "2099-12-31",
        "revoked_on": None,
    }
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert 'data-status="valid"' in page.text and "Therapist Madrid" in page.text
    assert "therapist_madrid@" not in page.text
    assert "Válido" in client.get(f"/verify/{code}?lang=es").text
    assert client.get("/verify/" + "0" * 24).status_code == 404
    assert client.get("/api/v1/academy/verifications/" + "0" * 24).status_code == 404
    trainer = token(client, world, "trainer_spain")
    client.post(
        f"/api/v1/academy/certificates/{certificate['id']}/revocation",
        json={"reason": "device misuse"},
        headers=trainer,
    )
    after = client.get(f"/api/v1/academy/verifications/{code}").json()
    assert after["status"] == "revoked" and after["revoked_on"] == date.today().isoformat()
    assert 'data-status="revoked"' in client.get(f"/verify/{code}").text
