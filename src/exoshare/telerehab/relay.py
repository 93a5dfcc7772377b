"""Live views across server processes: what one process ingests or decides, told to the others.

With several processes in one MQTT shared subscription (:mod:`exoshare.telemetry.mqtt`), the
broker hands each device message to one of them, so no process hears a whole session by itself,
while a therapist's browser is connected to any one of them. Each process therefore publishes on
Redis pub/sub what the others need to show a session as a single process would:

* on the session's own channel ``<channel>:<device unit id>:<device session id>``: ``tap``, a
  sample batch as it arrived (before storage), and ``stored``, the session's batches a committed
  ingestion group accepted that no tap told (which shows what the tap could not: a session's
  first batches, before its device was verified), and their resends;
* on the installation's channel ``<channel>``: ``group``, everything else a committed group
  accepted (announces, acks, events, ends), so every process links recordings to sessions,
  resolves the acks its own requests wait for and follows each session's life; and ``frame``,
  what a process decided for the browsers (a setting change and its outcome, a status change, an
  alert kept or acknowledged).

A process subscribes to a session's channel only while it needs the session's samples (one of its
browsers watches it, or it keeps the session's alerts, :meth:`LiveRelay.watch`), so decoding and
showing a session costs one process, not every process. Publishing to a channel nobody listens to
costs Redis a lookup.

Redis pub/sub is fire-and-forget: a process that is down misses what is said meanwhile, as its
browsers do, and catches up the way a restarted single process does (from the database, with the
next batches). Device secrets never travel: a tapped batch is passed on as the device sent it
only when it holds nothing but the batch's own fields, and every other message is encoded again
from its parsed form.

What pub/sub does not keep, a session's recent batches, a capped Redis Stream per session does
(``<channel>:history:<device unit id>:<device session id>``): every batch told on the session's
channel is also appended there, in the same pipeline, trimmed to the last ``history_s`` and
expiring when the session goes quiet. A process that starts listening to a session it did not
follow (its first viewer) subscribes first, then reads the stream (:meth:`LiveRelay.listen`'s
``on_backfill``): what was said before the subscription is in the stream, what after it on the
channel, and a batch in both is shown once (the hub knows each batch by its sequence number).

Alerts are kept (one database row per alert) by one process per session, the holder of a short
Redis lease on it (:meth:`LiveRelay.claim`): it follows the session's whole stream, viewers or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

import msgpack
import redis
import redis.asyncio

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.ingest import Accepted
from exoshare.telemetry.protocol import (
    Message,
    SampleBatch,
    SessionEnd,
    decode,
    encode,
    parse_message,
)

log = logging.getLogger(__name__)

ALERT_LEASE_MS = 10_000
"""How long a process keeps the alerts of a session after it last renewed its lease: a process
that dies hands its sessions' alerts to another within this time."""

TapHandler = Callable[[str, Message], None]
GroupHandler = Callable[[list[Accepted]], None]
FrameHandler = Callable[[str, dict[str, Any]], None]
BackfillHandler = Callable[[tuple[str, str], list[SampleBatch]], None]
"""Told (session key, the batches of its history stream) once the listener follows the session."""
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
RELAY = """
local k = 0
for i = 3, #ARGV, 3 do
  if ARGV[i + 2] == '1' then
    k = k + 1
    redis.call('XADD', KEYS[k], 'MINID', '~', ARGV[1], '*', 'm', ARGV[i + 1])
    redis.call('PEXPIRE', KEYS[k], ARGV[2])
  end
  if ARGV[i] ~= '' then
    redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  end
end
"""
"""Messages in order, each (channel or '', message, '1' when it is also appended to the next
stream of KEYS): appended to its session's history before it is published, so a listener that
subscribed before the publish hears it and one after it finds it in the stream. One command for
a whole round: sent before as a pipeline of XADD, PEXPIRE and PUBLISH per message, redis-py's
encoding of each command and of each reply was the sending thread's main cost (a tenth of a
process's samples at 300 sessions on two processes), taken under the interpreter lock from the
event loop."""
TAPPED_KEEP = 64
"""Batches per session remembered as tapped: a stored group follows its batches' taps within a
group's 250 ms (~3 batches of a 100 Hz device), so 64 leave a wide margin."""
HISTORY_S = 30.0
"""How much of a session's recent batches its stream keeps: the display history a browser gets
(:attr:`exoshare.telerehab.live.LiveConfig.history_s`)."""
WATCH_CHANGES_S = 0.05
"""How soon the listener, idle, takes up a session a browser began or stopped watching."""
CONFIRM_S = 5.0
"""How long the listener waits for Redis to confirm a subscription before reading a history
anyway (a batch told in between could then be missed, never shown twice)."""
SessionKey = tuple[str, str]
"""(device unit id, the device's own session id): known to the ingesting process before it
knows which therapy session the recording belongs to."""
_Outgoing = tuple[str | None, bytes, str | None]
"""(channel to publish on or None, message, stream to append it to or None)."""


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
    """One process's side of the Redis channels named after ``channel`` at ``url``."""

    def __init__(self, url: str, channel: str, history_s: float = HISTORY_S) -> None:
        self.url = url
        self.channel = channel
        self.history_ms = round(history_s * 1000)
        self.origin = uuid.uuid4().hex
        # A blocking client, used by the sending thread and for leases (from worker threads).
        self._client = redis.Redis.from_url(url)
        self.subscribed = asyncio.Event()
        self._watched: set[str] = set()
        self._outbox: queue.SimpleQueue[list[_Outgoing] | None] = queue.SimpleQueue()
        self._turn: list[_Outgoing] = []
        """The taps of the event loop's current turn, queued together at its end."""
        # Publishing is a round trip to Redis; in the event loop (taps) it held every browser's
        # frames (in a profile at 25 sessions on 2 processes, half of a process's samples were
        # waiting on Redis). One thread sends, in order, everything queued since its last
        # round trip, as one script call (RELAY).
        self._relay = self._client.register_script(RELAY)
        self._sender = threading.Thread(
            target=self._send_forever, name="exoshare-live-relay-send", daemon=True
        )
        self._sender.start()
        self._tapped: dict[SessionKey, deque[int]] = {}
        """The sequence numbers of each session's latest batches this process tapped."""
        self._take = self._client.register_script(TAKE_LEASE)
        self.joined: set[str] = set()
        """The session channels the listener is subscribed to."""
        self._changed = threading.Event()
        """Set when :attr:`_watched` changed and the listener has not subscribed accordingly."""
        self._backfill: dict[str, SessionKey] = {}
        """Channels whose stream the listener reads once it has subscribed to them."""

    def session_channel(self, key: SessionKey) -> str:
        unit_id, device_session_id = key
        return f"{self.channel}:{unit_id}:{device_session_id}"

    def history_stream(self, key: SessionKey) -> str:
        unit_id, device_session_id = key
        return f"{self.channel}:history:{unit_id}:{device_session_id}"

    # ------------------------------------------------------------------ telling

    def _pack(self, kind: str, body: Any) -> bytes:
        return msgpack.packb([self.origin, kind, body], use_bin_type=True)

    def _send(
        self, kind: str, body: Any, channel: str | None = None, stream: str | None = None
    ) -> None:
        """Queue a message for the sending thread; with ``stream``, also kept in that stream."""
        self._outbox.put([(channel or self.channel, self._pack(kind, body), stream)])

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, []
        if turn:  # empty when close() sent it already
            self._outbox.put(turn)

    def _send_forever(self) -> None:
        while True:
            first = self._outbox.get()
            if first is None:
                return
            items = list(first)
            done = False
            with contextlib.suppress(queue.Empty):
                while len(items) < SEND_MAX:
                    more = self._outbox.get_nowait()
                    if more is None:
                        done = True
                        break
                    items.extend(more)
            try:
                # Entries older than the history go with the next append (MINID, approximate:
                # Redis trims whole nodes, so a little more is kept, never less). The id is
                # Redis's clock and the bound this machine's: clocks kept in step (NTP).
                oldest = f"{round(time.time() * 1000) - self.history_ms}-0"
                streams: list[str] = []
                args: list[Any] = [oldest, 2 * self.history_ms]
                for channel, payload, stream in items:
                    if stream is not None:
                        streams.append(stream)
                    args += (channel or "", payload, "" if stream is None else "1")
                self._relay(keys=streams, args=args)
            except redis.RedisError as exc:
                # The other processes' browsers miss these, as they would lost MQTT messages;
                # the data itself is stored either way.
                log.warning("live relay: %d messages not sent: %s", len(items), exc)
            if done:
                return

    def tap(self, device_unit_id: str, message: Message, payload: bytes | None = None) -> None:
        """A batch as it arrived (the MQTT worker, in the event loop), to its session's channel:
        its ``payload`` as the device sent it when the worker says it holds nothing else (no
        secret), otherwise encoded again from its parsed form."""
        if not isinstance(message, SampleBatch):
            return
        key = (device_unit_id, message.session_id)
        tapped = self._tapped.get(key)
        if tapped is None:
            tapped = self._tapped[key] = deque(maxlen=TAPPED_KEEP)
        tapped.append(message.seq)
        outgoing = (
            self.session_channel(key),
            self._pack("tap", [device_unit_id, _wire(message) if payload is None else payload]),
            self.history_stream(key),
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._outbox.put([outgoing])  # not from an event loop: on its own
            return
        # One hand-over to the sending thread per turn of the event loop, not one per tap: each
        # woke that thread, which then took the interpreter lock from the loop for a few taps
        # (the MQTT worker taps a whole read of the broker's socket, tens of batches, in a turn).
        if not self._turn:
            loop.call_soon(self._end_turn)
        self._turn.append(outgoing)

    def group(self, accepted: list[Accepted]) -> None:
        """A committed group: its sample batches to their sessions' channels, the rest to all."""
        by_session: dict[SessionKey, list[list[Any]]] = {}
        others: list[list[Any]] = []
        for done in accepted:
            if isinstance(done.message, SampleBatch):
                key = (done.device_unit_id, done.message.session_id)
                tapped = self._tapped.get(key, ())
                if done.status == "stored" and done.message.seq in tapped:
                    continue  # its tap told the others already: no second encoding and decoding
                by_session.setdefault(key, []).append(_entry(done))
            else:
                if isinstance(done.message, SessionEnd):
                    self._tapped.pop((done.device_unit_id, done.message.session_id), None)
                others.append(_entry(done))
        outgoing: list[_Outgoing] = []
        for key, entries in by_session.items():
            outgoing.append((self.session_channel(key), self._pack("stored", entries), None))
            # The history holds what a listener would have shown: the stored batches no tap
            # told, one stream entry each, in the taps' form.
            outgoing += [
                (None, self._pack("tap", [unit_id, payload]), self.history_stream(key))
                for status, unit_id, _, _, payload in entries
                if status == "stored"
            ]
        if outgoing:
            self._outbox.put(outgoing)
        if others:
            self._send("group", others)

    def frame(self, therapy_session_id: str, frame: dict[str, Any]) -> None:
        self._send("frame", [therapy_session_id, frame])

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

    # ------------------------------------------------------------------ following sessions

    def watch(self, key: SessionKey, backfill: bool = False) -> bool:
        """Receive the session's samples from the other processes (from any thread); whether
        this started it. ``backfill``: once subscribed, the listener also hands the session's
        history stream to ``on_backfill``."""
        channel = self.session_channel(key)
        if channel in self._watched:
            return False
        if backfill:
            self._backfill[channel] = key
        self._watched.add(channel)
        self._changed.set()
        return True

    def unwatch(self, key: SessionKey) -> None:
        channel = self.session_channel(key)
        self._backfill.pop(channel, None)
        if channel in self._watched:
            self._watched.discard(channel)
            self._changed.set()

    def watching(self) -> set[str]:
        return set(self._watched)

    # ------------------------------------------------------------------ hearing

    async def listen(
        self,
        on_tap: TapHandler,
        on_group: GroupHandler,
        on_frame: FrameHandler,
        on_backfill: BackfillHandler | None = None,
    ) -> None:
        """Hand every other process's messages to the handlers until cancelled, reconnecting.

        A session watched with ``backfill`` is subscribed to, then its history stream read and
        handed to ``on_backfill`` (in a thread) before anything heard after the subscription."""
        handlers = (on_tap, on_group, on_frame)
        while True:
            client = redis.asyncio.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.joined = set()
                    self._changed.set()
                    while True:
                        if self._changed.is_set():
                            # Subscriptions change in this task only: a PubSub connection is
                            # not shared between tasks.
                            self._changed.clear()
                            wanted = set(self._watched)
                            new = wanted - self.joined
                            if new:
                                await pubsub.subscribe(*new)
                            if self.joined - wanted:
                                await pubsub.unsubscribe(*(self.joined - wanted))
                            self.joined = wanted
                            filling = [c for c in self._backfill if c in new]
                            if filling and on_backfill is not None:
                                # Read only once Redis has the subscriptions: a batch published
                                # in between would be in neither the stream nor the channel.
                                await self._confirm(pubsub, set(filling), handlers)
                                await self._read_history(client, filling, on_backfill)
                            self.subscribed.set()
                        item = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=WATCH_CHANGES_S
                        )
                        if item is not None and item.get("type") == "message":
                            await self._dispatch(item["data"], *handlers)
            except redis.RedisError as exc:
                self.subscribed.clear()
                log.warning("live relay lost %s (%s); retrying", self.channel, exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _confirm(
        self,
        pubsub: redis.asyncio.client.PubSub,
        channels: set[str],
        handlers: tuple[TapHandler, GroupHandler, FrameHandler],
    ) -> None:
        """Wait until Redis confirms the subscriptions to ``channels``, handing on what is heard
        meanwhile (the runtime holds a filling session's batches until its history is shown)."""
        waiting = set(channels)
        deadline = asyncio.get_running_loop().time() + CONFIRM_S
        while waiting and asyncio.get_running_loop().time() < deadline:
            item = await pubsub.get_message(timeout=WATCH_CHANGES_S)
            if item is None:
                continue
            if item.get("type") == "subscribe":
                name = item.get("channel")
                waiting.discard(name.decode() if isinstance(name, bytes) else str(name))
            elif item.get("type") == "message":
                await self._dispatch(item["data"], *handlers)

    async def _read_history(
        self, client: redis.asyncio.Redis, channels: list[str], on_backfill: BackfillHandler
    ) -> None:
        """The history streams of the sessions just subscribed to with ``backfill``: read after
        the subscription (what is said from now on comes on the channel, queued meanwhile)."""
        for channel in channels:
            key = self._backfill.pop(channel, None)
            if key is None:
                continue
            try:
                entries = await client.xrange(self.history_stream(key)) or []
            except redis.RedisError:
                self._backfill.setdefault(channel, key)  # read after reconnecting
                raise
            batches = []
            for _, fields in entries:
                if not fields:
                    continue
                with contextlib.suppress(
                    ValueError, TypeError, KeyError, msgpack.ExtraData, msgpack.FormatError
                ):
                    _, kind, (_, payload) = msgpack.unpackb(fields[b"m"], raw=False)
                    message = _parsed(payload) if kind == "tap" else None
                    if isinstance(message, SampleBatch):
                        batches.append(message)
            try:
                await asyncio.to_thread(on_backfill, key, batches)
            except Exception:
                log.exception("live relay failed on the history of %s", channel)

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
            elif kind in ("group", "stored"):
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
        if self._turn:
            self._end_turn()
        self._outbox.put(None)
        self._sender.join(timeout=5.0)
        self._client.close()
