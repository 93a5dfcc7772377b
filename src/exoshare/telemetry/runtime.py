"""Telemetry inside the web process: the raw store, the ingestor, and the MQTT broker and worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from exoshare.config import Settings
from exoshare.runtime import runtime_of
from exoshare.telemetry import credentials
from exoshare.telemetry.broker_acl import SERVER_USERNAME, installation_server_password
from exoshare.telemetry.broker_trust import DeviceTrust
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.ingest_process import IngestProcess
from exoshare.telemetry.mosquitto import MosquittoSync
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker, embedded_broker
from exoshare.telemetry.store import RawStore

log = logging.getLogger(__name__)


def raw_store(app: FastAPI) -> RawStore:
    parts = runtime_of(app).telemetry
    if parts.store is None:
        parts.store = RawStore(runtime_of(app).settings.resolved_telemetry_url())
    return parts.store


def ingestor(app: FastAPI) -> Ingestor:
    parts = runtime_of(app).telemetry
    if parts.ingestor is None:
        settings = runtime_of(app).settings
        # The served app keeps each ingestion group's batches in one Parquet file (one small
        # file per 10-sample batch costs more CPU than everything else on the path).
        parts.ingestor = Ingestor(
            runtime_of(app).sessionmaker,
            raw_store(app),
            settings.telemetry_max_nan_run_s,
            group_files=True,
        )
    return parts.ingestor


@contextlib.asynccontextmanager
async def telemetry_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With ``mqtt_ingest``: the embedded broker (unless ``mqtt_url`` is set) and the worker,
    both as the server's broker identity; with ``mosquitto_dir``, Mosquitto's files follow every
    credential issued or revoked here."""
    settings: Settings = runtime_of(app).settings
    if not settings.mqtt_ingest:
        yield
        return
    async with contextlib.AsyncExitStack() as stack:
        server_password = installation_server_password(settings)
        if settings.mosquitto_dir is not None:
            mosquitto = MosquittoSync(
                runtime_of(app).sessionmaker,
                settings.mosquitto_dir,
                server_password,
                settings.mosquitto_pid_file,
            )
            stack.callback(credentials.add_credential_listener(mosquitto.on_credential_change))
        if settings.mqtt_url:
            # The server's broker identity, unless the URL names one (user:password@).
            address = BrokerAddress.parse(settings.mqtt_url).with_identity(
                SERVER_USERNAME, server_password
            )
        else:
            trust = DeviceTrust(runtime_of(app).sessionmaker, server_password)
            address = await stack.enter_async_context(
                embedded_broker(trust, settings.mqtt_embedded_host, settings.mqtt_embedded_port)
            )
        runtime_of(app).telemetry.broker = address
        storage = IngestProcess(settings, ingestor(app), address)
        await asyncio.to_thread(storage.start)
        # On an external broker several servers may ingest: they share the subscription.
        group = settings.mqtt_share_group if settings.mqtt_url else None
        worker = MqttIngestWorker(storage, address, share_group=group or None)
        runtime_of(app).telemetry.worker = worker
        tasks = [
            asyncio.create_task(worker.run(), name="exoshare-mqtt-ingest"),
            asyncio.create_task(_reverifying(storage), name="exoshare-tap-credentials"),
        ]
        log.info("MQTT ingestion from %s", address.url)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(storage.close)


REVERIFY_S = 2.0
"""How often the live tap's device credentials are checked again: well within their 5 s TTL."""


async def _reverifying(storage: IngestProcess) -> None:
    """Keep the live tap's verified devices current whatever storage's lag
    (:meth:`IngestProcess.reverify`); a failed check is logged and tried again."""
    while True:
        await asyncio.sleep(REVERIFY_S)
        try:
            await asyncio.to_thread(storage.reverify)
        except Exception:
            log.exception("could not check the live tap's device credentials again")
