"""Login throttling: per account name and per address, in the database, without revealing
whether an account exists; a good sign-in clears the account's count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.app import create_app
from exoshare.auth.models import LoginThrottle
from exoshare.config import Settings
from exoshare.runtime import runtime_of
from tests.world import PASSWORD, World

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.login_free_failures_per_account = 3
    settings.login_free_failures_per_address = 10
    settings.login_backoff_first_s = 60
    return settings


def _try(client: TestClient, email: str, password: str = "wrong-password") -> int:
    return client.post(TOKEN, json={"email": email, "password": password}).status_code


def test_account_waits_after_its_free_failures_known_or_not(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    known, unknown = world.emails["operator"], "nobody@test.exoshare.org"
    # Interleaved, so both wait from (nearly) the same moment and answer with the same seconds.
    for _ in range(3):
        assert [_try(client, known), _try(client, unknown)] == [401, 401]
    blocked = [
        client.post(TOKEN, json={"email": e, "password": PASSWORD}) for e in (known, unknown)
    ]
    assert [b.status_code for b in blocked] == [429, 429]
    assert blocked[0].json() == blocked[1].json()
    assert blocked[0].headers["retry-after"] == blocked[1].headers["retry-after"] == "60"
    assert blocked[0].json()["type"].endswith("/too-many-attempts")
    with session_factory() as s:
        rows = {r.key: r for r in s.scalars(select(LoginThrottle))}
    assert rows[f"account:{known}"].failures == rows[f"account:{unknown}"].failures == 3
    assert rows["address:testclient"].failures == 6
    # The waiting account does not hold others back (the address still has free failures).
    assert _try(client, world.emails["therapist_madrid"], PASSWORD) == 201


def test_a_good_sign_in_clears_the_account_count(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    email = world.emails["operator"]
    assert [_try(client, email) for _ in range(2)] == [401, 401]
    assert _try(client, email, PASSWORD) == 201
    with session_factory() as s:
        assert s.get(LoginThrottle, f"account:{email}") is None
        address = s.get(LoginThrottle, "address:testclient")
        assert address is not None and address.failures == 2
    assert [_try(client, email) for _ in range(3)] == [401, 401, 401]
    assert _try(client, email, PASSWORD) == 429


def test_an_address_waits_after_failures_across_many_accounts(
    client: TestClient, world: World
) -> None:
    codes = [_try(client, f"guess{n}@test.exoshare.org") for n in range(10)]
    assert codes == [401] * 10
    assert _try(client, world.emails["operator"], PASSWORD) == 429


def test_the_count_holds_across_server_processes(
    client: TestClient, world: World, settings: Settings
) -> None:
    email = world.emails["operator"]
    assert [_try(client, email) for _ in range(3)] == [401, 401, 401]
    # A second app on the same database, as a second worker process would be.
    other = create_app(settings)
    with TestClient(other) as second:
        response = second.post(TOKEN, json={"email": email, "password": PASSWORD})
    runtime_of(other).engine.dispose()
    assert response.status_code == 429


def test_browser_sign_in_is_throttled_too(client: TestClient, world: World) -> None:
    def attempt(password: str) -> tuple[int, str | None]:
        page = client.get("/login")
        login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={
                "email": world.emails["operator"],
                "password": password,
                "login_csrf": login_csrf,
            },
            follow_redirects=False,
        )
        return response.status_code, response.headers.get("retry-after")

    assert [attempt("wrong-password")[0] for _ in range(3)] == [401, 401, 401]
    status, retry_after = attempt(PASSWORD)
    assert (status, retry_after) == (429, "60")
    assert "exoshare_session" not in client.cookies


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    runtime_of(app).engine.dispose()
