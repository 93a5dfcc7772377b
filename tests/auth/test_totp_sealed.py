"""TOTP secrets at rest: sealed under a key derived from the secret key, opened only with it,
re-sealed after a key rotation, and converted both ways by migration 0010."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from exoshare.app import create_app
from exoshare.auth.models import TotpEnrolment
from exoshare.auth.secret_box import SecretBox, totp_box
from exoshare.auth.totp import service as totp
from exoshare.config import Settings
from exoshare.db import alembic_config, make_engine
from exoshare.errors import UndecryptableSecret
from exoshare.runtime import runtime_of
from tests.world import PASSWORD, World, token

TOKEN = "/api/v1/auth/token"


def _enrol(client: TestClient, headers: dict[str, str]) -> pyotp.TOTP:
    secret = client.post("/api/v1/auth/totp", headers=headers).json()["secret"]
    code = pyotp.TOTP(secret)
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": code.now()}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return code


def _stored(factory: sessionmaker[Session], user_id: str) -> str:
    with factory() as s:
        enrolment = s.get(TotpEnrolment, user_id)
        assert enrolment is not None
        return enrolment.secret


def test_the_database_holds_only_the_sealed_secret(
    client: TestClient, world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    user_id = world.ids["therapist_madrid"]
    code = _enrol(client, token(client, world, "therapist_madrid"))
    stored = _stored(session_factory, user_id)
    assert code.secret not in stored and len(stored) > 100
    assert totp_box(settings).open(stored) == code.secret
    with pytest.raises(UndecryptableSecret):
        SecretBox("another-key").open(stored)
    signed_in = client.post(
        TOKEN,
        json={
            "email": world.emails["therapist_madrid"],
            "password": PASSWORD,
            "totp_code": code.at(time.time() + code.interval),
        },
    )
    assert signed_in.status_code == 201, signed_in.text


def test_a_key_rotation_keeps_second_factors_working(
    client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
) -> None:
    user_id = world.ids["therapist_madrid"]
    code = _enrol(client, token(client, world, "therapist_madrid"))
    before = _stored(session_factory, user_id)

    rotated = Settings(
        database_url=database_url,
        data_dir=tmp_path / "rotated",
        secret_key="new-secret",
        previous_secret_keys="test-secret",
        cookie_secure=False,
    )
    with session_factory() as s:
        assert totp.reseal_all(s, totp_box(rotated)) == 1
        s.commit()
    after = _stored(session_factory, user_id)
    assert after != before
    # Once re-sealed, the new key alone opens it and the old one no longer does.
    assert SecretBox("new-secret").open(after) == code.secret
    with pytest.raises(UndecryptableSecret):
        SecretBox("test-secret").open(after)

    without_old = rotated.model_copy(update={"previous_secret_keys": None})
    app = create_app(without_old)
    with TestClient(app) as rotated_client:
        signed_in = rotated_client.post(
            TOKEN,
            json={
                "email": world.emails["therapist_madrid"],
                "password": PASSWORD,
                "totp_code": code.at(time.time() + code.interval),
            },
        )
    runtime_of(app).engine.dispose()
    assert signed_in.status_code == 201, signed_in.text


def test_reseal_without_the_former_key_changes_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    user_id = world.ids["therapist_madrid"]
    _enrol(client, token(client, world, "therapist_madrid"))
    before = _stored(session_factory, user_id)
    with session_factory() as s, pytest.raises(UndecryptableSecret):
        totp.reseal_all(s, SecretBox("new-secret"))
    assert _stored(session_factory, user_id) == before


def test_a_lost_key_answers_503_not_500(
    client: TestClient, world: World, database_url: str, tmp_path: Path
) -> None:
    code = _enrol(client, token(client, world, "therapist_madrid"))
    other = Settings(
        database_url=database_url,
        data_dir=tmp_path / "other",
        secret_key="an-unrelated-key",
        cookie_secure=False,
    )
    app = create_app(other)
    with TestClient(app) as other_client:
        answer = other_client.post(
            TOKEN,
            json={
                "email": world.emails["therapist_madrid"],
                "password": PASSWORD,
                "totp_code": code.now(),
            },
        )
    runtime_of(app).engine.dispose()
    assert answer.status_code == 503
    assert answer.json()["title"] == "Stored secret unreadable"
    assert "EXOSHARE_PREVIOUS_SECRET_KEYS" in answer.json()["detail"]


def test_migration_0010_seals_on_upgrade_and_opens_on_downgrade(
    client: TestClient, world: World, database_url: str
) -> None:
    user_id = world.ids["therapist_madrid"]
    code = _enrol(client, token(client, world, "therapist_madrid"))
    config = alembic_config(database_url)
    config.attributes["secret_key"] = "test-secret"
    engine = make_engine(database_url)
    select_secret = text("SELECT secret FROM totp_enrolments WHERE user_id = :u")
    try:
        command.downgrade(config, "0007")  # undoes only the merge: both parents stay
        with engine.connect() as connection:
            assert connection.scalar(select_secret, {"u": user_id}) == code.secret
            heads = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
        assert heads == {"0005", "0007"}
        command.upgrade(config, "0010")
        with engine.connect() as connection:
            sealed = connection.scalar(select_secret, {"u": user_id})
            heads = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
        assert heads == {"0010"}
    finally:
        engine.dispose()
    assert sealed != code.secret and SecretBox("test-secret").open(sealed) == code.secret
