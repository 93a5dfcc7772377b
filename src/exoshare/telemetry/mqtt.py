"""The MQTT side: the embedded amqtt broker and the worker that feeds device messages to ingestion.

The broker's PUBACK only says the broker has a message; a device forgets a batch when the
worker's *receipt* (``.../receipts``) says ``stored`` or ``duplicate``, which is what makes a
crash anywhere lose nothing. That is also why the worker subscribes at QoS 0 with a clean
session: a message lost between the broker and the worker is resent by its device, so an
acknowledged delivery to the worker would buy nothing. It would cost a PUBACK per message (2,000
a second at 200 live sessions) and, worse, pace the stream: a broker keeps only a few QoS 1
messages in flight per subscriber (Mosquitto: 20), so every pause of the web process's event loop
held all devices' batches back at the broker.

Live tap and group commit: the worker's receive loop decodes each sample batch once, shows it
to the live taps (the tele-rehabilitation hub) at once, and queues it; a second task takes
everything queued (up to ``max_group`` messages, gathered for ``linger_s`` after the first)
and has it stored in one transaction (``submit``: in ``exoshare serve`` an
:class:`~exoshare.telemetry.ingest_process.IngestProcess`, a child process) from a thread. The
receipts go out after the commit: from the storage process itself in ``exoshare serve``
(``answers_devices``), otherwise published here, all at once, while the next group is stored.

Several servers on one external broker subscribe as one MQTT v5 shared-subscription group
(``$share/<group>/exoshare/v1/+/+/+``): the broker hands each device message to one member of
the group, so a message is stored once, not once per process, and a second process adds
capacity. Mosquitto picks the member per message (round robin), so one session's messages are
stored by several processes; every write on the path is idempotent under that concurrency
(:mod:`exoshare.telemetry.sessions`, :mod:`exoshare.telemetry.batches`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiomqtt

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.broker_acl import SERVER_USERNAME
from exoshare.telemetry.buffered_reads import buffer_reads
from exoshare.telemetry.ingest import Inbound
from exoshare.telemetry.protocol import (
    TOPIC_ROOT,
    Message,
    Receipt,
    SampleBatch,
    decode,
    parse_message,
    parse_topic,
    receipt_messages,
)

if TYPE_CHECKING:
    from exoshare.telemetry.broker_trust import DeviceTrust

log = logging.getLogger(__name__)

LiveTap = Callable[[str, Message, bytes | None], None]
"""Called in the event loop with (device unit id, message, payload) of every sample batch of a
recently verified device as it arrives, before it is stored (see
:meth:`MqttIngestWorker.add_tap`). ``payload`` is the message as the device sent it when it holds
nothing but the batch's own fields (:attr:`SampleBatch.WIRE_FIELDS`: no device secret), so it
may be passed on as it came; otherwise None."""


class GroupIngestion(Protocol):
    """What the worker stores groups with: an :class:`Ingestor`, or an ``IngestProcess``.

    ``answers_devices``: it sends the devices their receipts itself (the storage process does,
    right after its commit); otherwise the worker publishes the receipts it returns.

    ``submit`` takes a group (blocking, from a thread; groups are stored in the order
    submitted) and returns the call that waits for its receipts (blocking). An
    :class:`Ingestor` stores the group in ``submit``; the storage process stores it while
    the worker gathers and submits the next one."""

    answers_devices: bool

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]: ...

    def known_device(self, obj: dict[str, Any], topic_serial: str) -> str | None: ...


INBOUND_KINDS = frozenset({"session", "samples", "events", "acks"})
SUBSCRIPTION = f"{TOPIC_ROOT}/+/+/+"
# Unique per process: a broker drops the older of two clients with one id, so two servers (or a
# restarted one racing its predecessor) sharing a fixed id would knock each other off in turn.
WORKER_CLIENT_ID = f"exoshare-ingest-{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://[user:password@]host[:port]``.

        >>> BrokerAddress.parse("mqtt://127.0.0.1:1884")
        BrokerAddress(host='127.0.0.1', port=1884, username=None)
        """
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError(f"{url!r} is not an mqtt://host:port URL")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)

    @property
    def url(self) -> str:
        """Without the password: this is what logs and error messages show."""
        return f"mqtt://{self.host}:{self.port}"

    def with_identity(self, username: str, password: str) -> BrokerAddress:
        """This broker, as ``username`` (unless the URL named a user already)."""
        if self.username is not None:
            return self
        return BrokerAddress(self.host, self.port, username, password)

    def client(self, identifier: str | None = None, **kwargs: Any) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            **kwargs,
        )


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


@contextlib.asynccontextmanager
async def embedded_broker(
    trust: DeviceTrust, host: str = "127.0.0.1", port: int = 1883
) -> AsyncIterator[BrokerAddress]:
    """An amqtt broker on ``port`` or the next free port, for as long as the context lasts.

    Every client must authenticate and stays on its own topics (``trust``; see
    :mod:`exoshare.telemetry.broker_trust`); the address yielded carries the server identity.
    Bound to loopback unless ``host`` says otherwise (``EXOSHARE_MQTT_EMBEDDED_HOST``).
    """
    from exoshare.telemetry.broker_trust import TrustingBroker, plugin_config, trusting

    chosen = next((p for p in range(port, port + 50) if _port_is_free(host, p)), None)
    if chosen is None:
        raise RuntimeError(f"no free port for the embedded MQTT broker in {port}..{port + 49}")
    broker = TrustingBroker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{chosen}"}},
            "plugins": plugin_config(trust),
        },
        trust,
    )
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%d", host, chosen)
    try:
        async with trusting(trust, broker):
            yield BrokerAddress(host, chosen, SERVER_USERNAME, trust.server_password)
    finally:
        await broker.shutdown()


class MqttIngestWorker:
    """Subscribes to every device topic and hands the messages, in groups, to the Ingestor."""

    def __init__(
        self,
        ingestor: GroupIngestion,
        broker: BrokerAddress,
        client_id: str = WORKER_CLIENT_ID,
        reconnect_s: float = 2.0,
        max_group: int = 5000,
        linger_s: float = 0.25,
        share_group: str | None = None,
    ) -> None:
        # A group costs a transaction, a Parquet file and its fsync whatever its size, and each
        # device gets one receipts message per group: 250 ms groups answer a device streaming
        # 10 batches a second with one message for ~3 batches. Against 100 ms groups, that took
        # the p99 live latency at 225 sessions from 151 to 100 ms (SQLite) and from 439 to 138
        # ms (PostgreSQL). The live view does not wait for storage (the tap), only receipts
        # do, and a device resends after 2 s at the earliest. ``max_group`` bounds a group
        # that caught up a backlog, not a steady one: 400 live sessions send ~1,000 messages
        # in 250 ms, and a cap of 1,000 made storage that fell behind once never catch up
        # (each group as large, and as slow, as the last; receipts 11 s late).
        self.ingestor = ingestor
        self.broker = broker
        self.client_id = client_id
        self.reconnect_s = reconnect_s
        self.max_group = max_group
        self.linger_s = linger_s
        self.share_group = share_group
        self.subscribed = asyncio.Event()
        self.received = 0
        self.handled = 0
        self.groups = 0
        self._receipt_tasks: set[asyncio.Task[None]] = set()
        self._taps: list[LiveTap] = []
        self._first_queued_at = 0.0
        """When the oldest message waiting to be stored arrived (event-loop clock)."""

    def add_tap(self, tap: LiveTap) -> None:
        """See every sample batch the moment it arrives, in the event loop, before storage.

        The live view must not wait for a group's transaction (tens of milliseconds, more
        under load): it is fed here, and storage follows at its own pace. The batch is
        decoded once for both. A tap must be quick and must not block (no SQL).
        """
        self._taps.append(tap)

    async def run(self) -> None:
        """Receive until cancelled, reconnecting when the broker goes away."""
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self.subscribed.clear()
                log.warning("MQTT worker lost %s (%s); retrying", self.broker.url, exc)
                await asyncio.sleep(self.reconnect_s)

    @property
    def subscription(self) -> str:
        """The topic filter: shared by the group's members when there is a group."""
        if self.share_group is None:
            return SUBSCRIPTION
        return f"$share/{self.share_group}/{SUBSCRIPTION}"

    async def _session(self) -> None:
        queue: asyncio.Queue[tuple[str, str, str, bytes, Any]] = asyncio.Queue()

        def received(message: aiomqtt.Message) -> None:
            # In the event loop, inside paho's read of the socket.
            item = _inbound(message.topic.value, message.payload)
            if item is not None:
                self.received += 1
                self._enqueue(queue, self._tapped(item))

        client = reading_client(self.broker, self.client_id, received)
        async with client:
            await client.subscribe(self.subscription, qos=0)  # why QoS 0: the module docstring
            self.subscribed.set()
            await while_connected(client, self._process(client, queue))

    def _tapped(self, item: tuple[str, str, str, bytes]) -> tuple[str, str, str, bytes, Any]:
        """The queued item, with the decoded batch when the live taps have seen it."""
        _, serial, kind, payload = item
        if kind != "samples" or not self._taps:
            return (*item, None)
        try:
            obj = decode(payload)
            message = parse_message(obj)
        except TelemetryRejected:
            return (*item, None)  # storage rejects it with the reason, in a receipt
        unit_id = self.ingestor.known_device(obj, serial)
        if unit_id is not None:
            wire = payload if obj.keys() <= SampleBatch.WIRE_FIELDS else None
            for tap in self._taps:
                try:
                    tap(unit_id, message, wire)
                except Exception:
                    log.exception("live tap failed")
        return (*item, (obj, message))

    def _enqueue(
        self,
        queue: asyncio.Queue[tuple[str, str, str, bytes, Any]],
        item: tuple[str, str, str, bytes, Any],
    ) -> None:
        if queue.empty():
            self._first_queued_at = asyncio.get_running_loop().time()
        queue.put_nowait(item)

    async def _process(
        self, client: aiomqtt.Client, queue: asyncio.Queue[tuple[str, str, str, bytes, Any]]
    ) -> None:
        loop = asyncio.get_running_loop()
        # One group stored while the next gathers and waits at the storage's door: the storage
        # process is never idle while messages wait, and the groups stay in order.
        slots = asyncio.Semaphore(2)
        while True:
            await slots.acquire()
            group = [await queue.get()]
            # Let the group fill until linger_s after its first message arrived: one timer per
            # group, where waiting on the queue with a timeout cost a task and a timer per
            # message. From its arrival, not from now: messages that came while the last group
            # was stored have waited already, and lingering again would make every group wait
            # for the one before it plus linger_s. Under load, group after group then grew and
            # receipts came seconds late (p99 7.7 s at 225 live sessions), past the 2 s after
            # which a device resends: more load still.
            wait_s = self._first_queued_at + self.linger_s - loop.time()
            if wait_s > 0 and queue.qsize() + 1 < self.max_group:
                await asyncio.sleep(wait_s)
            while len(group) < self.max_group and not queue.empty():
                group.append(queue.get_nowait())
            items = [
                Inbound(payload, topic_serial=serial, decoded=decoded, topic_org=org)
                for org, serial, _, payload, decoded in group
            ]
            # Ingestion is blocking (SQL, files, the storage process's pipe); a thread keeps
            # the event loop answering the broker. Submitted one group at a time, in order.
            try:
                receipts = await asyncio.to_thread(self.ingestor.submit, items)
            except BaseException:
                slots.release()
                raise
            task = asyncio.create_task(self._settle(client, group, receipts, slots))
            self._receipt_tasks.add(task)
            task.add_done_callback(self._receipt_tasks.discard)

    async def _settle(
        self,
        client: aiomqtt.Client,
        group: list[tuple[str, str, str, bytes, Any]],
        receipts: Callable[[], list[Receipt | None]],
        slots: asyncio.Semaphore,
    ) -> None:
        """Wait for a submitted group's receipts and send them (unless storage did)."""
        try:
            answered = await asyncio.to_thread(receipts)
        except Exception:
            # The group's devices get no receipts and resend; the next groups go on.
            log.exception("storing a group of %d messages failed", len(group))
            return
        finally:
            slots.release()
        self.handled += len(group)
        self.groups += 1
        if not self.ingestor.answers_devices:
            await self._answer(client, group, answered)

    async def _answer(
        self,
        client: aiomqtt.Client,
        group: list[tuple[str, str, str, bytes, Any]],
        receipts: list[Receipt | None],
    ) -> None:
        answers = [
            (org, serial, receipt)
            for (org, serial, _, _, _), receipt in zip(group, receipts, strict=True)
        ]
        # QoS 0: a lost receipt only makes the device resend (answered ``duplicate``), so
        # the PUBACK round trip of QoS 1 would buy nothing (docs/protocol.md).
        sends = [
            client.publish(name, payload, qos=0) for name, payload in receipt_messages(answers)
        ]
        results = await asyncio.gather(*sends, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # A lost receipt is a resend and a ``duplicate`` receipt, never a lost sample.
            log.warning("%d receipt messages not sent: %s", len(failed), failed[0])


def reading_client(
    broker: BrokerAddress, client_id: str, handle: Callable[[aiomqtt.Message], None]
) -> aiomqtt.Client:
    """A server client that hands each message it receives to ``handle`` as paho reads it
    (:func:`handing_off`), reading the socket in large chunks (``buffer_reads``), with a clean
    session (QoS 0 subscriptions: nothing to keep across connections).

    MQTT 3.1.1, also in a share group: Mosquitto and EMQX both take ``$share/...`` from a 3.1.1
    client, and v5 costs paho a properties object per message (~5 % of the web process at 200
    live sessions) that the server never reads."""
    client = broker.client(client_id, clean_session=True, queue_type=handing_off(handle))
    return buffer_reads(client)


def handing_off(
    handle: Callable[[aiomqtt.Message], None],
) -> type[asyncio.Queue[aiomqtt.Message]]:
    """aiomqtt's incoming-message queue (its ``queue_type``), made to hand each message to
    ``handle`` as paho reads it instead of keeping it.

    Iterating aiomqtt's queue costs a task and an ``asyncio.wait`` per message (~5 % of the web
    process at 150 live sessions); handing off costs a call. What ``handle`` raises is logged:
    it must not end the connection."""

    class HandingOff(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            try:
                handle(item)
            except Exception:
                log.exception("MQTT message handler failed")

    return HandingOff


async def _until_lost(client: aiomqtt.Client) -> None:
    """Returns never: raises aiomqtt's error once the connection is lost."""
    async for _ in client.messages:
        pass


async def while_connected(client: aiomqtt.Client, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends or the connection is lost, whichever comes first; the other
    is cancelled, and what ended it is raised (aiomqtt's error for a lost connection).

    Messages never wait in aiomqtt's queue (:func:`handing_off` handles them as paho reads
    them), so iterating it only says when the connection is lost."""
    tasks = (asyncio.create_task(work), asyncio.create_task(_until_lost(client)))
    ended: set[asyncio.Task[None]] = set()
    try:
        ended, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if task not in ended:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    for task in ended:
        task.result()


def _inbound(name: str, payload: Any) -> tuple[str, str, str, bytes] | None:
    try:
        org, serial, kind = parse_topic(name)
    except Exception:
        return None
    if kind not in INBOUND_KINDS or not isinstance(payload, bytes | bytearray):
        return None
    return org, serial, kind, bytes(payload)
