"""A request's writes are committed before its response leaves the server.

Through a real server (uvicorn on a socket), a client that acts on a response at once must see
what that response reports: a revoked token is refused on its very next use, a fresh one is
accepted on its first. TestClient cannot show this, since it returns only after the whole
application call, teardown included, has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from exoshare.app import create_app
from exoshare.auth.gate import SESSION_COOKIE
from exoshare.config import Settings
from exoshare.health import wait_until_healthy
from exoshare.runtime import runtime_of
from tests.e2e.conftest import free_port
from tests.world import PASSWORD, build_world

ROUNDS = 50


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    build_world(runtime_of(app).sessionmaker)
    port = free_port()
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(url, timeout_s=60.0):
        raise RuntimeError("the test server did not become healthy within 60 s")
    yield url
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    runtime_of(app).engine.dispose()


EMAIL = "therapist_madrid@test.exoshare.org"


def _new_token(http: httpx.Client) -> str:
    response = http.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def test_a_fresh_token_works_and_a_revoked_one_fails_on_the_very_next_request(
    server: str,
) -> None:
    first_use = []
    after_revoke = []
    with httpx.Client(base_url=server, timeout=30) as http:
        for _ in range(ROUNDS):
            bearer = {"Authorization": f"Bearer {_new_token(http)}"}
            me = http.get("/api/v1/me", headers=bearer)
            first_use.append(me.status_code)
            assert http.delete("/api/v1/auth/token", headers=bearer).status_code == 204
            after_revoke.append(http.get("/api/v1/me", headers=bearer).status_code)
    assert first_use == [200] * ROUNDS
    assert after_revoke == [401] * ROUNDS


def test_a_browser_session_works_at_once_and_ends_at_once_with_logout(server: str) -> None:
    home_after_login = []
    home_after_logout = []
    with httpx.Client(base_url=server, timeout=30) as http:
        for _ in range(ROUNDS):
            http.cookies.clear()
            form = http.get("/login")
            assert form.status_code == 200
            login = http.post(
                "/login",
                data={
                    "email": EMAIL,
                    "password": PASSWORD,
                    "login_csrf": http.cookies.get("exoshare_login_csrf", ""),
                },
            )
            assert login.status_code == 303, login.text
            session_cookie = http.cookies.get(SESSION_COOKIE)
            assert session_cookie
            home = http.get("/")
            home_after_login.append(home.status_code)
            csrf = home.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            assert http.post("/logout", data={"csrf_token": csrf}).status_code == 303
            # The browser would drop the cookie; a stolen copy must be worthless at once.
            http.cookies.set(SESSION_COOKIE, session_cookie)
            home_after_logout.append(http.get("/").status_code)
    assert home_after_login == [200] * ROUNDS
    assert home_after_logout == [303] * ROUNDS
