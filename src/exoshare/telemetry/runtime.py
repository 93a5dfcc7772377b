"""Telemetry inside the web process: the raw store, the ingestor, and the MQTT broker and worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from exoshare.config import Settings
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.ingest_process import IngestProcess
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker, embedded_broker
from exoshare.telemetry.store import RawStore

log = logging.getLogger(__name__)


def raw_store(app: FastAPI) -> RawStore:
    store: RawStore | None = getattr(app.state, "telemetry_store", None)
    if store is None:
        settings: Settings = app.state.settings
        store = RawStore(settings.resolved_telemetry_url())
        app.state.telemetry_store = store
    return store


def ingestor(app: FastAPI) -> Ingestor:
    found: Ingestor | None = getattr(app.state, "telemetry_ingestor", None)
    if found is None:
        settings: Settings = app.state.settings
        # The served app keeps each ingestion group's batches in one Parquet file (one small
        # file per 10-sample batch costs more CPU than everything else on the path).
        found = Ingestor(
            app.state.sessionmaker,
            raw_store(app),
            settings.telemetry_max_nan_run_s,
            group_files=True,
        )
        app.state.telemetry_ingestor = found
    return found


@contextlib.asynccontextmanager
async def telemetry_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With ``mqtt_ingest``: the embedded broker (unless ``mqtt_url`` is set) and the worker."""
    settings: Settings = app.state.settings
    if not settings.mqtt_ingest:
        yield
        return
    async with contextlib.AsyncExitStack() as stack:
        if settings.mqtt_url:
            address = BrokerAddress.parse(settings.mqtt_url)
        else:
            address = await stack.enter_async_context(
                embedded_broker(settings.host, settings.mqtt_embedded_port)
            )
        app.state.mqtt_broker = address
        storage = IngestProcess(settings, ingestor(app), address)
        await asyncio.to_thread(storage.start)
        worker = MqttIngestWorker(storage, address)
        app.state.mqtt_worker = worker
        task = asyncio.create_task(worker.run(), name="exoshare-mqtt-ingest")
        log.info("MQTT ingestion from %s", address.url)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.to_thread(storage.close)
