"""What the batch path remembers of recent sessions' stored batches, between groups.

Why it exists: the MQTT worker stores the batches of many live sessions in groups of a few
hundred, several times a second. Each batch is checked against the batches its session has
stored (a repeated seq is a duplicate; samples overlapping a stored batch's are refused).
Reading those from SQL for every group would cost a query per group that grows with the
session's length; kept here, a group in steady state reads no stored batches at all.

It only ever speeds up :func:`exoshare.telemetry.batches.ingest_batches`, never decides: an
entry is used only while its session row's ``n_batches`` still equals the count the entry was
built for, so a batch stored by anyone else (another process) makes it be brought up to date,
and what a transaction learns stays in its :class:`KnownTransaction` until it commits, so a
rolled-back group leaves nothing behind. Sequence numbers are kept whole; sample intervals only
for the last ``KNOWN_WINDOW_S`` of a session (a batch older than that is checked in SQL).

Bringing an entry up to date reads only the batches from the entry's first missing sequence
number on, not the session's whole history: with several processes in one shared MQTT
subscription, Mosquitto hands a session's batches to the processes in turn, so every group of
every process finds every live session's count moved by the others. Reading whole sessions
each time cost each group a query growing with the sessions' length (a 45-minute session holds
~27,000 batches).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.orm import Session

from exoshare.telemetry.models import TelemetryBatch, TelemetrySession

REFRESH_CHUNK = 200
"""Sessions per statement when SQLite reads stored batches (``or`` of one condition each)."""
REFRESH_INLINE = 32
"""At most this many batches read to bring an entry up to date are kept as the transaction's
additions; more (a gap far back) make a new entry, so checking a batch stays a bisection."""
KNOWN_WINDOW_S = 60.0
"""How much sample time of a session's stored batches :class:`KnownBatches` keeps for the
overlap check; a new batch older than that is checked against the stored ones in SQL."""


class SeqRanges:
    """A set of sequence numbers kept as sorted, disjoint ``[start, end)`` ranges: a session
    streamed in order is one range however long it runs."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def copy(self) -> SeqRanges:
        other = SeqRanges()
        other.starts, other.ends = self.starts.copy(), self.ends.copy()
        return other

    def first_missing(self) -> int:
        """The smallest sequence number (from 0) not in the set: every smaller one is."""
        return self.ends[0] if self.starts and self.starts[0] == 0 else 0

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
    seqs: SeqRanges
    intervals: list[tuple[float, float, int]]
    """(first, last sample time, seq), sorted by first. Stored batches never overlap (each was
    checked against the others), so they are sorted by last too."""
    floor: float
    """Every stored batch that ends at or after ``floor`` is in ``intervals``."""

    def add(self, first: float, last: float, seq: int) -> None:
        self.seqs.add(seq)
        bisect.insort(self.intervals, (first, last, seq))

    def copy(self) -> _KnownSession:
        return _KnownSession(self.n_batches, self.seqs.copy(), self.intervals.copy(), self.floor)

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
class SessionFacts:
    """What the batch checks need of a session; none of it changes after the announce."""

    start_time_s: float
    sampling_rate_hz: float
    channels: dict[str, str]


class KnownBatches:
    """The stored batches of recent sessions, kept between groups so that storing a group reads
    no stored batches. A session's entry is used only while the session row's ``n_batches``
    still equals the count the entry was built for: a batch stored by anyone else (another
    process, another ingestor) makes it be read again from SQL.

    What a transaction learns stays in its :class:`KnownTransaction` until it commits, so a
    rolled-back group leaves nothing behind.
    """

    def __init__(self, max_sessions: int = 2000) -> None:
        self.max_sessions = max_sessions
        self.lock = threading.RLock()
        self._sessions: OrderedDict[str, _KnownSession] = OrderedDict()
        self._facts: dict[str, SessionFacts] = {}
        self.reads = 0
        """Sessions whose stored batches were all read from SQL, from none known (for tests)."""
        self.refreshes = 0
        """Sessions brought up to date by reading only their batches this process had not
        seen (for tests)."""

    def transaction(self) -> KnownTransaction:
        return KnownTransaction(self)

    def forget(self, session_id: str) -> None:
        with self.lock:
            self._sessions.pop(session_id, None)
            self._facts.pop(session_id, None)


@dataclass
class PendingSession:
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
    """:class:`KnownBatches` as one transaction sees and changes it."""

    def __init__(self, known: KnownBatches) -> None:
        self.known = known
        self._pending: dict[str, PendingSession] = {}

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

    def sessions_as_of(
        self, session: Session, counts: dict[str, int]
    ) -> tuple[dict[str, PendingSession], dict[str, SessionFacts]]:
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
                self._pending[sid] = PendingSession(entry, n, False, [], set())
            else:
                stale.append(sid)
        if stale:
            self._read(session, stale)
        missing = [sid for sid in counts if sid not in known._facts]
        if missing:
            table = cast(Table, TelemetrySession.__table__)
            for sid, start, rate, channels in session.execute(
                select(
                    table.c.id, table.c.start_time_s, table.c.sampling_rate_hz, table.c.channels
                ).where(table.c.id.in_(missing))
            ):
                known._facts[sid] = SessionFacts(start, rate, channels)
        return (
            {sid: self._pending[sid] for sid in counts},
            {sid: known._facts[sid] for sid in counts},
        )

    def _read(self, session: Session, stale: list[str]) -> None:
        """Bring ``stale`` sessions up to date from SQL, as pending entries of this transaction.

        Each is read from its entry's first missing sequence number on: every smaller one is in
        the entry, and the entry holds only stored batches (never deleted), so the entry plus
        those rows is every stored batch. A session without an entry, or whose entry's count
        is not known, starts from an empty entry: read whole. The count is then the number of
        sequence numbers the entry holds; the session row's count was read by an earlier
        statement, so it may differ, and the next group compares against the true one."""
        known = self.known
        entries: dict[str, _KnownSession] = {}
        for sid in stale:
            entry = known._sessions.get(sid)
            if entry is not None and entry.n_batches >= 0:
                known.refreshes += 1
            else:
                entry = _KnownSession(0, SeqRanges(), [], -math.inf)
                known.reads += 1
            entries[sid] = entry
        lows = [(sid, entry.seqs.first_missing()) for sid, entry in entries.items()]
        unseen: dict[str, list[tuple[float, float, int]]] = {sid: [] for sid in entries}
        for sid, seq, first, last in _stored_from(session, lows):
            if seq not in entries[sid].seqs:
                unseen[sid].append((first, last, seq))
        for sid, entry in entries.items():
            rows = unseen[sid]
            remembered = entry is known._sessions.get(sid)
            if remembered and len(rows) <= REFRESH_INLINE:
                # The usual refresh: the few batches the other processes stored since this
                # one's last group. They join the entry as if this transaction had stored
                # them, so the entry (a minute of intervals) is not copied for each group.
                self._pending[sid] = PendingSession(
                    entry, entry.n_batches, False, rows, {seq for _, _, seq in rows}
                )
                continue
            if remembered:
                entry = entry.copy()  # never changed before the transaction commits
            for _, _, seq in rows:
                entry.seqs.add(seq)
            entry.n_batches += len(rows)
            entry.intervals.extend(rows)
            entry.intervals.sort()
            entry.prune()
            self._pending[sid] = PendingSession(entry, entry.n_batches, True, [], set())


_STORED_FROM_PG = (
    # One index range scan per session: the OFFSET 0 keeps PostgreSQL from flattening the
    # LATERAL subquery into a join, which it estimated at a third of each session's rows
    # (``seq >= low`` with an unknown low) and answered by hashing the whole table: 128 ms per
    # group of 300 sessions of 3,000 batches, against ~7.
    "SELECT k.sid, b.seq, b.first_sample_time_s, b.last_sample_time_s"
    " FROM unnest(%s::varchar[], %s::integer[]) AS k(sid, low)"
    " CROSS JOIN LATERAL (SELECT seq, first_sample_time_s, last_sample_time_s"
    " FROM telemetry_batches WHERE session_id = k.sid AND seq >= k.low OFFSET 0) AS b"
)


def _stored_from(
    session: Session, lows: list[tuple[str, int]]
) -> Iterator[tuple[str, int, float, float]]:
    """Every stored batch (session, seq, first and last sample time) of each session from its
    low sequence number on."""
    if session.get_bind().dialect.name == "postgresql":
        # One statement text whatever the number of sessions (they travel as two arrays), where
        # an ``or`` of one condition per session was compiled and planned again in every group.
        # Planned at every call (psycopg's prepare=False, on the group's own connection): a
        # plan PostgreSQL prepared and kept while the table was small scans the whole table
        # once it is not (a group of 20 sessions of 27,000 batches took 78 ms instead of 9).
        raw = session.connection().connection.driver_connection
        assert raw is not None  # a connection checked out for the group's transaction
        sids, seqs = [sid for sid, _ in lows], [low for _, low in lows]
        yield from raw.execute(_STORED_FROM_PG, (sids, seqs), prepare=False)
        return
    batches = TelemetryBatch
    columns = (
        batches.session_id,
        batches.seq,
        batches.first_sample_time_s,
        batches.last_sample_time_s,
    )
    # One statement per REFRESH_CHUNK sessions: SQLite limits an expression's depth.
    for start in range(0, len(lows), REFRESH_CHUNK):
        chunk = lows[start : start + REFRESH_CHUNK]
        query = select(*columns).where(
            or_(*(and_(batches.session_id == sid, batches.seq >= low) for sid, low in chunk))
        )
        for row in session.execute(query):
            yield row[0], row[1], row[2], row[3]
