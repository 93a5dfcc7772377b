"""Each live recording's last 30 s of sample batches, in a capped Redis Stream.

With several server processes (docs/scaling.md), a process that starts showing a session it did
not follow (its first browser on it, or the session's alerts) hears the device's next batches
from the broker, and the ones before from here: every storage process appends the sample batches
it stores, and the stream keeps what a browser's display history needs.

One stream per recording, ``<channel>:history:<device unit id>:<device session id>``, one entry
per batch (field ``m``: the batch as MessagePack with none but its own fields, :func:`plain_wire`,
so a secret a device put in its payload never reaches Redis). Entries older than ``history_s``
go with the next append (``XADD ... MINID ~``: Redis trims whole nodes, so a little more is
kept, never less), and a recording's stream expires ``2 × history_s`` after its last append, so
an ended session's goes away by itself. The bound is this machine's clock against Redis's: keep
clocks in step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import redis

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.protocol import SampleBatch, decode, encode, parse_message

log = logging.getLogger(__name__)

HISTORY_S = 30.0
"""How much of a recording's recent batches its stream keeps: the display history a browser
gets (:attr:`exoshare.telerehab.live.LiveConfig.history_s`)."""
APPEND = """
for i = 1, #KEYS do
  redis.call('XADD', KEYS[i], 'MINID', '~', ARGV[1], '*', 'm', ARGV[i + 2])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
"""
"""A group's batches in one command: a pipeline of XADD and PEXPIRE per batch had redis-py
encode every command and every reply."""
RecordingKey = tuple[str, str]
"""(device unit id, the device's own session id)."""


def plain_wire(payload: bytes, obj: dict[str, Any]) -> bytes:
    """A batch's ``payload`` (decoded: ``obj``) with none but the batch's own fields: as it came
    when it holds nothing else, which is the usual case and costs nothing; otherwise encoded
    again without the others (a device's secret). Decide on ``obj`` as decoded, before anything
    else has seen it.

    >>> obj = {"v": 1, "type": "samples", "seq": 3, "auth": "secret"}
    >>> sorted(decode(plain_wire(encode(obj), obj)))
    ['seq', 'type', 'v']
    """
    if obj.keys() <= SampleBatch.WIRE_FIELDS:
        return payload
    return encode({k: v for k, v in obj.items() if k in SampleBatch.WIRE_FIELDS})


def history_stream(channel: str, key: RecordingKey) -> str:
    unit_id, device_session_id = key
    return f"{channel}:history:{unit_id}:{device_session_id}"


class SessionHistory:
    """The recordings' streams under ``channel`` at the Redis ``url`` (blocking calls)."""

    def __init__(self, url: str, channel: str, history_s: float = HISTORY_S) -> None:
        self.channel = channel
        self.history_ms = round(history_s * 1000)
        self._client = redis.Redis.from_url(url)
        self._append = self._client.register_script(APPEND)

    def append(self, batches: Iterable[tuple[RecordingKey, bytes]]) -> int:
        """Keep these (recording, batch as :func:`plain_wire`) in their recordings' streams, in
        order; returns how many. A Redis that does not answer costs the late viewers their
        history only: the samples are stored either way."""
        keys: list[str] = []
        payloads: list[bytes] = []
        for key, payload in batches:
            keys.append(history_stream(self.channel, key))
            payloads.append(payload)
        if not keys:
            return 0
        oldest = f"{round(time.time() * 1000) - self.history_ms}-0"
        try:
            self._append(keys=keys, args=[oldest, 2 * self.history_ms, *payloads])
        except redis.RedisError as exc:
            log.warning("session history: %d batches not kept: %s", len(keys), exc)
            return 0
        return len(keys)

    def read(self, key: RecordingKey) -> list[SampleBatch]:
        """The recording's kept batches, in the order they were stored (RedisError if Redis
        does not answer)."""
        entries = self._client.xrange(history_stream(self.channel, key)) or []
        batches: list[SampleBatch] = []
        for _, fields in entries:
            payload = fields.get(b"m") if fields else None
            if payload is None:
                continue
            try:
                message = parse_message(decode(payload))
            except TelemetryRejected:
                continue  # not a batch of ours
            if isinstance(message, SampleBatch):
                batches.append(message)
        return batches

    def close(self) -> None:
        self._client.close()
