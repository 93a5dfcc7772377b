"""The transport-independent ingestion entry: bytes in, one transaction, a receipt out.

MQTT, the WebSocket and the benchmark all hand raw payloads to :class:`Ingestor`. Each message
runs in its own transaction; any error rolls it back, so a rejected message leaves the index as
it was (and the raw store is only written after every check has passed). Listeners (the
tele-rehabilitation live hub) hear of every accepted message after its transaction commits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry import service
from exoshare.telemetry.errors import DeviceNotAuthenticated, TelemetryRejected
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
from exoshare.telemetry.store import RawStore

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


class Ingestor:
    """Turns device payloads into stored telemetry. Thread-safe: one session per message."""

    def __init__(
        self, factory: sessionmaker[Session], store: RawStore, max_nan_run_s: float = 0.5
    ) -> None:
        self.factory = factory
        self.store = store
        self.max_nan_run_s = max_nan_run_s
        self.times = StageTimes()
        self.counts: Counter[str] = Counter()
        self.listeners: list[AcceptedListener] = []

    def add_listener(self, listener: AcceptedListener) -> None:
        """Call ``listener`` (in the ingesting thread) after each accepted message commits."""
        self.listeners.append(listener)

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
        started = time.perf_counter()
        message: Message | None = None
        try:
            obj = decode(payload)
            message = parse_message(obj)
            mark = self.times.add("decode", started)
            with session_scope(self.factory) as session:
                device = self._device(session, obj, secret, device_id, topic_serial)
                outcome = self._apply(session, device, message)
                accepted = Accepted(
                    outcome.status,
                    message,
                    device.id,
                    device.serial_number,
                    outcome.session.id if outcome.session is not None else None,
                )
            # Everything in the transaction that is not validating or writing files is SQL.
            self.times.add("transaction", mark)
        except TelemetryRejected as exc:
            self.counts["rejected"] += 1
            log.info("telemetry rejected (%s): %s", exc.code, exc.detail)
            return _receipt("rejected", message, exc.code, exc.detail)
        except DeviceNotAuthenticated as exc:
            self.counts["rejected"] += 1
            return _receipt("rejected", message, "not-authenticated", exc.detail)
        self.counts[accepted.status] += 1
        for listener in self.listeners:
            try:
                listener(accepted)
            except Exception:
                # The message is stored whatever a listener does; the device gets its receipt.
                log.exception("telemetry listener failed on %s", type(message).__name__)
        return _receipt(accepted.status, message)

    def _device(
        self,
        session: Session,
        obj: dict[str, Any],
        secret: str | None,
        device_id: str | None,
        topic_serial: str | None,
    ) -> DeviceUnit:
        if device_id is not None:
            unit = session.get(DeviceUnit, device_id)
            if unit is None:
                raise DeviceNotAuthenticated("the device no longer exists")
        else:
            auth = secret or obj.get("auth")
            unit = service.authenticate_device(session, auth if isinstance(auth, str) else None)
        if topic_serial is not None and topic_serial != unit.serial_number:
            raise DeviceNotAuthenticated(
                f"the credential belongs to {unit.serial_number}, not to {topic_serial}"
            )
        return unit

    def _apply(self, session: Session, device: DeviceUnit, message: Message) -> service.Outcome:
        if isinstance(message, SampleBatch):
            outcome = service.ingest_batch(
                session, self.store, device, message, self.max_nan_run_s, self.times.seconds
            )
        elif isinstance(message, SessionAnnounce):
            outcome = service.announce_session(session, device, message)
        elif isinstance(message, DeviceEvent):
            outcome = service.record_event(session, device, message)
        elif isinstance(message, SessionEnd):
            outcome = service.end_session(session, self.store, device, message)
        elif isinstance(message, CommandAck):
            outcome = service.record_ack(session, device, message)
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
