"""Live views across server processes: what one process ingests or decides, told to the others.

With several processes in one MQTT shared subscription (:mod:`exoshare.telemetry.mqtt`), the
broker hands each device message to one of them for storage, while a therapist's browser is
connected to any one of them. What a process needs to show a session as a single process would
comes three ways:

* its samples, from the broker: the process that needs a session's samples subscribes to the
  device's samples topic itself (:mod:`exoshare.telerehab.feed`);
* the session's recent batches (what came before that subscription), from the session's history
  stream, which every storage process appends to (:mod:`exoshare.telemetry.history`);
* everything else, on Redis pub/sub, on the installation's channel ``<channel>``: ``group``, what
  a committed ingestion group accepted other than stored sample batches (announces, acks, events,
  ends, and a batch's resends), so every process links recordings to sessions, resolves the acks
  its own requests wait for and follows each session's life; and ``frame``, what a process
  decided for the browsers (a setting change and its outcome, a status change, an alert kept or
  acknowledged).

Redis pub/sub is fire-and-forget: a process that is down misses what is said meanwhile, as its
browsers do, and catches up the way a restarted single process does (from the database, with the
next batches). Device secrets never travel: every message is encoded again from its parsed form.

Alerts are kept (one database row per alert) by one process per session, the holder of a short
Redis lease on it (:meth:`LiveRelay.claim`): it follows the session's samples, viewers or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Collection
from typing import Any

import msgpack
import redis
import redis.asyncio

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.history import RecordingKey, SessionHistory
from exoshare.telemetry.ingest import Accepted
from exoshare.telemetry.protocol import (
    Message,
    SampleBatch,
    decode,
    encode,
    parse_message,
)

log = logging.getLogger(__name__)

ALERT_LEASE_MS = 10_000
"""How long a process keeps the alerts of a session after it last renewed its lease: a process
that dies hands its sessions' alerts to another within this time."""

GroupHandler = Callable[[list[Accepted]], None]
FrameHandler = Callable[[str, dict[str, Any]], None]
TAKE_LEASE = """
local held = redis.call('GET', KEYS[1])
if (not held) or string.sub(held, 1, -2) == ARGV[1]
   or (ARGV[2] == '+' and string.sub(held, -1) == '-') then
  redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
"""A session's alert lease, atomically: renewed by its holder, taken when free, or taken from a
holder without viewers of the session (the value's last character) by a process with some."""
SEND_MAX = 1000
"""Messages sent in one round trip at most (a backlog goes out in several)."""


def _wire(message: Message) -> bytes:
    return encode(message.to_wire())


def _parsed(payload: bytes) -> Message | None:
    try:
        return parse_message(decode(payload))
    except TelemetryRejected:
        return None


def _entry(done: Accepted) -> list[Any]:
    return [
        done.status,
        done.device_unit_id,
        done.device_serial,
        done.telemetry_session_id,
        _wire(done.message),
    ]


class LiveRelay:
    """One process's side of the Redis channel named ``channel`` at ``url``."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        # A blocking client, used by the sending thread and for leases (from worker threads).
        self._client = redis.Redis.from_url(url)
        self.history = SessionHistory(url, channel)
        """The sessions' recent batches, as storage keeps them (read when a process starts
        showing a session)."""
        self.subscribed = asyncio.Event()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        # Publishing is a round trip to Redis: in the event loop it would hold every browser's
        # frames. One thread sends, in order, everything queued since its last round trip.
        self._sender = threading.Thread(
            target=self._send_forever, name="exoshare-live-relay-send", daemon=True
        )
        self._sender.start()
        self._take = self._client.register_script(TAKE_LEASE)

    # ------------------------------------------------------------------ telling

    def _send(self, kind: str, body: Any) -> None:
        self._outbox.put(msgpack.packb([self.origin, kind, body], use_bin_type=True))

    def _send_forever(self) -> None:
        while True:
            first = self._outbox.get()
            if first is None:
                return
            items = [first]
            done = False
            with contextlib.suppress(queue.Empty):
                while len(items) < SEND_MAX:
                    more = self._outbox.get_nowait()
                    if more is None:
                        done = True
                        break
                    items.append(more)
            try:
                with self._client.pipeline(transaction=False) as pipe:
                    for payload in items:
                        pipe.publish(self.channel, payload)
                    pipe.execute()
            except redis.RedisError as exc:
                # The other processes' browsers miss these, as they would lost MQTT messages;
                # the data itself is stored either way.
                log.warning("live relay: %d messages not sent: %s", len(items), exc)
            if done:
                return

    def group(self, accepted: list[Accepted]) -> None:
        """A committed group, to every process: all it accepted but its stored sample batches,
        which the processes showing their sessions hear from the broker (a resend, answered
        ``duplicate``, is told: it counts in the session's link quality)."""
        told = [
            _entry(done)
            for done in accepted
            if not (isinstance(done.message, SampleBatch) and done.status == "stored")
        ]
        if told:
            self._send("group", told)

    def frame(self, therapy_session_id: str, frame: dict[str, Any]) -> None:
        self._send("frame", [therapy_session_id, frame])

    def recent(self, key: RecordingKey) -> list[SampleBatch]:
        """The recording's batches stored in the last 30 s (blocking; RedisError)."""
        return self.history.read(key)

    # ------------------------------------------------------------------ alert leases

    def _lease(self, therapy_session_id: str) -> str:
        return f"{self.channel}:alerts:{therapy_session_id}"

    def claim(
        self, therapy_session_ids: Collection[str], watched: Collection[str] = ()
    ) -> set[str]:
        """Of these sessions, those whose alerts this process keeps: it held their lease (now
        renewed) or took it because nobody held it, or because this process has viewers of the
        session (``watched``) and the holder has none: the process that shows a session also
        keeps its alerts, so a watched session is decoded by one process, not two. One round
        trip for any number of sessions."""
        ids = list(therapy_session_ids)
        if not ids:
            return set()
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for therapy_id in ids:
                    flag = "+" if therapy_id in watched else "-"
                    self._take(
                        keys=[self._lease(therapy_id)],
                        args=[self.origin, flag, ALERT_LEASE_MS],
                        client=pipe,
                    )
                taken = pipe.execute()
            return {therapy_id for therapy_id, ok in zip(ids, taken, strict=True) if ok}
        except redis.RedisError as exc:
            # Better an alert kept twice than a fall nobody hears of.
            log.warning("live relay alert lease: %s", exc)
            return set(ids)

    # ------------------------------------------------------------------ hearing

    async def listen(self, on_group: GroupHandler, on_frame: FrameHandler) -> None:
        """Hand every other process's messages to the handlers until cancelled, reconnecting."""
        while True:
            client = redis.asyncio.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    while True:
                        item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if item is not None and item.get("type") == "message":
                            await self._dispatch(item["data"], on_group, on_frame)
            except redis.RedisError as exc:
                self.subscribed.clear()
                log.warning("live relay lost %s (%s); retrying", self.channel, exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _dispatch(self, data: bytes, on_group: GroupHandler, on_frame: FrameHandler) -> None:
        try:
            origin, kind, body = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            log.warning("live relay: a message that is not ours on %s", self.channel)
            return
        if origin == self.origin:
            return
        try:
            if kind == "group":
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
        """Send what is queued, then close."""
        self._outbox.put(None)
        self._sender.join(timeout=5.0)
        self._client.close()
        self.history.close()
