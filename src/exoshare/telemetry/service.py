"""Rules of telemetry: device credentials, session lifecycle, lossless batch ingestion, summaries.

Ingestion is idempotent: a batch is keyed by (device, session, seq) and a repeat of a stored key
is answered ``duplicate`` and stores nothing; everything is checked before anything is written,
so a rejected batch changes neither the raw store nor the index.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, and_, bindparam, event, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.devices.models import DeviceUnit
from exoshare.errors import DeviceNotAuthenticated, NotFound, PermissionDenied, TelemetryRejected
from exoshare.fleet.custody import current_holder
from exoshare.gait import GaitDataError, Recording, SessionSummary, analyse
from exoshare.network.models import OrgUnit
from exoshare.patients import service as patients_service
from exoshare.patients.models import Patient
from exoshare.telemetry.models import (
    DeviceCredential,
    SessionStatus,
    TelemetryBatch,
    TelemetryEvent,
    TelemetrySession,
)
from exoshare.telemetry.mosquitto_hash import password_hash
from exoshare.telemetry.protocol import (
    CommandAck,
    DeviceEvent,
    SampleBatch,
    SessionAnnounce,
    SessionEnd,
)
from exoshare.telemetry.store import BatchStore, RawStore
from exoshare.telemetry.validation import (
    batch_times,
    check_channels,
    check_sampling_rate,
    check_values,
)

log = logging.getLogger(__name__)

DEVICE_SECRET_PREFIX = "exodev_"
LEG_TO_HEIGHT_RATIO = 0.53
"""Leg length (greater trochanter to floor) as a share of body height, Winter 2009, for the
spatial model when the device does not report the leg length."""
IMPORT_BATCH_SAMPLES = 6000


@dataclass(frozen=True)
class Outcome:
    """What ingestion did with one message: ``stored`` or ``duplicate``."""

    status: str
    session: TelemetrySession | None = None
    """The session's row, when the rules loaded it (the grouped batch path does not)."""
    session_id: str | None = None
    """The session's id (the row's, when only the row is given)."""

    def __post_init__(self) -> None:
        if self.session_id is None and self.session is not None:
            object.__setattr__(self, "session_id", self.session.id)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_revocations = 0
"""Counts credential revocations in this process; caches of verified credentials compare it."""


def revocation_epoch() -> int:
    """Changes whenever a credential is revoked in this process (see ``CredentialCache``)."""
    return _revocations


@dataclass(frozen=True)
class CredentialChange:
    """A credential issued or revoked, told to the brokers after its transaction committed."""

    kind: str
    """``issued`` or ``revoked``."""
    credential_id: str
    device_serial: str


CredentialListener = Callable[[CredentialChange], None]
_credential_listeners: list[CredentialListener] = []


def add_credential_listener(listener: CredentialListener) -> Callable[[], None]:
    """Call ``listener`` (in the committing thread) after each issue or revocation commits in
    this process: the embedded broker cuts a revoked device off, the Mosquitto files are
    rewritten. Returns a function that removes it again."""
    _credential_listeners.append(listener)
    return lambda: _credential_listeners.remove(listener)


def _after_commit(session: Session, change: CredentialChange) -> None:
    # After the commit, not at the change: a device cut off at once would reconnect while the
    # revocation is not yet visible to the broker's check, and stay connected.
    def tell(_: Session) -> None:
        for listener in list(_credential_listeners):
            try:
                listener(change)
            except Exception:
                log.exception("credential listener failed on %s", change)

    event.listen(session, "after_commit", tell, once=True)


def _unix(moment_s: float) -> datetime:
    return datetime.fromtimestamp(moment_s, tz=UTC)


# ---------------------------------------------------------------------------- credentials


def _unit_for_admin(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = session.scalar(
        select(DeviceUnit)
        .where(DeviceUnit.id == unit_id)
        .options(selectinload(DeviceUnit.org_unit))
    )
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found")
    if not principal.covers(Permission.units_write, unit.org_unit.path):
        if principal.covers(Permission.devices_read, unit.org_unit.path):
            raise PermissionDenied(f"you may not manage credentials of {unit.serial_number}")
        raise NotFound(f"device unit {unit_id} not found")
    return unit


def issue_device_credential(
    session: Session, principal: Principal, unit_id: str, label: str | None = None
) -> tuple[str, DeviceCredential]:
    """A new secret for a device (shown once); the CLI and the demo pass their system principal."""
    unit = _unit_for_admin(session, principal, unit_id)
    secret = DEVICE_SECRET_PREFIX + secrets.token_urlsafe(32)
    credential = DeviceCredential(
        device_unit_id=unit.id,
        secret_sha256=_sha256(secret),
        broker_password_hash=password_hash(secret),
        label=label,
        issued_by_id=principal.user_ref,
    )
    session.add(credential)
    session.flush()
    _after_commit(session, CredentialChange("issued", credential.id, unit.serial_number))
    return secret, credential


def revoke_device_credential(
    session: Session, principal: Principal, credential_id: str
) -> DeviceCredential:
    credential = session.get(DeviceCredential, credential_id)
    if credential is None:
        raise NotFound(f"device credential {credential_id} not found")
    try:
        unit = _unit_for_admin(session, principal, credential.device_unit_id)
    except NotFound:
        # Told about the unit, the caller would learn the credential exists and whose it is.
        raise NotFound(f"device credential {credential_id} not found") from None
    if credential.revoked_at is None:
        credential.revoked_at = datetime.now(UTC)
    global _revocations
    _revocations += 1
    _after_commit(session, CredentialChange("revoked", credential.id, unit.serial_number))
    return credential


def authenticate_device(
    session: Session, secret: str | None, digest: str | None = None
) -> DeviceUnit:
    """The device a secret belongs to; unknown and revoked secrets are refused alike.

    ``digest`` is the secret's SHA-256 when the caller has computed it already.
    """
    if not secret:
        raise DeviceNotAuthenticated("a device credential is required")
    credential = session.scalar(
        select(DeviceCredential)
        .where(DeviceCredential.secret_sha256 == (digest or _sha256(secret)))
        .options(selectinload(DeviceCredential.device_unit).selectinload(DeviceUnit.org_unit))
    )
    if credential is None or credential.revoked_at is not None:
        raise DeviceNotAuthenticated("the device credential is unknown or revoked")
    return credential.device_unit


def credential_unit(session: Session, digest: str) -> tuple[str, str]:
    """(unit id, serial) of the device a secret's SHA-256 belongs to, in one query and without
    ORM objects: all ingestion needs, re-checked for every device every few seconds (see
    :class:`~exoshare.telemetry.ingest.CredentialCache`). Refuses as :func:`authenticate_device`.
    """
    row = session.execute(
        select(DeviceUnit.id, DeviceUnit.serial_number, DeviceCredential.revoked_at)
        .join(DeviceUnit, DeviceUnit.id == DeviceCredential.device_unit_id)
        .where(DeviceCredential.secret_sha256 == digest)
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise DeviceNotAuthenticated("the device credential is unknown or revoked")
    return row.id, row.serial_number


def serial_unit(session: Session, serial: str) -> tuple[str, str]:
    """(unit id, serial) of the device ``serial`` if it holds an unrevoked credential.

    On MQTT the broker has authenticated the device (username = serial) and its ACL lets it
    publish only on its own topics, so the topic's serial names the sender; ingestion still
    refuses a serial without a live credential (a broker misconfigured to let anyone in).
    """
    row = session.execute(
        select(DeviceUnit.id, DeviceUnit.serial_number)
        .join(DeviceCredential, DeviceCredential.device_unit_id == DeviceUnit.id)
        .where(DeviceUnit.serial_number == serial, DeviceCredential.revoked_at.is_(None))
        .limit(1)
    ).one_or_none()
    if row is None:
        raise DeviceNotAuthenticated(f"{serial!r} holds no valid device credential")
    return row.id, row.serial_number


@dataclass(frozen=True)
class BrokerDevice:
    """A device the broker let in: which credential, and the clinic whose topics it uses."""

    credential_id: str
    serial: str
    org_unit_code: str


def broker_device(session: Session, serial: str, secret: str) -> BrokerDevice | None:
    """The device ``serial`` if ``secret`` is one of its unrevoked credentials, else None.

    Unknown serial, wrong secret and revoked secret answer alike."""
    row = session.execute(
        select(DeviceCredential.id, DeviceUnit.serial_number, OrgUnit.code)
        .join(DeviceUnit, DeviceUnit.id == DeviceCredential.device_unit_id)
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
        .where(
            DeviceCredential.secret_sha256 == _sha256(secret),
            DeviceCredential.revoked_at.is_(None),
        )
    ).one_or_none()
    if row is None or row.serial_number != serial:
        return None
    return BrokerDevice(row.id, row.serial_number, row.code)


def revoked_among(session: Session, credential_ids: Iterable[str]) -> set[str]:
    """Which of these credentials are revoked (or gone): the broker's sweep for revocations
    made by another process."""
    wanted = set(credential_ids)
    if not wanted:
        return set()
    live = session.scalars(
        select(DeviceCredential.id).where(
            DeviceCredential.id.in_(wanted), DeviceCredential.revoked_at.is_(None)
        )
    ).all()
    return wanted - set(live)


def unit_by_serial(session: Session, serial: str) -> DeviceUnit:
    unit = session.scalar(
        select(DeviceUnit)
        .where(DeviceUnit.serial_number == serial)
        .options(selectinload(DeviceUnit.org_unit), selectinload(DeviceUnit.model))
    )
    if unit is None:
        raise TelemetryRejected("unknown-device", f"no device with serial {serial!r}")
    return unit


# ---------------------------------------------------------------------------- sessions


def _session_of(session: Session, device: DeviceUnit, device_session_id: str) -> TelemetrySession:
    found = session.scalar(
        select(TelemetrySession).where(
            TelemetrySession.device_unit_id == device.id,
            TelemetrySession.device_session_id == device_session_id,
        )
    )
    if found is None:
        raise TelemetryRejected(
            "unknown-session",
            f"session {device_session_id!r} of {device.serial_number} was never announced; "
            "send the session announce, then resend",
            field="session_id",
        )
    return found


def _device_serves(
    session: Session, device: DeviceUnit, patient: Patient, announce: SessionAnnounce
) -> bool:
    """Whether the device may record this patient: a patient of the clinic holding the device
    when the session starts (or of a clinic under a non-clinic holder's subtree).

    Every telemetry write hangs off a session, so this one check keeps a device to its own
    clinic's patients on every path (MQTT, WebSocket, file upload, import); another clinic's
    patient is refused exactly like an unknown one. The start time is the device's word; a
    forged one can only name a clinic that really held this device then, never the future.
    """
    at = min(_unix(announce.start_time_s), datetime.now(UTC))
    holder = session.get(OrgUnit, current_holder(session, device.id, at))
    clinic = session.get(OrgUnit, patient.clinic_id)
    return holder is not None and clinic is not None and clinic.path.startswith(holder.path)


def announce_session(
    session: Session,
    device: DeviceUnit,
    announce: SessionAnnounce,
    source: str = "mqtt",
    source_file: str | None = None,
) -> Outcome:
    if announce.device_serial != device.serial_number:
        raise TelemetryRejected(
            "unknown-device",
            f"the announce names device {announce.device_serial!r} but the credential "
            f"belongs to {device.serial_number}",
            field="device",
        )
    channels = check_channels(announce.channels)
    # Decoding checked it already; a recording built in code (import, demo) is checked here.
    check_sampling_rate(announce.sampling_rate_hz)
    existing = session.scalar(
        select(TelemetrySession).where(
            TelemetrySession.device_unit_id == device.id,
            TelemetrySession.device_session_id == announce.session_id,
        )
    )
    if existing is not None:
        same = (
            existing.patient_id == announce.patient_id
            and math.isclose(existing.start_time_s, announce.start_time_s, abs_tol=1e-6)
            and math.isclose(existing.sampling_rate_hz, announce.sampling_rate_hz)
            and existing.channels == channels
        )
        if not same:
            raise TelemetryRejected(
                "session-conflict",
                f"session {announce.session_id!r} was already announced with a different "
                "patient, start time, rate or channel list",
                field="session_id",
            )
        return Outcome("duplicate", existing)
    patient = session.get(Patient, announce.patient_id)
    if patient is None or patient.voided or not _device_serves(session, device, patient, announce):
        raise TelemetryRejected(
            "unknown-patient", f"no patient with id {announce.patient_id!r}", field="patient_id"
        )
    record = TelemetrySession(
        device_unit_id=device.id,
        device_session_id=announce.session_id,
        patient_id=patient.id,
        source=source,
        source_file=source_file,
        started_at=_unix(announce.start_time_s),
        start_time_s=announce.start_time_s,
        sampling_rate_hz=announce.sampling_rate_hz,
        channels=channels,
        settings=announce.settings,
        meta=announce.meta,
    )
    session.add(record)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another worker announced the same session a moment ago.
        return Outcome("duplicate", _session_of(session, device, announce.session_id))
    return Outcome("stored", record)


def ingest_batch(
    session: Session,
    store: BatchStore,
    device: DeviceUnit,
    batch: SampleBatch,
    max_nan_run_s: float = 0.5,
    stage_seconds: dict[str, float] | None = None,
) -> Outcome:
    """Validate and store one batch exactly once; a rejected batch leaves no trace.

    ``stage_seconds``, when given, accumulates the time spent validating and writing.
    """
    record = _session_of(session, device, batch.session_id)
    stored = session.scalar(
        select(TelemetryBatch.id).where(
            TelemetryBatch.session_id == record.id, TelemetryBatch.seq == batch.seq
        )
    )
    if stored is not None:
        return Outcome("duplicate", record)
    if record.status is SessionStatus.ended or (
        record.expected_batches is not None and batch.seq >= record.expected_batches
    ):
        raise TelemetryRejected(
            "session-ended",
            f"session {batch.session_id!r} ended after {record.expected_batches} batches; "
            f"batch {batch.seq} cannot belong to it",
            field="seq",
        )
    clock = time.perf_counter()
    fs = record.sampling_rate_hz
    times = _times_after_start(record, batch)
    half = 0.5 / fs
    check_values(batch.values, record.channels, fs, times, max_nan_run_s)
    overlapping = session.scalar(
        select(TelemetryBatch.seq)
        .where(
            TelemetryBatch.session_id == record.id,
            TelemetryBatch.first_sample_time_s <= float(times[-1]) + half,
            TelemetryBatch.last_sample_time_s >= float(times[0]) - half,
        )
        .limit(1)
    )
    if overlapping is not None:
        raise _overlap(batch, times, overlapping)
    clock = _tick(stage_seconds, "validate", clock)
    name = store.write_batch(device.serial_number, record.id, batch.seq, times, batch.values)
    _tick(stage_seconds, "write", clock)
    row = TelemetryBatch(
        session_id=record.id,
        device_unit_id=device.id,
        seq=batch.seq,
        n_samples=batch.n_samples,
        first_sample_time_s=float(times[0]),
        last_sample_time_s=float(times[-1]),
        file=name,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # A concurrent retry won the race; its file is the same content under the same name.
        return Outcome("duplicate", record)
    session.execute(
        update(TelemetrySession)
        .where(TelemetrySession.id == record.id)
        .values(
            n_batches=TelemetrySession.n_batches + 1,
            n_samples=TelemetrySession.n_samples + batch.n_samples,
        )
    )
    session.refresh(record)
    if record.status is SessionStatus.ending and record.n_batches == record.expected_batches:
        finish_session(session, store, record)
    return Outcome("stored", record)


KNOWN_WINDOW_S = 60.0
"""How much sample time of a session's stored batches :class:`KnownBatches` keeps for the
overlap check; a new batch older than that is checked in SQL (one by one)."""


class _SeqRanges:
    """A set of sequence numbers kept as sorted, disjoint ``[start, end)`` ranges: a session
    streamed in order is one range however long it runs."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def __contains__(self, seq: int) -> bool:
        i = bisect.bisect_right(self.starts, seq) - 1
        return i >= 0 and seq < self.ends[i]

    def add(self, seq: int) -> None:
        i = bisect.bisect_right(self.starts, seq) - 1
        if i >= 0 and seq < self.ends[i]:
            return
        joins_next = i + 1 < len(self.starts) and self.starts[i + 1] == seq + 1
        if i >= 0 and self.ends[i] == seq:
            if joins_next:
                self.ends[i] = self.ends.pop(i + 1)
                del self.starts[i + 1]
            else:
                self.ends[i] = seq + 1
        elif joins_next:
            self.starts[i + 1] = seq
        else:
            self.starts.insert(i + 1, seq)
            self.ends.insert(i + 1, seq + 1)


@dataclass
class _KnownSession:
    """The stored batches of one session as of ``n_batches`` (the session row's counter)."""

    n_batches: int
    seqs: _SeqRanges
    intervals: list[tuple[float, float, int]]
    """(first, last sample time, seq), sorted by first. Stored batches never overlap (each was
    checked against the others), so they are sorted by last too."""
    floor: float
    """Every stored batch that ends at or after ``floor`` is in ``intervals``."""

    def add(self, first: float, last: float, seq: int) -> None:
        self.seqs.add(seq)
        bisect.insort(self.intervals, (first, last, seq))

    def overlapping(self, lo: float, hi: float) -> int | None:
        """The seq of a stored batch with samples in [lo, hi] (callers ensure lo >= floor)."""
        k = bisect.bisect_right(self.intervals, (hi, math.inf, math.inf))
        found = None
        while k > 0 and self.intervals[k - 1][1] >= lo:
            k -= 1
            found = self.intervals[k][2]
        return found

    def prune(self) -> None:
        if not self.intervals:
            return
        cutoff = self.intervals[-1][1] - KNOWN_WINDOW_S
        if self.intervals[0][1] < cutoff:
            del self.intervals[: bisect.bisect_left(self.intervals, cutoff, key=lambda iv: iv[1])]
            self.floor = max(self.floor, cutoff)


@dataclass
class _SessionFacts:
    """What the batch checks need of a session; none of it changes after the announce."""

    start_time_s: float
    sampling_rate_hz: float
    channels: dict[str, str]


class KnownBatches:
    """The stored batches of recent sessions, kept between groups so that storing a group reads
    no stored batches. A session's entry is used only while the session row's ``n_batches``
    still equals the count the entry was built for: a batch stored by anyone else (another
    process, the one-by-one rules) makes it be read again from SQL.

    What a transaction learns stays in its :class:`KnownTransaction` until it commits, so a
    rolled-back group leaves nothing behind.
    """

    def __init__(self, max_sessions: int = 2000) -> None:
        self.max_sessions = max_sessions
        self.lock = threading.RLock()
        self._sessions: OrderedDict[str, _KnownSession] = OrderedDict()
        self._facts: dict[str, _SessionFacts] = {}
        self.reads = 0
        """Sessions whose stored batches were read from SQL (for tests)."""

    def transaction(self) -> KnownTransaction:
        return KnownTransaction(self)

    def forget(self, session_id: str) -> None:
        with self.lock:
            self._sessions.pop(session_id, None)
            self._facts.pop(session_id, None)


@dataclass
class _Pending:
    """A session as one transaction sees it: a known state plus the batches it added."""

    base: _KnownSession
    base_batches: int
    read_here: bool
    added: list[tuple[float, float, int]]
    added_seqs: set[int]

    @property
    def n_batches(self) -> int:
        return self.base_batches + len(self.added)


class KnownTransaction:
    """:class:`KnownBatches` as one transaction sees and changes it (see :func:`ingest_batches`)."""

    def __init__(self, known: KnownBatches) -> None:
        self.known = known
        self._pending: dict[str, _Pending] = {}

    def commit(self) -> None:
        """The transaction committed: keep what it stored and read."""
        known = self.known
        with known.lock:
            for sid, pending in self._pending.items():
                current = known._sessions.get(sid)
                entry = pending.base
                if not pending.read_here and (
                    current is not entry or entry.n_batches != pending.base_batches
                ):
                    known._sessions.pop(sid, None)  # changed meanwhile: read it again
                    continue
                for first, last, seq in pending.added:
                    entry.add(first, last, seq)
                entry.n_batches = pending.n_batches if entry.n_batches >= 0 else -1
                entry.prune()
                known._sessions[sid] = entry
            while len(known._sessions) > known.max_sessions:
                sid, _ = known._sessions.popitem(last=False)
                known._facts.pop(sid, None)
            if len(known._facts) > 2 * known.max_sessions:
                known._facts.clear()  # facts of sessions whose groups never committed
        self._pending.clear()

    def _sessions(
        self, session: Session, counts: dict[str, int]
    ) -> tuple[dict[str, _Pending], dict[str, _SessionFacts]]:
        """The sessions ``counts`` names (id → its row's n_batches) as of those counts, and
        their facts, reading from SQL what is not known at that count. Call with the lock."""
        known = self.known
        stale: list[str] = []
        for sid, n in counts.items():
            pending = self._pending.get(sid)
            if pending is not None and pending.n_batches == n:
                continue
            entry = known._sessions.get(sid)
            if entry is not None and entry.n_batches == n:
                known._sessions.move_to_end(sid)
                self._pending[sid] = _Pending(entry, n, False, [], set())
            else:
                stale.append(sid)
        if stale:
            known.reads += len(stale)
            fresh = {sid: _KnownSession(0, _SeqRanges(), [], -math.inf) for sid in stale}
            rows = session.execute(
                select(
                    TelemetryBatch.session_id,
                    TelemetryBatch.seq,
                    TelemetryBatch.first_sample_time_s,
                    TelemetryBatch.last_sample_time_s,
                ).where(TelemetryBatch.session_id.in_(stale))
            )
            for sid, seq, first, last in rows:
                entry = fresh[sid]
                entry.seqs.add(seq)
                entry.intervals.append((first, last, seq))
                entry.n_batches += 1
            for sid, entry in fresh.items():
                entry.intervals.sort()
                entry.prune()
                # The rows and the count were read by different statements: if they disagree
                # (another writer in between), the entry is used now, never kept.
                entry.n_batches = counts[sid] if entry.n_batches == counts[sid] else -1
                self._pending[sid] = _Pending(entry, counts[sid], True, [], set())
        missing = [sid for sid in counts if sid not in known._facts]
        if missing:
            table = cast(Table, TelemetrySession.__table__)
            for sid, start, rate, channels in session.execute(
                select(
                    table.c.id, table.c.start_time_s, table.c.sampling_rate_hz, table.c.channels
                ).where(table.c.id.in_(missing))
            ):
                known._facts[sid] = _SessionFacts(start, rate, channels)
        return (
            {sid: self._pending[sid] for sid in counts},
            {sid: known._facts[sid] for sid in counts},
        )


def ingest_batches(
    session: Session,
    store: BatchStore,
    items: list[tuple[DeviceUnit, SampleBatch]],
    max_nan_run_s: float = 0.5,
    stage_seconds: dict[str, float] | None = None,
    known: KnownTransaction | None = None,
) -> list[Outcome | TelemetryRejected | None]:
    """The same rules as :func:`ingest_batch` for many batches, in a few statements.

    Per item: an :class:`Outcome`, the :class:`TelemetryRejected` it earned, or ``None`` when
    the item needs :func:`ingest_batch` (its session is ending or ended, or the batch is older
    than what ``known`` keeps). One query reads the sessions; the stored batches come from
    ``known`` (read from SQL for sessions it does not know as they are now); the new index rows
    go in with one INSERT and each session's counts with one UPDATE. ``known`` learns of the
    new batches once the caller commits (:meth:`KnownTransaction.commit`); without it the stored
    batches are read for this call only. A uniqueness conflict (another writer stored one of
    these batches meanwhile) raises ``IntegrityError``: the caller then rolls back to its
    savepoint and stores one by one.
    """
    out: list[Outcome | TelemetryRejected | None] = [None] * len(items)
    view = known if known is not None else KnownBatches().transaction()
    sessions = cast(Table, TelemetrySession.__table__)
    keys = {(device.id, batch.session_id) for device, batch in items}
    records = {
        (row.device_unit_id, row.device_session_id): row
        for row in session.execute(
            select(
                sessions.c.id,
                sessions.c.device_unit_id,
                sessions.c.device_session_id,
                sessions.c.status,
                sessions.c.n_batches,
            ).where(tuple_(sessions.c.device_unit_id, sessions.c.device_session_id).in_(list(keys)))
        )
    }
    # Ending and ended sessions go one by one (they may finish inside the group).
    recording = {
        row.id: row.n_batches for row in records.values() if row.status is SessionStatus.recording
    }
    with view.known.lock:
        for row in records.values():
            if row.status is SessionStatus.ended:
                view.known.forget(row.id)
        entries, facts = view._sessions(session, recording)
        rows: list[dict[str, Any]] = []
        added: dict[str, list[tuple[float, float, int]]] = {}
        clock = time.perf_counter()
        for k, (device, batch) in enumerate(items):
            found = records.get((device.id, batch.session_id))
            if found is None:
                out[k] = _unknown_session(device, batch.session_id)
                continue
            sid = found.id
            entry = entries.get(sid)
            if entry is None:
                continue
            if batch.seq in entry.base.seqs or batch.seq in entry.added_seqs:
                out[k] = Outcome("duplicate", session_id=sid)
                continue
            if batch.seq in (seq for _, _, seq in added.get(sid, ())):
                out[k] = Outcome("duplicate", session_id=sid)
                continue
            try:
                times = _checked_times(facts[sid], batch, max_nan_run_s)
            except TelemetryRejected as exc:
                out[k] = exc
                continue
            half = 0.5 / facts[sid].sampling_rate_hz
            first, last = float(times[0]), float(times[-1])
            lo, hi = first - half, last + half
            if lo < entry.base.floor:
                continue  # older than what is kept: checked in SQL, one by one
            overlapping = entry.base.overlapping(lo, hi)
            if overlapping is None:
                earlier = (*entry.added, *added.get(sid, ()))
                overlapping = next((q for f, la, q in earlier if f <= hi and la >= lo), None)
            if overlapping is not None:
                out[k] = _overlap(batch, times, overlapping)
                continue
            clock = _tick(stage_seconds, "validate", clock)
            name = store.write_batch(device.serial_number, sid, batch.seq, times, batch.values)
            clock = _tick(stage_seconds, "write", clock)
            added.setdefault(sid, []).append((first, last, batch.seq))
            rows.append(
                {
                    "session_id": sid,
                    "device_unit_id": device.id,
                    "seq": batch.seq,
                    "n_samples": batch.n_samples,
                    "first_sample_time_s": first,
                    "last_sample_time_s": last,
                    "file": name,
                }
            )
            out[k] = Outcome("stored", session_id=sid)
        if not rows:
            return out
        session.execute(insert(cast(Table, TelemetryBatch.__table__)), rows)
        samples: dict[str, int] = dict.fromkeys(added, 0)
        for index_row in rows:
            samples[index_row["session_id"]] += index_row["n_samples"]
        session.execute(
            update(sessions)
            .where(sessions.c.id == bindparam("sid"))
            .values(
                n_batches=sessions.c.n_batches + bindparam("nb"),
                n_samples=sessions.c.n_samples + bindparam("ns"),
            ),
            [{"sid": sid, "nb": len(new), "ns": samples[sid]} for sid, new in added.items()],
        )
        # Stored: the transaction now knows of them (others once it commits).
        for sid, new in added.items():
            entries[sid].added.extend(new)
            entries[sid].added_seqs.update(seq for _, _, seq in new)
            # A row this transaction loaded earlier (an announce in the same group) must not
            # keep its old counts.
            loaded = session.identity_map.get(identity_key(TelemetrySession, sid))
            if loaded is not None:
                session.expire(loaded, ["n_batches", "n_samples"])
    return out


def _unknown_session(device: DeviceUnit, device_session_id: str) -> TelemetryRejected:
    return TelemetryRejected(
        "unknown-session",
        f"session {device_session_id!r} of {device.serial_number} was never announced; "
        "send the session announce, then resend",
        field="session_id",
    )


def _times_after_start(record: TelemetrySession | _SessionFacts, batch: SampleBatch) -> np.ndarray:
    """The batch's sample times; a batch that starts before its session did is refused."""
    fs = record.sampling_rate_hz
    times = batch_times(batch.first_sample_time_s, batch.n_samples, fs, batch.timestamps_s)
    if times[0] < record.start_time_s - 0.5 / fs:
        raise TelemetryRejected(
            "non-monotonic-timestamps",
            f"batch {batch.seq} starts at {times[0]:.3f} s, before the session start "
            f"{record.start_time_s:.3f} s",
            field="t0",
        )
    return times


def _checked_times(facts: _SessionFacts, batch: SampleBatch, max_nan_run_s: float) -> np.ndarray:
    times = _times_after_start(facts, batch)
    check_values(batch.values, facts.channels, facts.sampling_rate_hz, times, max_nan_run_s)
    return times


def _overlap(batch: SampleBatch, times: np.ndarray, seq: int) -> TelemetryRejected:
    return TelemetryRejected(
        "duplicate-timestamps",
        f"batch {batch.seq} ({times[0]:.3f}-{times[-1]:.3f} s) overlaps the samples of "
        f"stored batch {seq}",
        field="t0",
        overlaps_seq=seq,
    )


def _tick(stage_seconds: dict[str, float] | None, stage: str, since: float) -> float:
    now = time.perf_counter()
    if stage_seconds is not None:
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + now - since
    return now


def _stable_id(text: str) -> int:
    # Acks are keyed by their command id; a negative id keeps them apart from device event ids.
    return -int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "big") - 1


def record_event(session: Session, device: DeviceUnit, event: DeviceEvent) -> Outcome:
    record = _session_of(session, device, event.session_id)
    return _store_event(session, record, event.event_id, event.time_s, event.kind, event.detail)


def record_ack(session: Session, device: DeviceUnit, ack: CommandAck) -> Outcome:
    """Keep a device's answer to a command with its session (telerehab reads it from there)."""
    if ack.session_id is None:
        return Outcome("stored")
    record = _session_of(session, device, ack.session_id)
    kind = "command_applied" if ack.status == "applied" else "command_rejected"
    detail = {"command_id": ack.command_id, "reason": ack.reason}
    return _store_event(session, record, _stable_id(ack.command_id), ack.time_s, kind, detail)


def _store_event(
    session: Session,
    record: TelemetrySession,
    event_id: int,
    time_s: float,
    kind: str,
    detail: dict[str, Any],
) -> Outcome:
    exists = session.scalar(
        select(TelemetryEvent.id).where(
            TelemetryEvent.session_id == record.id, TelemetryEvent.event_id == event_id
        )
    )
    if exists is not None:
        return Outcome("duplicate", record)
    try:
        with session.begin_nested():
            session.add(
                TelemetryEvent(
                    session_id=record.id,
                    event_id=event_id,
                    time_s=time_s,
                    kind=kind,
                    detail=detail,
                )
            )
            session.flush()
    except IntegrityError:
        return Outcome("duplicate", record)
    return Outcome("stored", record)


def end_session(
    session: Session, store: BatchStore, device: DeviceUnit, end: SessionEnd
) -> Outcome:
    """Mark the end; the summary is computed once every announced batch is stored."""
    record = _session_of(session, device, end.session_id)
    if record.status is not SessionStatus.recording:
        return Outcome("duplicate", record)
    stored_max = session.scalar(
        select(func.max(TelemetryBatch.seq)).where(TelemetryBatch.session_id == record.id)
    )
    if stored_max is not None and stored_max >= end.n_batches:
        raise TelemetryRejected(
            "session-conflict",
            f"the end says {end.n_batches} batches but batch {stored_max} is stored",
            field="n_batches",
        )
    record.expected_batches = end.n_batches
    record.ended_at = _unix(end.end_time_s)
    record.status = SessionStatus.ending
    if record.n_batches >= end.n_batches:
        finish_session(session, store, record)
    return Outcome("stored", record)


def finish_session(session: Session, store: BatchStore, record: TelemetrySession) -> None:
    """Analyse the complete session and keep its summary (an analysis failure is kept too)."""
    record.status = SessionStatus.ended
    record.ended_at = record.ended_at or datetime.now(UTC)
    try:
        summary = analyse(read_recording(session, store, record))
    except GaitDataError as exc:
        record.analysis_error = str(exc)
        return
    store_summary(record, summary)


def store_summary(record: TelemetrySession, summary: SessionSummary) -> None:
    data = summary.to_dict(include_strides=False)
    data["events"] = {
        side: {"ic_s": e.ic_s.round(3).tolist(), "fc_s": e.fc_s.round(3).tolist()}
        for side, e in summary.events.items()
    }
    record.summary = data
    record.analysis_error = None

    def finite(value: float) -> float | None:
        return float(value) if value is not None and math.isfinite(value) else None

    record.duration_s = finite(summary.duration_s)
    record.step_count = int(summary.step_count)
    record.cadence_steps_per_min = finite(summary.cadence_steps_per_min)
    record.stride_time_s = finite(summary.parameters["stride_time_s"]["both"].mean)
    record.step_time_symmetry_index_pct = finite(summary.symmetry["step_time_s"]["si_pct"])
    record.distance_m = finite(summary.distance_m)


# ---------------------------------------------------------------------------- reading


def recording_meta(session: Session, record: TelemetrySession) -> dict[str, Any]:
    """What the gait engine needs to know: the device's meta, filled from the device and patient."""
    meta = dict(record.meta or {})
    unit = session.get(DeviceUnit, record.device_unit_id)
    if unit is not None:
        meta.setdefault("device_type", unit.model.device_type.value)
    patient = session.get(Patient, record.patient_id)
    if patient is not None:
        meta.setdefault("height_m", patient.height_m)
        meta.setdefault("leg_length_m", round(LEG_TO_HEIGHT_RATIO * patient.height_m, 3))
    return meta


def read_recording(session: Session, store: BatchStore, record: TelemetrySession) -> Recording:
    """The session's samples: its batches in sequence order, each placed at its sample times.

    Gaps between batches (a batch not yet arrived) read as NaN, so a sample is never shifted.
    """
    batches = session.scalars(
        select(TelemetryBatch)
        .where(TelemetryBatch.session_id == record.id)
        .order_by(TelemetryBatch.seq)
    ).all()
    fs = record.sampling_rate_hz
    loaded = [store.read_batch(b.file) for b in batches]
    if not loaded:
        channels: dict[str, np.ndarray] = {name: np.zeros(0) for name in record.channels}
        return Recording(fs, channels, record.start_time_s, recording_meta(session, record))
    indices = [np.rint((b.time_s - record.start_time_s) * fs).astype(np.int64) for b in loaded]
    length = int(max(int(i[-1]) for i in indices)) + 1
    out = {name: np.full(length, np.nan) for name in record.channels}
    for batch, index in zip(loaded, indices, strict=True):
        for name in out:
            out[name][index] = batch.values[name]
    return Recording(fs, out, record.start_time_s, recording_meta(session, record))


# ---------------------------------------------------------------------------- import


def import_recording(
    session: Session,
    store: RawStore,
    device: DeviceUnit,
    patient_id: str,
    recording: Recording,
    source: str,
    source_file: str | None = None,
    session_key: str | None = None,
    max_nan_run_s: float = 0.5,
) -> TelemetrySession:
    """Store a whole recording as a session (announce, batches, end) and summarise it.

    The caller's transaction makes it all or nothing in SQL; files written before a failure
    stay unreferenced and are never read.
    """
    start = recording.start_time_s or datetime.now(UTC).timestamp()
    key = session_key or f"{source}-{secrets.token_hex(8)}"
    announce = SessionAnnounce(
        session_id=key,
        device_serial=device.serial_number,
        patient_id=patient_id,
        start_time_s=start,
        sampling_rate_hz=recording.sampling_rate_hz,
        channels={name: _unit(name) for name in recording.channels},
        meta={k: v for k, v in recording.meta.items() if _jsonable(v)},
    )
    outcome = announce_session(session, device, announce, source=source, source_file=source_file)
    record = outcome.session
    assert record is not None
    if outcome.status == "duplicate":
        return record
    n = recording.n_samples
    n_batches = 0
    for seq, first in enumerate(range(0, n, IMPORT_BATCH_SAMPLES)):
        last = min(n, first + IMPORT_BATCH_SAMPLES)
        batch = SampleBatch(
            key,
            seq,
            start + first / recording.sampling_rate_hz,
            last - first,
            {name: values[first:last] for name, values in recording.channels.items()},
        )
        ingest_batch(session, store, device, batch, max_nan_run_s)
        n_batches += 1
    end_time = start + n / recording.sampling_rate_hz
    end_session(session, store, device, SessionEnd(key, end_time, n_batches, n))
    return record


def _unit(name: str) -> str:
    from exoshare.gait.channels import channel

    return channel(name).unit


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


# ---------------------------------------------------------------------------- scoped reads


def _visible_patient(session: Session, principal: Principal, patient_id: str) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None or patient.voided:
        raise NotFound("not found")
    if principal.covers(Permission.patients_read, patient.clinic.path):
        return patient
    if patient.user_id is not None and patient.user_id == principal.user_id:
        return patient
    raise NotFound("not found")


def get_session(session: Session, principal: Principal, session_id: str) -> TelemetrySession:
    """A session the caller may see (one who may read its patient), audited as a patient read."""
    record = session.scalar(
        select(TelemetrySession)
        .where(TelemetrySession.id == session_id)
        .options(
            selectinload(TelemetrySession.patient).selectinload(Patient.clinic),
            selectinload(TelemetrySession.device_unit).selectinload(DeviceUnit.model),
        )
    )
    if record is None:
        raise NotFound(f"session {session_id} not found")
    try:
        _visible_patient(session, principal, record.patient_id)
    except NotFound:
        raise NotFound(f"session {session_id} not found") from None
    audit.record(
        session,
        principal,
        "read",
        "telemetry_session",
        record.id,
        patient_id=record.patient_id,
    )
    return record


def session_samples(
    session: Session, principal: Principal, store: RawStore, session_id: str
) -> tuple[TelemetrySession, Recording]:
    record = get_session(session, principal, session_id)
    audit.record(
        session,
        principal,
        "read",
        "telemetry_samples",
        record.id,
        patient_id=record.patient_id,
        detail={"n_samples": record.n_samples},
    )
    return record, read_recording(session, store, record)


def sessions_of_patient(
    session: Session, principal: Principal, patient_id: str, limit: int = 100
) -> list[TelemetrySession]:
    patients_service.get_patient(session, principal, patient_id)  # scoped and audited
    rows = session.scalars(
        select(TelemetrySession)
        .where(TelemetrySession.patient_id == patient_id)
        .options(selectinload(TelemetrySession.device_unit))
        .order_by(TelemetrySession.started_at.desc())
        .limit(limit)
    ).all()
    return list(rows)


def events_of(session: Session, record: TelemetrySession) -> list[TelemetryEvent]:
    return list(
        session.scalars(
            select(TelemetryEvent)
            .where(and_(TelemetryEvent.session_id == record.id, TelemetryEvent.event_id >= 0))
            .order_by(TelemetryEvent.time_s)
        )
    )
