"""``GET /api/v1/health``: whether this server process can serve, for load balancers and tools.

Unauthenticated, as probes are, so it says only what is up: the database answers, and the
MQTT ingestion worker is subscribed to the device topics (``off`` when this process does
not ingest MQTT). 200 when everything this process runs is up, 503 otherwise.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from exoshare import __version__
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    database: Literal["ok", "unreachable"]
    mqtt_ingest: Literal["off", "subscribed", "connecting"]
    mqtt_messages: int
    """Device messages this process's ingestion worker received since it started: with several
    processes in one shared subscription, how the broker spreads the devices' messages."""


@router.get("/health", responses={503: {"model": HealthOut, "description": "Something is down"}})
def health(request: Request, response: Response) -> HealthOut:
    try:
        with runtime_of(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    worker = runtime_of(request).telemetry.worker
    if not runtime_of(request).settings.mqtt_ingest:
        mqtt = "off"
    elif worker is not None and worker.subscribed.is_set():
        mqtt = "subscribed"
    else:
        mqtt = "connecting"
    ok = database == "ok" and mqtt != "connecting"
    response.status_code = 200 if ok else 503
    return HealthOut(
        status="ok" if ok else "unavailable",
        version=__version__,
        database=database,
        mqtt_ingest=mqtt,
        mqtt_messages=worker.received if worker is not None else 0,
    )


def wait_until_healthy(
    base_url: str, timeout_s: float = 60.0, stop: threading.Event | None = None
) -> bool:
    """Whether the server at ``base_url`` answers its health with 200 within ``timeout_s``
    (what the demo's devices, the browser tests and the live benchmark wait for before they
    publish: a device's first messages would otherwise go unheard and wait for its resend)."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=2):
                return True  # urlopen raises on 503
        except (urllib.error.URLError, OSError):
            stop.wait(0.1)  # not up yet, or still starting (503 is an HTTPError)
    return False
