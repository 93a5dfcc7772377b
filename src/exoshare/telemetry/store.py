"""The append-only raw store: Parquet files addressed through fsspec.

Files are written to a temporary name, flushed to disk and renamed into place, and an existing
file is never written again. A crash between writing a file and committing the index leaves an
unreferenced file, never a wrong one.

Two layouts, both read by :meth:`RawStore.read_batch` from the name the index keeps:

- one file per batch, ``SERIAL/SESSION/SEQ-DIGEST.parquet``: the name carries a digest of the
  content, so a retry of the same batch finds its file already there while different content
  under the same sequence number can never overwrite stored samples;
- one file per ingestion group (:class:`GroupWriter`), ``groups/YYYY/MM/DD/...parquet``: every
  batch of one group commit in one file, with ``device``, ``session`` and ``seq`` columns, the
  index keeping ``FILE#FIRST_ROW:END_ROW`` per batch. Writing one small Parquet file costs
  ~2 ms of CPU plus an fsync whatever its size, so 2,000 batches/s (200 devices at 100 Hz in
  10-sample batches) cannot each have their own file on a 2-core machine; a group can.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

TIME_COLUMN = "time_s"
KEY_COLUMNS = ("device", "session", "seq")
"""Columns of a group file that say whose samples a row holds (not channels)."""
GROUP_DIR = "groups"


@dataclass(frozen=True)
class StoredBatch:
    time_s: np.ndarray
    values: dict[str, np.ndarray]


class BatchStore(Protocol):
    """What ingestion writes batches to and reads them back from (a store or a group writer)."""

    def write_batch(
        self,
        device_serial: str,
        session_key: str,
        seq: int,
        time_s: np.ndarray,
        values: dict[str, np.ndarray],
        block: np.ndarray | None = None,
    ) -> str: ...

    def read_batch(self, name: str) -> StoredBatch: ...


class RawStore:
    """Parquet batch files under ``url`` (a local path or any fsspec URL, e.g. ``s3://bucket/x``).

    >>> import tempfile
    >>> store = RawStore(tempfile.mkdtemp())
    >>> name = store.write_batch("DEV-1", "s1", 0, np.array([0.0, 0.01]), {"x": np.ones(2)})
    >>> store.read_batch(name).values["x"].tolist()
    [1.0, 1.0]
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        fs, root = fsspec.core.url_to_fs(self.url)
        self.fs: AbstractFileSystem = fs
        self.root: str = root.rstrip("/")
        # An object store (S3 and the like) makes a PUT appear whole or not at all: one request
        # does what a file system needs a temporary file, an fsync and a rename for (three
        # requests there: put, copy, delete).
        self.whole_puts = not isinstance(fs, LocalFileSystem)
        self._cache: OrderedDict[str, pa.Table] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def write_batch(
        self,
        device_serial: str,
        session_key: str,
        seq: int,
        time_s: np.ndarray,
        values: dict[str, np.ndarray],
        block: np.ndarray | None = None,
    ) -> str:
        """Store one batch durably and return its file name relative to the store root.

        ``block`` (``values`` as one array, see :meth:`GroupWriter.write_batch`) is for the
        group writer; a file of one batch has no use for it."""
        columns = {TIME_COLUMN: pa.array(np.asarray(time_s, dtype=np.float64))}
        # Samples arrive as float32 on the wire; storing float32 keeps them bit-exact.
        for name in sorted(values):
            columns[name] = pa.array(np.asarray(values[name], dtype=np.float32))
        buffer = io.BytesIO()
        pq.write_table(pa.table(columns), buffer, compression="zstd")
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        name = f"{_safe(device_serial)}/{_safe(session_key)}/{seq:08d}-{digest}.parquet"
        if self.fs.exists(self._path(name)):
            return name
        self._put(name, data)
        return name

    def _put(self, name: str, data: bytes) -> None:
        """Write ``data`` durably under ``name``: temporary file, flush, fsync, rename (one
        PUT on an object store)."""
        final = self._path(name)
        if self.whole_puts:
            self.fs.pipe_file(final, data)
            return
        directory = final.rsplit("/", 1)[0]
        self.fs.makedirs(directory, exist_ok=True)
        temporary = f"{directory}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open(temporary, "wb") as handle:
            handle.write(data)
            flush = getattr(handle, "flush", None)
            if flush:
                flush()
            fileno = getattr(handle, "fileno", None)
            if fileno is not None:
                # Object stores have no fsync; their upload is durable once it completes.
                with contextlib.suppress(OSError, io.UnsupportedOperation):
                    os.fsync(fileno())
        self.fs.mv(temporary, final)

    def group(self) -> GroupWriter:
        """A writer that keeps every batch of one ingestion group in one file."""
        return GroupWriter(self)

    def read_batch(self, name: str) -> StoredBatch:
        path, _, rows = name.partition("#")
        table = self._table(path)
        if rows:
            first, _, end = rows.partition(":")
            table = table.slice(int(first), int(end) - int(first))
        values = {
            column: table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
            for column in table.column_names
            if column != TIME_COLUMN
            and column not in KEY_COLUMNS
            # A group file holds every channel of every session in it; a channel this
            # batch's session does not have is null (missing), unlike a NaN sample.
            and not (rows and table.column(column).null_count == table.num_rows)
        }
        return StoredBatch(table.column(TIME_COLUMN).to_numpy(), values)

    def _table(self, path: str) -> pa.Table:
        # Stored files never change, so a few recently read ones are kept (reading a
        # session's batches reads each group file once, not once per batch).
        with self._cache_lock:
            table = self._cache.get(path)
            if table is not None:
                self._cache.move_to_end(path)
                return table
        with self.fs.open(self._path(path), "rb") as handle:
            table = pq.read_table(handle)
        with self._cache_lock:
            self._cache[path] = table
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return table

    def files(self) -> list[str]:
        """Every stored batch file, relative to the root (for checks and tests)."""
        if not self.fs.exists(self.root):
            return []
        found = self.fs.find(self.root)
        prefix = self.root + "/"
        return sorted(
            path[len(prefix) :] if path.startswith(prefix) else path
            for path in found
            if path.endswith(".parquet")
        )


@dataclass
class _Staged:
    device: str
    session: str
    seq: int
    time_s: np.ndarray
    names: tuple[str, ...]
    block: np.ndarray
    """(channels, samples): row ``i`` holds channel ``names[i]``."""


@dataclass
class GroupWriter:
    """Collects the batches of one ingestion group and writes them as one file on :meth:`flush`.

    :meth:`write_batch` returns the name the index keeps (``FILE#FIRST:END``) at once; the file
    exists after :meth:`flush`, which the ingestor calls before it commits the index (and which
    :meth:`read_batch` calls first, so a session that ends inside the group reads its samples).
    """

    store: RawStore
    pending: list[_Staged] = field(default_factory=list)
    rows: int = 0
    file: str = ""
    files_written: int = 0

    def write_batch(
        self,
        device_serial: str,
        session_key: str,
        seq: int,
        time_s: np.ndarray,
        values: dict[str, np.ndarray],
        block: np.ndarray | None = None,
    ) -> str:
        """Stage a batch; ``block``: its ``values`` as one (channels, samples) array, rows in
        ``values``' order, when it has one already (a batch read from MessagePack)."""
        if not self.file:
            now = time.gmtime()
            stamp = time.strftime("%Y/%m/%d/%H%M%S", now)
            self.file = f"{GROUP_DIR}/{stamp}-{uuid.uuid4().hex[:16]}.parquet"
        times = np.asarray(time_s, dtype=np.float64)
        if block is None:
            block = np.array(list(values.values()), dtype=np.float64).reshape(-1, times.size)
        self.pending.append(_Staged(device_serial, session_key, seq, times, tuple(values), block))
        first = self.rows
        self.rows += times.size
        return f"{self.file}#{first}:{self.rows}"

    def flush(self) -> None:
        """Write what is pending durably (nothing when nothing is)."""
        if not self.pending:
            return
        pending = self.pending
        sizes = np.array([b.time_s.size for b in pending])
        # Each batch's device and session once, repeated over its rows by Arrow.
        row_batch = pa.array(np.repeat(np.arange(len(pending)), sizes))
        columns: dict[str, pa.Array] = {
            "device": pa.array([b.device for b in pending], pa.string()).take(row_batch),
            "session": pa.array([b.session for b in pending], pa.string()).take(row_batch),
            "seq": pa.array(np.repeat(np.array([b.seq for b in pending], dtype=np.int64), sizes)),
            TIME_COLUMN: pa.array(np.concatenate([b.time_s for b in pending])),
        }
        names, data, missing = _channel_columns(pending, sizes)
        for i, name in enumerate(names):
            absent = missing[i] if missing is not None and missing[i].any() else None
            columns[name] = pa.array(data[i], mask=absent)
        buffer = io.BytesIO()
        pq.write_table(pa.table(columns), buffer, compression="zstd")
        self.store._put(self.file, buffer.getvalue())
        self.files_written += 1
        self.pending = []
        self.rows = 0
        self.file = ""

    def read_batch(self, name: str) -> StoredBatch:
        self.flush()
        return self.store.read_batch(name)


def _channel_columns(
    pending: list[_Staged], sizes: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Every channel of a group as one float32 row of all its samples, in name order, and
    which samples a batch without the channel leaves empty (None when every batch has every
    channel, as in a network of one device model).

    One NumPy copy per channel set (device model), not one per batch and channel: a group
    holds hundreds of 10-sample batches of ~27 channels each. Samples arrive as float32 on the
    wire, so storing float32 keeps them exact."""
    by_set: dict[tuple[str, ...], list[int]] = {}
    for k, b in enumerate(pending):
        by_set.setdefault(b.names, []).append(k)
    names = sorted({name for channel_set in by_set for name in channel_set})
    if len(by_set) == 1:
        (channel_set,) = by_set
        joined = np.concatenate([b.block for b in pending], axis=1)
        order = [channel_set.index(name) for name in names]
        return names, joined[order].astype(np.float32), None
    row_of = {name: i for i, name in enumerate(names)}
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    n = int(sizes.sum())
    data = np.full((len(names), n), np.nan, dtype=np.float32)
    missing = np.ones((len(names), n), dtype=bool)
    for channel_set, ks in by_set.items():
        rows = np.array([row_of[name] for name in channel_set], dtype=np.intp)
        # The set's batches' columns in the file: each batch's run of rows, back to back.
        own = sizes[ks]
        columns = np.arange(int(own.sum())) + np.repeat(starts[ks] - np.cumsum(own) + own, own)
        data[np.ix_(rows, columns)] = np.concatenate([pending[k].block for k in ks], axis=1)
        missing[np.ix_(rows, columns)] = False
    return names, data, missing


def warm_up() -> None:
    """Write and read one tiny Parquet table in memory: a long-lived process calls this before
    it settles its heap (:func:`exoshare.heap.settle_heap`), because Arrow imports pandas (~300
    modules) on its first write. Imported later, in the middle of serving, they cost ~1 s of
    CPU at the first group and stay among the objects every garbage collection walks."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({TIME_COLUMN: pa.array([0.0])}), buffer, compression="zstd")
    pq.read_table(io.BytesIO(buffer.getvalue())).column(TIME_COLUMN).to_numpy()


def _safe(part: str) -> str:
    # Serials and session ids come from devices; keep them to one harmless path segment.
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in part)
    return cleaned.strip(".") or "_"
