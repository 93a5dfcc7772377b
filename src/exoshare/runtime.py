"""What one running exoshare app holds beside its routes, as one typed object built in app.py.

Routes and lifespans reach it with :func:`runtime_of`; nothing hangs loose on ``app.state``.
The parts made on first use (telemetry's store and ingestor, telerehab's live hub) or by the
lifespan (the MQTT broker address and ingest worker) start empty and are filled in place by
their owners: ``telemetry/runtime.py`` and ``telerehab/runtime.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from exoshare.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from exoshare.auth.live_sockets import LiveSocketRegistry
    from exoshare.auth.throttle import LoginThrottler
    from exoshare.telemetry.ingest import Ingestor
    from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
    from exoshare.telemetry.store import RawStore
    from exoshare.telerehab.runtime import TelerehabRuntime


@dataclass
class TelemetryParts:
    """Telemetry in the web process: raw store and ingestor (first use), broker and worker
    (lifespan, with ``mqtt_ingest``)."""

    store: RawStore | None = None
    ingestor: Ingestor | None = None
    broker: BrokerAddress | None = None
    worker: MqttIngestWorker | None = None


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    login_throttler: LoginThrottler
    live_sockets: LiveSocketRegistry
    telemetry: TelemetryParts = field(default_factory=TelemetryParts)
    telerehab: TelerehabRuntime | None = None


def runtime_of(source: Starlette | HTTPConnection) -> Runtime:
    """The runtime of the app that ``source`` (an app, a request or a WebSocket) belongs to."""
    app = source.app if isinstance(source, HTTPConnection) else source
    runtime: Runtime = app.state.runtime
    return runtime
