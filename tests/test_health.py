"""GET /api/v1/health: what is up, unauthenticated, 503 while MQTT ingestion is not ready."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.health import wait_until_healthy
from exoshare.runtime import runtime_of


def test_health_says_what_is_up_without_a_login(client: TestClient) -> None:
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() | {"version": "?"} == {
        "status": "ok",
        "version": "?",
        "database": "ok",
        "mqtt_ingest": "off",
        "mqtt_messages": 0,
    }


def test_health_is_503_until_the_mqtt_worker_is_subscribed(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"mqtt_ingest": True}))
    # Without its lifespan the app has no worker yet: as in the seconds after start-up.
    answer = TestClient(app).get("/api/v1/health")
    runtime_of(app).engine.dispose()
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["mqtt_ingest"] == "connecting"


def test_waiting_for_a_server_that_is_not_there_gives_up_in_time() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    assert not wait_until_healthy(f"http://127.0.0.1:{port}", timeout_s=0.5)
