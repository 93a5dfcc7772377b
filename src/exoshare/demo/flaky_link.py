"""The simulated device's transports: the MQTT link and a seeded flaky link that degrades any link.

:class:`FlakyLink` drops, delays (and so reorders), duplicates outgoing messages and cuts the
connection at random, like a rural mobile link. Every decision is drawn from a generator seeded
by ``(seed, message digest, attempt)``, so a message's fate does not depend on how the asyncio
tasks around it happened to interleave: the same seed gives every message the same fate.

>>> config = FlakyConfig(drop=1 / 3, seed=3)
>>> fates = [config.fate(b"batch-%d" % i, 0).dropped for i in range(300)]
>>> 0.25 < sum(fates) / 300 < 0.42
True
>>> fates == [config.fate(b"batch-%d" % i, 0).dropped for i in range(300)]
True
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import aiomqtt
import numpy as np

from exoshare.telemetry.protocol import MQTT_QOS

# aiomqtt warns about every burst of queued publishes, which a device resending its backlog
# produces by design.
_quiet_log = logging.getLogger("exoshare.demo.mqtt")
_quiet_log.setLevel(logging.ERROR)


class LinkDown(Exception):
    """The connection is gone; the device reconnects and resends what was not receipted."""


class Transport(Protocol):
    """What the simulated device needs of a connection to the broker."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def subscribe(self, topic: str) -> None: ...

    async def publish(self, topic: str, payload: bytes) -> bool:
        """Send one message; True once the broker confirmed it (QoS 1 PUBACK)."""
        ...

    def incoming(self) -> AsyncIterator[tuple[str, bytes]]:
        """Messages of the subscribed topics until the link goes down (then LinkDown)."""
        ...


class MqttTransport:
    """One MQTT connection (aiomqtt, QoS 1) to ``mqtt://host:port``.

    The device logs in with its serial as username and its credential as password; the broker
    checks both and keeps it on its own topics, so no message carries the credential.
    """

    def __init__(
        self, broker_url: str, client_id: str, username: str | None, password: str | None
    ) -> None:
        parts = urlsplit(broker_url if "://" in broker_url else f"mqtt://{broker_url}")
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"broker URL must be mqtt://host:port, got {broker_url!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.client_id = client_id
        self.username = username
        self.password = password
        self._client: aiomqtt.Client | None = None

    async def connect(self) -> None:
        client = aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.client_id,
            username=self.username,
            password=self.password,
            keepalive=10,
            timeout=10,
            logger=_quiet_log,
        )
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise LinkDown(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, asyncio.CancelledError, RuntimeError):
                await client.__aexit__(None, None, None)

    def _live(self) -> aiomqtt.Client:
        if self._client is None:
            raise LinkDown("not connected")
        return self._client

    async def subscribe(self, topic: str) -> None:
        try:
            await self._live().subscribe(topic, qos=MQTT_QOS)
        except aiomqtt.MqttError as exc:
            raise LinkDown(str(exc)) from exc

    async def publish(self, topic: str, payload: bytes) -> bool:
        try:
            await self._live().publish(topic, payload, qos=MQTT_QOS)
        except (aiomqtt.MqttError, LinkDown):
            return False
        return True

    async def incoming(self) -> AsyncIterator[tuple[str, bytes]]:
        client = self._live()
        try:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    yield str(message.topic), bytes(payload)
        except aiomqtt.MqttError as exc:
            raise LinkDown(str(exc)) from exc
        raise LinkDown("the broker closed the connection")


@dataclass(frozen=True)
class Fate:
    """What the flaky link does with one attempt to send one message."""

    dropped: bool
    delay_s: float
    duplicate_delay_s: float | None
    """Delay of a second copy, or None when the message is not duplicated."""
    disconnect: bool
    """Cut the connection right after this message was handed over."""


@dataclass(frozen=True)
class FlakyConfig:
    """How bad the link is. Fractions are per message; delays are wall-clock seconds.

    Messages are delayed uniformly in ``[0, max_delay_s]``, which reorders them whenever a
    later one overtakes an earlier one. ``drop_incoming`` drops server receipts too (commands
    are never dropped, the server cannot resend them).
    """

    drop: float = 1 / 3
    duplicate: float = 0.1
    delay: float = 0.3
    max_delay_s: float = 0.05
    disconnect: float = 0.01
    min_uptime_messages: int = 20
    """A connection carries at least this many messages before it may be cut again."""
    drop_incoming: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay", "disconnect", "drop_incoming"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
        if self.drop >= 1.0:
            raise ValueError("drop must be below 1, or nothing ever arrives")
        if self.max_delay_s < 0:
            raise ValueError(f"max_delay_s must be >= 0, got {self.max_delay_s}")

    def _rng(self, payload: bytes, attempt: int, salt: int) -> np.random.Generator:
        digest = int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")
        return np.random.default_rng([self.seed, salt, digest, attempt])

    def fate(self, payload: bytes, attempt: int) -> Fate:
        """The fate of the ``attempt``-th send (from 0) of ``payload``."""
        u = self._rng(payload, attempt, 0).random(6)
        delay = float(u[2]) * self.max_delay_s if u[1] < self.delay else 0.0
        duplicate = float(u[4]) * self.max_delay_s if u[3] < self.duplicate else None
        return Fate(
            dropped=bool(u[0] < self.drop),
            delay_s=delay,
            duplicate_delay_s=duplicate,
            disconnect=bool(u[5] < self.disconnect),
        )

    def drops_incoming(self, payload: bytes, attempt: int) -> bool:
        return bool(self._rng(payload, attempt, 1).random() < self.drop_incoming)


@dataclass
class LinkStats:
    """What the flaky link did, for reports and tests."""

    attempted: int = 0
    delivered: int = 0
    dropped: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0
    """Deliveries that arrived after a message handed over later."""
    lost_in_disconnect: int = 0
    disconnects: int = 0
    incoming_dropped: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "duplicated": self.duplicated,
            "delayed": self.delayed,
            "reordered": self.reordered,
            "lost_in_disconnect": self.lost_in_disconnect,
            "disconnects": self.disconnects,
            "incoming_dropped": self.incoming_dropped,
        }


class FlakyLink:
    """Wraps a transport and makes it unreliable as ``config`` says (see the module docstring).

    ``publish`` returns at once for a delayed message (a radio does not wait either) and reports
    it unconfirmed; the device relies on the server's receipts, never on this return value,
    when the link is flaky.
    """

    def __init__(self, inner: Transport, config: FlakyConfig) -> None:
        self.inner = inner
        self.config = config
        self.stats = LinkStats()
        self._attempts: Counter[bytes] = Counter()
        self._incoming_attempts: Counter[bytes] = Counter()
        self._generation = 0
        self._since_connect = 0
        self._handed_over = 0
        self._latest_delivered = -1
        self._tasks: set[asyncio.Task[None]] = set()
        self._cut = asyncio.Event()

    async def connect(self) -> None:
        await self.inner.connect()
        self._generation += 1
        self._since_connect = 0
        self._cut = asyncio.Event()

    async def close(self) -> None:
        self._generation += 1
        self._cut.set()
        await self.inner.close()

    async def subscribe(self, topic: str) -> None:
        await self.inner.subscribe(topic)

    async def publish(self, topic: str, payload: bytes) -> bool:
        digest = hashlib.sha256(topic.encode() + b"\0" + payload).digest()
        attempt = self._attempts[digest]
        self._attempts[digest] += 1
        fate = self.config.fate(digest, attempt)
        self.stats.attempted += 1
        order = self._handed_over
        self._handed_over += 1
        confirmed = False
        if fate.dropped:
            self.stats.dropped += 1
        elif fate.delay_s > 0:
            self.stats.delayed += 1
            self._later(fate.delay_s, topic, payload, order)
        else:
            confirmed = await self._deliver(topic, payload, order, self._generation)
        if fate.duplicate_delay_s is not None and not fate.dropped:
            self.stats.duplicated += 1
            self._later(fate.duplicate_delay_s, topic, payload, order)
        self._since_connect += 1
        if fate.disconnect and self._since_connect > self.config.min_uptime_messages:
            self._since_connect = 0
            self.stats.disconnects += 1
            await self.close()
        return confirmed

    def _later(self, delay_s: float, topic: str, payload: bytes, order: int) -> None:
        generation = self._generation

        async def send() -> None:
            await asyncio.sleep(delay_s)
            await self._deliver(topic, payload, order, generation)

        task = asyncio.create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, topic: str, payload: bytes, order: int, generation: int) -> bool:
        if generation != self._generation:
            # The connection this message was in flight on is gone, and the message with it.
            self.stats.lost_in_disconnect += 1
            return False
        if order < self._latest_delivered:
            self.stats.reordered += 1
        self._latest_delivered = max(self._latest_delivered, order)
        confirmed = await self.inner.publish(topic, payload)
        if confirmed:
            self.stats.delivered += 1
        return confirmed

    async def incoming(self) -> AsyncIterator[tuple[str, bytes]]:
        source = self.inner.incoming()
        cut = asyncio.ensure_future(self._cut.wait())
        step: asyncio.Future[tuple[str, bytes]] | None = None
        try:
            while True:
                step = asyncio.ensure_future(anext(source))
                done, _ = await asyncio.wait({step, cut}, return_when=asyncio.FIRST_COMPLETED)
                if step not in done:
                    raise LinkDown("the flaky link cut the connection")
                try:
                    topic, payload = step.result()
                except StopAsyncIteration:
                    raise LinkDown("the connection ended") from None
                if topic.endswith("/receipts"):
                    attempt = self._incoming_attempts[payload]
                    self._incoming_attempts[payload] += 1
                    if self.config.drops_incoming(payload, attempt):
                        self.stats.incoming_dropped += 1
                        continue
                yield topic, payload
        finally:
            cut.cancel()
            if step is not None and not step.done():
                step.cancel()
            if step is not None:
                with contextlib.suppress(asyncio.CancelledError, LinkDown, StopAsyncIteration):
                    await step

    async def drain(self) -> None:
        """Wait for every delayed delivery still in flight (before closing for good)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
