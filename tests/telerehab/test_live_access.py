"""Who may open the live feed: unauthenticated sockets close at once, cookie sockets only from
exoshare's own origin, and signing out closes the session's open sockets."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from exoshare.auth.live_sockets import POLICY_VIOLATION
from exoshare.config import Settings
from exoshare.runtime import runtime_of
from exoshare.telerehab import api as live_api
from tests.telerehab.helpers import announce, device_secret, plan, ready_world
from tests.world import World, form_csrf, sign_in, token

API = "/api/v1/telerehab"
OWN_ORIGIN = "http://testserver"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.websocket_allowed_origins = ["https://wall-display.clinic.example"]
    return settings


def _running_session(client: TestClient, factory: sessionmaker[Session]) -> tuple[World, str]:
    world = ready_world(factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    client.post(f"{API}/sessions/{sid}/start", headers=maria)
    assert announce(client, device_secret(factory, world), world) == "stored"
    return world, sid


def _browser_login(client: TestClient, email: str) -> str:
    """Signs in as a browser; the CSRF token of the signed-in pages."""
    sign_in(client, email)
    return form_csrf(client.get("/").text)


def _closed_with(client: TestClient, path: str, headers: dict[str, str]) -> int:
    """The close code of a socket that must close before sending a single frame."""
    with (
        client.websocket_connect(path, headers=headers) as socket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        socket.receive_text()
    return closed.value.code


def test_unauthenticated_socket_is_closed_at_once(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _, sid = _running_session(client, session_factory)
    path = f"{API}/sessions/{sid}/live"
    assert _closed_with(client, path, {"origin": OWN_ORIGIN}) == POLICY_VIOLATION
    bad_token = {"Authorization": "Bearer exo_not-a-token"}
    assert _closed_with(client, path, bad_token) == POLICY_VIOLATION
    assert _closed_with(client, f"{API}/sessions/nonexistent/live", {}) == POLICY_VIOLATION


def test_cookie_socket_must_come_from_an_allowed_origin(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running_session(client, session_factory)
    path = f"{API}/sessions/{sid}/live"
    _browser_login(client, world.emails["therapist_madrid"])
    for refused in ({"origin": "https://evil.example"}, {}, {"origin": "https://testserver"}):
        assert _closed_with(client, path, refused) == POLICY_VIOLATION, refused
    for allowed in (OWN_ORIGIN, "https://wall-display.clinic.example"):
        with client.websocket_connect(path, headers={"origin": allowed}) as socket:
            snapshot = socket.receive_json()
            assert snapshot["type"] == "snapshot" and snapshot["status"] == "live"


def test_bearer_socket_needs_no_origin(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _running_session(client, session_factory)
    headers = {**token(client, world, "therapist_madrid"), "origin": "https://elsewhere.example"}
    with client.websocket_connect(f"{API}/sessions/{sid}/live", headers=headers) as socket:
        assert socket.receive_json()["type"] == "snapshot"


def _until_closed(socket: Any, limit: int = 20) -> int:
    for _ in range(limit):
        try:
            socket.receive_text()
        except WebSocketDisconnect as closed:
            return closed.code
    raise AssertionError("the socket stayed open")


def test_signing_out_closes_the_sessions_open_sockets(
    client: TestClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pings every 0.1 s: a socket left open keeps sending, so the check below fails in ~2 s
    # instead of waiting on a silent socket.
    monkeypatch.setattr(live_api, "PING_S", 0.1)
    world, sid = _running_session(client, session_factory)
    path = f"{API}/sessions/{sid}/live"
    csrf = _browser_login(client, world.emails["therapist_madrid"])
    other = token(client, world, "therapist_madrid")
    registry = runtime_of(client.app).live_sockets
    with (
        client.websocket_connect(path, headers={"origin": OWN_ORIGIN}) as browser_socket,
        client.websocket_connect(path, headers=other) as api_socket,
    ):
        assert browser_socket.receive_json()["type"] == "snapshot"
        assert api_socket.receive_json()["type"] == "snapshot"
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert _until_closed(browser_socket) == POLICY_VIOLATION
        # The token's socket is another credential's and stays open until that token goes.
        assert sum(registry.open_count(c) for c in list(registry._sockets)) == 1
        assert client.delete("/api/v1/auth/token", headers=other).status_code == 204
        assert _until_closed(api_socket) == POLICY_VIOLATION


def test_revoking_a_grant_closes_the_users_open_sockets(
    client: TestClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_api, "PING_S", 0.1)
    world, sid = _running_session(client, session_factory)
    path = f"{API}/sessions/{sid}/live"
    therapist_id = world.ids["therapist_madrid"]
    maria = token(client, world, "therapist_madrid")
    admin = token(client, world, "admin_madrid")
    watcher = token(client, world, "admin_madrid")
    [grant] = client.get(f"/api/v1/users/{therapist_id}/grants", headers=admin).json()
    with (
        client.websocket_connect(path, headers=maria) as socket,
        client.websocket_connect(path, headers=watcher) as bystander,
    ):
        assert socket.receive_json()["type"] == "snapshot"
        assert bystander.receive_json()["type"] == "snapshot"
        revoked = client.delete(f"/api/v1/users/{therapist_id}/grants/{grant['id']}", headers=admin)
        assert revoked.status_code == 204, revoked.text
        assert _until_closed(socket) == POLICY_VIOLATION
        # Only the user whose grant went loses their sockets; the admin keeps watching.
        assert bystander.receive_json()["type"] in {"snapshot", "ping", "sample", "event"}
    # Reconnecting is checked afresh: without the grant the session is out of sight, answered
    # like a session that does not exist.
    with pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect(path, headers=maria).__enter__()
    assert denied.value.status_code == 404
