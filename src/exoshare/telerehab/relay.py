"""Live views across server processes: what one process ingests or decides, told to the others.

With several processes in one MQTT shared subscription (:mod:`exoshare.telemetry.mqtt`), the
broker hands each device message to one of them, so no process hears a whole session by itself,
while a therapist's browser is connected to any one of them. Each process therefore publishes on
one Redis pub/sub channel what the others need to show every session as a single process would:

* ``tap``: a sample batch as it arrived (before storage), so every hub shows it at once;
* ``group``: what a committed ingestion group accepted (announces, acks, events, ends, batches),
  so every process links recordings to sessions, resolves the acks its own requests wait for and
  follows each session's life;
* ``frame``: what a process decided for the browsers (a setting change and its outcome, a status
  change, an alert kept or acknowledged), which every process shows to its own viewers.

Redis pub/sub is fire-and-forget: a process that is down misses what is said meanwhile, as its
browsers do, and catches up the way a restarted single process does (from the database, with the
next batches). Device secrets never travel: messages are re-encoded from their parsed form.

Alerts are kept (one database row per alert) by one process per session: every hub computes them
from the same stream, and the holder of a short Redis lease on the session keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import msgpack
import redis
import redis.asyncio

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.ingest import Accepted
from exoshare.telemetry.protocol import Message, decode, encode, parse_message

log = logging.getLogger(__name__)

ALERT_LEASE_MS = 10_000
"""How long a process keeps the alerts of a session after it last kept one: a process that dies
hands its sessions' alerts to another within this time."""

TapHandler = Callable[[str, Message], None]
GroupHandler = Callable[[list[Accepted]], None]
FrameHandler = Callable[[str, dict[str, Any]], None]


def _wire(message: Message) -> bytes:
    return encode(message.to_wire())


def _parsed(payload: bytes) -> Message | None:
    try:
        return parse_message(decode(payload))
    except TelemetryRejected:
        return None


class LiveRelay:
    """One process's side of the Redis channel ``channel`` at ``url``."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        # A blocking client: publishing is called from the event loop (taps) and from ingestion
        # threads alike; a local Redis answers a PUBLISH in well under a millisecond.
        self._client = redis.Redis.from_url(url)
        self.subscribed = asyncio.Event()

    # ------------------------------------------------------------------ telling

    def _send(self, kind: str, body: Any) -> None:
        try:
            self._client.publish(
                self.channel, msgpack.packb([self.origin, kind, body], use_bin_type=True)
            )
        except redis.RedisError as exc:
            # The other processes' browsers miss this, as they would a lost MQTT message; the
            # data itself is stored either way.
            log.warning("live relay %s: %s", kind, exc)

    def tap(self, device_unit_id: str, message: Message) -> None:
        self._send("tap", [device_unit_id, _wire(message)])

    def group(self, accepted: list[Accepted]) -> None:
        self._send(
            "group",
            [
                [
                    done.status,
                    done.device_unit_id,
                    done.device_serial,
                    done.telemetry_session_id,
                    _wire(done.message),
                ]
                for done in accepted
            ],
        )

    def frame(self, therapy_session_id: str, frame: dict[str, Any]) -> None:
        self._send("frame", [therapy_session_id, frame])

    def keeps_alerts(self, therapy_session_id: str) -> bool:
        """Whether this process keeps the session's alerts (it holds or just took the lease)."""
        key = f"{self.channel}:alerts:{therapy_session_id}"
        try:
            if self._client.set(key, self.origin, nx=True, px=ALERT_LEASE_MS):
                return True
            holder = self._client.get(key)
            if holder in (self.origin, self.origin.encode()):
                self._client.pexpire(key, ALERT_LEASE_MS)
                return True
            return False
        except redis.RedisError as exc:
            # Better an alert kept twice than a fall nobody hears of.
            log.warning("live relay alert lease: %s", exc)
            return True

    # ------------------------------------------------------------------ hearing

    async def listen(
        self, on_tap: TapHandler, on_group: GroupHandler, on_frame: FrameHandler
    ) -> None:
        """Hand every other process's messages to the handlers until cancelled, reconnecting."""
        while True:
            client = redis.asyncio.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        await self._dispatch(item["data"], on_tap, on_group, on_frame)
            except redis.RedisError as exc:
                self.subscribed.clear()
                log.warning("live relay lost %s (%s); retrying", self.channel, exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _dispatch(
        self, data: bytes, on_tap: TapHandler, on_group: GroupHandler, on_frame: FrameHandler
    ) -> None:
        try:
            origin, kind, body = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            log.warning("live relay: a message that is not ours on %s", self.channel)
            return
        if origin == self.origin:
            return
        try:
            if kind == "tap":
                unit_id, payload = body
                message = _parsed(payload)
                if message is not None:
                    on_tap(unit_id, message)
            elif kind == "group":
                accepted = []
                for status, unit_id, serial, telemetry_id, payload in body:
                    message = _parsed(payload)
                    if message is not None:
                        accepted.append(Accepted(status, message, unit_id, serial, telemetry_id))
                # Following a session reads the database: not in the event loop.
                await asyncio.to_thread(on_group, accepted)
            elif kind == "frame":
                therapy_session_id, frame = body
                # A status frame may make this process follow the session: a database read.
                await asyncio.to_thread(on_frame, therapy_session_id, frame)
        except Exception:
            log.exception("live relay failed on a %s message", kind)

    def close(self) -> None:
        self._client.close()
