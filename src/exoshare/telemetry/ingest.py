"""The transport-independent ingestion entry: bytes in, one transaction, receipts out.

MQTT, the WebSocket and the benchmark hand raw payloads to :class:`Ingestor`.
:meth:`Ingestor.handle_many` (group commit, what the MQTT worker uses) takes every message
queued at once and stores them in ONE transaction: session messages (announce, event, ack,
end) each run in their own savepoint and each run of consecutive sample batches goes through
the one batch rule (:func:`exoshare.telemetry.batches.ingest_batches`), so a rejected message
leaves nothing behind while the others commit. The raw store is written only after a
message's checks have passed and before the commit (with ``group_files`` every batch of the
group goes into one Parquet file); receipts are built only after the commit, so a device
forgets a batch only once it is durable. :meth:`Ingestor.handle` is a group of one. Listeners
(the tele-rehabilitation live hub) hear of every accepted message after its group commits.

Device credentials are verified in SQL once and then cached for ``credential_ttl_s``; a
revocation in this process empties the cache at once, one in another process takes effect
within the TTL.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.errors import DeviceNotAuthenticated, TelemetryRejected
from exoshare.telemetry import credentials, sessions
from exoshare.telemetry.batches import ingest_batches
from exoshare.telemetry.credentials import DeviceRef
from exoshare.telemetry.known_batches import KnownBatches
from exoshare.telemetry.protocol import (
    CommandAck,
    DeviceEvent,
    Message,
    Receipt,
    SampleBatch,
    SessionAnnounce,
    SessionEnd,
    decode,
    parse_message,
)
from exoshare.telemetry.sessions import Outcome
from exoshare.telemetry.store import BatchStore, GroupWriter, RawStore

log = logging.getLogger(__name__)


@dataclass
class StageTimes:
    """Seconds spent per stage, for the ingestion benchmark's time shares."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now


@dataclass(frozen=True)
class Accepted:
    """A message ingestion accepted and committed (``stored``, or ``duplicate`` of a stored one)."""

    status: str
    message: Message
    device_unit_id: str
    device_serial: str
    telemetry_session_id: str | None


AcceptedListener = Callable[[Accepted], None]
GroupListener = Callable[[list[Accepted]], None]


@dataclass(frozen=True)
class Inbound:
    """One payload for :meth:`Ingestor.handle_many` and how its sender is known (see handle)."""

    payload: bytes | str
    secret: str | None = None
    device_id: str | None = None
    topic_serial: str | None = None
    decoded: tuple[dict[str, Any], Message] | None = None
    """The payload already decoded and parsed (by the MQTT worker's live tap), not redone."""
    topic_org: str | None = None
    """The organisation unit code of the MQTT topic it came on (where its receipt goes)."""


class CredentialCache:
    """Verified device credentials (SHA-256 of the secret → device unit id) for ``ttl_s``.

    Saves the SQL credential check (and the device lookup) on every message. Emptied
    whenever a credential is revoked in this process (:func:`credentials.revocation_epoch`); a
    revocation elsewhere (another process) is honoured within ``ttl_s``.
    """

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[tuple[str, str], float]] = {}
        self._epoch = credentials.revocation_epoch()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, digest: str) -> tuple[str, str] | None:
        """(device unit id, serial) of a verified credential, or None."""
        now = self.clock()
        with self._lock:
            epoch = credentials.revocation_epoch()
            if epoch != self._epoch:
                self._entries.clear()
                self._epoch = epoch
            found = self._entries.get(digest)
            if found is None or found[1] <= now:
                self.misses += 1
                return None
            self.hits += 1
            return found[0]

    def put(self, digest: str, unit: tuple[str, str], epoch: int) -> None:
        with self._lock:
            # Verified before a revocation that has happened since: do not keep it.
            if epoch == credentials.revocation_epoch() and self.ttl_s > 0:
                self._entries[digest] = (unit, self.clock() + self.ttl_s)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


GROUP_ATTEMPTS = 3
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
"""deadlock_detected, serialization_failure: the transaction was sound, its timing was not."""


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _transient(exc: DBAPIError) -> bool:
    return _sqlstate(exc) in TRANSIENT_SQLSTATES


def serial_key(serial: str) -> str:
    """The credential cache's key for a device known by its MQTT topic (a broker-authenticated
    serial) rather than by a secret; cannot collide with a SHA-256 hex digest."""
    return f"serial:{serial}"


def verify_serials(cache: CredentialCache, session: Session, serials: Collection[str]) -> int:
    """Check the credentials of the devices ``serials`` name (MQTT topic serials) in one query
    and keep the valid ones in ``cache`` for another TTL; returns how many were valid. Those
    without a live credential are left out: whoever asks next is refused."""
    if not serials:
        return 0
    epoch = credentials.revocation_epoch()
    valid = credentials.serial_units(session, serials)
    for serial, unit in valid.items():
        cache.put(serial_key(serial), unit, epoch)
    return len(valid)


def verified_device(cache: CredentialCache, topic_serial: str) -> str | None:
    """The device unit id of an MQTT topic's serial verified recently (from the cache; no SQL),
    or None. For the live tap, which must not wait for the database."""
    known = cache.get(serial_key(topic_serial))
    if known is None or known[1] != topic_serial:
        return None
    return known[0]


class Ingestor:
    """Turns device payloads into stored telemetry. Thread-safe: one transaction per group.

    ``group_files``: every batch of a group goes into one Parquet file (see
    :class:`exoshare.telemetry.store.GroupWriter`) instead of one file per batch.
    """

    answers_devices = False
    """Receipts are returned to the caller (the MQTT worker publishes them)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        store: RawStore,
        max_nan_run_s: float = 0.5,
        *,
        group_files: bool = False,
        credential_ttl_s: float = 5.0,
    ) -> None:
        self.factory = factory
        self.store = store
        self.max_nan_run_s = max_nan_run_s
        self.group_files = group_files
        self.credentials = CredentialCache(credential_ttl_s)
        self.known = KnownBatches()
        self._units: dict[tuple[str, str], DeviceRef] = {}
        self.times = StageTimes()
        self.counts: Counter[str] = Counter()
        self.groups = 0
        self.listeners: list[AcceptedListener] = []
        self.group_listeners: list[GroupListener] = []

    def add_listener(self, listener: AcceptedListener) -> None:
        """Call ``listener`` (in the ingesting thread) after each accepted message commits."""
        self.listeners.append(listener)

    def add_group_listener(self, listener: GroupListener) -> None:
        """Call ``listener`` once per committed group with its accepted messages in order."""
        self.group_listeners.append(listener)

    def handle(
        self,
        payload: bytes | str,
        *,
        secret: str | None = None,
        device_id: str | None = None,
        topic_serial: str | None = None,
    ) -> Receipt:
        """Ingest one payload. The device is proven by ``secret`` (the ``auth`` field of the
        message is used when absent) or, for an already authenticated WebSocket, ``device_id``.
        """
        receipt, _ = self._group([Inbound(payload, secret, device_id, topic_serial)])[0]
        assert receipt is not None  # a group always answers every item it stored or refused
        return receipt

    def handle_many(self, items: Sequence[Inbound]) -> list[Receipt | None]:
        """Ingest a group in one transaction; a receipt per item, in order.

        ``None`` means no receipt: the item could not be stored for a reason that is not the
        device's (e.g. the database went away); the device resends it as for a lost receipt.
        """
        return [receipt for receipt, _ in self.handle_many_accepted(items)]

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]:
        """:meth:`handle_many` as the MQTT worker asks for it: stored now, in the caller's
        thread; the call returned gives the receipts."""
        receipts = self.handle_many(items)
        return lambda: receipts

    def handle_many_accepted(
        self, items: Sequence[Inbound]
    ) -> list[tuple[Receipt | None, Accepted | None]]:
        """:meth:`handle_many`, with each item's :class:`Accepted` (None if not accepted)."""
        if not items:
            return []
        attempt = 1
        while True:
            try:
                return list(self._group(items))
            except DBAPIError as exc:
                if attempt == GROUP_ATTEMPTS or not _transient(exc):
                    return self._one_by_one(items)
                # Another process's group took the same sessions' rows in another order and
                # the database chose this one to abort: the whole group again, as PostgreSQL
                # advises, instead of one transaction per message.
                log.warning(
                    "telemetry group of %d aborted by the database (%s); trying again",
                    len(items),
                    _sqlstate(exc),
                )
                time.sleep(0.01 * attempt)
                attempt += 1
            except Exception:
                return self._one_by_one(items)

    def _one_by_one(self, items: Sequence[Inbound]) -> list[tuple[Receipt | None, Accepted | None]]:
        """After a group failed for a reason outside the per-message rules (called while its
        exception is handled): each message in its own transaction, so that one cannot hold
        back the others."""
        if len(items) == 1:
            log.exception("telemetry ingestion failed; no receipt")
            return [(None, None)]
        log.exception("telemetry group of %d failed; retrying one by one", len(items))
        out: list[tuple[Receipt | None, Accepted | None]] = []
        for item in items:
            try:
                out.extend(self._group([item]))
            except Exception:
                log.exception("telemetry ingestion failed; no receipt")
                out.append((None, None))
        return out

    def _group(self, items: Sequence[Inbound]) -> list[tuple[Receipt | None, Accepted | None]]:
        started = time.perf_counter()
        receipts: list[Receipt | None] = [None] * len(items)
        parsed: list[tuple[int, dict[str, Any], Message]] = []
        for i, item in enumerate(items):
            message: Message | None = None
            if item.decoded is not None:
                parsed.append((i, *item.decoded))
                continue
            try:
                obj = decode(item.payload)
                message = parse_message(obj)
            except TelemetryRejected as exc:
                receipts[i] = self._rejected(message, exc.code, exc.detail)
                continue
            parsed.append((i, obj, message))
        mark = self.times.add("decode", started)
        accepted: list[tuple[int, Accepted]] = []
        writer: GroupWriter | None = self.store.group() if self.group_files else None
        target: BatchStore = writer if writer is not None else self.store
        known = self.known.transaction()
        with session_scope(self.factory) as session:
            if session.get_bind().dialect.name == "sqlite":
                # Take SQLite's single write lock now (waiting up to busy_timeout): a group
                # that read first and wrote later would fail at once ("database is locked")
                # whenever another connection committed in between.
                session.execute(text("BEGIN IMMEDIATE"))
            devices: dict[str, DeviceRef] = {}
            self._verify_serials(session, [items[i] for i, _, _ in parsed])
            run: list[tuple[int, DeviceRef, SampleBatch]] = []

            def keep(i: int, message: Message, device: DeviceRef, outcome: Outcome) -> None:
                accepted.append(
                    (
                        i,
                        Accepted(
                            outcome.status,
                            message,
                            device.id,
                            device.serial_number,
                            outcome.session_id,
                        ),
                    )
                )

            def one(i: int, device: DeviceRef, message: Message) -> None:
                try:
                    with session.begin_nested():
                        outcome = self._apply(session, device, message, target)
                except TelemetryRejected as exc:
                    receipts[i] = self._rejected(message, exc.code, exc.detail)
                    return
                keep(i, message, device, outcome)

            def flush_run() -> None:
                if not run:
                    return
                results = ingest_batches(
                    session,
                    target,
                    [(device, batch) for _, device, batch in run],
                    self.max_nan_run_s,
                    self.times.seconds,
                    known,
                )
                for (i, device, batch), result in zip(run, results, strict=True):
                    if isinstance(result, TelemetryRejected):
                        receipts[i] = self._rejected(batch, result.code, result.detail)
                    else:
                        keep(i, batch, device, result)
                run.clear()

            resolved: list[tuple[int, DeviceRef, Message]] = []
            for i, obj, message in parsed:
                try:
                    resolved.append((i, self._device(session, obj, items[i], devices), message))
                except DeviceNotAuthenticated as exc:
                    receipts[i] = self._rejected(message, "not-authenticated", exc.detail)
            sessions.lock_for_group(
                session,
                {
                    (device.id, message.session_id)
                    for _, device, message in resolved
                    if not isinstance(message, SessionAnnounce) and message.session_id
                },
            )
            for i, device, message in resolved:
                if isinstance(message, SampleBatch):
                    run.append((i, device, message))
                    continue
                flush_run()  # messages of a device keep their order
                one(i, device, message)
            flush_run()
            accepted.sort(key=lambda pair: pair[0])
            if writer is not None:
                clock = time.perf_counter()
                writer.flush()  # the samples are on disk before the index says they are
                self.times.add("write", clock)
        known.commit()
        # Everything in the transaction that is not validating or writing files is SQL.
        self.times.add("transaction", mark)
        self.groups += 1
        by_item: list[Accepted | None] = [None] * len(items)
        for i, done in accepted:
            self.counts[done.status] += 1
            receipts[i] = _receipt(done.status, done.message)
            by_item[i] = done
        self.tell([done for _, done in accepted])
        assert all(r is not None for r in receipts)
        return [(r, done) for r, done in zip(receipts, by_item, strict=True) if r is not None]

    def _rejected(self, message: Message | None, code: str, detail: str) -> Receipt:
        self.counts["rejected"] += 1
        if code != "not-authenticated":
            log.info("telemetry rejected (%s): %s", code, detail)
        return _receipt("rejected", message, code, detail)

    def tell(self, accepted: list[Accepted]) -> None:
        """Hand committed messages to the listeners (also for groups stored elsewhere, by
        :class:`exoshare.telemetry.ingest_process.IngestProcess`)."""
        for done in accepted:
            for listener in self.listeners:
                try:
                    listener(done)
                except Exception:
                    # The message is stored whatever a listener does; the device gets its receipt.
                    log.exception("telemetry listener failed on %s", type(done.message).__name__)
        if accepted:
            for group_listener in self.group_listeners:
                try:
                    group_listener(accepted)
                except Exception:
                    log.exception("telemetry group listener failed")

    def known_device(self, obj: dict[str, Any], topic_serial: str) -> str | None:
        return verified_device(self.credentials, topic_serial)

    def _device(
        self,
        session: Session,
        obj: dict[str, Any],
        item: Inbound,
        devices: dict[str, DeviceRef],
    ) -> DeviceRef:
        if item.device_id is not None:
            unit = credentials.device_by_id(session, item.device_id)
            if unit is None:
                raise DeviceNotAuthenticated("the device no longer exists")
        elif item.secret is None and item.topic_serial is not None:
            # MQTT: the broker authenticated the device and lets it publish only on its own
            # topics, so the topic names it; a secret in the payload is not looked at.
            unit = self._known(session, serial_key(item.topic_serial), devices, item.topic_serial)
        else:
            # In-process callers (tests, benchmarks) may still name the device by its secret.
            auth = item.secret or obj.get("auth")
            if not isinstance(auth, str) or not auth:
                raise DeviceNotAuthenticated("a device credential is required")
            digest = hashlib.sha256(auth.encode()).hexdigest()
            unit = self._known(session, digest, devices, None)
        if item.topic_serial is not None and item.topic_serial != unit.serial_number:
            raise DeviceNotAuthenticated(
                f"the credential belongs to {unit.serial_number}, not to {item.topic_serial}"
            )
        return unit

    def _verify_serials(self, session: Session, items: Sequence[Inbound]) -> None:
        """Verify in one query every MQTT device of a group that the cache does not hold.

        Each device is verified again every ``ttl_s``: one query per device was ~20 a second
        per 100 live devices. A serial without a live credential is left out and refused by
        :meth:`_known` as before."""
        serials = {
            item.topic_serial
            for item in items
            if item.device_id is None and item.secret is None and item.topic_serial is not None
        }
        unknown = [serial for serial in serials if self.credentials.get(serial_key(serial)) is None]
        verify_serials(self.credentials, session, unknown)

    def _known(
        self,
        session: Session,
        key: str,
        devices: dict[str, DeviceRef],
        serial: str | None,
    ) -> DeviceRef:
        """The device of a secret's digest or (``serial`` given) of a topic serial: from this
        group, else the cache, else one query; unknown and revoked are refused alike."""
        found = devices.get(key)
        if found is None:
            known = self.credentials.get(key)
            if known is None:
                epoch = credentials.revocation_epoch()
                if serial is not None:
                    known = credentials.serial_unit(session, serial)
                else:
                    known = credentials.credential_unit(session, key)
                self.credentials.put(key, known, epoch)
            found = devices[key] = self._unit(known)
        return found

    def _unit(self, known: tuple[str, str]) -> DeviceRef:
        """The device's id and serial, all ingestion needs: no query at all, and made once per
        device rather than per message."""
        unit = self._units.get(known)
        if unit is None:
            if len(self._units) >= 10_000:
                self._units.clear()
            unit = self._units[known] = DeviceRef(known[0], known[1])
        return unit

    def _apply(
        self, session: Session, device: DeviceRef, message: Message, store: BatchStore
    ) -> Outcome:
        """The rule of one message that is not a sample batch (those go in groups)."""
        if isinstance(message, SessionAnnounce):
            outcome = sessions.announce_session(session, device, message)
        elif isinstance(message, DeviceEvent):
            outcome = sessions.record_event(session, device, message)
        elif isinstance(message, SessionEnd):
            outcome = sessions.end_session(session, store, device, message)
        elif isinstance(message, CommandAck):
            outcome = sessions.record_ack(session, device, message)
        else:  # pragma: no cover - parse_message returns only the types above
            raise TelemetryRejected("malformed", f"cannot ingest {type(message).__name__}")
        return outcome


def _receipt(
    status: str, message: Message | None, code: str | None = None, detail: str | None = None
) -> Receipt:
    return Receipt(
        status=status,
        message_type=message.type if message is not None else "unknown",
        session_id=getattr(message, "session_id", None),
        seq=message.seq if isinstance(message, SampleBatch) else None,
        code=code,
        detail=detail,
    )
