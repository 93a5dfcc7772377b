"""A server process's own broker subscriptions to the devices whose sessions it shows.

With several processes (docs/scaling.md), storage shares one MQTT subscription, so the broker
hands each device message to one of them, while a therapist's browser is on any one. The process
that needs a session's samples (one of its browsers watches it, or it keeps the session's alerts)
therefore subscribes on the broker to that device's samples topic, and the broker, which fans
messages out anyway, hands it every batch of the session as it arrives. Relaying every batch
through Redis instead (each process publishing what it ingested for the others) cost each process
about a fifth of its CPU at 200 live sessions: encoding, a script call per round, and
redis-py reading every message back in the other process, against one MQTT message read here.

A batch is shown only from a device whose credential ingestion verified lately (``known_device``,
as the live tap of the storage worker); one that comes before is held, a few seconds at most, and
shown before the device's next verified batch.

Subscriptions are QoS 0, as the storage worker's: a batch lost between the broker and this
process is a gap in the live view (the stored copy is whole; the device resends only what
storage did not answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import aiomqtt

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.mqtt import BrokerAddress, LiveTap, reading_client, while_connected
from exoshare.telemetry.protocol import (
    TOPIC_ROOT,
    SampleBatch,
    decode,
    parse_message,
    parse_topic,
)

log = logging.getLogger(__name__)

HOLD_UNVERIFIED = 50
"""Batches held per device until its credential is known to be verified (5 s of a device
sending 10 batches a second; the credentials the live view trusts are checked every 2 s)."""
FEED_CLIENT_ID = f"exoshare-live-{socket.gethostname()}-{os.getpid()}"

KnownDevice = Callable[[dict[str, Any], str], "str | None"]
"""(decoded message, topic serial) → the device unit id when its credential was verified lately."""


def samples_topic(serial: str) -> str:
    """The device's samples topic under any clinic (a serial names one device).

    >>> samples_topic("SX2-0001")
    'exoshare/v1/+/SX2-0001/samples'
    """
    return f"{TOPIC_ROOT}/+/{serial}/samples"


class DeviceFeed:
    """Subscribes to the samples of the devices it is told to follow; taps each batch."""

    def __init__(
        self,
        broker: BrokerAddress,
        tap: LiveTap,
        known_device: KnownDevice,
        client_id: str = FEED_CLIENT_ID,
        reconnect_s: float = 2.0,
    ) -> None:
        self.broker = broker
        self.tap = tap
        self.known_device = known_device
        self.client_id = client_id
        self.reconnect_s = reconnect_s
        self.received = 0
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._owners: dict[str, set[str]] = {}
        """Serial → who follows it (therapy session ids): one device may end a session and
        start the next while the first is still being let go."""
        self._ready: dict[str, list[Callable[[], None]]] = {}
        """Serial → told (in the event loop) once the broker has confirmed the subscription."""
        self._joined: set[str] = set()
        self._changed = asyncio.Event()
        self._held: dict[str, deque[tuple[SampleBatch, bytes | None]]] = {}

    # ------------------------------------------------------------------ following

    def follow(self, serial: str, owner: str, ready: Callable[[], None] | None = None) -> bool:
        """Receive the device's batches for ``owner`` (from any thread); whether this started
        it. ``ready`` is called in the event loop once the broker has confirmed the
        subscription (at once, soon, when it has already)."""
        if not serial or any(c in serial for c in "/+#"):
            log.warning("live feed: %r cannot be a topic level; not followed", serial)
            return False
        with self._lock:
            owners = self._owners.setdefault(serial, set())
            started = not owners
            owners.add(owner)
            if ready is not None:
                self._ready.setdefault(serial, []).append(ready)
        self._poke()
        return started

    def unfollow(self, serial: str, owner: str) -> None:
        with self._lock:
            owners = self._owners.get(serial)
            if owners is None:
                return
            owners.discard(owner)
            if owners:
                return
            del self._owners[serial]
            self._ready.pop(serial, None)
            self._held.pop(serial, None)
        self._poke()

    def following(self, serial: str, owner: str) -> bool:
        return owner in self._owners.get(serial, ())

    def _poke(self) -> None:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            self._changed.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(self._changed.set)

    # ------------------------------------------------------------------ receiving

    async def run(self) -> None:
        """Follow until cancelled, subscribing again after the broker went away."""
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                log.warning("live feed lost %s (%s); retrying", self.broker.url, exc)
                await asyncio.sleep(self.reconnect_s)

    async def _session(self) -> None:
        client = reading_client(self.broker, self.client_id, self._received)
        async with client:
            self._joined = set()  # a clean session: the broker kept none of them
            await while_connected(client, self._subscribing(client))

    async def _subscribing(self, client: aiomqtt.Client) -> None:
        """Keep the broker's subscriptions those wanted; tell each ``ready`` once confirmed."""
        self._changed.set()
        while True:
            await self._changed.wait()
            self._changed.clear()
            with self._lock:
                wanted = set(self._owners)
            new = sorted(wanted - self._joined)
            gone = sorted(self._joined - wanted)
            if new:
                # One SUBSCRIBE for all, answered once the broker routes them (SUBACK).
                await client.subscribe([(samples_topic(serial), 0) for serial in new])
            if gone:
                await client.unsubscribe([samples_topic(serial) for serial in gone])
            self._joined = (self._joined | set(new)) - set(gone)
            with self._lock:
                ready = [told for serial in self._joined for told in self._ready.pop(serial, ())]
            for told in ready:
                try:
                    told()
                except Exception:
                    log.exception("live feed: a subscription's follower failed")

    def _received(self, message: aiomqtt.Message) -> None:
        """In the event loop, inside paho's read of the socket."""
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            return
        try:
            _, serial, kind = parse_topic(message.topic.value)
            if kind != "samples":
                return
            obj = decode(bytes(payload))
            batch = parse_message(obj)
        except TelemetryRejected:
            return  # storage answers the device with the reason
        if not isinstance(batch, SampleBatch):
            return
        self.received += 1
        wire = bytes(payload) if obj.keys() <= SampleBatch.WIRE_FIELDS else None
        unit_id = self.known_device(obj, serial)
        if unit_id is None:
            with self._lock:
                if serial in self._owners:
                    held = self._held.setdefault(serial, deque(maxlen=HOLD_UNVERIFIED))
                    held.append((batch, wire))
            return
        earlier = self._held.pop(serial, None) if self._held else None
        for held_batch, held_wire in earlier or ():
            self._tap(unit_id, held_batch, held_wire)
        self._tap(unit_id, batch, wire)

    def _tap(self, unit_id: str, batch: SampleBatch, wire: bytes | None) -> None:
        try:
            self.tap(unit_id, batch, wire)
        except Exception:
            log.exception("live feed tap failed")
