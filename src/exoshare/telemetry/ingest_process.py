"""MQTT telemetry stored by a child process, so storing never competes with the live view.

Storing a group (SQL index, Parquet, commit) is CPU-bound Python. In a thread of the web
process it shares the interpreter lock with the event loop that reads MQTT, updates the live
hub and writes to every browser: each socket call of the loop then waits for the storing
thread to let go of the lock (up to the 5 ms switch interval), and the live view's latency
grows with the load on the database (measured: p99 0.6–1.3 s at 100 live sessions). In a
child process the two run on separate cores and the web process's thread only waits on a
pipe.

The child owns an :class:`Ingestor` on the same database and raw store; the web process sends
each group's payloads and gets back each item's receipt and what was accepted. It then hands
the accepted messages to its own ingestor's listeners (the tele-rehabilitation runtime), as if
it had stored them itself. If the child dies, the group gets no receipts (its devices resend)
and the next group starts a new child.

A credential revoked in the web process (through the API) is refused by the child from the
next group on: each group carries the web process's revocation epoch, and the child empties its
credential cache when it changes. One revoked by another process (the CLI) is refused within
the cache's TTL (5 s), as everywhere.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from exoshare.config import Settings
from exoshare.errors import TelemetryRejected
from exoshare.telemetry import credentials
from exoshare.telemetry.ingest import (
    Accepted,
    CredentialCache,
    Inbound,
    Ingestor,
    serial_key,
    verified_device,
    verify_serials,
)
from exoshare.telemetry.mqtt import BrokerAddress
from exoshare.telemetry.protocol import Receipt, SampleBatch, decode, parse_message

log = logging.getLogger(__name__)

READY = "ready"
"""The child's first message: it can store."""
START_TIMEOUT_S = 60.0

_AcceptedFields = tuple[str, str, str, str | None, bool]
"""status, device unit id, device serial, telemetry session id, whether a sample batch."""


def _serve(settings: Settings, conn: Connection, broker: BrokerAddress | None) -> None:
    """The child: store every group it is sent, send the devices their receipts (with a
    broker), answer the web process with the receipts and what was accepted."""
    # Ctrl-C in a terminal reaches the whole process group: the web process stops this one
    # (or this one sees its pipe close), so an interrupt here would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from sqlalchemy.orm import configure_mappers

    from exoshare.db import make_engine, make_sessionmaker
    from exoshare.heap import settle_heap
    from exoshare.telemetry.history import SessionHistory, plain_wire
    from exoshare.telemetry.receipts import ReceiptSender
    from exoshare.telemetry.store import RawStore, warm_up

    engine = make_engine(settings.resolved_database_url())
    ingestor = Ingestor(
        make_sessionmaker(engine),
        RawStore(settings.resolved_telemetry_url()),
        settings.telemetry_max_nan_run_s,
        group_files=True,
    )
    sender = ReceiptSender(broker) if broker is not None else None
    # Behind a live relay (several processes), the batches this process stores are every other
    # process's history of their sessions (telemetry/history.py).
    history = (
        SessionHistory(settings.live_relay_url, settings.live_relay_channel)
        if settings.live_relay_url
        else None
    )
    # As in the web process: what start-up built is never garbage, so full collections need
    # not walk it again (~0.03 ms of every stored batch otherwise). What the first group would
    # build (the ORM's mappers, the modules Arrow imports at its first write) is built first.
    configure_mappers()
    warm_up()
    settle_heap()
    conn.send(READY)
    web_epoch: int | None = None
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return  # the web process is gone
            if message is None:
                return
            epoch, group = message
            if epoch != web_epoch:
                ingestor.credentials.clear()  # a credential was revoked in the web process
                web_epoch = epoch
            inbound = [_inbound(payload, serial) for payload, serial, _ in group]
            results = ingestor.handle_many_accepted([item for item, _ in inbound])
            if sender is not None:
                sender.send(
                    (org, serial, receipt)
                    for (_, serial, org), (receipt, _) in zip(group, results, strict=True)
                )
            # The receipts go back only when the web process is to send them.
            try:
                conn.send(_answers(results, receipts_sent=sender is not None))
            except BrokenPipeError:
                return  # the web process is gone (it stopped while this group was stored)
            # After the web process has its answer: the history is for later viewers.
            if history is not None:
                history.append(
                    ((done.device_unit_id, done.message.session_id), plain_wire(payload, obj))
                    for (payload, _, _), (_, obj), (_, done) in zip(
                        group, inbound, results, strict=True
                    )
                    if done is not None
                    and done.status == "stored"
                    and isinstance(done.message, SampleBatch)
                    and obj is not None
                )
    finally:
        if sender is not None:
            sender.close()
        if history is not None:
            history.close()
        engine.dispose()


def _answers(
    results: list[tuple[Receipt | None, Accepted | None]], receipts_sent: bool
) -> list[tuple[Receipt | None, _AcceptedFields | None]]:
    """What the web process gets back per item: the receipt (unless sent to the device
    already) and what was accepted, as plain fields."""
    return [
        (
            None if receipts_sent else receipt,
            None
            if done is None
            else (
                done.status,
                done.device_unit_id,
                done.device_serial,
                done.telemetry_session_id,
                isinstance(done.message, SampleBatch),
            ),
        )
        for receipt, done in results
    ]


def _inbound(payload: bytes, serial: str) -> tuple[Inbound, dict[str, Any] | None]:
    """A message to store, decoded here once for storage and the session's history, with the
    message's fields as they came (None when it cannot be decoded: storage says why, in its
    receipt). Copied, since storage may add to what it decoded."""
    try:
        obj = decode(payload)
        message = parse_message(obj)
    except TelemetryRejected:
        return Inbound(payload, topic_serial=serial), None
    return Inbound(payload, topic_serial=serial, decoded=(obj, message)), dict(obj)


class IngestProcess:
    """Stores MQTT groups in a child process; listeners of ``local`` hear of what it stored.

    Given the ``broker``, the child sends the devices their receipts itself, right after each
    commit (``answers_devices``): the MQTT worker then publishes none."""

    def __init__(
        self, settings: Settings, local: Ingestor, broker: BrokerAddress | None = None
    ) -> None:
        self.settings = settings
        self.local = local
        self.broker = broker
        self.answers_devices = broker is not None
        self.tells_stored_batches = not settings.live_relay_url
        """Whether ``local``'s listeners hear of the sample batches stored (otherwise of their
        resends only). Behind a live relay the processes that show a session hear its batches
        from the broker and its history from storage (docs/scaling.md), and telling every
        stored batch would cost this process a decoding of each, as its MQTT worker no longer
        decodes them for a live tap."""
        self.credentials = CredentialCache(local.credentials.ttl_s)
        self._lock = threading.Lock()
        """Held to start, stop or send to the child: groups reach it in the order submitted."""
        self._turn = threading.Condition()
        """Receiving answers in the order the groups were sent (see :meth:`submit`)."""
        self._sent = 0
        self._received = 0
        self._generation = 0
        """Which child the counts are of: a new child answers none of the old one's groups."""
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._asked: set[str] = set()
        """Serials the live tap asked about since the last :meth:`reverify`."""

    def start(self) -> None:
        """Start the child and wait until it is ready to store (blocking)."""
        with self._lock:
            try:
                self._ensure_child()
            except (EOFError, OSError) as exc:
                # Serving goes on; the next group starts a new child.
                log.error("telemetry ingestion process failed to start (%s)", exc)
                self._stop_child()

    def _ensure_child(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._stop_child()
        # spawn, not fork: the web process has threads and an event loop a fork would copy.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(self.settings, child, self.broker),
            name="exoshare-ingest",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        # The child imports, connects and is ready in a few seconds; a group sent before would
        # wait in the pipe with its devices' receipts overdue, and they would resend it.
        if not parent.poll(START_TIMEOUT_S):
            raise OSError(f"the storage process did not start within {START_TIMEOUT_S:g} s")
        if parent.recv() != READY:
            raise OSError("the storage process did not say it was ready")
        return parent

    def _stop_child(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
        # The pipe is not closed here: another thread may be reading a group's answer from it,
        # and closing it under that read raised from inside multiprocessing. The child is gone,
        # so the read ends (with the answer, or at end of file), and the pipe closes with the
        # last reference to it.
        self._process, self._conn = None, None
        with self._turn:
            self._generation += 1
            self._sent = self._received = 0
            self._turn.notify_all()

    def close(self) -> None:
        with self._lock:
            self._stop_child()

    def known_device(self, obj: dict[str, Any], topic_serial: str) -> str | None:
        """As :meth:`Ingestor.known_device`, from the devices verified lately (by the child's
        stored groups, or by :meth:`reverify`)."""
        self._asked.add(topic_serial)
        return verified_device(self.credentials, topic_serial)

    def reverify(self) -> int:
        """Check again, in one query, the credentials of the devices the live tap asked about
        since the last check, and keep those still valid for another TTL; returns how many
        (blocking: from a thread).

        Without it the tap's knowledge came only from stored groups: when storage fell more
        than the TTL (5 s) behind, the live view stopped showing batches as they arrived and
        showed them only once stored, as late as storage. A revoked credential is not kept,
        so a revocation elsewhere is still honoured within the TTL."""
        asked, self._asked = self._asked, set()
        serials = list(asked)  # one call: the event loop may still add to the old set
        if not serials:
            return 0
        with self.local.factory() as session:
            return verify_serials(self.credentials, session, serials)

    def handle_many(self, items: Sequence[Inbound]) -> list[Receipt | None]:
        """Store a group in the child and wait for it (blocking; call it from a thread): each
        item's receipt, or None for all when the child sends them itself
        (``answers_devices``)."""
        return self.submit(items)()

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]:
        """Send a group to the child (blocking until the pipe takes it) and return the call
        that waits for its receipts (blocking); both from a thread.

        The MQTT worker sends the next group while the child stores this one. When it waited
        for each group's answer first, the child sat idle while the web process read the
        answer, told its listeners (the live runtime's look-ups of new sessions are SQL) and
        gathered the next group: 46 % of the storage process's time at 400 live sessions,
        while receipts fell seconds behind. Groups are stored, answered and told to the
        listeners in the order they were submitted."""
        if not items:
            return lambda: []
        epoch = credentials.revocation_epoch()
        with self._lock:
            try:
                conn = self._ensure_child()
                conn.send(
                    (epoch, [(item.payload, item.topic_serial, item.topic_org) for item in items])
                )
            except (EOFError, OSError) as exc:
                self._failed(exc)
                return lambda: [None] * len(items)
            with self._turn:
                ticket, generation = self._sent, self._generation
                self._sent += 1
        return functools.partial(self._receive, items, epoch, conn, ticket, generation)

    def _receive(
        self,
        items: Sequence[Inbound],
        epoch: int,
        conn: Connection,
        ticket: int,
        generation: int,
    ) -> list[Receipt | None]:
        with self._turn:
            self._turn.wait_for(lambda: self._received == ticket or self._generation != generation)
            if self._generation != generation:
                return [None] * len(items)  # the child that had it died: the devices resend
        try:
            results: list[tuple[Receipt | None, _AcceptedFields | None]] = conn.recv()
        except (EOFError, OSError) as exc:
            with self._lock:
                if self._generation == generation:
                    self._failed(exc)
            return [None] * len(items)
        try:
            self._tell(items, epoch, results)
        finally:
            with self._turn:
                self._received += 1
                self._turn.notify_all()
        return [receipt for receipt, _ in results]

    def _failed(self, exc: BaseException) -> None:
        # The child died with the group: no receipts, the devices resend.
        log.error("telemetry ingestion process failed (%s); restarting it", exc)
        self._stop_child()

    def _tell(
        self,
        items: Sequence[Inbound],
        epoch: int,
        results: list[tuple[Receipt | None, _AcceptedFields | None]],
    ) -> None:
        accepted: list[Accepted] = []
        for item, (_, fields) in zip(items, results, strict=True):
            if fields is None:
                continue
            status, unit_id, serial, telemetry_id, is_batch = fields
            if item.topic_serial == serial:
                self.credentials.put(serial_key(serial), (unit_id, serial), epoch)
            if is_batch and status == "stored" and not self.tells_stored_batches:
                continue
            message = _message(item)
            if message is None:
                continue
            accepted.append(Accepted(status, message, unit_id, serial, telemetry_id))
        self.local.tell(accepted)


def _message(item: Inbound) -> Any:
    if item.decoded is not None:
        return item.decoded[1]
    try:
        return parse_message(decode(item.payload))
    except TelemetryRejected:
        return None
