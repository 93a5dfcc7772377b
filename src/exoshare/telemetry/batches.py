"""Storing sample batches: the one path every batch takes (MQTT, WebSocket, upload, import).

A batch is keyed by (device, session, seq) and stored exactly once: a repeat of a stored key
is answered ``duplicate`` and stores nothing. Everything is checked before anything is
written, so a rejected batch changes neither the raw store nor the index. Batches come in
groups (the MQTT worker's group commit; a single batch is a group of one): one query reads
their sessions, their stored batches come from what the ingestor remembers
(:mod:`exoshare.telemetry.known_batches`); on PostgreSQL the new index rows go in with one COPY
and the sessions' counts with one UPDATE (SQLite runs an ``executemany`` of each).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import psycopg
from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from exoshare.db import new_ids, utcnow
from exoshare.errors import TelemetryRejected
from exoshare.telemetry.credentials import Device
from exoshare.telemetry.known_batches import KnownBatches, KnownTransaction, SessionFacts
from exoshare.telemetry.models import SessionStatus, TelemetryBatch, TelemetrySession
from exoshare.telemetry.protocol import SampleBatch
from exoshare.telemetry.sessions import Outcome, session_keys_in, unknown_session
from exoshare.telemetry.store import BatchStore
from exoshare.telemetry.summaries import finish_session
from exoshare.telemetry.validation import batch_times, check_values

BatchResult = Outcome | TelemetryRejected
"""What happened to one batch: stored or duplicate, or the rejection it earned."""


def ingest_batch(
    session: Session,
    store: BatchStore,
    device: Device,
    batch: SampleBatch,
    max_nan_run_s: float = 0.5,
) -> Outcome:
    """One batch (a group of one, see :func:`ingest_batches`); a rejection is raised."""
    result = ingest_batches(session, store, [(device, batch)], max_nan_run_s)[0]
    if isinstance(result, TelemetryRejected):
        raise result
    return result


def ingest_batches(
    session: Session,
    store: BatchStore,
    items: Sequence[tuple[Device, SampleBatch]],
    max_nan_run_s: float = 0.5,
    stage_seconds: dict[str, float] | None = None,
    known: KnownTransaction | None = None,
) -> list[BatchResult]:
    """Validate and store each batch exactly once; per item an :class:`Outcome` or the
    :class:`TelemetryRejected` it earned, in order (nothing of a rejected batch is written).

    Per batch, in this order: its session must have been announced; a stored seq (or one
    earlier in the group) is ``duplicate``; a session that ended, or a seq at or past the
    count its end announced, refuses it; its times and values are checked; its samples must
    not overlap a stored batch's. Then its file is written and its index row added. A session
    whose end came before its last batches is finished (analysed) once the last one is in.

    ``known`` is what the caller's ingestor remembers between groups; it learns of the new
    batches once the caller commits (:meth:`KnownTransaction.commit`). Without it the stored
    batches are read for this call only. ``stage_seconds``, when given, accumulates the time
    spent validating and writing files.
    """
    if not items:
        return []
    view = known if known is not None else KnownBatches().transaction()
    stored = _store(session, store, items, max_nan_run_s, stage_seconds, view)
    if stored is not None:
        return stored
    # Another writer stored one of these batches between our read and our insert (the unique
    # (session, seq) index caught it). Alone, the batch is that writer's: the same content
    # under the same name. In a group, each batch is checked again on its own, from SQL.
    if len(items) == 1:
        device, batch = items[0]
        return [Outcome("duplicate", session_id=_session_id(session, device, batch))]
    return [
        ingest_batches(session, store, [item], max_nan_run_s, stage_seconds, view)[0]
        for item in items
    ]


def _session_id(session: Session, device: Device, batch: SampleBatch) -> str | None:
    return session.scalar(
        select(TelemetrySession.id).where(
            TelemetrySession.device_unit_id == device.id,
            TelemetrySession.device_session_id == batch.session_id,
        )
    )


def _store(
    session: Session,
    store: BatchStore,
    items: Sequence[tuple[Device, SampleBatch]],
    max_nan_run_s: float,
    stage_seconds: dict[str, float] | None,
    view: KnownTransaction,
) -> list[BatchResult] | None:
    """:func:`ingest_batches` once; None if the INSERT met a batch another writer stored."""
    out: list[BatchResult | None] = [None] * len(items)
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
                sessions.c.expected_batches,
            ).where(session_keys_in(session, keys))
        )
    }
    by_id = {row.id: row for row in records.values()}
    # An ended session takes no batch: each is a duplicate or refused, from one query.
    ended = {row.id for row in records.values() if row.status is SessionStatus.ended}
    ended_seqs = _stored_seqs(session, ended, items, records) if ended else set()
    live = {row.id: row.n_batches for row in records.values() if row.id not in ended}
    with view.known.lock:
        for sid in ended:
            view.known.forget(sid)
        entries, facts = view.sessions_as_of(session, live)
        rows: list[dict[str, Any]] = []
        added: dict[str, list[tuple[float, float, int]]] = {}
        clock = time.perf_counter()
        for k, (device, batch) in enumerate(items):
            found = records.get((device.id, batch.session_id))
            if found is None:
                out[k] = unknown_session(device, batch.session_id)
                continue
            sid = found.id
            if sid in ended:
                out[k] = (
                    Outcome("duplicate", session_id=sid)
                    if (sid, batch.seq) in ended_seqs
                    else _ended(found.expected_batches, batch)
                )
                continue
            entry = entries[sid]
            if (
                batch.seq in entry.base.seqs
                or batch.seq in entry.added_seqs
                or batch.seq in (seq for _, _, seq in added.get(sid, ()))
            ):
                out[k] = Outcome("duplicate", session_id=sid)
                continue
            if found.expected_batches is not None and batch.seq >= found.expected_batches:
                out[k] = _ended(found.expected_batches, batch)
                continue
            try:
                times = _checked_times(facts[sid], batch, max_nan_run_s)
            except TelemetryRejected as exc:
                out[k] = exc
                continue
            half = 0.5 / facts[sid].sampling_rate_hz
            first, last = float(times[0]), float(times[-1])
            lo, hi = first - half, last + half
            earlier = (*entry.added, *added.get(sid, ()))
            if lo < entry.base.floor:
                # Older than what is kept: the stored batches there are looked up in SQL.
                overlapping = _overlapping_in_sql(session, sid, lo, hi)
            else:
                overlapping = entry.base.overlapping(lo, hi)
            if overlapping is None:
                overlapping = next((q for f, la, q in earlier if f <= hi and la >= lo), None)
            if overlapping is not None:
                out[k] = _overlap(batch, times, overlapping)
                continue
            clock = _tick(stage_seconds, "validate", clock)
            name = store.write_batch(
                device.serial_number, sid, batch.seq, times, batch.values, batch.block
            )
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
        if rows:
            samples: dict[str, int] = dict.fromkeys(added, 0)
            for index_row in rows:
                samples[index_row["session_id"]] += index_row["n_samples"]
            # One order for every writer (by session, then seq; sessions' counts by id). The
            # group's session rows are already locked, in id order, before any write
            # (sessions.lock_for_group): that, not this order, keeps two processes storing the
            # same sessions from deadlocking.
            rows.sort(key=lambda r: (r["session_id"], r["seq"]))
            counts = [(sid, len(added[sid]), samples[sid]) for sid in sorted(added)]
            try:
                with session.begin_nested():
                    _insert_index_rows(session, rows)
                    _add_counts(session, counts)
            except IntegrityError:
                return None
            # Stored: the transaction now knows of them (others once it commits).
            for sid, new in added.items():
                entries[sid].added.extend(new)
                entries[sid].added_seqs.update(seq for _, _, seq in new)
                # A row this transaction loaded earlier (an announce in the same group, an
                # import) must not keep its old counts.
                loaded = session.identity_map.get(identity_key(TelemetrySession, sid))
                if loaded is not None:
                    session.expire(loaded, ["n_batches", "n_samples"])
    for sid, new in added.items():
        row = by_id[sid]
        if row.status is SessionStatus.ending and row.n_batches + len(new) == row.expected_batches:
            record = session.get(TelemetrySession, sid)
            assert record is not None
            finish_session(session, store, record)
    assert all(result is not None for result in out)
    return cast(list[BatchResult], out)


_INDEX_COLUMNS = (
    "session_id",
    "device_unit_id",
    "seq",
    "n_samples",
    "first_sample_time_s",
    "last_sample_time_s",
    "file",
)
_COPY_INDEX_ROWS = (
    f"COPY telemetry_batches (id, {', '.join(_INDEX_COLUMNS)}, received_at) FROM STDIN"
)


def _insert_index_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """The group's new index rows, in the order given; a row another writer stored raises
    :class:`IntegrityError`, as an INSERT would.

    On PostgreSQL one COPY on the group's own connection: an ``executemany`` of INSERTs took
    ~10 ms of the storage process's CPU for a group of 600 rows (SQLAlchemy processing every
    row's parameters and defaults, psycopg sending one statement per row), the COPY ~2.5 ms
    (psycopg formats the rows in C; benchmarks/telemetry_index_writes.py). SQLite keeps the
    ``executemany``, which it runs in process anyway."""
    if session.get_bind().dialect.name != "postgresql":
        insert_index_rows_each(session, rows)
        return
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a connection checked out for the group's transaction
    received = utcnow()
    try:
        with raw.cursor() as cursor, cursor.copy(_COPY_INDEX_ROWS) as copy:
            for row_id, row in zip(new_ids(len(rows)), rows, strict=True):
                copy.write_row((row_id, *(row[name] for name in _INDEX_COLUMNS), received))
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(_COPY_INDEX_ROWS, None, exc) from exc


def _add_counts(session: Session, counts: list[tuple[str, int, int]]) -> None:
    """Add (session id, batches, samples) to each session's counts, in the order given.

    On PostgreSQL one UPDATE joined to the counts as arrays, for the reason of
    :func:`_insert_index_rows`."""
    if session.get_bind().dialect.name != "postgresql":
        add_counts_each(session, counts)
        return
    sessions = cast(Table, TelemetrySession.__table__)
    sids, batches, samples = (list(column) for column in zip(*counts, strict=True))
    given = (
        func.unnest(
            literal(sids, ARRAY(String)),
            literal(batches, ARRAY(Integer)),
            literal(samples, ARRAY(Integer)),
        )
        .table_valued("sid", "nb", "ns")
        .render_derived()
    )
    session.execute(
        update(sessions)
        .where(sessions.c.id == given.c.sid)
        .values(
            n_batches=sessions.c.n_batches + given.c.nb,
            n_samples=sessions.c.n_samples + given.c.ns,
        )
    )


def insert_index_rows_each(session: Session, rows: list[dict[str, Any]]) -> None:
    """:func:`_insert_index_rows` as an ``executemany`` of INSERTs (SQLite's way)."""
    session.execute(insert(cast(Table, TelemetryBatch.__table__)), rows)


def add_counts_each(session: Session, counts: list[tuple[str, int, int]]) -> None:
    """:func:`_add_counts` as an ``executemany`` of UPDATEs (SQLite's way)."""
    sessions = cast(Table, TelemetrySession.__table__)
    session.execute(
        update(sessions)
        .where(sessions.c.id == bindparam("sid"))
        .values(
            n_batches=sessions.c.n_batches + bindparam("nb"),
            n_samples=sessions.c.n_samples + bindparam("ns"),
        ),
        [{"sid": sid, "nb": nb, "ns": ns} for sid, nb, ns in counts],
    )


def _stored_seqs(
    session: Session,
    session_ids: set[str],
    items: Sequence[tuple[Device, SampleBatch]],
    records: dict[tuple[str, str], Any],
) -> set[tuple[str, int]]:
    """Which (session id, seq) of ``items`` in ``session_ids`` are stored."""
    wanted = set()
    for device, batch in items:
        found = records.get((device.id, batch.session_id))
        if found is not None and found.id in session_ids:
            wanted.add((found.id, batch.seq))
    rows = session.execute(
        select(TelemetryBatch.session_id, TelemetryBatch.seq).where(
            tuple_(TelemetryBatch.session_id, TelemetryBatch.seq).in_(list(wanted))
        )
    )
    return {(sid, seq) for sid, seq in rows}


def _overlapping_in_sql(session: Session, session_id: str, lo: float, hi: float) -> int | None:
    return session.scalar(
        select(TelemetryBatch.seq)
        .where(
            TelemetryBatch.session_id == session_id,
            TelemetryBatch.first_sample_time_s <= hi,
            TelemetryBatch.last_sample_time_s >= lo,
        )
        .limit(1)
    )


def _ended(expected_batches: int | None, batch: SampleBatch) -> TelemetryRejected:
    return TelemetryRejected(
        "session-ended",
        f"session {batch.session_id!r} ended after {expected_batches} batches; "
        f"batch {batch.seq} cannot belong to it",
        field="seq",
    )


def _checked_times(facts: SessionFacts, batch: SampleBatch, max_nan_run_s: float) -> np.ndarray:
    """The batch's sample times, once its times and values passed the checks; a batch that
    starts before its session did is refused."""
    fs = facts.sampling_rate_hz
    times = batch_times(batch.first_sample_time_s, batch.n_samples, fs, batch.timestamps_s)
    if times[0] < facts.start_time_s - 0.5 / fs:
        raise TelemetryRejected(
            "non-monotonic-timestamps",
            f"batch {batch.seq} starts at {times[0]:.3f} s, before the session start "
            f"{facts.start_time_s:.3f} s",
            field="t0",
        )
    check_values(batch.values, facts.channels, fs, times, max_nan_run_s, batch.block)
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
